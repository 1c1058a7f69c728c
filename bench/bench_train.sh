#!/bin/bash
# The MLP's SGD train_step under mpirun: 1 rank, and 2 ranks under BP and
# under MP. Prints steps/s, achieved GFLOP/s (the step's 2*M*N*K over its
# five matmuls: two forward, three backward) and its fraction of the GEMM
# peak measured in the same run (bench/gemm_peak.c, one thread per rank),
# with the environment that changes BLAS speed. Figures, never asserts.
# Usage: bash bench/bench_train.sh [BUILD_DIR] [STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}
STEPS=${2:-50}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
MPI=(mpirun --allow-run-as-root --oversubscribe)
echo "machine: nproc $(nproc), cpu '$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')'"
echo "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset} OPENBLAS_NUM_THREADS=$OPENBLAS_NUM_THREADS"
peak=$("$B/gemm_peak")
echo "GEMM peak, one thread at the step's shapes: $peak GFLOP/s"
# 5 matmuls of 64 x 1024 x 1024 per step
flops=$((5 * 2 * 64 * 1024 * 1024))
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
sed 's/{batch: 2}/{batch: 1}/' examples/mlp.bp.yaml >"$T/one.yaml"
printf '%-34s %6s %10s %10s %12s\n' "configuration" "ranks" "steps/s" "GFLOP/s" "of peak"
run() { # label ranks script
  "${MPI[@]}" -n "$2" "$B/partita" train examples/mlp.pir --tactics "$3" --optimizer sgd \
    --steps "$STEPS" --json 2>/dev/null >"$T/out.json"
  python3 - "$1" "$2" "$flops" "$peak" "$T/out.json" <<'PY'
import json, sys
label, ranks, flops, peak, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
s = json.load(open(path))["median_step_seconds"]
gf = flops / s / 1e9
print("%-34s %6d %10.1f %10.1f %11.0f%%" % (label, ranks, 1 / s, gf, 100 * gf / (peak * ranks)))
PY
}
run "1 rank" 1 "$T/one.yaml"
run "2 ranks, BP" 2 examples/mlp.bp.yaml
run "2 ranks, MP" 2 examples/mlp.mp.yaml
