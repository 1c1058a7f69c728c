"""PyTorch peer of examples/mlp.pir: loss = mean((relu(x . w1 + b1) . w2 + b2 - y)^2)."""
import torch
import torch.nn.functional as F

PIR = "examples/mlp.pir"
INT_BOUND = None
GENERATOR = "mlp"


def configure(args):
    """Another `partita model mlp` file (peer.py --pir): its signature says every size."""
    if args.get("layers", 2) != 2:
        raise ValueError("the mlp peer computes two layers: --layers must be 2")


def loss(p, x):
    h = torch.relu(torch.addmm(p["b1"], x["x"], p["w1"]))
    pred = torch.addmm(p["b2"], h, p["w2"])
    return F.mse_loss(pred, x["y"])
