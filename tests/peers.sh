#!/bin/bash
# The PyTorch peers' plumbing (bench/peers/, ctest: peers): their safetensors
# writer makes files partita reads and their reader reads what partita writes,
# checked by value: the MLP's first loss on a file peer.py wrote, from
# `partita train` and from numpy. With python3-torch present, the MLP's
# PyTorch peer also gives the interpreter's losses for 2 SGD steps. Skipped
# (77) without /usr/bin/python3 and numpy; torch is never required.
# Usage: peers.sh PARTITA SOURCE_DIR
set -u
P=$1
cd "$2" || exit 1
PY=/usr/bin/python3
if ! [ -x "$PY" ] || ! "$PY" -c 'import numpy' 2>/dev/null; then
  echo "skip: no /usr/bin/python3 with numpy"
  exit 77
fi
T=$(mktemp -d /tmp/partita-peers-XXXXXX)
trap 'rm -rf "$T"' EXIT

# partita reads a file peer.py wrote and writes its params after 2 SGD steps
if ! "$PY" bench/peers/peer.py init mlp --out "$T/in.st" --seed 3 ||
  ! "$P" train examples/mlp.pir --optimizer sgd --steps 2 --inputs "$T/in.st" --out "$T/out.st" --json \
    >"$T/ref.json" 2>"$T/train.txt"; then
  cat "$T/train.txt" 2>/dev/null
  echo "FAIL peer.py init, then partita train --inputs"
  exit 1
fi
if "$PY" -c 'import torch' 2>/dev/null; then
  OMP_NUM_THREADS=1 "$PY" bench/peers/peer.py train mlp --inputs "$T/in.st" --optimizer sgd --steps 2 \
    >"$T/torch.json" || echo "FAIL the MLP's PyTorch peer did not run"
else
  echo "skip: no python3-torch: the PyTorch peer is not run"
fi
# one interpreter for the rest (each start costs a few tenths of a second)
"$PY" - "$T" <<'PYEOF'
import json
import os
import sys
import numpy as np
sys.path.insert(0, "bench/peers")
import peer
import peerlib
T, fails = sys.argv[1], 0


def report(ok, what):
    global fails
    print(("ok   " if ok else "FAIL ") + what)
    fails += not ok


try:
    peer.cmd_selftest(None)
    report(True, "selftest: safetensors round trip, a broken header, the models' signatures")
except Exception as e:
    report(False, "selftest: %r" % e)
# the first loss partita computed from peer.py's file, against numpy on the same values
v = peerlib.st_read(os.path.join(T, "in.st"))
h = np.maximum(v["x"].astype(np.float64) @ v["w1"] + v["b1"], 0)
want = np.mean((h @ v["w2"] + v["b2"] - v["y"]) ** 2)
ref = json.load(open(os.path.join(T, "ref.json")))["losses"]
report(abs(ref[0] - want) <= 1e-5 * abs(want), "first loss from peer.py's file: partita %.9g, numpy %.9g"
       % (ref[0], want))
# what partita wrote, read back: the params moved
out = peerlib.st_read(os.path.join(T, "out.st"))
report(out["w1"].shape == (1024, 1024) and out["w1"].dtype == np.float32
       and not np.array_equal(out["w1"], v["w1"]), "partita's --out read back: w1 f32[1024,1024], updated")
if os.path.exists(os.path.join(T, "torch.json")):
    got = json.load(open(os.path.join(T, "torch.json")))["losses"]
    d = peerlib.max_rel_diff(ref, got, 2)
    report(len(got) == 2 and d <= 1e-4, "the MLP's PyTorch peer: 2 SGD steps, largest relative difference "
           "from the interpreter %.2e" % d)
sys.exit(1 if fails else 0)
PYEOF
