"""Shared pieces of the PyTorch peers of examples/*.pir (bench/bench_peers.sh): a
safetensors reader and writer, the .pir loss signature, partita's initial-value rule,
the optimisers, and the timed training loop on one process or under DDP.

Each model file (mlp.py, transformer_block.py, gpt.py, griffin.py) provides PIR (the
example it mirrors), INT_BOUND (the bound of its i32 inputs, or None) and
loss(p, x) -> scalar tensor, with p the params and x the inputs by their .pir names. A
model that `partita model` generates also has GENERATOR (its name there) and
configure(args), which sets what the .pir's signature does not say (heads, window,
vocabulary) from the options its first line records: so the peer runs any size of it
(--pir).
numpy is needed everywhere; torch only by the functions that train."""

import json
import os
import re
import struct
import sys
import time

import numpy as np

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

# safetensors dtype names and numpy types, both ways
_DTYPES = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "I64": np.int64, "U8": np.uint8,
           "BOOL": np.bool_}
_NAMES = {np.dtype(v): k for k, v in _DTYPES.items()}


def st_read(path):
    """The tensors of a safetensors file: {name: numpy array} (metadata dropped)."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError("%s: not a safetensors file (shorter than its 8-byte header length)" % path)
    (n,) = struct.unpack("<Q", blob[:8])
    if 8 + n > len(blob):
        raise ValueError("%s: header length %d runs past the end of the file" % (path, n))
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = memoryview(blob)[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in _DTYPES:
            raise ValueError("%s: tensor '%s' has dtype %s, which this reader does not know"
                             % (path, name, info["dtype"]))
        lo, hi = info["data_offsets"]
        dt = np.dtype(_DTYPES[info["dtype"]])
        shape = tuple(info["shape"])
        if hi > len(data) or hi - lo != int(np.prod(shape, dtype=np.int64)) * dt.itemsize:
            raise ValueError("%s: tensor '%s': data_offsets [%d, %d) do not fit its shape %s"
                             % (path, name, lo, hi, list(shape)))
        out[name] = np.frombuffer(data[lo:hi], dtype=dt.newbyteorder("<")).reshape(shape).copy()
    return out


def st_write(path, tensors, metadata=None):
    """Writes {name: numpy array} as safetensors (little-endian, in name order)."""
    header, chunks, off = {}, [], 0
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    for name in sorted(tensors):
        a = np.array(tensors[name], order="C", copy=False)  # 0-d stays 0-d
        if a.dtype not in _NAMES:
            raise ValueError("tensor '%s': dtype %s cannot be written" % (name, a.dtype))
        raw = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": _NAMES[a.dtype], "shape": list(a.shape),
                        "data_offsets": [off, off + len(raw)]}
        chunks.append(raw)
        off += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)
    os.replace(tmp, path)


_ARG = re.compile(r"^\s*(input|param|state)\s+%([\w.]+)\s*:\s*(f32|i32)\[([\d,\s]*)\]")


def pir_signature(pir, func="loss"):
    """[(role, name, dtype, shape)] of @func's arguments in a .pir file, in order."""
    args, inside = [], False
    with open(pir) as f:
        for line in f:
            if not inside:
                inside = line.startswith("func @%s(" % func)
                continue
            if line.startswith(")"):
                return args
            m = _ARG.match(line)
            if m:
                dims = [int(d) for d in m.group(4).split(",") if d.strip()]
                args.append((m.group(1), m.group(2), m.group(3), tuple(dims)))
    raise ValueError("%s: no function @%s with a signature this reader understands" % (pir, func))


def init_values(sig, seed, int_bound):
    """Starting values by partita's rule (docs/cli.md, "Initial values"), drawn with
    numpy: params of rank >= 2 normal with std 1/sqrt(fan_in) (fan_in: every dimension
    but the last), other params zero, f32 inputs standard normal, i32 inputs uniform in
    [0, int_bound). Both partita (--inputs) and PyTorch then read the same file."""
    rng = np.random.default_rng(seed)
    out = {}
    for role, name, dtype, shape in sig:
        if role == "param" and len(shape) >= 2:
            fan_in = int(np.prod(shape[:-1]))
            out[name] = (rng.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32)
        elif role == "param" or role == "state":
            out[name] = np.zeros(shape, np.float32)
        elif dtype == "f32":
            out[name] = rng.standard_normal(shape).astype(np.float32)
        else:
            if int_bound is None:
                raise ValueError("i32 input '%s' but the model gives no INT_BOUND" % name)
            out[name] = rng.integers(0, int_bound, size=shape).astype(np.int32)
    return out


# partita's defaults (passes/passes.h, pt_optimizer_default): sgd lr 1e-2; adam lr 1e-3,
# beta1 0.9, beta2 0.999, eps 1e-8, bias-corrected, eps added outside the square root.
DEFAULT_LR = {"sgd": 1e-2, "adam": 1e-3}


def make_optimizer(torch, params, kind, lr=None):
    """torch.optim's SGD (no momentum) or Adam at partita's settings. partita's Adam
    (passes/train_step.c) is m' = b1 m + (1-b1) g, v' = b2 v + (1-b2) g^2,
    p' = p - lr (m'/(1-b1^t)) / (sqrt(v'/(1-b2^t)) + eps): torch.optim.Adam computes the
    same quantity (it folds 1/(1-b1^t) into the step size and divides sqrt(v') by
    sqrt(1-b2^t)), so the two differ by rounding only. foreach: the multi-tensor update,
    torch's fastest on CPU."""
    lr = DEFAULT_LR[kind] if lr is None else lr
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, foreach=True)
    if kind == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), eps=1e-8, foreach=True)
    raise ValueError("optimizer %s: sgd or adam" % kind)


def _setup_torch(threads):
    """Imports torch with `threads` intra-op threads (OMP_NUM_THREADS and
    OPENBLAS_NUM_THREADS should match in the environment: the shell sets them), one
    inter-op thread and anomaly detection off (its default)."""
    import torch
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # already set in this process
    torch.autograd.set_detect_anomaly(False)
    torch.backends.mkldnn.enabled = True
    return torch


def _to_torch(torch, values, sig):
    """params as float32 leaves; inputs as tensors (i32 inputs as int64, the index type
    torch's embedding and cross-entropy take)."""
    params, inputs = {}, {}
    for role, name, dtype, shape in sig:
        if name not in values:
            raise ValueError("argument '%s' is not in the inputs file" % name)
        a = values[name]
        if tuple(a.shape) != shape:
            raise ValueError("'%s' has shape %s in the file, %s in the .pir" % (name, list(a.shape), list(shape)))
        if role == "param":
            params[name] = torch.tensor(a, dtype=torch.float32)
        elif dtype == "i32":
            inputs[name] = torch.tensor(a.astype(np.int64))
        else:
            inputs[name] = torch.tensor(a, dtype=torch.float32)
    return params, inputs


def _module(torch, model, params):
    """An nn.Module over the params (DDP wants one): ParameterDict keys may not hold '.'."""

    class Peer(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.names = list(params)
            self.p = torch.nn.ParameterDict(
                {n.replace(".", "__"): torch.nn.Parameter(t.clone()) for n, t in params.items()})

        def forward(self, inputs):
            return model.loss({n: self.p[n.replace(".", "__")] for n in self.names}, inputs)

    return Peer()


def _loop(torch, net, opt, inputs, steps):
    """The timed steps: losses (each before its step's update, as partita prints them)
    and each step's wall seconds."""
    losses, times = [], []
    for _ in range(steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = net(inputs)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        times.append(time.perf_counter() - t0)
    return losses, times


def train(model, values, kind, steps, threads, lr=None):
    """Single process: {losses, step_seconds, median_step_seconds}."""
    torch = _setup_torch(threads)
    sig = pir_signature(os.path.join(ROOT, model.PIR))
    params, inputs = _to_torch(torch, values, sig)
    net = _module(torch, model, params)
    opt = make_optimizer(torch, net.parameters(), kind, lr)
    losses, times = _loop(torch, net, opt, inputs, steps)
    return {"losses": losses, "step_seconds": times, "median_step_seconds": float(np.median(times))}


def _ddp_worker(rank, world, port, model_file, pir, values, kind, steps, lr, result_path):
    import faulthandler
    # a process that has not finished by then prints where it waits and exits, so that a
    # hung rendezvous or collective ends the benchmark with a message instead of hanging it
    faulthandler.dump_traceback_later(300 + 10 * steps, exit=True)
    torch = _setup_torch(1)
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP
    model = load_model(model_file, pir)
    dist.init_process_group("gloo", init_method="tcp://127.0.0.1:%d" % port, rank=rank,
                            world_size=world)
    sig = pir_signature(os.path.join(ROOT, model.PIR))
    params, inputs = _to_torch(torch, values, sig)
    # the batch (dimension 0 of every input) split in equal parts, one per process; the
    # losses are means, so averaging the gradients (DDP's all-reduce) gives the whole
    # batch's gradient
    for name, t in inputs.items():
        if t.shape[0] % world:
            raise ValueError("input '%s': batch %d does not split over %d processes" % (name, t.shape[0], world))
        n = t.shape[0] // world
        inputs[name] = t[rank * n:(rank + 1) * n].contiguous()
    net = DDP(_module(torch, model, params), gradient_as_bucket_view=True)
    opt = make_optimizer(torch, net.parameters(), kind, lr)
    losses, times = _loop(torch, net, opt, inputs, steps)
    # the whole batch's loss: the mean of the processes' (equal parts), gathered once at the end
    t = torch.tensor(losses, dtype=torch.float64)
    dist.all_reduce(t)
    if rank == 0:
        with open(result_path + ".tmp", "w") as f:
            json.dump({"losses": (t / world).tolist(), "step_seconds": times,
                       "median_step_seconds": float(np.median(times))}, f)
        os.replace(result_path + ".tmp", result_path)
    dist.barrier()
    # no destroy_process_group: gloo's teardown sometimes hung here, one process gone and
    # the other waiting for it (1.13); everything is written, so leave at once
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def train_ddp(model_file, values, kind, steps, world=2, lr=None, pir=None):
    """DDP over `world` processes on this host (gloo, one thread each)."""
    import socket
    import tempfile
    import torch.multiprocessing as mp
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "rank0.json")
        try:
            ctx = mp.start_processes(_ddp_worker, nprocs=world, join=False, start_method="spawn",
                                     args=(world, port, model_file, pir, values, kind, steps, lr, path))
            done_at = None
            while not ctx.join(timeout=1):
                # the result is written after the last collective: a process still there
                # 30 s later is stuck in its exit, not in the work
                if os.path.exists(path):
                    done_at = done_at or time.monotonic()
                    if time.monotonic() - done_at > 30:
                        for p in ctx.processes:
                            if p.is_alive():
                                p.kill()
                        break
        except Exception as e:  # a process that failed or was stopped by its watchdog
            raise ValueError("DDP on %d processes failed: %s" % (world, e))
        with open(path) as f:
            return json.load(f)


def generator_args(pir):
    """The model and options a .pir generated by `partita model` records on its first
    lines ("written by `partita model gpt --layers 2 ...`"): ("gpt", {"layers": 2, ...}),
    or (None, {}) for a file that records none."""
    with open(pir) as f:
        head = "".join(f.readline() for _ in range(3))
    m = re.search(r"`partita model (\w+)((?: --[\w-]+ \d+)*)`", head)
    if not m:
        return None, {}
    opts = re.findall(r"--([\w-]+) (\d+)", m.group(2))
    return m.group(1), {k.replace("-", "_"): int(v) for k, v in opts}


def _model_text_constants(path, names):
    import ast
    with open(path) as f:
        tree = ast.parse(f.read(), path)
    meta = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id in names:
                meta[node.targets[0].id] = ast.literal_eval(node.value)
    return meta


def _peer_path(name):
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name + ".py")
    if not os.path.exists(path):
        raise ValueError("no peer model %s (looked for %s)" % (name, path))
    return path


def check_pir(name, pir):
    """The options of `pir` for peer model `name`, or a ValueError saying why the peer
    cannot mirror it (only files `partita model` wrote for the same model)."""
    gen = _model_text_constants(_peer_path(name), ("GENERATOR",)).get("GENERATOR")
    if gen is None:
        raise ValueError("--pir: the %s peer mirrors examples/%s.pir only (no `partita model` "
                         "generator writes it)" % (name, name))
    got, args = generator_args(pir)
    if got != gen:
        raise ValueError("--pir %s: its first line does not say `partita model %s ...`, so the %s "
                         "peer cannot tell its sizes" % (pir, gen, name))
    return args


def model_meta(name, pir=None):
    """(PIR, INT_BOUND) of a model file, read from its text without running it: writing
    the starting values needs no torch (whose import costs more than the rest). With
    pir, that file instead, and a vocabulary it records as the bound."""
    path = _peer_path(name)
    meta = _model_text_constants(path, ("PIR", "INT_BOUND"))
    if "PIR" not in meta or "INT_BOUND" not in meta:
        raise ValueError("%s: PIR and INT_BOUND must be set to constants" % path)
    if pir is None:
        return meta["PIR"], meta["INT_BOUND"]
    args = check_pir(name, pir)
    bound = meta["INT_BOUND"]
    if bound is not None:
        bound = args.get("vocab", bound)
    return pir, bound


def load_model(name_or_file, pir=None):
    """A model module by name (mlp, gpt, ...) or by path; with pir, configured for that
    file (check_pir) instead of its example."""
    import importlib.util
    path = name_or_file
    if not path.endswith(".py"):
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name_or_file + ".py")
    if not os.path.exists(path):
        raise ValueError("no peer model %s (looked for %s)" % (name_or_file, path))
    spec = importlib.util.spec_from_file_location("peer_" + os.path.basename(path)[:-3], path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.__file__ = path
    if pir is not None:
        args = check_pir(os.path.basename(path)[:-3], pir)
        mod.PIR = pir
        mod.configure(args)
    return mod


def median_after(times, warmup):
    """The median of the step times after the first `warmup` (all of them if fewer)."""
    rest = times[warmup:] or times
    return float(np.median(rest))


def max_rel_diff(a, b, n):
    """The largest |a-b|/max(|a|,|b|) over the first n entries of two loss lists."""
    worst = 0.0
    for x, y in zip(a[:n], b[:n]):
        den = max(abs(x), abs(y))
        worst = max(worst, abs(x - y) / den if den else 0.0)
    return worst


def fail(msg):
    print("bench_peers: error: " + msg, file=sys.stderr)
    sys.exit(1)
