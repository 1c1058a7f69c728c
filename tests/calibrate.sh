#!/bin/bash
# `mpirun -n N partita calibrate` as a user runs it (ctest: calibrate).
#   - --quick on 2 ranks writes a hardware file (atomically: no temporary
#     left) that simulator/hw.c reads and `partita sim` accepts for the MLP
#     under BP and MP; --memory and --name are written as given
#   - on 3 ranks: groups of 2 (one rank sits out) and of 3
#   - bad command lines, an unwritable file and a single rank: one message
#     (from rank 0), a non-zero exit from every rank, no hang
# Usage: calibrate.sh PARTITA SOURCE_DIR
set -u
P=$1
SRC=$2
cd "$SRC"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
MPI=(timeout 240 mpirun --allow-run-as-root --oversubscribe)
T=$(mktemp -d /tmp/partita-calibrate-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
pass() { echo "ok   $1"; }
fail() { echo "FAIL $1"; fails=$((fails + 1)); }

# 1. --help, without mpirun
if "$P" calibrate --help >"$T/out" 2>&1 && grep -q 'Usage: mpirun -n N partita calibrate' "$T/out"; then
  pass "calibrate --help"
else
  fail "calibrate --help"
  cat "$T/out"
fi

# 2. --quick on 2 ranks, then sim with the file
if "${MPI[@]}" -n 2 "$P" calibrate --quick -o "$T/hw.yaml" >"$T/out" 2>"$T/err" &&
    [ -s "$T/hw.yaml" ] && grep -q '\[100%\]' "$T/err"; then
  pass "calibrate --quick on 2 ranks"
else
  fail "calibrate --quick on 2 ranks"
  cat "$T/out" "$T/err"
fi
if ls "$T" | grep -q '\.tmp\.'; then
  fail "a temporary file was left: $(ls "$T")"
fi
for want in '^name: this-machine' '^  memory: [0-9]*MiB' 'gflops: ' 'elementwise_gbps: ' \
    'op_overhead_us: ' '^      all_gather:' '^      reduce_scatter:' '^      all_reduce:' \
    '^      all_to_all:' '^      collective_permute:' '^        2: {alpha_us: ' \
    '^  default: shm' 'OPENBLAS_NUM_THREADS 1' 'QUICK RUN' '^  element_ns:' '^    tanh: ' \
    '^    reduce_sum: ' '^  cores: '; do
  grep -q -e "$want" "$T/hw.yaml" || fail "the file lacks '$want'"
done
for s in bp mp; do
  if "$P" sim examples/mlp.pir --tactics examples/mlp.$s.yaml --optimizer adam \
      --hw "$T/hw.yaml" >"$T/out" 2>&1 && grep -q 'step time' "$T/out"; then
    pass "partita sim of mlp.$s.yaml on the calibrated file"
  else
    fail "partita sim of mlp.$s.yaml on the calibrated file"
    cat "$T/out" "$T/hw.yaml"
  fi
done

# 3. 3 ranks: group sizes 2 (the third rank sits out) and 3; --memory, --name
if "${MPI[@]}" -n 3 "$P" calibrate --quick --memory 8GiB --name test-box -o "$T/hw3.yaml" \
    >"$T/out" 2>"$T/err" && grep -q '^name: test-box' "$T/hw3.yaml" &&
    grep -q '^  memory: 8GiB ' "$T/hw3.yaml" && grep -q '^        3: {alpha_us: ' "$T/hw3.yaml" &&
    "$P" sim examples/mlp.pir --tactics examples/mlp.bp_mp.yaml --hw "$T/hw3.yaml" >"$T/out" 2>&1; then
  pass "calibrate --quick on 3 ranks, --memory and --name"
else
  fail "calibrate --quick on 3 ranks, --memory and --name"
  cat "$T/out" "$T/err" "$T/hw3.yaml"
fi

# 4. errors: exit status, one message, no hang
expect_error() { # NAME STATUS WANT RANKS ARGS...
  local name=$1 status=$2 want=$3 n=$4
  shift 4
  "${MPI[@]}" -n "$n" "$P" calibrate "$@" >"$T/out" 2>"$T/err"
  local got=$?
  local count
  count=$(grep -c -e "$want" "$T/err")
  if [ "$got" = "$status" ] && [ "$count" = 1 ]; then
    pass "$name"
  else
    fail "$name: exit $got (want $status), '$want' $count times (want once)"
    cat "$T/out" "$T/err"
  fi
}
expect_error "an unknown option" 2 "unknown option or missing value: '--bogus'" 2 --bogus -o "$T/x.yaml"
expect_error "no -o" 2 "-o HW.yaml is required" 2 --quick
expect_error "a malformed --memory" 2 "--memory needs a size" 2 --memory 8XB -o "$T/x.yaml"
expect_error "a bad --name" 2 "--name needs a name" 2 --name 'a b' -o "$T/x.yaml"
expect_error "a file argument" 2 "takes no file arguments" 2 -o "$T/x.yaml" extra
expect_error "an unwritable directory" 1 "cannot write: No such file or directory" 2 --quick \
  -o "$T/missing/hw.yaml"
expect_error "a directory as the file" 1 "cannot write: it is a directory" 2 --quick -o "$T"
expect_error "one rank" 1 "at least 2 MPI ranks" 1 --quick -o "$T/x.yaml"
[ -e "$T/x.yaml" ] && fail "a failed calibrate wrote $T/x.yaml"

if [ "$fails" -ne 0 ]; then
  echo "$fails calibrate checks failed"
  exit 1
fi
echo "all calibrate checks passed"
