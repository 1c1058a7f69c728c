#!/bin/bash
# The faults a training run meets, under mpirun as a user runs it (ctest:
# mpi_faults; docs/reliability.md lists what each proves):
#   0. a stale Open MPI MPI-IO semaphore in /dev/shm stops no checkpoint
#   1. a loss that overflows stops every rank at that step, and the last good
#      checkpoint is the one on disk
#   2. SIGTERM to one rank stops every rank after the step, with a checkpoint;
#      SIGINT to a one-process run stops it after the step, a second at once
#   3. a full disk fails the checkpoint write, the previous checkpoint whole
#      (root only: it mounts a tmpfs)
#   4. kill -9 of a rank at random moments never loses the last checkpoint
#   5. a rank stopped with SIGSTOP: with --timeout the others say what they
#      wait in and for whom, and the job ends
# Mostly waiting (launches, sleeps), so ctest runs it beside the other tests
# rather than in the MPI tests' queue. Usage: mpi_faults.sh PARTITA SOURCE_DIR
set -u
P=$1
SRC=$2
cd "$SRC"
. tests/mpi_common.sh
T=$(mktemp -d /tmp/partita-faults-XXXXXX)
trap 'mountpoint -q "$T/full" 2>/dev/null && umount "$T/full"; rm -rf "$T"' EXIT

# 0. Open MPI's MPI-IO keeps a POSIX semaphore per file base name in /dev/shm
#    (sem.OMPIO_<name>, for its shared file pointer), shared by every job on
#    the node: one killed while holding it, as the tests below kill ranks,
#    left it taken, and every later checkpoint on the node waited on it
#    forever. partita turns that component off (pt_mpi_init in
#    runtime/mpi_coll.h): with taken ones in place for the checkpoint's
#    names, a checkpoint is written and resumed from. (Under
#    OMPI_MCA_sharedfp=sm, which pt_mpi_init leaves alone, both time out.)
made=()
for name in checkpoint.safetensors.tmp checkpoint.safetensors; do
  sem=/dev/shm/sem.OMPIO_$name
  if [ ! -e "$sem" ] && [ -w /dev/shm ]; then # value 0, process-shared: taken
    python3 -c 'import sys; open(sys.argv[1], "wb").write(bytes(8) + b"\x80" + bytes(23))' "$sem" &&
      made+=("$sem")
  fi
done
if [ ${#made[@]} = 2 ]; then
  if "${MPI[@]}" -n 2 "$P" train examples/mlp.pir --tactics examples/mlp.bp.yaml --optimizer sgd \
      --steps 1 --checkpoint-dir "$T/sem_ck" --timeout 30 >"$T/sem" 2>&1 &&
      "${MPI[@]}" -n 2 "$P" train examples/mlp.pir --tactics examples/mlp.bp.yaml --optimizer sgd \
        --steps 1 --checkpoint-dir "$T/sem_ck" --resume --timeout 30 >>"$T/sem" 2>&1 &&
      grep -q "resumed from .*sem_ck.* at step 1" "$T/sem"; then
    pass "a taken Open MPI MPI-IO semaphore in /dev/shm does not stop a checkpoint or a resume"
  else
    fail "a checkpoint with a taken Open MPI MPI-IO semaphore in /dev/shm"
    cat "$T/sem"
  fi
else
  echo "skip: /dev/shm already holds sem.OMPIO_checkpoint.safetensors(.tmp), or is not writable"
fi
rm -f "${made[@]}"

# 1. a loss that overflows (SGD with lr 1e18) stops the run at that step on
#    every rank, exit non-zero, naming the step; the checkpoint on disk is the
#    last good step's (resuming from it starts one step later)
"${MPI[@]}" -n 2 "$P" train examples/mlp.pir --tactics examples/mlp.bp.yaml --optimizer sgd \
  --lr 1e18 --steps 10 --checkpoint-dir "$T/nan_ck" --checkpoint-every 1 >"$T/nan" 2>&1
status=$?
bad=$(sed -n 's/.*error: step \([0-9]*\): the loss is \(inf\|nan\|-inf\);.*/\1/p' "$T/nan" | head -1)
"${MPI[@]}" -n 2 "$P" train examples/mlp.pir --tactics examples/mlp.bp.yaml --optimizer sgd \
  --steps 1 --checkpoint-dir "$T/nan_ck" --resume >"$T/nan_resumed" 2>&1
first=$(sed -n 's/^step *\([0-9]*\) .*/\1/p' "$T/nan_resumed" | head -1)
if [ "$status" -ne 0 ] && [ -n "$bad" ] && [ "$(grep -c "error: step $bad: the loss is" "$T/nan")" = 1 ] &&
    grep -q "the checkpoint of step $((bad - 1)) in $T/nan_ck is kept" "$T/nan" &&
    [ "$first" = "$bad" ]; then
  pass "a non-finite loss at step $bad stopped the job (rank 0 says so); the checkpoint of step $((bad - 1)) is kept"
else
  fail "a non-finite loss (exit $status, step '${bad}', resumed at '${first}')"
  cat "$T/nan" "$T/nan_resumed"
fi

# 1b. --check-numerics on 2 ranks: tests/data/nan_grad.pir, a loss of 0 whose
#     gradient is nan, stops the job at step 1, naming the param (the loss
#     alone would show it at step 2)
printf 'mesh: {batch: 2}\nschedule:\n  - name: bp\n    axis: batch\n    shard: {x: 0}\n' >"$T/nang.yaml"
if ! "${MPI[@]}" -n 2 "$P" train tests/data/nan_grad.pir --tactics "$T/nang.yaml" --optimizer sgd --steps 5 \
    --real-data --check-numerics >"$T/nang.out" 2>&1 &&
    grep -q "error: step 1: %w is not finite after the step's update (--check-numerics)" "$T/nang.out"; then
  pass "--check-numerics on 2 ranks: a nan gradient stopped the job at step 1, naming %w"
else
  fail "--check-numerics on 2 ranks"
  cat "$T/nang.out"
fi

# 2. interrupts. Under mpirun, SIGTERM to one rank: every rank finishes the
#    step, the state after it is checkpointed, and the job ends non-zero with
#    rank 0 saying so; --resume continues at the next step. (Ctrl-C on mpirun
#    itself sends SIGTERM to every rank and SIGKILL 1 s later: docs/reliability.md.)
"${MPI[@]}" -n 2 "$P" train examples/mlp.pir --tactics examples/mlp.bp.yaml --optimizer sgd \
  --steps 1000000 --every 1 --checkpoint-dir "$T/int_ck" --checkpoint-every 1000 >"$T/int" 2>&1 &
job=$!
victim=
await_line "$T/int" '^step' && victim=$(rank_pid "$job" 1)
[ -n "$victim" ] && kill -TERM "$victim"
await_exit "$job" 30 || kill_job "$job"
wait "$job"
status=$?
k=$(sed -n 's/.*interrupted by SIGTERM after step \([0-9]*\); its state is in the checkpoint.*/\1/p' "$T/int")
"${MPI[@]}" -n 2 "$P" train examples/mlp.pir --tactics examples/mlp.bp.yaml --optimizer sgd \
  --steps 1 --checkpoint-dir "$T/int_ck" --resume >"$T/int_resumed" 2>&1
first=$(sed -n 's/^step *\([0-9]*\) .*/\1/p' "$T/int_resumed" | head -1)
if [ -n "$victim" ] && [ "$status" -ne 0 ] && [ -n "$k" ] &&
    grep -q "^checkpoint: step $k written" "$T/int" && [ "$first" = "$((k + 1))" ]; then
  pass "SIGTERM to rank 1: both ranks stopped after step $k with its checkpoint; resumed at $first"
else
  fail "SIGTERM to rank 1 (pid '$victim', exit $status, step '$k', resumed at '$first')"
  cat "$T/int" "$T/int_resumed"
fi
# one process: SIGINT stops after the step (exit 130); a second one during the
# same step exits at once. The interpreter's GPT step (about 0.8 s here; the
# MLP's, 0.15 s, could end between await_line's polls and the second signal)
# leaves the time; the second run is sent one every 20 ms until it ends, as
# two sent before the process handles the first would be one pending signal
"$P" train examples/gpt.pir --optimizer sgd --steps 1000 >"$T/int1" 2>&1 &
job=$!
await_line "$T/int1" '^step'
kill -INT "$job"
wait "$job"
status=$?
"$P" train examples/gpt.pir --optimizer sgd --steps 1000 >"$T/int2" 2>&1 &
job2=$!
await_line "$T/int2" '^step'
for _ in $(seq 250); do
  kill -INT "$job2" 2>/dev/null || break
  sleep 0.02
done
wait "$job2"
status2=$?
if [ "$status" = 130 ] && grep -q "interrupted by SIGINT after step [0-9]*; nothing was written" "$T/int1" &&
    [ "$status2" = 130 ] && grep -q "interrupted again, exiting now" "$T/int2"; then
  pass "SIGINT to a one-process run: stopped after the step (exit 130); a second SIGINT exits at once"
else
  fail "SIGINT to a one-process run (exit $status, then $status2)"
  cat "$T/int1" "$T/int2"
fi

# 3. a full disk: a 12 MiB tmpfs holds one 8 MiB checkpoint but not a second
#    beside it, so the second write fails; the job stops, non-zero, saying
#    so, no temporary file is left, and the first checkpoint is whole:
#    resuming from it gives the uninterrupted run's step 3 (root only)
if [ "$(id -u)" = 0 ] && mkdir -p "$T/full" && mount -t tmpfs -o size=12m tmpfs "$T/full" 2>/dev/null; then
  "${MPI[@]}" -n 2 "$P" train examples/mlp.pir --tactics examples/mlp.bp.yaml --optimizer sgd \
    --steps 6 --checkpoint-dir "$T/full/ck" --checkpoint-every 2 >"$T/full.out" 2>&1
  status=$?
  "${MPI[@]}" -n 2 "$P" train examples/mlp.pir --tactics examples/mlp.bp.yaml --optimizer sgd \
    --steps 3 >"$T/full.whole" 2>&1
  "${MPI[@]}" -n 2 "$P" train examples/mlp.pir --tactics examples/mlp.bp.yaml --optimizer sgd \
    --steps 1 --checkpoint-dir "$T/full/ck" --resume >"$T/full.resumed" 2>&1
  want=$(grep '^step      3 ' "$T/full.whole" | awk '{print $4}')
  got=$(grep '^step      3 ' "$T/full.resumed" | awk '{print $4}')
  if [ "$status" -ne 0 ] && grep -q "No space left on device" "$T/full.out" &&
      grep -q "still holds the checkpoint of step 2" "$T/full.out" &&
      [ ! -e "$T/full/ck/checkpoint.safetensors.tmp" ] && [ -n "$want" ] && [ "$got" = "$want" ]; then
    pass "a full disk: the job stopped at the step 4 checkpoint; step 2's is whole (resumed step 3 loss $got)"
  else
    fail "a full disk (exit $status, resumed step 3 loss '$got', uninterrupted '$want')"
    cat "$T/full.out" "$T/full.resumed"
  fi
  # one process's --out (8 MiB) on the ~4 MiB left: refused, the old file kept
  echo old >"$T/full/o.safetensors"
  if ! "$P" train examples/mlp.pir --optimizer sgd --steps 1 --out "$T/full/o.safetensors" \
      >"$T/full.one" 2>&1 && grep -q "No space left on device" "$T/full.one" &&
      [ "$(cat "$T/full/o.safetensors")" = old ] && [ -z "$(ls "$T/full" | grep -v '^ck$\|^o.safetensors$')" ]; then
    pass "a full disk: one process's --out is refused and the old file kept"
  else
    fail "a full disk: one process's --out"
    cat "$T/full.one"
  fi
  umount "$T/full"
else
  echo "skip a full disk: needs root to mount a tmpfs"
fi

# 4. kill -9 in a loop: a rank killed at a random moment of a run that
#     checkpoints every step; each time, --resume must find a whole
#     checkpoint of the last step reported written (or the one after it, if
#     the kill fell between the rename and the message) -- never older, never
#     unreadable (20 rounds; 5 under the sanitizers)
rounds=20
[ -n "${PT_SANITIZE_BUILD:-}" ] && rounds=5
RANDOM=7
last=0
bad=0
for round in $(seq "$rounds"); do
  resume=()
  [ -e "$T/k9/checkpoint.safetensors" ] && resume=(--resume)
  "${MPI[@]}" -n 2 "$P" train examples/mlp.pir --tactics examples/mlp.bp.yaml --optimizer sgd \
    --steps 100000 --every 100000 --checkpoint-dir "$T/k9" --checkpoint-every 1 "${resume[@]}" \
    >"$T/k9.out" 2>&1 &
  job=$!
  await_line "$T/k9.out" '^checkpoint\|^resumed'
  sleep "0.$((RANDOM % 4))$((RANDOM % 10))"
  victim=$(rank_pid "$job" $((RANDOM % 2)))
  [ -n "$victim" ] && kill -9 "$victim"
  # the other rank and mpirun go too, a moment later (mpirun would take a
  # second to notice): what is on disk is whatever the kill left
  sleep 0.2
  kill_job "$job"
  wait "$job" 2>/dev/null
  at=$(sed -n 's/^resumed from .* at step \([0-9]*\)$/\1/p' "$T/k9.out")
  if [ "${#resume[@]}" -gt 0 ] && { [ -z "$at" ] || [ "$at" -lt "$last" ] || [ "$at" -gt $((last + 1)) ]; }; then
    bad=$((bad + 1))
    echo "round $round: resumed at step '${at}', the last reported written was $last"
    cat "$T/k9.out"
  fi
  reported=$(sed -n 's/^checkpoint: step \([0-9]*\) written.*/\1/p' "$T/k9.out" | tail -1)
  last=${reported:-${at:-$last}}
done
if [ "$bad" = 0 ] && [ "$last" -gt 0 ]; then
  pass "kill -9 in a loop: $rounds rounds, each resumed from a whole checkpoint of the last reported step (reached step $last)"
else
  fail "kill -9 in a loop: $bad of $rounds rounds found no whole checkpoint of the last reported step"
fi

# 5. a hung rank: rank 1 of 2 stopped (SIGSTOP) mid-run with --timeout 3;
#    rank 0 says what it waits in and for whom, and the job ends non-zero
#    within seconds instead of hanging
"${MPI[@]}" -n 2 "$P" train examples/mlp.pir --tactics examples/mlp.bp.yaml --optimizer sgd \
  --steps 1000000 --every 1000000 --timeout 3 >"$T/hung" 2>&1 &
job=$!
victim=
await_line "$T/hung" '^step' && victim=$(rank_pid "$job" 1)
[ -n "$victim" ] && kill -STOP "$victim"
start=$SECONDS
if ! await_exit "$job" 60; then
  fail "a hung rank: the job still runs 60 s after rank 1 was stopped"
  kill_job "$job"
  cat "$T/hung"
else
  wait "$job"
  status=$?
  if [ -n "$victim" ] && [ "$status" -ne 0 ] &&
      grep -Eq "^partita \(rank 0 of 2\): error: .*has waited [0-9]+ s for (rank 1|the other ranks) \(--timeout 3\)" "$T/hung"; then
    pass "a hung rank: rank 1 stopped, rank 0 named what it waited for and the job ended in $((SECONDS - start)) s"
  else
    fail "a hung rank (pid '$victim', exit $status)"
    cat "$T/hung"
  fi
fi
[ -n "$victim" ] && kill -9 "$victim" 2>/dev/null

finish mpi_faults
