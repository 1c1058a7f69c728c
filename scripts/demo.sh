#!/bin/bash
# The demo (README): installs what is missing, builds partita, then checks,
# formats and runs the example models in the reference interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
bash scripts/build.sh build
P=build/partita
out=$(mktemp -d /tmp/partita-demo-XXXXXX)
trap 'rm -rf "$out"' EXIT

step() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "${*:2}"; "${@:2}"; }

step "Parse and verify every example" $P check examples/*.pir
step "The canonical text form is a fixed point" $P fmt --check examples/mlp.pir
step "A located error for a bad program" bash -c \
  "printf 'func @f(input %%x: f32[2]) -> (r: f32[2]) {\n  %%r = add %%x, %%x : f32[3]\n  return %%r\n}\n' > $out/bad.pir; $P check $out/bad.pir || echo \"(exit status \$?)\""
step "Run the MLP's loss in the reference interpreter (seeded arguments)" \
  $P run examples/mlp.pir --seed 1 --out "$out/mlp.safetensors"
step "The same run as JSON" $P run examples/mlp.pir --seed 1 --json
step "Run the transformer block's loss" $P run examples/transformer_block.pir --seed 1
printf '\ndemo finished: every example parsed, verified and ran.\n'
