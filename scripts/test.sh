#!/bin/bash
# The test command (README): installs what is missing, builds partita twice
# (optimised, and with AddressSanitizer + UndefinedBehaviorSanitizer) and
# runs the whole test suite under both.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

echo "== build (RelWithDebInfo)"
bash scripts/build.sh build
echo "== tests"
(cd build && ctest --output-on-failure --timeout 600)

echo "== build (ASan + UBSan)"
bash scripts/build.sh build-asan -DPT_SANITIZE=ON
echo "== tests under sanitizers"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest --output-on-failure --timeout 900)

echo "== all tests passed (optimised and sanitizer builds)"
