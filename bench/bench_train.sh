#!/bin/bash
# The MLP's SGD train_step under mpirun: 1 rank, and 2 ranks under BP and
# under MP. Prints steps/s (the median step), achieved GFLOP/s (the step's
# 2*M*N*K over its five matmuls: two forward, three backward) and its
# fraction of the GEMM peak measured in the same run at the local shapes of
# the lowered program's dots (bench/gemm_peak.c, one thread per rank, each
# GEMM the faster of its two orientations),
# with the environment that changes BLAS speed. Figures, never asserts.
# Usage: bash bench/bench_train.sh [BUILD_DIR] [STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
-h | --help)
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
  echo "OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are unset for the run (the first halves sgemm);"
  echo "BUILD_DIR defaults to build, STEPS (per configuration) to 50."
  exit 0
  ;;
esac
B=${1:-build}
STEPS=${2:-50}
echo "environment: OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset} OPENBLAS_L2_SIZE=${OPENBLAS_L2_SIZE:-unset} (both unset for the run)"
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
MPI=(mpirun --allow-run-as-root --oversubscribe)
echo "machine: nproc $(nproc), cpu '$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')', load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "OPENBLAS_NUM_THREADS=$OPENBLAS_NUM_THREADS"
# 5 matmuls of 64 x 1024 x 1024 per step
flops=$((5 * 2 * 64 * 1024 * 1024))
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
sed 's/{batch: 2}/{batch: 1}/' examples/mlp.bp.yaml >"$T/one.yaml"
# The GEMM peak: cblas_sgemm at a configuration's local GEMM shapes (on each
# rank: the step's five products, two forward, the second layer's input
# gradient and the two weight gradients; BP halves the batch, and computes
# the weight gradients by rows with the whole batch, MP halves the hidden
# dimension), one thread per rank, run on as many concurrent processes as the
# configuration has ranks (they share the machine's caches and memory as the
# ranks do); the mean over them, and the slowest of them (a synchronous step
# goes at its slowest rank's pace: on this VM one core's sgemm has run 5-12%
# behind the other's).
gemms() { # script [ENV=VALUE...]: the GEMMs of the MLP step on one rank, read off the lowered program
  local script=$1
  shift
  env "$@" "$B/partita" lower examples/mlp.pir --tactics "$script" --optimizer sgd 2>/dev/null | python3 -c '
import re, sys
types, specs = {}, []
for line in sys.stdin:
    for name, dims in re.findall(r"%([\w.]+): f32\[([\d,]+)\]", line):  # arguments
        types[name] = [int(x) for x in dims.split(",")]
    m = re.match(r"\s*%([\w.]+) = (\w+) (.*): f32\[([\d,]+)\]$", line)
    if not m:
        continue
    name, op, rest, dims = m.groups()
    types[name] = [int(x) for x in dims.split(",")]
    if op != "dot":
        continue
    lhs = re.match(r"%([\w.]+), %([\w.]+)", rest).group(1)
    lc = int(re.search(r"lhs_contract = \[(\d)\]", rest).group(1))
    rc = int(re.search(r"rhs_contract = \[(\d)\]", rest).group(1))
    M, N = types[name]
    K = types[lhs][lc]
    specs.append("%dx%dx%d/%s%s" % (M, N, K, "n" if lc == 1 else "t", "n" if rc == 0 else "t"))
print(" ".join(specs))'
}
peak() { # ranks gemm-specs...
  local n=$1
  shift
  "${MPI[@]}" -n "$n" "$B/gemm_peak" "$@" 2>/dev/null |
    awk '{ s += $1; n++; if (n == 1 || $1 < m) m = $1 } END { printf "%.1f %.1f", s / n, m }'
}
# shellcheck disable=SC2046
one_core=$("$B/gemm_peak" $(gemms "$T/one.yaml") 2>"$T/gemm.txt")
echo "GEMM peak, one thread alone at the one-rank shapes: $one_core GFLOP/s"
echo "  ($(cat "$T/gemm.txt"))"
printf '%-20s %6s %10s %10s %12s %10s %14s %8s %9s\n' "configuration" "ranks" "steps/s" "GFLOP/s" \
  "batch x hid" "peak/rank" "of peak" "slowest" "comm"
run() { # label ranks script batch hidden [ENV=VALUE...]
  local pk pkmin
  # shellcheck disable=SC2046
  read -r pk pkmin <<<"$(peak "$2" $(gemms "$3" "${@:6}"))"
  "${MPI[@]}" -n "$2" env "${@:6}" "$B/partita" train examples/mlp.pir --tactics "$3" --optimizer sgd \
    --steps "$STEPS" --json --profile "$T/prof.json" 2>/dev/null >"$T/out.json"
  python3 - "$1" "$2" "$flops" "$pk" "$T/out.json" "$4x$5" "$one_core" "$T/prof.json" "$pkmin" <<'PY'
import json, sys
label, ranks, flops, peak, path, shape, one, prof = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5], sys.argv[6], float(sys.argv[7]), sys.argv[8]
slowest = float(sys.argv[9])
# the median step over the run (its first left out): the profiled steps
# alone each start at a barrier
t = sorted(json.load(open(path))["step_seconds"][1:])
s = t[len(t) // 2]
gf = flops / s / 1e9
# communication share: the collectives' time over the steps' time on each rank, least and
# most: the rank with the least is the one the others wait for, so its share is the
# transfers' own; the most adds the time spent waiting for that rank
ev = [e for e in json.load(open(prof))["traceEvents"] if e.get("ph") == "X"]
shares = []
for pid in set(e["pid"] for e in ev):
    comm = sum(e["dur"] for e in ev if e["pid"] == pid and e["tid"] == 2)
    step = sum(e["dur"] for e in ev if e["pid"] == pid and e["tid"] == 3)
    shares.append(comm / step if step else 0.0)
lo, hi = 100 * min(shares), 100 * max(shares)
comm = "%.0f%%" % hi if round(lo) == round(hi) else "%.0f-%.0f%%" % (lo, hi)
print("%-20s %6d %10.1f %10.1f %12s %10.1f %6.0f%% (%2.0f%%) %7.0f%% %9s" % (label, ranks, 1 / s, gf, shape, peak, 100 * gf / (peak * ranks), 100 * gf / (one * ranks), 100 * gf / (slowest * ranks), comm))
PY
}
run "1 rank" 1 "$T/one.yaml" 64 1024
run "2 ranks, BP" 2 examples/mlp.bp.yaml 32 1024
run "2 ranks, MP" 2 examples/mlp.mp.yaml 64 512
# the same two without node-shared memory: every collective through MPI's transport
run "BP, PT_MPI_SHM=0" 2 examples/mlp.bp.yaml 32 1024 PT_MPI_SHM=0
# BP with each weight gradient all-reduced and the update computed whole
# (passes/lower.c, sharded updates; each row's peak is at its own program's GEMMs)
run "BP, no sh. update" 2 examples/mlp.bp.yaml 32 1024 PT_SHARDED_UPDATE=0
# BP with its dots computed as the function's shardings say, on 32 rows of
# the batch against the whole weight (passes/lower.c, split dots)
run "BP, no split dots" 2 examples/mlp.bp.yaml 32 1024 PT_SPLIT_DOTS=0
run "MP, PT_MPI_SHM=0" 2 examples/mlp.mp.yaml 64 512 PT_MPI_SHM=0
echo "of peak: against the configuration's own peak per rank (in brackets: against one core alone"
echo "at the one-rank shapes); slowest: against the slowest rank's own peak, the most a synchronous"
echo "step can reach; comm: the collectives' share of the step on the rank where it is least"
echo "(the one the others wait for) and most (from --profile of the same run)"
