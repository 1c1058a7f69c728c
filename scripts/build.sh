#!/bin/bash
# Configures and builds partita in DIR (default build/); extra arguments go
# to cmake. Used by test.sh and demo.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >"$dir.configure.log" 2>&1 || {
  cat "$dir.configure.log" >&2
  echo "build: error: cmake could not configure $dir (log above)" >&2
  exit 1
}
echo "build: compiling in $dir (log: $dir.build.log)"
if ! cmake --build "$dir" -j"$jobs" >"$dir.build.log" 2>&1; then
  grep -E 'error|Error' "$dir.build.log" | head -40 >&2 || true
  echo "build: error: the build in $dir failed (full log: $dir.build.log)" >&2
  exit 1
fi
echo "build: $dir is up to date"
