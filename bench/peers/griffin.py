"""PyTorch peer of examples/griffin.pir: token embedding (take), recurrent blocks (a
tanh-GELU gate branch times an RG-LRU over a causal width-4 convolution, with
block-diagonal gates over 4 heads and the recurrence h[t] = a[t] h[t-1] + b[t]) and
local-attention blocks (4 query heads, one key/value head, window 16, computed in blocks
of the window as the .pir does), gated tanh-GELU MLPs, RMSNorm eps 1e-5, an untied LM
head and the mean cross-entropy.

The recurrence is a Python loop over time, PyTorch's natural way; by default it runs in
a torch.autograd.Function whose backward is the reverse loop (g[t] = dh[t] +
a[t+1] g[t+1], da[t] = g[t] h[t-1], db = g): the same products autograd would form,
without one graph node per step and time index. PEER_SCAN=autograd uses the plain
autograd loop instead (slower; kept to compare)."""
import math
import os

import torch
import torch.nn.functional as F

from blocks import gelu, rmsnorm

PIR = "examples/griffin.pir"
INT_BOUND = 512
LRU_HEADS = 4
ATTN_HEADS = 4
WINDOW = 16
EPS = 1e-5
GENERATOR = "griffin"


def configure(args):
    """Sizes of another `partita model griffin` file (peer.py --pir)."""
    global LRU_HEADS, ATTN_HEADS, WINDOW, INT_BOUND
    if args.get("kv_heads", 1) != 1:
        raise ValueError("the griffin peer computes multi-query attention: --kv-heads must be 1")
    LRU_HEADS = ATTN_HEADS = args.get("heads", LRU_HEADS)
    WINDOW = args.get("window", WINDOW)
    INT_BOUND = args.get("vocab", INT_BOUND)


class _Scan(torch.autograd.Function):
    """h[t] = a[t] h[t-1] + b[t] along dim 1 of [batch, time, channel], h[-1] = 0."""

    @staticmethod
    def forward(ctx, a, b):
        at = a.transpose(0, 1).contiguous()  # time first: each step a contiguous block
        h = b.transpose(0, 1).clone(memory_format=torch.contiguous_format)  # written in place
        for t in range(1, h.shape[0]):
            torch.addcmul(h[t], at[t], h[t - 1], out=h[t])
        ctx.save_for_backward(at, h)
        return h.transpose(0, 1)

    @staticmethod
    def backward(ctx, dh):
        at, h = ctx.saved_tensors
        g = dh.transpose(0, 1).clone(memory_format=torch.contiguous_format)
        for t in range(g.shape[0] - 2, -1, -1):
            torch.addcmul(g[t], at[t + 1], g[t + 1], out=g[t])
        da = torch.zeros_like(g)
        torch.mul(g[1:], h[:-1], out=da[1:])
        return da.transpose(0, 1), g.transpose(0, 1)


def _scan_autograd(a, b):
    hs, h = [], None
    for t in range(a.shape[1]):
        h = b[:, t] if h is None else torch.addcmul(b[:, t], a[:, t], h)
        hs.append(h)
    return torch.stack(hs, dim=1)


scan = _scan_autograd if os.environ.get("PEER_SCAN") == "autograd" else _Scan.apply


def causal_conv(x, w, bias):
    """conv[t] = bias + sum over k < width of w[k] * x[t - k] (zero before the start),
    per channel: a depthwise conv1d over time, its taps reversed (conv1d correlates)."""
    width = w.shape[0]
    xt = F.pad(x.transpose(1, 2), (width - 1, 0))  # [batch, channel, time + width - 1]
    y = F.conv1d(xt, w.flip(0).t().unsqueeze(1), bias, groups=x.shape[2])
    return y.transpose(1, 2)


def recurrent_block(x, p, pre):
    b, s, _ = x.shape
    h1 = rmsnorm(x, p[pre + "norm1.scale"], EPS)
    gate = gelu(h1 @ p[pre + "rg_lru.wy"])
    conv = causal_conv(h1 @ p[pre + "rg_lru.wx"], p[pre + "rg_lru.conv_w"], p[pre + "rg_lru.conv_b"])
    width = conv.shape[2]
    heads = conv.view(b, s, LRU_HEADS, width // LRU_HEADS)
    r = torch.sigmoid(torch.einsum("bthc,hco->btho", heads, p[pre + "rg_lru.wa"]).reshape(b, s, width)
                      + p[pre + "rg_lru.ba"])
    i = torch.sigmoid(torch.einsum("bthc,hco->btho", heads, p[pre + "rg_lru.wi"]).reshape(b, s, width)
                      + p[pre + "rg_lru.bi"])
    # log a = -8 r softplus(-lambda), softplus(z) = log(1 + exp(z))
    decay = torch.log(1 + torch.exp(-p[pre + "rg_lru.lambda"])) * -8.0
    a = torch.exp(r * decay)
    lru = scan(a, torch.sqrt(1 - a * a) * (i * conv))
    x2 = x + (gate * lru) @ p[pre + "rg_lru.wo"]
    return x2 + mlp(x2, p, pre)


def mlp(x2, p, pre):
    h2 = rmsnorm(x2, p[pre + "norm2.scale"], EPS)
    return (gelu(h2 @ p[pre + "mlp.w_gate"]) * (h2 @ p[pre + "mlp.w_in"])) @ p[pre + "mlp.w_out"]


_bias = {}


def window_bias(batch, blocks):
    """[batch * blocks, WINDOW * heads, 2 * WINDOW]: 0 where query n*W + i sees key
    n*W + j - W (not after it, fewer than W steps before it, not before step 0), -1e9
    elsewhere; every query sees itself, so masked entries' exp is exactly 0 as with the
    .pir's select."""
    key = (batch, blocks)
    if key not in _bias:
        n = torch.arange(blocks).view(blocks, 1, 1)
        i = torch.arange(WINDOW).view(1, WINDOW, 1)
        j = torch.arange(2 * WINDOW).view(1, 1, 2 * WINDOW)
        q_pos, k_pos = n * WINDOW + i, n * WINDOW + j - WINDOW
        visible = (k_pos <= q_pos) & (q_pos - k_pos < WINDOW) & (k_pos >= 0)
        bias = torch.where(visible, torch.zeros(()), torch.full((), -1e9))  # [n, i, j]
        bias = bias.view(1, blocks, WINDOW, 1, 2 * WINDOW).expand(batch, blocks, WINDOW, ATTN_HEADS,
                                                                   2 * WINDOW)
        _bias[key] = bias.reshape(batch * blocks, WINDOW * ATTN_HEADS, 2 * WINDOW).contiguous()
    return _bias[key]


def attention_block(x, p, pre):
    b, s, d = x.shape
    blocks, dh = s // WINDOW, d // ATTN_HEADS
    h1 = rmsnorm(x, p[pre + "norm1.scale"], EPS)
    q = (h1 @ p[pre + "attn.wq"]).view(b * blocks, WINDOW * ATTN_HEADS, dh)  # rows: (i, head)

    def window(t):  # [b, s, dh] -> each block's previous block (zeros first) and its own
        t = t.view(b, blocks, WINDOW, dh)
        prev = F.pad(t, (0, 0, 0, 0, 1, 0))[:, :blocks]
        return torch.cat([prev, t], dim=2).view(b * blocks, 2 * WINDOW, dh)

    k = window(h1 @ p[pre + "attn.wk"])
    v = window(h1 @ p[pre + "attn.wv"])
    scores = torch.baddbmm(window_bias(b, blocks), q, k.transpose(1, 2), alpha=1.0 / math.sqrt(dh))
    ctx = torch.bmm(torch.softmax(scores, dim=-1), v).view(b, s, d)
    x2 = x + ctx @ p[pre + "attn.wo"]
    return x2 + mlp(x2, p, pre)


def loss(p, x):
    h = F.embedding(x["tokens"], p["embed.table"])
    layer = 0
    while "layers.%d.norm1.scale" % layer in p:
        pre = "layers.%d." % layer
        h = recurrent_block(h, p, pre) if pre + "rg_lru.wx" in p else attention_block(h, p, pre)
        layer += 1
    logits = rmsnorm(h, p["final_norm.scale"], EPS) @ p["lm_head.w"]
    return F.cross_entropy(logits.view(-1, logits.shape[-1]), x["labels"].view(-1))
