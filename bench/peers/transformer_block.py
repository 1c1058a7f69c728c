"""PyTorch peer of examples/transformer_block.pir: one pre-norm decoder block (RMSNorm
eps 1e-6, causal attention in 8 heads, tanh-GELU MLP) and the mean squared error."""
import torch.nn.functional as F

from blocks import causal_attention, gelu, rmsnorm

PIR = "examples/transformer_block.pir"
INT_BOUND = None
HEADS = 8


def loss(p, x):
    h = x["x"]
    h1 = rmsnorm(h, p["norm1.scale"], 1e-6)
    x2 = h + causal_attention(h1, p["attn.wq"], p["attn.wk"], p["attn.wv"], p["attn.wo"], HEADS)
    h2 = rmsnorm(x2, p["norm2.scale"], 1e-6)
    out = x2 + gelu(h2 @ p["mlp.w_in"]) @ p["mlp.w_out"]
    return F.mse_loss(out, x["y"])
