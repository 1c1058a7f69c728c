#!/bin/bash
# `mpirun -n N partita train --tactics` as a user runs it (ctest: mpi_train).
#   - every example model x shipped tactic script on its own mesh, 1, 2 and 4
#     ranks: two Adam steps, --verify against the reference interpreter
#     (the full-size transformer block is represented by its shrunken copy
#     tests/data/tiny_transformer_block.pir: the interpreter takes ~3 s per
#     step of the real one; tests/data/tiny_gpt.pir, tiny_llama.pir and
#     tiny_griffin.pir, written by `partita model`, stand for
#     examples/gpt.pir, llama.pir and griffin.pir)
#   - the MLP's SGD step under BP (2 ranks) and BP+MP (4), with sharded updates
#   - tiny_griffin.pir with its sequence split over 4 ranks (griffin.seq.yaml)
#   - the language models' loss falls 3x in 200 steps on their synthetic data
#     (the optimised build only)
#   - the strategies `partita auto` finds for the MLP and the small GPT,
#     --verify'd on 2 and 4 ranks
#   - a checkpoint written on a 2x2 mesh (BP+MP), resumed on 2 ranks with
#     another script (BP; ZeRO-3 for the language models): the continued
#     losses equal an uninterrupted run's
#   - launch checks: wrong rank count, a script that does not fit the model,
#     a missing and a foreign checkpoint: a message from rank 0, non-zero exit
#   - --inputs: params, optimizer state and data from a safetensors file give
#     the single-process `train --inputs` losses on 2 ranks (BP and MP); a
#     missing file, a wrong shape, an unknown name: one message, exit 1
#   - --profile: the trace has every lowered op once per recorded step on
#     both ranks, collectives on the communication lane, within the step
#   - a rank killed with SIGKILL ends the job, non-zero, naming the rank
#   (the faults a run meets -- nan, interrupts, a full disk, kill -9 while
#   checkpointing -- are tests/mpi_faults.sh)
# Usage: mpi_train.sh PARTITA SOURCE_DIR
set -u
P=$1
SRC=$2
cd "$SRC"
. tests/mpi_common.sh
T=$(mktemp -d /tmp/partita-mpi-XXXXXX)
trap 'rm -rf "$T"' EXIT

devices() { # the device count of a script's mesh
  grep -m1 '^mesh:' "$1" | grep -o '[0-9]\+' | awk 'BEGIN{p=1}{p*=$1}END{print p}'
}

# 1. every model x script, on its own mesh, verified against the reference
#    (under the sanitizers, Griffin's ranks run the executor's kernels
#    without the JIT's fused groups: compiling its ~2000-op train step costs
#    each rank ~6 s of CPU there; the grid runs the same programs fused)
for script in examples/*.yaml; do
  stem=$(basename "$script" | cut -d. -f1)
  model=examples/$stem.pir
  [ -f "tests/data/tiny_$stem.pir" ] && model=tests/data/tiny_$stem.pir
  n=$(devices "$script")
  fusion=${PT_FUSION:-1}
  [ -n "${PT_SANITIZE_BUILD:-}" ] && [ "$stem" = griffin ] && fusion=0
  if PT_FUSION=$fusion "${MPI[@]}" -n "$n" "$P" train "$model" --tactics "$script" \
      --optimizer adam --steps 2 --verify >"$T/out" 2>&1 &&
      [ "$(grep -c '^verify: step' "$T/out")" = 2 ]; then
    pass "$model with $script on $n ranks matches the reference interpreter"
  else
    fail "$model with $script on $n ranks"
    cat "$T/out"
  fi
done

# 1s. SGD's step under BP and BP+MP, where each weight's gradient and update
#     run by rows and the updated rows are all-gathered (sharded updates,
#     passes/lower.c): checked against the reference as above
for case in "examples/mlp.bp.yaml 2" "examples/mlp.bp_mp.yaml 4"; do
  set -- $case
  if "$P" lower examples/mlp.pir --tactics "$1" --optimizer sgd 2>&1 | grep -q '(sharded update)' &&
      "${MPI[@]}" -n "$2" "$P" train examples/mlp.pir --tactics "$1" --optimizer sgd --steps 2 \
      --verify >"$T/out" 2>&1 && [ "$(grep -c '^verify: step' "$T/out")" = 2 ]; then
    pass "examples/mlp.pir with $1 and SGD (sharded updates) on $2 ranks matches the reference interpreter"
  else
    fail "examples/mlp.pir with $1 and SGD (sharded updates) on $2 ranks"
    cat "$T/out"
  fi
done

# 1a. sequence parallelism over 4 ranks along one axis: the distributed scan's
#     carries and the halos cross three device boundaries (griffin.seq.yaml's own
#     mesh, 2 ranks, ran above). Not under the sanitizers, where it would cost
#     ~22 s of CPU: the grid runs the same program on a virtual mesh of 4 and 8
sed 's/{seq: 2}/{seq: 4}/' examples/griffin.seq.yaml >"$T/seq4.yaml"
if [ -z "${PT_SANITIZE_BUILD:-}" ]; then
  if "${MPI[@]}" -n 4 "$P" train tests/data/tiny_griffin.pir --tactics "$T/seq4.yaml" \
      --optimizer adam --steps 2 --verify >"$T/out" 2>&1 &&
      [ "$(grep -c '^verify: step' "$T/out")" = 2 ]; then
    pass "tests/data/tiny_griffin.pir with its sequence split over 4 ranks matches the reference interpreter"
  else
    fail "tests/data/tiny_griffin.pir with its sequence split over 4 ranks"
    cat "$T/out"
  fi
fi

# 1b. the language models learn their synthetic data (labels = a fixed
#     permutation of the tokens, runtime/train.h): 200 Adam steps on 4 ranks
#     with BP+MP must cut the loss at least 3x (not under the sanitizers,
#     where the 400 steps cost ~60 s: the same programs' steps run there in 1
#     and 2, and this checks numbers the optimised build computes alike)
lms="gpt llama"
[ -n "${PT_SANITIZE_BUILD:-}" ] && lms=
for m in $lms; do
  out=$("${MPI[@]}" -n 4 "$P" train "tests/data/tiny_$m.pir" --tactics "examples/$m.bp_mp.yaml" \
    --optimizer adam --steps 200 --every 200 2>&1)
  ratio=$(echo "$out" | sed -n 's/^first loss \([^,]*\), final loss \([^;]*\);.*/\1 \2/p' |
    awk '$2 > 0 { printf "%.1f", $1 / $2 }')
  if [ -n "$ratio" ] && awk -v r="$ratio" 'BEGIN { exit !(r >= 3) }'; then
    pass "tiny_$m.pir learns its tokens' permutation on 4 ranks (loss fell ${ratio}x in 200 steps)"
  else
    fail "tiny_$m.pir on 4 ranks: the loss fell ${ratio:-?}x in 200 steps, not 3x"
    echo "$out"
  fi
done

# 1c. strategies `partita auto` finds run under mpirun as they ran on the
#     virtual mesh: the MLP on {batch: 2}, the small GPT on {batch: 2, model: 2}
for case in "examples/mlp.pir batch=2 2" "tests/data/tiny_gpt.pir batch=2,model=2 4"; do
  set -- $case
  if ! "$P" auto "$1" --mesh "$2" --hw examples/hw/this-machine.yaml --optimizer adam \
      --budget-s 30 -o "$T/found.yaml" >"$T/out" 2>&1; then
    fail "partita auto $1 --mesh $2"
    cat "$T/out"
  elif "${MPI[@]}" -n "$3" "$P" train "$1" --tactics "$T/found.yaml" --optimizer adam --steps 2 \
      --verify >"$T/out" 2>&1 && [ "$(grep -c '^verify: step' "$T/out")" = 2 ]; then
    pass "the strategy partita auto finds for $1 on $2 matches the reference on $3 ranks"
  else
    fail "the strategy found for $1 on $2, on $3 ranks"
    cat "$T/found.yaml" "$T/out"
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
# the summary's time in collectives: a share of the step for each rank, in
# the JSON (BP all-reduces: more than none, less than all) and in the text
shares=$(python3 -c 'import json,sys; print(" ".join("%.4f" % x for x in json.load(open(sys.argv[1]))["collective_share_per_rank"]))' "$T/whole.json" 2>/dev/null)
line=$(grep "^time in collectives" "$T/out")
if python3 -c 'import sys; v=[float(x) for x in sys.argv[1:]]; sys.exit(not (len(v) == 2 and all(0 < x < 1 for x in v)))' $shares &&
    [[ "$line" =~ rank\ 0\ [0-9.]+%,\ rank\ 1\ [0-9.]+%,\ rank\ 2\ [0-9.]+%,\ rank\ 3\ [0-9.]+%\ of\ the\ step ]]; then
  pass "the summary gives each rank's time in collectives: $shares of the step on 2 ranks; on 4: ${line#*: }"
else
  fail "time in collectives: JSON '$shares', text '$line'"
fi
# SGD under BP carries each weight as its rows (passes/lower.c, carried blocks):
# a checkpoint written from the rows on 2 ranks resumes on 1 rank, and one
# written on 1 rank resumes into the rows; both continue the uninterrupted
# 2-rank run (to 1e-5: 1 rank sums in another order)
near() { python3 -c 'import sys; a, b = sys.argv[1].split(), sys.argv[2].split()
sys.exit(not (len(a) == len(b) == 2 and all(abs(float(x) - float(y)) <= 1e-5 * abs(float(y)) for x, y in zip(a, b))))' "$1" "$2"; }
"$P" lower examples/mlp.pir --tactics examples/mlp.bp.yaml --optimizer sgd 2>/dev/null |
  grep -q 'carried from step to step as blocks.*%w1 {\[batch\], \[\]}' ||
  fail "the BP SGD step does not carry w1 as its rows"
"${MPI[@]}" -n 2 "$P" train examples/mlp.pir --tactics examples/mlp.bp.yaml --optimizer sgd \
  --steps 5 --json >"$T/whole.json" 2>"$T/err" || { fail "uninterrupted SGD run"; cat "$T/err"; }
whole=$(losses "$T/whole.json" | cut -d' ' -f4-5)
for way in "2 examples/mlp.bp.yaml 1 $T/bp1.yaml" "1 $T/bp1.yaml 2 examples/mlp.bp.yaml"; do
  set -- $way
  rm -rf "$T/ck_sgd"
  "${MPI[@]}" -n "$1" "$P" train examples/mlp.pir --tactics "$2" --optimizer sgd --steps 3 \
    --checkpoint-dir "$T/ck_sgd" >"$T/out" 2>&1 || { fail "SGD checkpoint on $1 ranks"; cat "$T/out"; }
  "${MPI[@]}" -n "$3" "$P" train examples/mlp.pir --tactics "$4" --optimizer sgd --steps 2 \
    --checkpoint-dir "$T/ck_sgd" --resume --json >"$T/resumed.json" 2>"$T/err" ||
    { fail "SGD resume on $3 ranks"; cat "$T/err"; }
  resumed=$(losses "$T/resumed.json")
  if [ -n "$whole" ] && near "$resumed" "$whole"; then
    pass "SGD checkpoint on $1 rank(s), resumed on $3 (carried weight rows): steps 4-5 $resumed, uninterrupted $whole"
  else
    fail "SGD checkpoint on $1 rank(s), resumed on $3: losses '$resumed', uninterrupted '$whole'"
  fi
done
# the same for the language models: checkpoint on 2x2 (BP+MP), resume on 2 ranks
# under ZeRO-3, where every parameter and its Adam state is sharded the other way
# (under the sanitizers the GPT only: Llama's checkpoint code is the same)
lms="gpt llama"
[ -n "${PT_SANITIZE_BUILD:-}" ] && lms=gpt
for m in $lms; do
  "${MPI[@]}" -n 2 "$P" train "tests/data/tiny_$m.pir" --tactics "examples/$m.bp.yaml" \
    --optimizer adam --steps 5 --json >"$T/lm_whole.json" 2>"$T/err" || cat "$T/err"
  "${MPI[@]}" -n 4 "$P" train "tests/data/tiny_$m.pir" --tactics "examples/$m.bp_mp.yaml" \
    --optimizer adam --steps 3 --checkpoint-dir "$T/lm_ck_$m" >"$T/out" 2>&1 || cat "$T/out"
  "${MPI[@]}" -n 2 "$P" train "tests/data/tiny_$m.pir" --tactics "examples/$m.bp_z3.yaml" \
    --optimizer adam --steps 2 --checkpoint-dir "$T/lm_ck_$m" --resume --json \
    >"$T/lm_resumed.json" 2>"$T/err" || cat "$T/err"
  whole=$(losses "$T/lm_whole.json" 2>/dev/null | cut -d' ' -f4-5)
  resumed=$(losses "$T/lm_resumed.json" 2>/dev/null)
  if [ -n "$whole" ] && [ "$whole" = "$resumed" ]; then
    pass "tiny_$m.pir resumed from 2x2 BP+MP on 2 ranks under ZeRO-3: steps 4-5 $resumed as uninterrupted"
  else
    fail "tiny_$m.pir resumed losses '$resumed' differ from the uninterrupted run's '$whole'"
  fi
done

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

# 4. --inputs: each rank reads its own blocks of the file's tensors
cat >"$T/st.py" <<'PY'
# Writes safetensors files for the --inputs checks: MODE OUT [IN]
import json, random, struct, sys
def read(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    h.pop("__metadata__", None)
    return {k: (v["dtype"], v["shape"], b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]])
            for k, v in h.items()}
def f32(shape, seed):
    r, n = random.Random(seed), 1
    for d in shape:
        n *= d
    return ("F32", shape, struct.pack("<%df" % n, *[r.uniform(-1, 1) for _ in range(n)]))
def write(path, ts):
    h, off = {}, 0
    for k, (dt, shape, raw) in ts.items():
        h[k] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + len(raw)]}
        off += len(raw)
    s = json.dumps(h).encode()
    s += b" " * (-len(s) % 8)
    open(path, "wb").write(struct.pack("<Q", len(s)) + s + b"".join(t[2] for t in ts.values()))
mode, out = sys.argv[1], sys.argv[2]
if mode == "inputs":  # a trained state (opt.step 1, moments) plus data of our own
    ts = read(sys.argv[3])
    ts["x"], ts["y"] = f32([64, 1024], 1), f32([64, 1024], 2)
elif mode == "badshape":
    ts = {"w1": f32([2, 2], 3)}
else:
    ts = {"b1": f32([1024], 4), "w9": f32([4], 5)}
write(out, ts)
PY
if "$P" train examples/mlp.pir --optimizer adam --steps 1 --seed 3 -o "$T/state.safetensors" \
    >"$T/out" 2>&1 && python3 "$T/st.py" inputs "$T/in.safetensors" "$T/state.safetensors" &&
    "$P" train examples/mlp.pir --optimizer adam --steps 2 --inputs "$T/in.safetensors" --json \
    >"$T/single.json" 2>"$T/out"; then
  for script in mlp.bp mlp.mp; do
    if "${MPI[@]}" -n 2 "$P" train examples/mlp.pir --tactics "examples/$script.yaml" \
        --optimizer adam --steps 2 --inputs "$T/in.safetensors" --json >"$T/dist.json" \
        2>"$T/out" && python3 -c 'import json, sys
a, b = (json.load(open(p))["losses"] for p in sys.argv[1:])
assert len(a) == len(b) == 2, (a, b)
for x, y in zip(a, b):
    assert abs(x - y) <= 1e-4 * abs(x), (a, b)
print(" ".join("%.7g" % x for x in b))' "$T/single.json" "$T/dist.json" >"$T/cmp" 2>&1; then
      pass "--inputs on 2 ranks ($script): losses $(cat "$T/cmp") equal the single-process run's"
    else
      fail "--inputs on 2 ranks ($script)"
      cat "$T/out" "$T/cmp"
    fi
  done
else
  fail "the single-process --inputs run"
  cat "$T/out"
fi
python3 "$T/st.py" badshape "$T/badshape.safetensors"
python3 "$T/st.py" unknown "$T/unknown.safetensors"
expect_once() { # name, phrase, --inputs file: one message (rank 0's), exit non-zero, no hang
  local name=$1 phrase=$2
  if timeout 60 "${MPI[@]}" -n 2 "$P" train examples/mlp.pir --tactics examples/mlp.bp.yaml \
      --optimizer adam --steps 1 --inputs "$3" >"$T/out" 2>&1; then
    fail "$name: exit 0"
  elif [ "$(grep -c -- "$phrase" "$T/out")" = 1 ]; then
    pass "$name"
  else
    fail "$name: not one '$phrase' in"
    cat "$T/out"
  fi
}
expect_once "a missing --inputs file" "none.safetensors: error: cannot read the --inputs file" \
  "$T/none.safetensors"
expect_once "an --inputs tensor of the wrong shape" "tensor 'w1' is f32\[2,2\] but" \
  "$T/badshape.safetensors"
expect_once "an --inputs tensor that is no argument" \
  "tensor 'w9' is not an argument of @train_step" "$T/unknown.safetensors"

# 5. --profile: one trace of both ranks' measured ops
cat >"$T/prof.py" <<'PY'
# Checks a --profile trace of steps 2 and 3 on 2 ranks against the lowered program.
import json, re, sys
d = json.load(open(sys.argv[1]))
# the lowered program's ops, named as the trace names them
ops = [m.group(2) + " %" + m.group(1)
       for m in re.finditer(r"^\s+%(\S+) = ([a-z_]+)", open(sys.argv[2]).read(), re.M)]
other, ev = d["otherData"], d["traceEvents"]
assert other["ranks"] == 2 and other["ops_per_step"] == len(ops) > 0, (other, len(ops))
assert other["steps_recorded"] == [2, 3] and other["warmup_steps_skipped"] == 1, other
assert len(other["median_step_seconds"]) == 2, other
names = {e["pid"]: e["args"]["name"] for e in ev if e["name"] == "process_name"}
assert names == {1: "rank 0", 2: "rank 1"}, names
coll = ("all_gather", "reduce_scatter", "all_reduce", "all_to_all", "collective_permute")
ncomm = 0
for pid in (1, 2):
    for step in (2, 3):
        box = [e for e in ev if e["pid"] == pid and e.get("cat") == "step" and e["args"]["step"] == step]
        assert len(box) == 1, (pid, step, box)
        box = box[0]
        mine = sorted((e for e in ev if e["pid"] == pid and e["ph"] == "X" and e["cat"] != "step"
                       and e["args"]["step"] == step), key=lambda e: e["args"]["index"])
        assert [e["args"]["index"] for e in mine] == list(range(len(ops))), (pid, step)
        assert [e["name"] for e in mine] == ops, (pid, step)
        total = 0.0
        for e in mine:
            assert e["dur"] >= 0 and e["ts"] >= box["ts"] - 1e-3, e
            assert e["ts"] + e["dur"] <= box["ts"] + box["dur"] + 1e-2, (e, box)
            comm = e["name"].split()[0] in coll
            assert e["tid"] == (2 if comm else 1), e
            assert e["cat"] == ("communication" if comm else "compute"), e
            assert "where" in e["args"] and "type" in e["args"], e
            if comm:
                assert "comment" in e["args"], e
                ncomm += 1
            total += e["dur"]
        # the ops' sum within the executor's step, and that within the loop's
        assert total <= box["dur"] + 1e-3 * len(mine), (pid, step, total, box["dur"])
        assert box["dur"] <= box["args"]["step_seconds"] * 1e6 + 1e-3, box
assert ncomm > 0
print("%d ops x 2 steps x 2 ranks, %d collectives per step" % (len(ops), ncomm // 4))
PY
"$P" lower examples/mlp.pir --tactics examples/mlp.bp.yaml --optimizer adam >"$T/lowered" 2>&1
if "${MPI[@]}" -n 2 "$P" train examples/mlp.pir --tactics examples/mlp.bp.yaml --optimizer adam \
    --steps 3 --real-data --profile "$T/prof.json" >"$T/out" 2>&1 &&
    python3 "$T/prof.py" "$T/prof.json" "$T/lowered" >"$T/cmp" 2>&1; then
  pass "--profile: $(cat "$T/cmp"), each op once per step, within the step"
else
  fail "--profile"
  cat "$T/out" "$T/cmp"
fi
expect_error "--profile without --tactics" "--profile needs --tactics" \
  "$P" train examples/mlp.pir --optimizer sgd --steps 1 --profile "$T/p.json"
expect_error "--profile into a missing directory" "cannot write the profile" \
  "${MPI[@]}" -n 2 "$P" train examples/mlp.pir --tactics examples/mlp.bp.yaml --optimizer sgd \
  --steps 1 --real-data --profile "$T/none/p.json"

# 6. a rank that dies: mpirun ends the job, non-zero, and names the rank
"${MPI[@]}" -n 2 "$P" train examples/mlp.pir --tactics examples/mlp.bp.yaml --optimizer sgd \
  --steps 1000000 --real-data >"$T/killed" 2>&1 &
job=$!
victim=
await_line "$T/killed" '^step' && victim=$(rank_pid "$job" 1)
if [ -z "$victim" ]; then
  fail "a killed rank: no rank 1 process under mpirun"
  cat "$T/killed"
  kill_job "$job"
else
  kill -9 "$victim"
  start=$SECONDS
  if ! await_exit "$job" 30; then
    fail "a killed rank: mpirun still running 30 s after rank 1 was killed"
    kill_job "$job"
  elif wait "$job"; then
    fail "a killed rank: mpirun exited 0"
  elif grep -q 'rank 1 .*signal 9' "$T/killed"; then
    pass "a killed rank: the job ended within $((SECONDS - start + 1)) s, naming rank 1"
  else
    fail "a killed rank: the output does not name rank 1"
    cat "$T/killed"
  fi
fi
wait 2>/dev/null

finish mpi_train
