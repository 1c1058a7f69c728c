#!/bin/bash
# Sequence parallelism (SEQ) on a long-context Griffin (3 layers, width 64, RG-LRU width
# 64, 4 heads, MLP 128, vocabulary 256, batch 2, window 64), Adam train_step:
#   1. per-device peak memory at sequence 8192 under SEQ on 1, 2, 4 devices: the
#      simulator's (the runtime's buffer planner on the lowered program, with its split)
#      and the runtime's own "peak buffers per rank" from one step under mpirun
#   2. bytes each device sends per step, SEQ vs BP on 2 devices, at sequence 2k, 8k and
#      32k, with SEQ's halo and scan-carry bytes apart (they must not grow with length)
#   3. step time on 2 ranks under mpirun at sequence 8192, SEQ vs BP, next to the
#      simulator's prediction for this machine (examples/hw/this-machine.yaml)
# Figures, never asserts. Usage: bash bench/bench_seq.sh [BUILD_DIR] [STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}
STEPS=${2:-6}
P=$B/partita
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
MPI=(mpirun --allow-run-as-root --oversubscribe)
HW=examples/hw/this-machine.yaml
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
echo "machine: nproc $(nproc), load average $(cut -d' ' -f1-3 /proc/loadavg)"

model() { # seq -> file
  "$P" model griffin --layers 3 --d-model 64 --heads 4 --lru-width 64 --mlp-hidden 128 \
    --vocab 256 --batch 2 --window 64 --seq "$1" -o "$T/g$1.pir"
}
script() { # kind devices -> file
  if [ "$1" = seq ]; then
    printf 'mesh: {seq: %s}\nschedule:\n  - name: sequence\n    axis: seq\n    shard: {tokens: 1, labels: 1}\n' "$2"
  else
    printf 'mesh: {batch: %s}\nschedule:\n  - name: data-parallel\n    axis: batch\n    shard: {tokens: 0, labels: 0}\n' "$2"
  fi >"$T/$1$2.yaml"
}
sim() { # pir yaml -> the simulator's report
  "$P" sim "$1" --tactics "$2" --hw "$HW" --optimizer adam 2>/dev/null
}
field() { # report label -> the figure after it
  grep -m1 "^ *$2" "$1" | sed "s/^ *$2 *//" | awk '{print $1, $2}'
}

echo
echo "1. per-device peak memory, Griffin train_step at sequence 8192 under SEQ"
model 8192
printf '%-8s %14s %14s %14s %16s\n' devices "sim peak" "arguments" temporaries "runtime buffers"
for n in 1 2 4; do
  script seq "$n"
  sim "$T/g8192.pir" "$T/seq$n.yaml" >"$T/r"
  line=$(grep -m1 '^peak memory per device' "$T/r")
  peak=$(echo "$line" | awk '{print $5, $6}')
  args=$(echo "$line" | sed 's/.*(arguments \([^,]*\),.*/\1/')
  temps=$(echo "$line" | sed 's/.*temporaries \([^)]*\)).*/\1/')
  rt=$("${MPI[@]}" -n "$n" "$P" train "$T/g8192.pir" --tactics "$T/seq$n.yaml" --optimizer adam \
    --steps 1 2>&1 | sed -n 's/.*peak buffers \(.*\) per rank.*/\1/p')
  printf '%-8s %14s %14s %14s %16s\n' "$n" "$peak" "$args" "$temps" "${rt:-?}"
done

echo
echo "2. bytes sent per device per step, 2 devices (SEQ: seq=2; BP: batch=2)"
printf '%-8s %14s %14s %14s %14s\n' seq "BP total" "SEQ total" "SEQ halos" "SEQ carries"
script seq 2
script bp 2
for t in 2048 8192 32768; do
  [ -f "$T/g$t.pir" ] || model "$t"
  sim "$T/g$t.pir" "$T/bp2.yaml" >"$T/bp"
  sim "$T/g$t.pir" "$T/seq2.yaml" >"$T/sq"
  bp=$(field "$T/bp" "bytes sent per device")
  sq=$(field "$T/sq" "bytes sent per device")
  halo=$(grep -m1 'collective_permute x' "$T/sq" | sed 's/.*%  *//; s/ sent//')
  carry=$(grep -m1 'all_gather x' "$T/sq" | sed 's/.*%  *//; s/ sent//')
  printf '%-8s %14s %14s %14s %14s\n' "$t" "$bp" "$sq" "$halo" "$carry"
done

echo
echo "3. step time on 2 ranks at sequence 8192 ($STEPS Adam steps, median), against the simulator"
printf '%-6s %14s %14s\n' script measured predicted
for k in bp seq; do
  pred=$(sim "$T/g8192.pir" "$T/${k}2.yaml" | grep -m1 '^step time' | awk '{print $3, $4}')
  meas=$("${MPI[@]}" -n 2 "$P" train "$T/g8192.pir" --tactics "$T/${k}2.yaml" --optimizer adam \
    --steps "$STEPS" 2>&1 | sed -n 's/.*median step \([^ ]* [^ ]*\) .*/\1/p')
  printf '%-6s %14s %14s\n' "$k" "${meas:-?}" "$pred"
done
echo "machine load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
