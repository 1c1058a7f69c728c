#!/bin/bash
# Measures strategies as `partita explore` ranks them: for each tactic script, the
# median step of N training steps under mpirun, with as many ranks as the script's
# mesh has devices.
# Usage: bash scripts/measure.sh BUILD_DIR MODEL.pir OPTIMIZER STEPS SCRIPT.yaml...
set -euo pipefail
if [ $# -lt 5 ]; then
  echo "usage: bash scripts/measure.sh BUILD_DIR MODEL.pir OPTIMIZER STEPS SCRIPT.yaml..." >&2
  exit 2
fi
B=$1 model=$2 opt=$3 steps=$4
shift 4
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
for t in "$@"; do
  n=$(sed -n 's/^mesh: *{\(.*\)}/\1/p' "$t" | tr ',' '\n' | awk -F: '{ p = (p ? p : 1) * $2 } END { print p }')
  ms=$(mpirun --allow-run-as-root --oversubscribe -n "$n" "$B/partita" train "$model" --tactics "$t" \
    --optimizer "$opt" --steps "$steps" --json 2>/dev/null |
    sed -n 's/.*"median_step_seconds": \([0-9.e-]*\).*/\1/p' | awk '{ printf "%.2f", $1 * 1e3 }')
  printf '%-28s %d ranks  measured median step %s ms\n' "$t" "$n" "$ms"
done
