#!/bin/bash
# The automatic partitioner at scale and on this machine (issue "Automatic
# partitioning"). Prints figures; asserts nothing.
#
# Part 1 (planning): for GPTs of 12, 24 and 48 layers (d-model 1024, 16 heads,
# seq 1024, vocab 32000, Adam; batch 8 on 8 x 8, batch 16 on 16 x 16) on
# examples/hw/a100-cluster.yaml: the search's wall time, candidates per
# second, and the found strategy's predicted step and peak memory beside the
# best shipped script (gpt.bp_mp.yaml and gpt.bp_mp_z3.yaml on the same mesh).
#
# Part 2 (--measure): on this machine, the MLP on {batch: 2} and the small GPT
# on 2 and {batch: 2, model: 2} ranks: the found strategy and the shipped
# ones trained under mpirun (steps/s), with the simulator's prediction beside
# each, so the predicted order can be read against the measured one.
#
# Usage: bench/bench_auto.sh [--budget-s S] [--layers "12 24 48"] [--measure]
#        (build/partita must exist: bash scripts/build.sh build)
set -euo pipefail
cd "$(dirname "$0")/.."
P=build/partita
HW=examples/hw/a100-cluster.yaml
BUDGET=60
LAYERS="12 24 48"
MEASURE=0
while [ $# -gt 0 ]; do
  case $1 in
    --budget-s) BUDGET=$2; shift 2 ;;
    --layers) LAYERS=$2; shift 2 ;;
    --measure) MEASURE=1; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "bench_auto: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ -x "$P" ] || { echo "bench_auto: build partita first (bash scripts/build.sh build)" >&2; exit 1; }
T=$(mktemp -d /tmp/bench-auto-XXXXXX)
trap 'rm -rf "$T"' EXIT

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores," \
     "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset} (unset for this run, with OPENBLAS_L2_SIZE)," \
     "load $(cut -d' ' -f1-3 /proc/loadavg)"
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
echo "part 1: search budget ${BUDGET} s, hardware $HW"
printf '%6s %7s %8s %11s %11s %12s %10s %12s %10s %7s\n' layers mesh search_s candidates cand/s \
  found_step found_peak script_step script_peak ratio

json_get() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(*[d[k] for k in sys.argv[2:]])' "$@"; }
best_script() { # the fastest fitting row of explore --json: step_s peak
  python3 -c '
import json, sys
rows = [r for r in json.load(open(sys.argv[1]))["strategies"] if r.get("ok") and r.get("fits")]
r = min(rows, key=lambda r: r["step_s"])
print(r["step_s"], r["peak_memory_bytes"])' "$1"
}

for L in $LAYERS; do
  for m in 8 16; do
    B=$m
    "$P" model gpt --layers "$L" --d-model 1024 --heads 16 --seq 1024 --vocab 32000 --batch "$B" \
      -o "$T/gpt.pir"
    for s in bp_mp bp_mp_z3; do
      sed "s/{batch: 2, model: 2}/{batch: $m, model: $m}/" "examples/gpt.$s.yaml" >"$T/$s.yaml"
    done
    "$P" explore "$T/gpt.pir" --optimizer adam --hw "$HW" --tactics "$T/bp_mp.yaml" \
      "$T/bp_mp_z3.yaml" --json >"$T/explore.json"
    read -r sstep speak < <(best_script "$T/explore.json")
    "$P" auto "$T/gpt.pir" --mesh "batch=$m,model=$m" --hw "$HW" --optimizer adam \
      --budget-s "$BUDGET" --json >"$T/auto.json" || true
    read -r secs cands step peak < <(json_get "$T/auto.json" search_s candidates step_s peak_memory_bytes)
    awk -v L="$L" -v m="${m}x$m" -v secs="$secs" -v c="$cands" -v st="$step" -v pk="$peak" \
        -v ss="$sstep" -v sp="$speak" 'BEGIN {
      printf "%6d %7s %8.1f %11d %11.1f %9.2f ms %6.2f GiB %9.2f ms %6.2f GiB %7.3f\n",
        L, m, secs, c, c / secs, st * 1e3, pk / 2^30, ss * 1e3, sp / 2^30, st / ss }'
  done
done
echo "(ratio: found step / best shipped script's step; below 1 the search wins)"

[ "$MEASURE" = 1 ] || exit 0

echo
echo "part 2: this machine, under mpirun (OPENBLAS_NUM_THREADS=1), Adam, 200 steps each"
MPI=(mpirun --allow-run-as-root --oversubscribe -x OPENBLAS_NUM_THREADS=1)
"$P" calibrate --help >/dev/null
"${MPI[@]}" -n 2 "$P" calibrate --quick -o "$T/hw.yaml" >/dev/null 2>&1 ||
  { echo "bench_auto: calibrate failed" >&2; exit 1; }
measure() { # model mesh ranks script...: predicted and measured per script
  local model=$1 mesh=$2 n=$3
  shift 3
  "$P" auto "$model" --mesh "$mesh" --hw "$T/hw.yaml" --optimizer adam -o "$T/found.yaml" \
    >/dev/null
  printf '%-34s %-16s %12s %12s\n' "$model" strategy predicted measured
  for s in "$T/found.yaml" "$@"; do
    pred=$("$P" sim "$model" --tactics "$s" --optimizer adam --hw "$T/hw.yaml" --json 2>/dev/null |
      python3 -c 'import json,sys; print("%.2f ms" % (json.load(sys.stdin)["step_s"]*1e3))')
    meas=$("${MPI[@]}" -n "$n" "$P" train "$model" --tactics "$s" --optimizer adam --steps 200 \
      --every 200 2>&1 | sed -n 's/.*median step \([0-9.]* ms\).*/\1/p')
    name=$(basename "$s")
    [ "$s" = "$T/found.yaml" ] && name="(found)"
    printf '%-34s %-16s %12s %12s\n' "" "$name" "$pred" "${meas:-failed}"
  done
}
measure examples/mlp.pir batch=2 2 examples/mlp.bp.yaml examples/mlp.bp_z3.yaml
measure tests/data/tiny_gpt.pir batch=2 2 examples/gpt.bp.yaml examples/gpt.bp_z3.yaml
measure tests/data/tiny_gpt.pir batch=2,model=2 4 examples/gpt.bp_mp.yaml examples/gpt.bp_mp_z3.yaml
