#!/bin/bash
# `mpirun -n N partita train --tactics` as a user runs it (ctest: mpi_train).
#   - every example model x shipped tactic script on its own mesh, 1, 2 and 4
#     ranks: two Adam steps, --verify against the reference interpreter
#     (the full-size transformer block is represented by its shrunken copy
#     tests/data/tiny_transformer_block.pir: the interpreter takes ~12 s per
#     step of the real one)
#   - a checkpoint written on a 2x2 mesh (BP+MP), resumed on 2 ranks with
#     another script (BP): the continued losses equal an uninterrupted run's
#   - launch checks: wrong rank count, a script that does not fit the model,
#     a missing and a foreign checkpoint: a message from rank 0, non-zero exit
# Usage: mpi_train.sh PARTITA SOURCE_DIR
set -u
P=$1
SRC=$2
cd "$SRC"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
MPI=(mpirun --allow-run-as-root --oversubscribe)
T=$(mktemp -d /tmp/partita-mpi-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
pass() { echo "ok   $1"; }
fail() { echo "FAIL $1"; fails=$((fails + 1)); }

devices() { # the device count of a script's mesh
  grep -m1 '^mesh:' "$1" | grep -o '[0-9]\+' | awk 'BEGIN{p=1}{p*=$1}END{print p}'
}

# 1. every model x script, on its own mesh, verified against the reference
for script in examples/*.yaml; do
  stem=$(basename "$script" | cut -d. -f1)
  model=examples/$stem.pir
  [ -f "tests/data/tiny_$stem.pir" ] && model=tests/data/tiny_$stem.pir
  n=$(devices "$script")
  if "${MPI[@]}" -n "$n" "$P" train "$model" --tactics "$script" --optimizer adam --steps 2 \
      --verify >"$T/out" 2>&1 && [ "$(grep -c '^verify: step' "$T/out")" = 2 ]; then
    pass "$model with $script on $n ranks matches the reference interpreter"
  else
    fail "$model with $script on $n ranks"
    cat "$T/out"
  fi
done

# 1 rank: the BP script on a one-device mesh
sed 's/{batch: 2}/{batch: 1}/' examples/mlp.bp.yaml >"$T/bp1.yaml"
if "${MPI[@]}" -n 1 "$P" train examples/mlp.pir --tactics "$T/bp1.yaml" --optimizer sgd \
    --steps 2 --verify >"$T/out" 2>&1; then
  pass "examples/mlp.pir on 1 rank"
else
  fail "examples/mlp.pir on 1 rank"
  cat "$T/out"
fi

# 2. checkpoint on 2x2, resume on 2 ranks under another script
losses() { python3 -c 'import json,sys; print(" ".join("%.6g" % x for x in json.load(open(sys.argv[1]))["losses"]))' "$1"; }
"${MPI[@]}" -n 2 "$P" train examples/mlp.pir --tactics examples/mlp.bp.yaml --optimizer adam \
  --steps 5 --json >"$T/whole.json" 2>"$T/err" || { fail "uninterrupted run"; cat "$T/err"; }
"${MPI[@]}" -n 4 "$P" train examples/mlp.pir --tactics examples/mlp.bp_mp.yaml --optimizer adam \
  --steps 3 --checkpoint-dir "$T/ck" >"$T/out" 2>&1 || { fail "checkpoint on 2x2"; cat "$T/out"; }
"${MPI[@]}" -n 2 "$P" train examples/mlp.pir --tactics examples/mlp.bp.yaml --optimizer adam \
  --steps 2 --checkpoint-dir "$T/ck" --resume --json >"$T/resumed.json" 2>"$T/err" ||
  { fail "resume on 2 ranks"; cat "$T/err"; }
whole=$(losses "$T/whole.json" | cut -d' ' -f4-5)
resumed=$(losses "$T/resumed.json")
if [ -n "$whole" ] && [ "$whole" = "$resumed" ]; then
  pass "resumed on another mesh and script: steps 4-5 losses $resumed equal the uninterrupted run's"
else
  fail "resumed losses '$resumed' differ from the uninterrupted run's '$whole'"
fi
if python3 -c 'import json,struct,sys
f=open(sys.argv[1],"rb"); n=struct.unpack("<Q",f.read(8))[0]; h=json.loads(f.read(n))
assert h["__metadata__"]["partita.step"]=="5" and "w1" in h and "opt.w1.m" in h' "$T/ck/checkpoint.safetensors"; then
  pass "the checkpoint is a plain safetensors file with step 5 and the optimizer state"
else
  fail "the checkpoint's header"
fi

# 3. launch checks
expect_error() { # name, phrase, command...
  local name=$1 phrase=$2
  shift 2
  if "$@" >"$T/out" 2>&1; then
    fail "$name: exit 0"
  elif grep -q -- "$phrase" "$T/out"; then
    pass "$name"
  else
    fail "$name: no '$phrase' in"
    cat "$T/out"
  fi
}
expect_error "wrong rank count" "the mesh has 2 devices but 3 MPI ranks" \
  "${MPI[@]}" -n 3 "$P" train examples/mlp.pir --tactics examples/mlp.bp.yaml --optimizer sgd --steps 1
expect_error "a script that does not fit the model" "matches no argument" \
  "${MPI[@]}" -n 2 "$P" train examples/mlp.pir --tactics examples/transformer_block.mp.yaml \
  --optimizer sgd --steps 1
expect_error "a missing checkpoint" "checkpoint.safetensors" \
  "${MPI[@]}" -n 2 "$P" train examples/mlp.pir --tactics examples/mlp.bp.yaml --optimizer adam \
  --steps 1 --checkpoint-dir "$T/none" --resume
expect_error "a foreign checkpoint" "not a checkpoint of @loss trained with sgd" \
  "${MPI[@]}" -n 2 "$P" train examples/mlp.pir --tactics examples/mlp.bp.yaml --optimizer sgd \
  --steps 1 --checkpoint-dir "$T/ck" --resume

if [ "$fails" -ne 0 ]; then
  echo "mpi_train: $fails check(s) failed"
  exit 1
fi
echo "mpi_train: all checks passed"
