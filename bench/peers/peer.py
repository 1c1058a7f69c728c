#!/usr/bin/python3
"""PyTorch peers of partita's examples: write starting values, train on one process or
under DDP, compare loss lists. Driven by bench/bench_peers.sh; run with Debian's
/usr/bin/python3 (python3-torch, python3-numpy)."""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peerlib  # noqa: E402

MODELS = ["mlp", "transformer_block", "gpt", "griffin"]

USAGE = """peer.py init MODEL --out IN.safetensors [--seed N]
       peer.py train MODEL --inputs IN.safetensors --optimizer sgd|adam --steps N
                     [--threads T | --ddp W] [--lr X]
       peer.py compare REF.json GOT.json --steps N [--tol X] [--what TEXT]
       peer.py selftest"""

DESCRIPTION = """init writes the params and inputs of examples/MODEL.pir's @loss (names and
shapes read from the .pir, values by partita's initial-value rule drawn with numpy) to a
safetensors file that partita (--inputs) and PyTorch both read.

train runs MODEL's PyTorch peer for N steps from that file (SGD or Adam at partita's
defaults) and prints one JSON object: losses (each before its step's update, as partita
prints them), step_seconds and median_step_seconds. --threads T: one process, T intra-op
threads (set OMP_NUM_THREADS and OPENBLAS_NUM_THREADS to T as well); --ddp W:
DistributedDataParallel over W processes (gloo, one thread each, the batch split in W).

compare checks that GOT's first N losses equal REF's within --tol relative (default 1e-4),
prints the largest relative difference, and exits 1 with a message naming the step if not.

selftest: safetensors round trip and the models' signatures (no torch needed)."""


def cmd_init(a):
    model = peerlib.load_model(a.model)
    sig = peerlib.pir_signature(os.path.join(peerlib.ROOT, model.PIR))
    vals = peerlib.init_values(sig, a.seed, model.INT_BOUND)
    peerlib.st_write(a.out, vals, {"source": model.PIR, "seed": a.seed})
    return 0


def cmd_train(a):
    model = peerlib.load_model(a.model)
    vals = peerlib.st_read(a.inputs)
    if a.ddp:
        res = peerlib.train_ddp(model.__file__, vals, a.optimizer, a.steps, a.ddp, a.lr)
    else:
        res = peerlib.train(model, vals, a.optimizer, a.steps, a.threads, a.lr)
    res.update({"model": a.model, "optimizer": a.optimizer, "steps": a.steps,
                "threads": 1 if a.ddp else a.threads, "processes": a.ddp or 1})
    json.dump(res, sys.stdout)
    print()
    return 0


def cmd_compare(a):
    with open(a.ref) as f:
        ref = json.load(f)["losses"]
    with open(a.got) as f:
        got = json.load(f)["losses"]
    n = min(a.steps, len(ref), len(got))
    if n < a.steps:
        peerlib.fail("%s: only %d losses to compare, %d wanted" % (a.what, n, a.steps))
    worst = peerlib.max_rel_diff(ref, got, n)
    for k in range(n):
        d = peerlib.max_rel_diff(ref[k:], got[k:], 1)
        if not d <= a.tol:  # also catches nan
            peerlib.fail("%s: step %d loss %.9g, the reference's %.9g: relative difference %.3g > %g"
                         % (a.what, k + 1, got[k], ref[k], d, a.tol))
    print("%.2e" % worst)
    return 0


def cmd_selftest(_):
    import tempfile
    import numpy as np
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "t.safetensors")
        t = {"a.b": np.arange(6, dtype=np.float32).reshape(2, 3), "i": np.array([3, 1], np.int32),
             "s": np.float32(2.5).reshape(())}
        peerlib.st_write(path, t, {"k": "v"})
        back = peerlib.st_read(path)
        assert sorted(back) == sorted(t), back.keys()
        for k in t:
            assert back[k].dtype == t[k].dtype and back[k].shape == t[k].shape, k
            assert np.array_equal(back[k], t[k]), k
        with open(path, "r+b") as f:  # a header length past the end is an error, not a crash
            f.write((1 << 40).to_bytes(8, "little"))
        try:
            peerlib.st_read(path)
            raise AssertionError("a broken header was read")
        except ValueError:
            pass
    for m in MODELS:
        sig = peerlib.pir_signature(os.path.join(peerlib.ROOT, "examples/%s.pir" % m))
        assert any(r == "param" for r, _, _, _ in sig) and any(r == "input" for r, _, _, _ in sig), m
        vals = peerlib.init_values(sig, 0, 512)
        assert all(vals[n].shape == s for _, n, _, s in sig), m
    print("peer.py selftest: ok")
    return 0


def main():
    p = argparse.ArgumentParser(prog="peer.py", usage=USAGE, description=DESCRIPTION,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd")
    i = sub.add_parser("init", help="write params and inputs")
    i.add_argument("model", choices=MODELS)
    i.add_argument("--out", required=True)
    i.add_argument("--seed", type=int, default=0)
    t = sub.add_parser("train", help="train the PyTorch peer, print JSON")
    t.add_argument("model", choices=MODELS)
    t.add_argument("--inputs", required=True)
    t.add_argument("--optimizer", choices=["sgd", "adam"], required=True)
    t.add_argument("--steps", type=int, required=True)
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--ddp", type=int, default=0, metavar="W")
    t.add_argument("--lr", type=float)
    c = sub.add_parser("compare", help="compare two JSON loss lists")
    c.add_argument("ref")
    c.add_argument("got")
    c.add_argument("--steps", type=int, default=3)
    c.add_argument("--tol", type=float, default=1e-4)
    c.add_argument("--what", default="losses")
    sub.add_parser("selftest", help="no-torch checks of the reader, writer and signatures")
    a = p.parse_args()
    if a.cmd is None:
        p.print_help()
        return 2
    if a.cmd == "train" and (a.steps < 1 or a.threads < 1 or a.ddp < 0):
        p.error("--steps and --threads must be >= 1")
    try:
        return {"init": cmd_init, "train": cmd_train, "compare": cmd_compare,
                "selftest": cmd_selftest}[a.cmd](a)
    except (OSError, ValueError, KeyError) as e:
        peerlib.fail(str(e))


if __name__ == "__main__":
    sys.exit(main())
