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
fails=0
pass() { echo "ok   $1"; }
fail() { echo "FAIL $1"; fails=$((fails + 1)); }

if "$PY" bench/peers/peer.py selftest >"$T/out" 2>&1; then pass "selftest"; else fail "selftest"; cat "$T/out"; fi

# partita reads peer.py's file (its first loss is numpy's on the same values) and
# writes its params after 2 SGD steps, which peer.py's reader reads back
if "$PY" bench/peers/peer.py init mlp --out "$T/in.st" --seed 3 &&
  "$P" train examples/mlp.pir --optimizer sgd --steps 2 --inputs "$T/in.st" --out "$T/out.st" --json \
    >"$T/ref.json" 2>"$T/train.txt" &&
  "$PY" - "$T/in.st" "$T/out.st" "$T/ref.json" >"$T/cmp.txt" 2>&1 <<'PYEOF'; then
import json
import sys
import numpy as np
sys.path.insert(0, "bench/peers")
import peerlib
v = peerlib.st_read(sys.argv[1])
h = np.maximum(v["x"].astype(np.float64) @ v["w1"] + v["b1"], 0)
want = np.mean((h @ v["w2"] + v["b2"] - v["y"]) ** 2)
got = json.load(open(sys.argv[3]))["losses"][0]
out = peerlib.st_read(sys.argv[2])
assert out["w1"].shape == (1024, 1024) and out["w1"].dtype == np.float32, out["w1"].shape
assert not np.array_equal(out["w1"], v["w1"]), "w1 did not move"
print("first loss: partita %.9g, numpy %.9g" % (got, want))
sys.exit(0 if abs(got - want) <= 1e-5 * abs(want) else 1)
PYEOF
  pass "safetensors both ways: $(cat "$T/cmp.txt")"
else
  fail "safetensors both ways"
  cat "$T/train.txt" "$T/cmp.txt" 2>/dev/null
fi

if "$PY" -c 'import torch' 2>/dev/null; then
  if [ -s "$T/ref.json" ] &&
    OMP_NUM_THREADS=1 "$PY" bench/peers/peer.py train mlp --inputs "$T/in.st" --optimizer sgd --steps 2 \
      >"$T/torch.json" &&
    d=$("$PY" bench/peers/peer.py compare "$T/ref.json" "$T/torch.json" --steps 2 --what mlp); then
    pass "the MLP's PyTorch peer: 2 SGD steps, largest relative difference $d"
  else
    fail "the MLP's PyTorch peer against the interpreter"
  fi
else
  echo "skip: no python3-torch: the PyTorch peer is not run"
fi
[ "$fails" -eq 0 ] || { echo "$fails failed"; exit 1; }
