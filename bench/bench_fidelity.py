#!/usr/bin/env python3
"""How well `partita sim` predicts `mpirun ... partita train`.

For every example model x shipped tactic script x mesh of 1, 2 and 4 ranks, predicts the
train step (Adam by default) with a hardware file and measures it under mpirun, then prints a table and
the figures: the median absolute percentage error of the step time, the Spearman rank
correlation between predicted and measured step times, and the largest difference between
predicted and measured peak memory. Prints figures; asserts nothing about time.

A script's mesh is resized for each rank count: 1 rank makes every axis 1; 2 ranks run the
one-axis scripts with their axis 2; 4 ranks run one-axis scripts with 4 and two-axis ones as
2 x 2. A configuration the program cannot be lowered for (a dimension that does not divide)
is listed as not applicable.

OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are unset for the calibration and every run, as the
other benchmarks do (a CORETYPE of Haswell halves sgemm on this machine).

Without --hw it first calibrates this machine with as many ranks as the largest mesh
(`mpirun -n 4 --oversubscribe partita calibrate`, ~30 s), so that the collectives of every
rank count are measured as they run, oversubscribed ones too; a file calibrated on another
machine (or with fewer ranks) predicts worse.

usage: python3 bench/bench_fidelity.py [--build DIR] [--hw HW.yaml] [--steps N]
                                       [--ranks 1,2,4] [--models mlp,transformer_block,gpt]
                                       [--optimizer sgd|momentum|adam]
"""
import argparse
import glob
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def spearman(xs, ys):
    def ranks(v):
        order = sorted(range(len(v)), key=lambda i: v[i])
        r = [0.0] * len(v)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and v[order[j + 1]] == v[order[i]]:
                j += 1
            for k in range(i, j + 1):
                r[order[k]] = (i + j) / 2.0
            i = j + 1
        return r

    rx, ry = ranks(xs), ranks(ys)
    mx, my = statistics.mean(rx), statistics.mean(ry)
    num = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    den = (sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry)) ** 0.5
    return num / den if den else float("nan")


def resize(script_text, ranks):
    """The script with its mesh resized for `ranks` devices, or None if it does not fit."""
    m = re.search(r"^mesh:\s*\{([^}]*)\}", script_text, re.M)
    if not m:
        return None
    axes = [a.split(":")[0].strip() for a in m.group(1).split(",")]
    if ranks == 1:
        sizes = [1] * len(axes)
    elif ranks == 2 and len(axes) == 1:
        sizes = [2]
    elif ranks == 4 and len(axes) == 1:
        sizes = [4]
    elif ranks == 4 and len(axes) == 2:
        sizes = [2, 2]
    else:
        return None
    mesh = "mesh: {" + ", ".join("%s: %d" % (a, s) for a, s in zip(axes, sizes)) + "}"
    return script_text[: m.start()] + mesh + script_text[m.end():]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--hw", help="hardware file (default: calibrate this machine first)")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--ranks", default="1,2,4")
    ap.add_argument("--models", default="mlp,transformer_block,gpt")
    ap.add_argument("--optimizer", default="adam", choices=["sgd", "momentum", "adam"])
    a = ap.parse_args()
    partita = os.path.join(a.build, "partita")
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OPENBLAS_NUM_THREADS="1")
    # as bench_train.sh and bench_peers.sh: OpenBLAS's own kernels for the machine (a
    # CORETYPE of Haswell halves sgemm here), for the calibration and every run alike
    found = {k: env.pop(k, None) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    tmp = tempfile.mkdtemp()
    if not a.hw:
        n = max(int(r) for r in a.ranks.split(","))
        a.hw = os.path.join(tmp, "calibrated.yaml")
        print("calibrating this machine on %d ranks (mpirun -n %d partita calibrate) ..." % (n, n),
              flush=True)
        cal = subprocess.run(["mpirun", "--allow-run-as-root", "--oversubscribe", "-n", str(n),
                              partita, "calibrate", "-o", a.hw], capture_output=True, text=True,
                             env=env)
        if cal.returncode != 0:
            print("bench_fidelity: calibrate failed:\n" + cal.stderr, file=sys.stderr)
            return 1
    print("machine: nproc %d, OPENBLAS_NUM_THREADS=1, hardware file %s; OPENBLAS_CORETYPE=%s "
          "and OPENBLAS_L2_SIZE=%s in the environment, both unset for the run"
          % (os.cpu_count(), a.hw, found["OPENBLAS_CORETYPE"] or "unset",
             found["OPENBLAS_L2_SIZE"] or "unset"))
    print("%-20s %-10s %5s %12s %12s %8s %12s %12s" % (
        "model", "strategy", "ranks", "predicted", "measured", "error", "peak pred", "peak meas"))
    rows = []
    for model in a.models.split(","):
        pir = os.path.join(ROOT, "examples", model + ".pir")
        for script in sorted(glob.glob(os.path.join(ROOT, "examples", model + ".*.yaml"))):
            strategy = os.path.basename(script)[len(model) + 1: -len(".yaml")]
            # ZeRO scripts shard the optimizer state: SGD has none (partita sim would say
            # that their 'opt.*' patterns match nothing), so they are skipped and said once
            with open(script) as f:
                source = f.read()
            if a.optimizer == "sgd" and '"opt.' in source:
                print("%-20s %-10s %5s   skipped: it shards optimizer state, which SGD has none of"
                      % (model, strategy, "-"))
                continue
            for ranks in [int(r) for r in a.ranks.split(",")]:
                text = resize(source, ranks)
                if text is None:
                    continue
                path = os.path.join(tmp, "%s.%s.%d.yaml" % (model, strategy, ranks))
                open(path, "w").write(text)
                sim = subprocess.run([partita, "sim", pir, "--tactics", path, "--hw", a.hw,
                                      "--optimizer", a.optimizer, "--json"],
                                     capture_output=True, text=True, env=env)
                if sim.returncode != 0:
                    print("%-20s %-10s %5d   not applicable: %s" % (
                        model, strategy, ranks, (sim.stderr.strip().splitlines() or ["?"])[0]))
                    continue
                pred = json.loads(sim.stdout)
                cmd = ["mpirun", "--allow-run-as-root", "--oversubscribe", "-n", str(ranks),
                       partita, "train", pir, "--tactics", path, "--optimizer", a.optimizer,
                       "--steps", str(a.steps), "--json"]
                run = subprocess.run(cmd, capture_output=True, text=True, env=env)
                if run.returncode != 0:
                    print("%-20s %-10s %5d   train failed: %s" % (
                        model, strategy, ranks, (run.stderr.strip().splitlines() or ["?"])[-1]))
                    continue
                meas = json.loads(run.stdout)
                p, m = pred["step_s"], meas["median_step_seconds"]
                pp = pred["peak_memory_bytes"]
                pm = meas.get("peak_buffer_bytes_per_rank", meas.get("peak_buffer_bytes"))
                if isinstance(pm, list):
                    pm = max(pm)
                err = (p - m) / m
                rows.append((p, m, err, pp, pm))
                print("%-20s %-10s %5d %10.2f ms %10.2f ms %+7.1f%% %10.2f MB %10.2f MB" % (
                    model, strategy, ranks, p * 1e3, m * 1e3, 100 * err, pp / 1e6,
                    (pm or 0) / 1e6), flush=True)
    if not rows:
        print("nothing measured")
        return 1
    mape = statistics.median(abs(r[2]) for r in rows)
    rho = spearman([r[0] for r in rows], [r[1] for r in rows])
    mem = max(abs(r[3] - r[4]) / r[4] for r in rows if r[4])
    print("\n%d configurations" % len(rows))
    print("median absolute step-time error: %.1f%%" % (100 * mape))
    print("Spearman rank correlation (predicted vs measured step time): %.3f" % rho)
    print("largest peak-memory difference: %.2f%%" % (100 * mem))
    return 0


if __name__ == "__main__":
    sys.exit(main())
