# What tests/mpi_train.sh and tests/mpi_faults.sh share (sourced, not run):
# the Open MPI settings for root and oversubscription, the pass/fail lines
# and their count, and the waiting on mpirun jobs and their ranks.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
MPI=(mpirun --allow-run-as-root --oversubscribe)
fails=0
# each check's line ends with the seconds since the previous one, so a CI
# log shows where the time goes
last_check=$SECONDS
pass() { echo "ok   $1 [$((SECONDS - last_check)) s]"; last_check=$SECONDS; }
fail() { echo "FAIL $1 [$((SECONDS - last_check)) s]"; last_check=$SECONDS; fails=$((fails + 1)); }

rank_pid() { # the pid of rank $2 under mpirun $1
  local c
  for c in $(pgrep -P "$1"); do
    tr '\0' '\n' <"/proc/$c/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2" && echo "$c"
  done
}

await_line() { # waits up to 30 s for a line of file $1 to match $2; false if none did
  local _
  for _ in $(seq 300); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

await_exit() { # waits up to $2 s for process $1 to end; false if it still runs
  local _
  for _ in $(seq $(($2 * 10))); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 0.1
  done
  ! kill -0 "$1" 2>/dev/null
}

kill_job() { # kill -9 of mpirun $1 and its ranks
  kill -9 $(pgrep -P "$1") "$1" 2>/dev/null
}

finish() { # the script's last line and exit status; $1 its name
  if [ "$fails" -ne 0 ]; then
    echo "$1: $fails check(s) failed"
    exit 1
  fi
  echo "$1: all checks passed"
}
