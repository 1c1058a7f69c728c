"""Pieces the transformer, GPT and Griffin peers share, each written as its .pir writes
it: norm gains are (1 + scale), GELU is the tanh approximation, masked scores are
-1e9 (finite) before the softmax."""
import math

import torch
import torch.nn.functional as F


def rmsnorm(x, scale, eps):
    """x * rsqrt(mean(x^2 over the last dim) + eps) * (1 + scale)."""
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * (1 + scale)


def layernorm(x, scale, bias, eps):
    """(x - mean) * rsqrt(mean((x - mean)^2) + eps) * (1 + scale) + bias: torch's
    layer_norm computes exactly this (biased variance, eps inside the root)."""
    return F.layer_norm(x, (x.shape[-1],), 1 + scale, bias, eps)


def gelu(u):
    """0.5 u (1 + tanh(sqrt(2/pi) (u + 0.044715 u^3)))."""
    return F.gelu(u, approximate="tanh")


_masks = {}


def causal_bias(s, dtype=torch.float32):
    """[s, s]: 0 where key j <= query i, -1e9 elsewhere. Added to the scores before the
    softmax it gives what the .pir's select gives: every row keeps its diagonal, so a
    masked entry's exp is exactly 0 either way, and so is its gradient."""
    key = ("causal", s)
    if key not in _masks:
        i = torch.arange(s).view(s, 1)
        j = torch.arange(s).view(1, s)
        _masks[key] = torch.where(j <= i, torch.zeros((), dtype=dtype),
                                  torch.full((), -1e9, dtype=dtype))
    return _masks[key]


def causal_attention(h, wq, wk, wv, wo, heads):
    """Multi-head causal self-attention, heads split from the model dimension:
    softmax(q k^T / sqrt(dh), causal) v, heads merged, times wo."""
    b, s, d = h.shape
    dh = d // heads

    def split(t):  # [b, s, d] -> [b * heads, s, dh]
        return t.view(b, s, heads, dh).transpose(1, 2).reshape(b * heads, s, dh)

    q, k, v = split(h @ wq), split(h @ wk), split(h @ wv)
    scores = torch.baddbmm(causal_bias(s), q, k.transpose(1, 2), alpha=1.0 / math.sqrt(dh))
    ctx = torch.bmm(torch.softmax(scores, dim=-1), v)
    return ctx.view(b, heads, s, dh).transpose(1, 2).reshape(b, s, d) @ wo
