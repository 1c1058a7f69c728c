"""PyTorch peer of examples/gpt.pir: token embedding (take) plus learned positions,
pre-norm blocks (LayerNorm eps 1e-5 with scale and bias, causal attention in 4 heads,
tanh-GELU MLP), a final LayerNorm, an untied LM head and the mean cross-entropy."""
import torch.nn.functional as F

from blocks import causal_attention, gelu, layernorm

PIR = "examples/gpt.pir"
INT_BOUND = 512  # the vocabulary: tokens index embed.table, labels the LM head's iota
HEADS = 4
GENERATOR = "gpt"


def configure(args):
    """Sizes of another `partita model gpt` file (peer.py --pir)."""
    global HEADS, INT_BOUND
    if args.get("kv_heads", args.get("heads")) != args.get("heads"):
        raise ValueError("the gpt peer computes multi-head attention: --kv-heads must equal --heads")
    HEADS = args.get("heads", HEADS)
    INT_BOUND = args.get("vocab", INT_BOUND)


def block(x, p, pre):
    h1 = layernorm(x, p[pre + "norm1.scale"], p[pre + "norm1.bias"], 1e-5)
    x2 = x + causal_attention(h1, p[pre + "attn.wq"], p[pre + "attn.wk"], p[pre + "attn.wv"],
                              p[pre + "attn.wo"], HEADS)
    h2 = layernorm(x2, p[pre + "norm2.scale"], p[pre + "norm2.bias"], 1e-5)
    return x2 + gelu(h2 @ p[pre + "mlp.w_in"]) @ p[pre + "mlp.w_out"]


def loss(p, x):
    h = F.embedding(x["tokens"], p["embed.table"]) + p["pos.table"]
    layer = 0
    while "layers.%d.attn.wq" % layer in p:
        h = block(h, p, "layers.%d." % layer)
        layer += 1
    hf = layernorm(h, p["final_norm.scale"], p["final_norm.bias"], 1e-5)
    logits = hf @ p["lm_head.w"]
    return F.cross_entropy(logits.view(-1, logits.shape[-1]), x["labels"].view(-1))
