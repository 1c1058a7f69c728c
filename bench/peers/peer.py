#!/usr/bin/python3
"""PyTorch peers of partita's examples: write starting values, train on one process or
under DDP, compare loss lists. Driven by bench/bench_peers.sh; run with Debian's
/usr/bin/python3 (python3-torch, python3-numpy)."""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peerlib  # noqa: E402

MODELS = ["mlp", "transformer_block", "gpt", "griffin"]

USAGE = """peer.py init MODEL --out IN.safetensors [--seed N] [--pir FILE]
       peer.py train MODEL --inputs IN.safetensors --optimizer sgd|adam --steps N
                     [--warmup W] [--threads T | --ddp W] [--lr X] [--pir FILE]
       peer.py partita-result OUT.json ERR.txt [--warmup W] [--trace TRACE.json]
       peer.py compare REF.json GOT.json --steps N [--tol X] [--what TEXT]
       peer.py merge ROUND.json...
       peer.py report DIR
       peer.py profile MODEL --inputs IN.safetensors --optimizer sgd|adam [--steps N]
                     [--threads T] [--pir FILE]
       peer.py partita-profile TRACE.json
       peer.py selftest"""

DESCRIPTION = """init writes the params and inputs of examples/MODEL.pir's @loss (names and
shapes read from the .pir, values by partita's initial-value rule drawn with numpy) to a
safetensors file that partita (--inputs) and PyTorch both read.

--pir FILE (init, train, profile): mirror FILE instead of examples/MODEL.pir, a model
`partita model MODEL ...` wrote at other sizes (gpt, griffin and mlp; the heads, window
and vocabulary are read from the options its first line records).

train runs MODEL's PyTorch peer for N steps from that file (SGD or Adam at partita's
defaults) and prints one JSON object: losses (each before its step's update, as partita
prints them), step_seconds and median_step_seconds (over the steps after the first W,
--warmup, default 0). --threads T: one process, T intra-op threads (set OMP_NUM_THREADS
and OPENBLAS_NUM_THREADS to T as well); --ddp W: DistributedDataParallel over W
processes (gloo, one thread each, the batch split in W).

partita-result turns `partita train --json` under mpirun (its JSON on stdout, its step
lines on stderr) into the same JSON: the median over the steps after the first W. With
--trace (the run's `--profile` trace) it adds where the profiled steps went:
gemm_seconds, the step's dots on the rank whose dots took longest (median over the
profiled steps), and comm_seconds, the collectives (waits included) on the rank where they
took least, the one the others wait for.

compare checks that GOT's first N losses equal REF's within --tol relative (default 1e-4),
prints the largest relative difference, and exits 1 with a message naming the step if not.

merge turns one configuration's rounds (bench_peers.sh --rounds) into one result: the first
round's losses, the median over the rounds of median_step_seconds (and of gemm_seconds and
comm_seconds where present), and round_medians, every round's.

report prints the table and the ratios of the results bench_peers.sh left in DIR.

profile runs N steps (default 10, after 2 untimed) under torch.profiler and prints the
ops by self CPU time per step; partita-profile does the same for a `partita train
--profile` trace (op kinds, compute and communication lanes, rank 0): where each spends
its step.

selftest: safetensors round trip and the models' signatures (no torch needed)."""


def _pir(a):
    return os.path.abspath(a.pir) if a.pir else None


def cmd_init(a):
    pir, bound = peerlib.model_meta(a.model, _pir(a))
    sig = peerlib.pir_signature(os.path.join(peerlib.ROOT, pir))
    vals = peerlib.init_values(sig, a.seed, bound)
    peerlib.st_write(a.out, vals, {"source": pir, "seed": a.seed})
    return 0


def cmd_train(a):
    model = peerlib.load_model(a.model, _pir(a))
    vals = peerlib.st_read(a.inputs)
    if a.ddp:
        res = peerlib.train_ddp(model.__file__, vals, a.optimizer, a.steps, a.ddp, a.lr, _pir(a))
    else:
        res = peerlib.train(model, vals, a.optimizer, a.steps, a.threads, a.lr)
    res["median_step_seconds"] = peerlib.median_after(res["step_seconds"], a.warmup)
    res.update({"model": a.model, "optimizer": a.optimizer, "steps": a.steps,
                "threads": 1 if a.ddp else a.threads, "processes": a.ddp or 1})
    json.dump(res, sys.stdout)
    print()
    return 0


def cmd_partita_result(a):
    import re
    with open(a.out) as f:
        res = json.load(f)
    times = []
    with open(a.err) as f:
        for line in f:
            m = re.match(r"^step\s+\d+\s+loss\s+\S+\s+([\d.]+) ms", line)
            if m:
                times.append(float(m.group(1)) / 1e3)
    if len(times) != res["steps"]:
        peerlib.fail("%s: %d step lines for %d steps" % (a.err, len(times), res["steps"]))
    out = {"losses": res["losses"], "step_seconds": times,
           "median_step_seconds": peerlib.median_after(times, a.warmup),
           "partita_median_step_seconds": res["median_step_seconds"], "ranks": res["ranks"]}
    if a.trace:
        out.update(_trace_shares(a.trace))
    json.dump(out, sys.stdout)
    print()
    return 0


def _trace_shares(path):
    """Per rank of a `partita train --profile` trace (pid = rank + 1; lanes: tid 1 the
    ops that compute, 2 the collectives, 3 the steps): the median over the profiled steps
    of the dots' time and of the collectives' time; the dots of the slowest rank and the
    collectives of the rank that waits least."""
    import collections
    with open(path) as f:
        ev = [e for e in json.load(f)["traceEvents"] if e.get("ph") == "X"]
    dots = collections.defaultdict(lambda: collections.defaultdict(float))
    comm = collections.defaultdict(lambda: collections.defaultdict(float))
    for e in ev:
        step = e.get("args", {}).get("step")
        if e.get("tid") == 3:
            dots[e["pid"]][step] += 0.0
            comm[e["pid"]][step] += 0.0
        elif e.get("tid") == 1 and e["name"].startswith("dot "):
            dots[e["pid"]][step] += e["dur"] / 1e6
        elif e.get("tid") == 2:
            comm[e["pid"]][step] += e["dur"] / 1e6
    if not dots:
        raise ValueError("%s: no profiled steps" % path)
    return {"gemm_seconds": max(peerlib.median_after(list(d.values()), 0) for d in dots.values()),
            "comm_seconds": min(peerlib.median_after(list(c.values()), 0) for c in comm.values())}


def cmd_compare(a):
    with open(a.ref) as f:
        ref = json.load(f)["losses"]
    with open(a.got) as f:
        got = json.load(f)["losses"]
    n = min(a.steps, len(ref), len(got))
    if n < a.steps:
        peerlib.fail("%s: only %d losses to compare, %d wanted" % (a.what, n, a.steps))
    worst = peerlib.max_rel_diff(ref, got, n)
    for k in range(n):
        d = peerlib.max_rel_diff(ref[k:], got[k:], 1)
        if not d <= a.tol:  # also catches nan
            peerlib.fail("%s: step %d loss %.9g, the reference's %.9g: relative difference %.3g > %g"
                         % (a.what, k + 1, got[k], ref[k], d, a.tol))
    print("%.2e" % worst)
    return 0


def cmd_merge(a):
    rounds = []
    for path in a.rounds:
        with open(path) as f:
            rounds.append(json.load(f))
    out = dict(rounds[0])
    out["round_medians"] = [r["median_step_seconds"] for r in rounds]
    for k in ("median_step_seconds", "gemm_seconds", "comm_seconds"):
        vals = [r[k] for r in rounds if k in r]
        if vals:
            out[k] = peerlib.median_after(vals, 0)
    json.dump(out, sys.stdout)
    print()
    return 0


def _label(key):
    kind, _, rest = key.partition(".")
    if kind == "partita":
        n, _, script = rest.partition(".")
        return "partita, %s rank%s%s" % (n, "" if n == "1" else "s", ", " + script if script else "")
    if kind == "torch":
        return "PyTorch, %s thread%s%s" % (rest.rstrip("p"), "" if rest == "1" else "s",
                                           ", passive" if rest.endswith("p") else "")
    return "PyTorch DDP, %s processes" % rest


def _order(key):
    return (["partita", "torch", "ddp"].index(key.split(".")[0]), key)


def cmd_report(a):
    """The table of one bench_peers.sh run: DIR/MODEL.OPT.KEY.json per configuration
    (KEY: partita.1, partita.2.SCRIPT, torch.1, torch.2, ddp.2) and DIR/MODEL.OPT.ref.json,
    the reference interpreter's losses (absent when the check was not run)."""
    runs = {}
    for name in sorted(os.listdir(a.dir)):
        parts = name[:-len(".json")].split(".", 2) if name.endswith(".json") else []
        if len(parts) == 3:
            with open(os.path.join(a.dir, name)) as f:
                runs.setdefault((parts[0], parts[1]), {})[parts[2]] = res = json.load(f)
            load = os.path.join(a.dir, name[:-len(".json")] + ".load")
            if os.path.exists(load):
                with open(load) as f:
                    res["load"] = f.read().strip()
    order = {m: i for i, m in enumerate(MODELS)}
    print("%-18s %-5s %-28s %9s %9s %10s %6s %8s %8s %7s" % (
        "model", "opt", "configuration", "steps/s", "ms/step", "loss diff", "load", "GEMM ms",
        "comm ms", "spread"))
    for (model, opt) in sorted(runs, key=lambda k: (order.get(k[0], 99), k[1] != "sgd")):
        res = runs[(model, opt)]
        ref = res.pop("ref", None)
        rate = {k: 1.0 / v["median_step_seconds"] for k, v in res.items()}
        for k in sorted(res, key=_order):
            diff = "%.1e" % peerlib.max_rel_diff(ref["losses"], res[k]["losses"], 3) if ref else "-"
            ms = ["%.2f" % (1e3 * res[k][f]) if f in res[k] else "-"
                  for f in ("gemm_seconds", "comm_seconds")]
            rm = res[k].get("round_medians", [])
            spread = "%.0f%%" % (100 * (max(rm) - min(rm)) / res[k]["median_step_seconds"]) \
                if len(rm) > 1 else "-"
            print("%-18s %-5s %-28s %9.1f %9.2f %10s %6s %8s %8s %7s" % (
                model, opt, _label(k), rate[k], 1e3 * res[k]["median_step_seconds"], diff,
                res[k].get("load", "-"), ms[0], ms[1], spread))
        two = {k: r for k, r in rate.items() if k.startswith("partita.2.")}
        single = {k: r for k, r in rate.items() if k.startswith("torch.")}
        ratios = []
        if two:
            best = max(two, key=two.get)
            if single:
                bs = max(single, key=single.get)
                ratios.append("best 2-rank (%s) / PyTorch best single process (%s): %.2fx"
                              % (best.split(".", 2)[2], _label(bs).split(", ", 1)[1], two[best] / single[bs]))
            if "ddp.2" in rate:
                ratios.append("best 2-rank / DDP: %.2fx" % (two[best] / rate["ddp.2"]))
        def ceiling(bound):
            """How a bound of `bound` steps/s compares: the best 2-rank's share of it and
            the largest ratios to PyTorch it leaves open."""
            t = " (best 2-rank at %.0f%% of it)" % (100 * two[best] / bound) if two else ""
            if single:
                t += "; at most %.2fx PyTorch's best single process" % (bound / single[bs])
            if "ddp.2" in rate:
                t += ", %.2fx DDP" % (bound / rate["ddp.2"])
            return t
        # the GEMM bound: a 2-rank step that did nothing but its dots, at the speed they
        # ran in the step, on the script whose dots took least
        gemm = {k: res[k]["gemm_seconds"] for k in two if "gemm_seconds" in res[k]}
        if gemm:
            lo = min(gemm, key=gemm.get)
            bound = 1.0 / gemm[lo]
            ratios.append("GEMM bound: %s's dots alone %.2f ms = %.1f steps/s%s" % (
                lo.split(".", 2)[2], 1e3 * gemm[lo], bound, ceiling(bound)))
        for what, rates_file, at in (
                ("sgemm peak bound", "gemm_peak", "at OpenBLAS's best for their shapes"),
                ("FMA peak bound", "fma_peak", "at the cores' fused multiply-add peak")):
            peak = _peak_bound(a.dir, model, opt, rates_file)
            if peak:
                gflop, rates = peak
                secs = gflop / sum(rates)  # the flops split between the cores by their speeds
                ratios.append("%s: the step's %.2f GFLOP of products %s (%s GFLOP/s, both "
                              "cores at once): %.2f ms = %.1f steps/s%s" % (
                                  what, gflop, at, " and ".join("%.1f" % r for r in rates),
                                  1e3 * secs, 1 / secs, ceiling(1 / secs)))
        if "partita.1" in rate and "torch.1" in rate:
            ratios.append("1 rank / PyTorch 1 thread: %.2fx" % (rate["partita.1"] / rate["torch.1"]))
        bp = [k for k in two if k.endswith(".bp")]
        mp = [k for k in two if k.endswith(".mp")]
        if model == "mlp" and bp and mp:
            ratios.append("BP / MP: %.2fx" % (two[bp[0]] / two[mp[0]]))
        for r in ratios:
            print("%-18s %-5s   %s" % (model, opt, r))
    return 0


def _peak_bound(d, model, opt, rates_file="gemm_peak"):
    """(GFLOP of the step's products, [GFLOP/s of each core]) from DIR/MODEL.OPT.gemms
    (bench_exec --gemm-list: R*MxNxK/xy specs) and DIR/MODEL.OPT.gemm_peak (a line a
    round: gemm_peak's rate on each core; the round of the highest sum counts), or None
    when bench_peers.sh did not measure it. rates_file="fma_peak": the cores' rates are
    gemm_peak --fma's instead, their fused multiply-add peak."""
    base = os.path.join(d, "%s.%s." % (model, opt))
    try:
        with open(base + "gemms") as f:
            specs = f.read().split()
        with open(base + rates_file) as f:
            rounds = [[float(x) for x in line.split()] for line in f if line.strip()]
    except (OSError, ValueError):
        return None
    rates = max(rounds, key=sum) if rounds else []
    flops = 0
    for s in specs:
        r, shape = s.split("*", 1)
        m, n, k = (int(x) for x in shape.split("/")[0].split("x"))
        flops += int(r) * 2 * m * n * k
    return (flops / 1e9, rates) if flops and rates and min(rates) > 0 else None


def _print_shares(title, step_us, by_kind, top=14):
    print("%s: step %.2f ms" % (title, step_us / 1e3))
    for k, us in sorted(by_kind.items(), key=lambda kv: -kv[1])[:top]:
        print("  %-34s %8.2f ms %5.1f%%" % (k[:34], us / 1e3, 100 * us / step_us if step_us else 0))


def cmd_profile(a):
    import collections
    model = peerlib.load_model(a.model, _pir(a))
    torch = peerlib._setup_torch(a.threads)
    sig = peerlib.pir_signature(os.path.join(peerlib.ROOT, model.PIR))
    params, inputs = peerlib._to_torch(torch, peerlib.st_read(a.inputs), sig)
    net = peerlib._module(torch, model, params)
    opt = peerlib.make_optimizer(torch, net.parameters(), a.optimizer)
    peerlib._loop(torch, net, opt, inputs, 2)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        _, times = peerlib._loop(torch, net, opt, inputs, a.steps)
    by = collections.Counter()
    for e in prof.key_averages():
        by[e.key] += e.self_cpu_time_total / a.steps
    _print_shares("PyTorch %s %s, %d thread(s), under the profiler" % (a.model, a.optimizer, a.threads),
                  1e6 * sum(times) / len(times), by)
    return 0


def cmd_partita_profile(a):
    import collections
    with open(a.trace) as f:
        ev = [e for e in json.load(f)["traceEvents"] if e.get("ph") == "X" and e.get("pid") == 1]
    steps = [e for e in ev if e.get("tid") == 3]
    by = collections.Counter()
    for e in ev:
        if e.get("tid") in (1, 2):
            lane = "comm " if e.get("tid") == 2 else ""
            by[lane + e["name"].split()[0]] += e["dur"] / max(1, len(steps))
    _print_shares("partita, rank 0, %d steps of %s (a fused group counts at its last op)"
                  % (len(steps), a.trace), sum(e["dur"] for e in steps) / max(1, len(steps)), by)
    return 0


def cmd_selftest(_):
    import tempfile
    import numpy as np
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "t.safetensors")
        t = {"a.b": np.arange(6, dtype=np.float32).reshape(2, 3), "i": np.array([3, 1], np.int32),
             "s": np.float32(2.5).reshape(())}
        peerlib.st_write(path, t, {"k": "v"})
        back = peerlib.st_read(path)
        assert sorted(back) == sorted(t), back.keys()
        for k in t:
            assert back[k].dtype == t[k].dtype and back[k].shape == t[k].shape, k
            assert np.array_equal(back[k], t[k]), k
        with open(path, "r+b") as f:  # a header length past the end is an error, not a crash
            f.write((1 << 40).to_bytes(8, "little"))
        try:
            peerlib.st_read(path)
            raise AssertionError("a broken header was read")
        except ValueError:
            pass
        # the sgemm peak bound's inputs: 3 x 2*4*5*6 + 2*2*3*4 = 768 flops, at 100 and 50 GFLOP/s
        with open(os.path.join(d, "m.sgd.gemms"), "w") as f:
            f.write("3*4x5x6/nn 1*2x3x4/tn\n")
        with open(os.path.join(d, "m.sgd.gemm_peak"), "w") as f:
            f.write("100.0 50.0\n90.0 40.0\n")
        gflop, rates = _peak_bound(d, "m", "sgd")
        assert abs(gflop - 768e-9) < 1e-15 and rates == [100.0, 50.0], (gflop, rates)
        assert _peak_bound(d, "m", "adam") is None
        assert _peak_bound(d, "m", "sgd", "fma_peak") is None  # not measured
        with open(os.path.join(d, "m.sgd.fma_peak"), "w") as f:
            f.write("200.0 210.0\n220.0 215.0\n")
        gflop, rates = _peak_bound(d, "m", "sgd", "fma_peak")
        assert abs(gflop - 768e-9) < 1e-15 and rates == [220.0, 215.0], (gflop, rates)
    # --pir: the sizes a generated file records, and the files a peer cannot mirror
    gen, args = peerlib.generator_args(os.path.join(peerlib.ROOT, "examples/gpt.pir"))
    assert gen == "gpt" and args["heads"] == 4 and args["vocab"] == 512 and args["d_model"] == 256, args
    assert peerlib.generator_args(os.path.join(peerlib.ROOT, "examples/transformer_block.pir")) == (None, {})
    pir = os.path.join(peerlib.ROOT, "examples/griffin.pir")
    assert peerlib.model_meta("griffin", pir) == (pir, 512)
    for m, other in (("gpt", "examples/griffin.pir"), ("transformer_block", "examples/transformer_block.pir")):
        try:
            peerlib.model_meta(m, os.path.join(peerlib.ROOT, other))
        except ValueError:
            continue
        raise AssertionError("the %s peer took %s" % (m, other))
    for m in MODELS:
        pir, bound = peerlib.model_meta(m)
        sig = peerlib.pir_signature(os.path.join(peerlib.ROOT, pir))
        assert any(r == "param" for r, _, _, _ in sig) and any(r == "input" for r, _, _, _ in sig), m
        vals = peerlib.init_values(sig, 0, bound)
        assert all(vals[n].shape == s for _, n, _, s in sig), m
        ints = [vals[n] for _, n, d, _ in sig if d == "i32"]
        assert all(0 <= v.min() and v.max() < bound for v in ints), m
    print("peer.py selftest: ok")
    return 0


def main():
    p = argparse.ArgumentParser(prog="peer.py", usage=USAGE, description=DESCRIPTION,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd")
    i = sub.add_parser("init", help="write params and inputs")
    i.add_argument("model", choices=MODELS)
    i.add_argument("--out", required=True)
    i.add_argument("--seed", type=int, default=0)
    i.add_argument("--pir")
    t = sub.add_parser("train", help="train the PyTorch peer, print JSON")
    t.add_argument("model", choices=MODELS)
    t.add_argument("--inputs", required=True)
    t.add_argument("--optimizer", choices=["sgd", "adam"], required=True)
    t.add_argument("--steps", type=int, required=True)
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--ddp", type=int, default=0, metavar="W")
    t.add_argument("--lr", type=float)
    t.add_argument("--warmup", type=int, default=0)
    t.add_argument("--pir")
    r = sub.add_parser("partita-result", help="normalise partita train --json under mpirun")
    r.add_argument("out")
    r.add_argument("err")
    r.add_argument("--warmup", type=int, default=0)
    r.add_argument("--trace")
    mg = sub.add_parser("merge", help="one configuration's rounds as one result")
    mg.add_argument("rounds", nargs="+")
    rp = sub.add_parser("report", help="print the table of a bench_peers run")
    rp.add_argument("dir")
    c = sub.add_parser("compare", help="compare two JSON loss lists")
    c.add_argument("ref")
    c.add_argument("got")
    c.add_argument("--steps", type=int, default=3)
    c.add_argument("--tol", type=float, default=1e-4)
    c.add_argument("--what", default="losses")
    pf = sub.add_parser("profile", help="where PyTorch's step goes (torch.profiler)")
    pf.add_argument("model", choices=MODELS)
    pf.add_argument("--inputs", required=True)
    pf.add_argument("--optimizer", choices=["sgd", "adam"], required=True)
    pf.add_argument("--steps", type=int, default=10)
    pf.add_argument("--threads", type=int, default=1)
    pf.add_argument("--pir")
    pp = sub.add_parser("partita-profile", help="where partita's step goes (a --profile trace)")
    pp.add_argument("trace")
    sub.add_parser("selftest", help="no-torch checks of the reader, writer and signatures")
    a = p.parse_args()
    if a.cmd is None:
        p.print_help()
        return 2
    if a.cmd == "train" and (a.steps < 1 or a.threads < 1 or a.ddp < 0 or not 0 <= a.warmup < a.steps):
        p.error("--steps and --threads must be >= 1, --warmup in [0, steps)")
    try:
        return {"init": cmd_init, "train": cmd_train, "partita-result": cmd_partita_result,
                "compare": cmd_compare, "merge": cmd_merge, "report": cmd_report, "profile": cmd_profile,
                "partita-profile": cmd_partita_profile, "selftest": cmd_selftest}[a.cmd](a)
    except (OSError, ValueError, KeyError) as e:
        peerlib.fail(str(e))


if __name__ == "__main__":
    sys.exit(main())
