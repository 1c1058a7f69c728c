#!/bin/bash
# The demo (README): installs what is missing, builds partita, then walks a
# model through the pipeline: check, run in the reference interpreter,
# differentiate, import from StableHLO, train, partition with tactic scripts, lower to the SPMD
# program, and run that on the virtual mesh against the reference.
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
step "Import the MLP from StableHLO as JAX exports it, partition it and simulate it on an A100 cluster" bash -c \
  "$P import examples/mlp.mlir --params 2-5 -o $out/mlp_imported.pir &&
   $P partition $out/mlp_imported.pir --tactics examples/mlp.bp_mp.yaml -q &&
   $P sim $out/mlp_imported.pir --tactics examples/mlp.bp_mp.yaml --hw examples/hw/a100-cluster.yaml"
step "Reverse-mode autodiff: the gradient function" bash -c \
  "$P grad examples/mlp.pir -o $out/mlp_grad.pir && $P check $out/mlp_grad.pir"
step "Train the MLP for 10 Adam steps in the interpreter" \
  $P train examples/mlp.pir --optimizer adam --steps 10 --every 3
step "Partition the MLP with BP + Megatron on a 2x2 mesh" \
  $P partition examples/mlp.pir --tactics examples/mlp.bp_mp.yaml -q
step "Why is the hidden activation sharded as it is?" \
  $P explain examples/mlp.pir --tactics examples/mlp.bp_mp.yaml h
step "The SPMD program of BP + ZeRO-3 (its collectives)" bash -c \
  "$P lower examples/mlp.pir --tactics examples/mlp.bp_z3.yaml --optimizer adam | tail -9"
step "Redistribution: the example of Rink et al." \
  $P reshard --mesh 'x1=2,x2=2,y1=3,y2=2' --shape 12,12 --from '{[x1,x2],[y1,y2]}' \
  --to '{[y1,y2],[x1,x2]}' --check
step "Run the partitioned Adam step on the virtual mesh, against the reference" \
  $P run examples/mlp.pir --tactics examples/mlp.bp_mp.yaml --optimizer adam --compare
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
MPI=(mpirun --allow-run-as-root --oversubscribe)
step "Train the MLP under mpirun on 4 ranks (2x2 mesh, BP+MP), checked against the reference, with a checkpoint" \
  "${MPI[@]}" -n 4 $P train examples/mlp.pir --tactics examples/mlp.bp_mp.yaml --optimizer adam \
  --steps 20 --every 5 --verify --checkpoint-dir "$out/ckpt"
step "Resume that checkpoint on 2 ranks under plain data parallelism" \
  "${MPI[@]}" -n 2 $P train examples/mlp.pir --tactics examples/mlp.bp.yaml --optimizer adam \
  --steps 10 --every 5 --checkpoint-dir "$out/ckpt" --resume
step "Write a 2-layer GPT language model, and train it under mpirun on 4 ranks (BP+MP) on learnable synthetic data" \
  bash -c "$P model gpt -o $out/gpt.pir && ${MPI[*]} -n 4 $P train $out/gpt.pir --tactics examples/gpt.bp_mp.yaml --optimizer adam --steps 100 --every 25"
step "Plan a 48-layer GPT on 64 A100s: simulate BP+MP against BP+ZeRO-3" bash -c \
  "$P model gpt --layers 48 --d-model 1024 --heads 16 --mlp-hidden 4096 --seq 1024 --vocab 32000 --batch 64 -o $out/gpt48.pir &&
   sed 's/{batch: 2, model: 2}/{batch: 8, model: 8}/' examples/gpt.bp_mp.yaml > $out/gpt48.bp_mp.yaml &&
   sed 's/{batch: 2}/{batch: 64}/' examples/gpt.bp_z3.yaml > $out/gpt48.bp_z3.yaml &&
   $P explore $out/gpt48.pir --optimizer adam --hw examples/hw/a100-cluster.yaml --tactics $out/gpt48.bp_mp.yaml $out/gpt48.bp_z3.yaml"
step "Let the search find a strategy for the GPT on a 2x2 mesh of A100s, and rank it beside the shipped scripts" bash -c \
  "$P auto examples/gpt.pir --mesh batch=2,model=2 --hw examples/hw/a100-cluster.yaml --optimizer adam \
     -o $out/gpt.auto.yaml && grep -v '^#' $out/gpt.auto.yaml &&
   $P explore examples/gpt.pir --optimizer adam --hw examples/hw/a100-cluster.yaml \
     --tactics examples/gpt.bp_mp.yaml examples/gpt.bp_mp_z3.yaml $out/gpt.auto.yaml"
step "Measure this machine (partita calibrate on 2 ranks, ~30 s), so the simulator predicts its times" \
  "${MPI[@]}" -n 2 $P calibrate -o "$out/hw.yaml"
step "Rank the MLP's strategies by simulation on this machine (the hardware file just measured)" \
  $P explore examples/mlp.pir --optimizer adam --hw "$out/hw.yaml" \
  --tactics examples/mlp.mp.yaml examples/mlp.bp_z3.yaml examples/mlp.bp.yaml examples/mlp.bp_mp.yaml
step "The same strategies measured under mpirun (median of 15 steps)" \
  bash scripts/measure.sh build examples/mlp.pir adam 15 examples/mlp.mp.yaml \
  examples/mlp.bp_z3.yaml examples/mlp.bp.yaml examples/mlp.bp_mp.yaml
printf '\ndemo finished: the examples ran through every stage, the partitioned program matched\nthe reference interpreter, the MLP trained under mpirun across a checkpoint, and the\nsimulator ranked its strategies next to their measured step times.\n'
