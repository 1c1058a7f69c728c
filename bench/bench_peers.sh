#!/bin/bash
# partita against PyTorch on the same train steps, in one run: the MLP, the transformer
# block, the GPT and Griffin examples, SGD and Adam; partita on 1 rank and on 2 ranks under
# each shipped 2-device script, PyTorch on one process at 1 and 2 threads and DDP on 2
# processes. The losses are checked equal (1e-4 relative) before anything is timed and for
# every timed run. Prints steps/s and the ratios of issue 18. Figures, never asserts.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  cat <<'EOF'
Usage: bash bench/bench_peers.sh [--build DIR] [--models LIST] [--optimizers LIST]
                                 [--steps N] [--warmup W] [--rounds R] [--parts LIST]
                                 [--seed N] [--keep DIR] [--pir MODEL=FILE,...]

Runs each model's train step in partita and in its PyTorch peer (bench/peers/) from the
same starting values (a safetensors file written by bench/peers/peer.py init and read by
both: partita's --inputs), and prints a table of steps/s and the ratios.

Before timing, the reference interpreter (`partita train` without --tactics) runs 3 steps
of each model and optimizer and PyTorch's 3 steps must give the same losses within 1e-4
relative; every timed run's first 3 losses are checked against the interpreter's too (so
2 ranks against 1), and the benchmark stops with a message at the first that differs.

Options:
  --build DIR        partita's build directory (default: build)
  --models LIST      comma-separated among mlp,transformer_block,gpt,griffin (default: all)
  --optimizers LIST  comma-separated among sgd,adam (default: sgd,adam)
  --steps N          timed steps per configuration, after the warm-up (default: 40)
  --warmup W         warm-up steps, run first and not timed (default: 5)
  --rounds R         run every configuration of a model and optimizer R times, one round
                     of all of them after another, and report each configuration's median
                     over the rounds with the rounds' spread (default: 1). The VM's speed
                     drifts by 10-20% within minutes; rounds interleave the configurations
                     a ratio compares, so the drift lands on both sides
  --parts LIST       comma-separated among check,partita,torch,ddp (default: all); without
                     check, nothing is compared with the interpreter (the loss diff column
                     shows '-')
  --seed N           seed of the starting values (default: 0)
  --keep DIR         keep every run's JSON and logs in DIR (default: a temporary directory)
  --pir MODEL=FILE   run MODEL (gpt, griffin or mlp) at other sizes: FILE, written by
                     `partita model MODEL ...`, instead of examples/MODEL.pir, for partita
                     and its peer alike (heads, window and vocabulary from the options the
                     file's first line records); the tactic scripts stay examples/MODEL.*.yaml,
                     and one that does not fit FILE (`partita lower` fails) is skipped and said.
                     Comma-separated for several models; e.g. a GPT four times as deep and
                     twice as wide as the example: partita model gpt --layers 8 --d-model 512
                     --heads 8 --mlp-hidden 2048 --vocab 2048 --seq 128 -o /tmp/gpt8.pir, then
                     --models gpt --pir gpt=/tmp/gpt8.pir
  -h, --help         this text

Environment: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are unset for the whole run (the
former halves sgemm here); PyTorch runs with MALLOC_TRIM_THRESHOLD_=4000000000,
MALLOC_MMAP_THRESHOLD_=33554432 and OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = its threads
(at 2 threads once with OpenMP's default wait policy and once with OMP_WAIT_POLICY=PASSIVE);
partita with OPENBLAS_NUM_THREADS=1 per rank. PyTorch is Debian's python3-torch run with
/usr/bin/python3; if it is missing the benchmark installs it with apt-get.

Steps/s is 1 / the median step time over the timed steps (partita's from the step lines
rank 0 prints, PyTorch's from its own loop; DDP's from rank 0); with --rounds, the median of
the rounds' medians, and "spread" is the slowest round's median less the fastest's, over it.

partita runs with --profile (steps 2-11 timed op by op; it costs a few microseconds a
step): "GEMM ms" is the step's dots on the rank whose dots took longest, "comm ms" its
collectives, waits included, on the rank that waited least (medians over those steps).
The "GEMM bound" line divides by the least GEMM time of the 2-rank scripts: the steps/s no
2-rank step of those products could pass at the speed they ran, and so the largest ratio
to PyTorch any partition or kernel work outside the GEMMs could reach. The "sgemm peak
bound" line is the machine's: the one-device step's products (bench_exec --gemm-list, the
same flops every partition computes between its two cores) at the best OpenBLAS does for
each of their shapes (bench/gemm_peak: best of 30, either orientation, in cache), timed on
both cores at once in every round (the fastest round counts) and split between the two cores
in proportion to their speeds: no two-core step of these products runs faster, whatever its
partition or its other kernels. The "FMA peak bound" line is the same flops at the cores'
fused multiply-add peak (gemm_peak --fma: vector FMAs and nothing else, both cores at once;
x86-64): the ceiling of any GEMM kernel, OpenBLAS's or another, on this machine.
EOF
}

B=build MODELS=mlp,transformer_block,gpt,griffin OPTS=sgd,adam STEPS=40 WARMUP=5 ROUNDS=1
PARTS=check,partita,torch,ddp SEED=0 KEEP='' PIRS=''
while [ $# -gt 0 ]; do
  case "$1" in
  --build | --models | --optimizers | --steps | --warmup | --rounds | --parts | --seed | --keep | --pir)
    [ $# -ge 2 ] || { echo "bench_peers.sh: $1 needs a value (see --help)" >&2; exit 2; } ;;
  esac
  case "$1" in
  -h | --help) usage; exit 0 ;;
  --build) B=$2; shift 2 ;;
  --models) MODELS=$2; shift 2 ;;
  --optimizers) OPTS=$2; shift 2 ;;
  --steps) STEPS=$2; shift 2 ;;
  --warmup) WARMUP=$2; shift 2 ;;
  --rounds) ROUNDS=$2; shift 2 ;;
  --parts) PARTS=$2; shift 2 ;;
  --seed) SEED=$2; shift 2 ;;
  --keep) KEEP=$2; shift 2 ;;
  --pir) PIRS=${PIRS:+$PIRS,}$2; shift 2 ;;
  *) echo "bench_peers.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
for v in "$STEPS" "$WARMUP" "$SEED" "$ROUNDS"; do
  [[ "$v" =~ ^[0-9]+$ ]] || { echo "bench_peers.sh: '$v' is not a number" >&2; exit 2; }
done
[ "$STEPS" -ge 1 ] || { echo "bench_peers.sh: --steps must be >= 1" >&2; exit 2; }
[ "$ROUNDS" -ge 1 ] || { echo "bench_peers.sh: --rounds must be >= 1" >&2; exit 2; }
declare -A PIR=() PIRGIVEN=()
for m in ${MODELS//,/ }; do
  { [ -f "examples/$m.pir" ] && [ -f "bench/peers/$m.py" ]; } ||
    { echo "bench_peers.sh: no model '$m' (mlp, transformer_block, gpt, griffin)" >&2; exit 2; }
  PIR[$m]=examples/$m.pir
done
IFS=, read -ra pirs <<<"$PIRS"
for mp in "${pirs[@]}"; do
  m=${mp%%=*} f=${mp#*=}
  { [[ "$mp" == *=* ]] && [ -n "${PIR[$m]+set}" ]; } ||
    { echo "bench_peers.sh: --pir '$mp': MODEL=FILE with MODEL among --models ($MODELS)" >&2; exit 2; }
  [ -f "$f" ] || { echo "bench_peers.sh: --pir $mp: no file '$f'" >&2; exit 2; }
  PIR[$m]=$f PIRGIVEN[$m]=1
done
for o in ${OPTS//,/ }; do
  [[ "$o" == sgd || "$o" == adam ]] || { echo "bench_peers.sh: optimizer '$o': sgd or adam" >&2; exit 2; }
done
for p in ${PARTS//,/ }; do
  [[ "$p" =~ ^(check|partita|torch|ddp)$ ]] ||
    { echo "bench_peers.sh: part '$p': check, partita, torch or ddp" >&2; exit 2; }
done
part() { [[ ",$PARTS," == *",$1,"* ]]; }
[ -x "$B/partita" ] || { echo "bench_peers.sh: no $B/partita: build first (bash scripts/build.sh $B)" >&2; exit 1; }

PY=/usr/bin/python3
PEER=bench/peers/peer.py
{ [ -x "$PY" ] && "$PY" -c 'import numpy' 2>/dev/null; } || {
  echo "bench_peers.sh: $PY with numpy is needed (Debian: apt-get install python3-numpy)" >&2; exit 1; }
if ! "$PY" -c 'import torch' 2>/dev/null; then
  echo "bench_peers.sh: python3-torch is not installed; installing it with apt-get" >&2
  if ! { apt-get install -y python3-torch >&2 || { apt-get update >&2 && apt-get install -y python3-torch >&2; }; } ||
    ! "$PY" -c 'import torch' 2>/dev/null; then
    echo "bench_peers.sh: error: could not install python3-torch (apt-get install python3-torch," \
      "as root, on Debian bookworm or later); PyTorch is needed for every part" >&2
    exit 1
  fi
fi

# the peer must be able to mirror every --pir file (its sizes from the file's first line)
for m in "${!PIRGIVEN[@]}"; do
  "$PY" - "$m" "${PIR[$m]}" <<'PYEOF' || exit 2
import sys
sys.path.insert(0, "bench/peers")
import peerlib
try:
    peerlib.model_meta(sys.argv[1], sys.argv[2])
except (OSError, ValueError) as e:
    sys.exit("bench_peers.sh: %s" % e)
PYEOF
done

unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPI=(mpirun --allow-run-as-root --oversubscribe)
if [ -n "$KEEP" ]; then
  mkdir -p "$KEEP"
  T=$KEEP
else
  T=$(mktemp -d)
  trap 'rm -rf "$T"' EXIT
fi
rm -rf "$T/res" "$T/rounds" "$T/skipped.txt" "$T/checks.txt" # a --keep directory used before
mkdir -p "$T/res" "$T/rounds"
TOTAL=$((WARMUP + STEPS))

echo "machine: nproc $(nproc), cpu '$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')'," \
  "OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}, torch $("$PY" -c 'import torch; print(torch.__version__)')"
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "command: bash bench/bench_peers.sh --models $MODELS --optimizers $OPTS --steps $STEPS --warmup $WARMUP --rounds $ROUNDS --parts $PARTS --seed $SEED${PIRS:+ --pir $PIRS}"

torch_env=(env MALLOC_TRIM_THRESHOLD_=4000000000 MALLOC_MMAP_THRESHOLD_=33554432)
# load PREFIX: the 1-minute load average as a configuration starts (the machine is shared)
load() { cut -d' ' -f1 /proc/loadavg >"$1.load"; }
# check FILE WHAT: the first 3 losses of FILE against the interpreter's (if checked);
# the compare stops the run (set -e) with its message if they differ
check() {
  [ -f "$REF" ] || return 0
  local n=3
  [ "$TOTAL" -lt 3 ] && n=$TOTAL
  local d
  d=$("$PY" "$PEER" compare "$REF" "$1" --steps "$n" --what "$2")
  echo "$2: largest relative difference $d" >>"$T/checks.txt"
}
# the 2-device scripts shipped for a model: those whose mesh has exactly 2 devices
two_device_scripts() {
  for s in examples/"$1".*.yaml; do
    local mesh
    mesh=$(grep -m1 '^mesh:' "$s" | grep -o '[0-9]\+' | awk 'BEGIN { p = 1 } { p *= $1 } END { print p }')
    [ "$mesh" = 2 ] && echo "$s"
  done
  return 0
}

for m in ${MODELS//,/ }; do
  IN="$T/$m.in.safetensors"
  pa=() # the peer's --pir, if any
  [ -z "${PIRGIVEN[$m]+set}" ] || pa=(--pir "${PIR[$m]}")
  "$PY" "$PEER" init "$m" --out "$IN" --seed "$SEED" "${pa[@]}"
  sed 's/{batch: 2}/{batch: 1}/' "examples/$m.bp.yaml" >"$T/$m.one.yaml"
  for o in ${OPTS//,/ }; do
    R="$T/res/$m.$o"
    REF="$R.ref.json"
    echo "$m, $o ..." >&2
    if part check; then
      "$B/partita" train "${PIR[$m]}" --optimizer "$o" --steps 3 --inputs "$IN" --json \
        2>"$T/$m.$o.ref.err" >"$REF" || { echo "bench_peers.sh: error: the interpreter failed on $m ($T/$m.$o.ref.err)" >&2; exit 1; }
      OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "${torch_env[@]}" "$PY" "$PEER" train "$m" "${pa[@]}" \
        --inputs "$IN" --optimizer "$o" --steps 3 --threads 1 >"$T/$m.$o.check.json"
      check "$T/$m.$o.check.json" "$m $o: PyTorch against partita's reference interpreter"
    fi
    runs=("1 $T/$m.one.yaml partita.1")
    for sc in $(two_device_scripts "$m"); do
      b=$(basename "$sc" .yaml)
      # ZeRO scripts shard the optimizer state: SGD has none, and they say so
      if [ "$o" = sgd ] && grep -q '"opt\.' "$sc"; then
        echo "$m $o: $sc skipped (it shards optimizer state, which SGD has none of)" >>"$T/skipped.txt"
        continue
      fi
      # at other sizes (--pir) a script may not fit the model (a batch of 1 under BP, say)
      if ! "$B/partita" lower "${PIR[$m]}" --tactics "$sc" --optimizer "$o" >/dev/null 2>"$T/lower.err"; then
        echo "$m $o: $sc skipped (it does not apply: $(grep -m1 'error' "$T/lower.err"))" >>"$T/skipped.txt"
        continue
      fi
      runs+=("2 $sc partita.2.${b#"$m".}")
    done
    Q="$T/rounds/$m.$o" # a round's result: $Q.KEY.rK.json
    # the sgemm peak bound: the 1-device step's products (bench_exec --gemm-list) at
    # the best OpenBLAS does for each shape, on both cores at once (gemm_peak, one
    # process per core), once a round (the report takes the fastest round): no 2-core
    # step of these products can be faster
    part partita && "$B/bench_exec" --model "${PIR[$m]}" --optimizer "$o" --gemm-list >"$R.gemms"
    rm -f "$R.gemm_peak" "$R.fma_peak"
    for ((k = 1; k <= ROUNDS; k++)); do
      [ "$ROUNDS" -gt 1 ] && echo "$m, $o: round $k of $ROUNDS ..." >&2
      if part partita; then
        for r in "${runs[@]}"; do
          read -r n script key <<<"$r"
          load "$Q.$key.r$k"
          OPENBLAS_NUM_THREADS=1 "${MPI[@]}" -n "$n" "$B/partita" train "${PIR[$m]}" --tactics "$script" \
            --optimizer "$o" --steps "$TOTAL" --inputs "$IN" --json --profile "$T/$m.$o.$key.trace.json" \
            >"$T/$m.$o.$key.out" 2>"$T/$m.$o.$key.err" ||
            { echo "bench_peers.sh: error: partita failed on $m under $script ($T/$m.$o.$key.err)" >&2; exit 1; }
          "$PY" "$PEER" partita-result "$T/$m.$o.$key.out" "$T/$m.$o.$key.err" --warmup "$WARMUP" \
            --trace "$T/$m.$o.$key.trace.json" >"$Q.$key.r$k.json"
          check "$Q.$key.r$k.json" "$m $o: partita on $n rank(s) under $script against the interpreter"
        done
        # shellcheck disable=SC2046
        rates=$(OPENBLAS_NUM_THREADS=1 "${MPI[@]}" -n 2 --bind-to core "$B/gemm_peak" $(cat "$R.gemms") \
          2>/dev/null) ||
          { echo "bench_peers.sh: error: gemm_peak failed on $m's products ($R.gemms)" >&2; exit 1; }
        { tr '\n' ' ' <<<"$rates"; echo; } >>"$R.gemm_peak" # a round's line: each core's GFLOP/s
        # and the cores' fused multiply-add peak, both at once: the bound under sgemm's
        # (none on a core gemm_peak --fma cannot measure: the line is left out)
        if rates=$("${MPI[@]}" -n 2 --bind-to core "$B/gemm_peak" --fma 2>/dev/null); then
          { tr '\n' ' ' <<<"$rates"; echo; } >>"$R.fma_peak"
        fi
      fi
      if part torch; then
        # 2 threads twice: OpenMP's default wait policy (threads spin between parallel
        # regions) and OMP_WAIT_POLICY=PASSIVE (they sleep), far faster on a loaded machine
        for t in 1 2 2p; do
          load "$Q.torch.$t.r$k"
          pol=()
          [ "$t" = 2p ] && pol=(OMP_WAIT_POLICY=PASSIVE)
          env "${pol[@]}" OMP_NUM_THREADS="${t%p}" OPENBLAS_NUM_THREADS="${t%p}" "${torch_env[@]}" "$PY" "$PEER" \
            train "$m" "${pa[@]}" --inputs "$IN" --optimizer "$o" --steps "$TOTAL" --warmup "$WARMUP" --threads "${t%p}" \
            >"$Q.torch.$t.r$k.json"
          check "$Q.torch.$t.r$k.json" "$m $o: PyTorch at ${t%p} thread(s) against the interpreter"
        done
      fi
      if part ddp; then
        load "$Q.ddp.2.r$k"
        OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "${torch_env[@]}" "$PY" "$PEER" train "$m" "${pa[@]}" --inputs "$IN" \
          --optimizer "$o" --steps "$TOTAL" --warmup "$WARMUP" --ddp 2 >"$Q.ddp.2.r$k.json"
        check "$Q.ddp.2.r$k.json" "$m $o: PyTorch DDP on 2 processes against the interpreter"
      fi
    done
    # each configuration: its rounds' median (the first round's load)
    for f in "$Q".*.r1.json; do
      [ -e "$f" ] || continue
      key=${f#"$Q".}
      key=${key%.r1.json}
      "$PY" "$PEER" merge "$Q.$key".r*.json >"$R.$key.json"
      cp "$Q.$key.r1.load" "$R.$key.load"
    done
  done
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" "$PEER" report "$T/res"
[ -f "$T/skipped.txt" ] && cat "$T/skipped.txt"
if [ -f "$T/checks.txt" ] && [ "$PARTS" = check ]; then
  echo "equal losses (first 3 steps, within 1e-4 relative):"
  cat "$T/checks.txt"
fi
echo "steps/s: 1 / median step time over $STEPS steps after $WARMUP warm-up; loss diff: largest relative"
echo "difference of the first 3 losses from partita's reference interpreter on the same inputs"
