#!/bin/bash
# The test command (README): installs what is missing, builds partita twice
# (optimised, and with AddressSanitizer + UndefinedBehaviorSanitizer) and
# runs the whole test suite under both, then builds the libFuzzer harnesses
# (clang) and runs each for a short smoke (scripts/fuzz.sh --smoke).
set -euo pipefail
cd "$(dirname "$0")/.."

# Runs ctest in DIR, keeping the full output in DIR.ctest.log; prints each
# Check runner's summary line and ctest's, or the whole log on failure.
run_ctest() {
  local dir=$1 timeout=$2
  if (cd "$dir" && ctest -V -j2 --timeout "$timeout" >"../$dir.ctest.log" 2>&1); then
    grep -E '^[0-9]+: [0-9]+%: Checks|tests passed|Total Test time' "$dir.ctest.log"
    echo "-- per-test seconds in $dir, slowest first:"
    grep -E '^ *[0-9]+/[0-9]+ Test +#[0-9]+: ' "$dir.ctest.log" |
      sed -E 's/.*Test +#[0-9]+: ([^ ]+) .* ([0-9.]+) sec.*/\2 \1/' | sort -rn |
      awk '{ printf "   %8.1f  %s\n", $1, $2 }'
  else
    tail -300 "$dir.ctest.log"
    echo "test: error: tests failed in $dir (full log: $dir.ctest.log)" >&2
    exit 1
  fi
}

bash scripts/setup.sh

echo "== build (RelWithDebInfo)"
bash scripts/build.sh build
echo "== tests"
run_ctest build 600

echo "== build (ASan + UBSan)"
bash scripts/build.sh build-asan -DPT_SANITIZE=ON
echo "== tests under sanitizers"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# the slowest tests shorten themselves under the sanitizers (~3x slower)
export PT_SANITIZE_BUILD=1
run_ctest build-asan 900

echo "== fuzz smoke (each harness 15 s; a bug prints its reproducer's path)"
unset ASAN_OPTIONS UBSAN_OPTIONS
bash scripts/fuzz.sh --smoke

echo "== all tests passed (optimised and sanitizer builds, fuzz smoke)"
