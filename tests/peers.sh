#!/bin/bash
# The PyTorch peers' plumbing (bench/peers/, ctest: peers): their safetensors
# writer makes files partita reads and their reader reads what partita writes,
# checked by value: the MLP's first loss on a file peer.py wrote, from
# `partita train` and from numpy. With python3-torch present, the MLP's
# PyTorch peer also gives the interpreter's losses for 2 SGD steps, and so
# does the GPT's on a small file `partita model gpt` wrote (--pir: 2 heads and
# a vocabulary of 48, where the example has 4 and 512). Skipped
# (77) without /usr/bin/python3 and numpy; torch is never required. First,
# without python, the two tools bench_peers.sh's sgemm peak bound runs (built
# beside partita): bench_exec --gemm-list's specs for the MLP, and gemm_peak
# on R* specs, good and bad, and its --fma probe.
# Usage: peers.sh PARTITA SOURCE_DIR
set -u
P=$1
cd "$2" || exit 1
B=$(dirname "$P")
tool_fails=0
tool() { # ok?, what
  if [ "$1" = 0 ]; then echo "ok   $2"; else echo "FAIL $2"; tool_fails=$((tool_fails + 1)); fi
}
want="2*64x1024x1024/nn 2*1024x1024x64/tn 1*64x1024x1024/nt"
got=$("$B/bench_exec" --model examples/mlp.pir --optimizer sgd --gemm-list 2>&1)
[ "$got" = "$want" ]
tool $? "bench_exec --gemm-list on the MLP: '$got'"
rate=$(OPENBLAS_NUM_THREADS=1 "$B/gemm_peak" 3*16x8x4/tn 16x16x16 2>/dev/null)
[[ "$rate" =~ ^[0-9]+\.[0-9]$ ]]
tool $? "gemm_peak on 3*16x8x4/tn 16x16x16: '$rate' GFLOP/s"
for bad in 0*8x8x8 x*8x8x8 2*8x8 '2**8x8x8' 8x8x8/nx; do
  out=$("$B/gemm_peak" "$bad" 2>&1)
  rc=$?
  [ "$rc" = 2 ] && [[ "$out" == *"'$bad' is not [R*]MxNxK[/nn|/nt|/tn|/tt]"* ]]
  tool $? "gemm_peak refuses '$bad' (exit $rc): $out"
done
# the FMA peak bound's probe: a rate on x86-64 (this project's machines), above
# 1 GFLOP/s (a loop that measured nothing gives 0.0), naming the widths it ran
if [ "$(uname -m)" = x86_64 ]; then
  err=$(mktemp)
  fma=$("$B/gemm_peak" --fma 2>"$err")
  [[ "$fma" =~ ^[0-9]+\.[0-9]$ ]] && awk -v r="$fma" 'BEGIN { exit !(r > 1) }' &&
    grep -q "lanes (AVX" "$err"
  tool $? "gemm_peak --fma: '$fma' GFLOP/s ($(cat "$err"))"
  rm -f "$err"
fi
out=$("$B/gemm_peak" --fma 64x64x64 2>&1)
rc=$?
[ "$rc" = 2 ] && [[ "$out" == *"--fma takes no GEMMs"* ]]
tool $? "gemm_peak refuses --fma with GEMMs (exit $rc): $out"
[ "$tool_fails" = 0 ] || exit 1
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
# a GPT at other sizes (--pir): its heads and vocabulary from the file's first line
if ! "$P" model gpt --layers 1 --d-model 32 --heads 2 --mlp-hidden 64 --vocab 48 --seq 8 --batch 2 \
  -o "$T/gpt.pir" || ! "$PY" bench/peers/peer.py init gpt --pir "$T/gpt.pir" --out "$T/gpt.st" ||
  ! "$P" train "$T/gpt.pir" --optimizer sgd --steps 2 --inputs "$T/gpt.st" --json >"$T/gpt.ref.json" \
    2>"$T/gpt.txt"; then
  cat "$T/gpt.txt" 2>/dev/null
  echo "FAIL partita model gpt, peer.py init --pir, then partita train --inputs"
  exit 1
fi
if "$PY" -c 'import torch' 2>/dev/null; then
  OMP_NUM_THREADS=1 "$PY" bench/peers/peer.py train mlp --inputs "$T/in.st" --optimizer sgd --steps 2 \
    >"$T/torch.json" || echo "FAIL the MLP's PyTorch peer did not run"
  OMP_NUM_THREADS=1 "$PY" bench/peers/peer.py train gpt --pir "$T/gpt.pir" --inputs "$T/gpt.st" \
    --optimizer sgd --steps 2 >"$T/gpt.torch.json" || echo "FAIL the GPT's PyTorch peer did not run (--pir)"
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
# the small GPT's tokens and labels lie in its vocabulary of 48, not the example's 512
g = peerlib.st_read(os.path.join(T, "gpt.st"))
report(g["tokens"].max() < 48 and g["labels"].max() < 48 and g["embed.table"].shape == (48, 32),
       "peer.py init --pir: the small GPT's tokens below its vocabulary of 48 (largest %d)" % g["tokens"].max())
for name, what in (("torch.json", "the MLP's PyTorch peer"), ("gpt.torch.json", "the small GPT's PyTorch peer "
                                                                                   "(--pir, 2 heads)")):
    if not os.path.exists(os.path.join(T, name)):
        continue
    want = json.load(open(os.path.join(T, "ref.json" if name == "torch.json" else "gpt.ref.json")))["losses"]
    got = json.load(open(os.path.join(T, name)))["losses"]
    d = peerlib.max_rel_diff(want, got, 2)
    report(len(got) == 2 and d <= 1e-4, "%s: 2 SGD steps, largest relative difference from the interpreter "
           "%.2e" % (what, d))
sys.exit(1 if fails else 0)
PYEOF
