"""PyTorch side of `make bench`: times the cases given as JSON on stdin and
prints one JSON line per case ({"name", "ms"}), forward + backward, median of
repeats. Run with Debian's /usr/bin/python3 (python3-torch 1.13).

PyTorch at its best settings here (bench/torch_setup.py), and for convolutions
the faster of NCHW and channels_last."""
import json, os, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_setup import reexec_tuned, set_threads  # noqa: E402

reexec_tuned()

import torch
import torch.nn.functional as F

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
min_time = float(sys.argv[2]) if len(sys.argv) > 2 else 0.4
corename = set_threads(threads)


def timeit(fn):
    fn(); fn()
    times, start = [], time.perf_counter()
    while len(times) < 5 or (time.perf_counter() - start < min_time and len(times) < 200):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2] * 1e3


def same_pad(n, k, s):
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def case_fn(c, channels_last=False):
    kind = c["kind"]
    if kind == "gemm":
        a, b = torch.randn(c["m"], c["k"]), torch.randn(c["k"], c["n"])
        return lambda: torch.mm(a, b)
    if kind == "linear":
        x = torch.randn(c["b"], c["i"], requires_grad=True)
        w = torch.randn(c["o"], c["i"], requires_grad=True)
        b = torch.randn(c["o"], requires_grad=True)
        g = torch.randn(c["b"], c["o"])
        def f():
            x.grad = w.grad = b.grad = None
            F.linear(x, w, b).backward(g)
        return f
    if kind == "conv":
        n, ci, h, wd, co, k, s, pad = c["shape"]
        kh, kw = k if isinstance(k, list) else (k, k)
        x = torch.randn(n, ci, h, wd)
        w = torch.randn(co, ci, kh, kw) * 0.05
        b = torch.zeros(co)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
            w = w.contiguous(memory_format=torch.channels_last)
        x.requires_grad_(); w.requires_grad_(); b.requires_grad_()
        if pad == "SAME":
            pt, pb = same_pad(h, kh, s); pl, pr = same_pad(wd, kw, s)
        else:
            pt = pb = pl = pr = 0
        sym = pt == pb and pl == pr
        with torch.no_grad():
            oshape = F.conv2d(F.pad(x, (pl, pr, pt, pb)), w, b, stride=s).shape
        g = torch.randn(oshape)
        if channels_last:
            g = g.contiguous(memory_format=torch.channels_last)
        def f():
            x.grad = w.grad = b.grad = None
            if sym:
                y = F.conv2d(x, w, b, stride=s, padding=(pt, pl))
            else:
                y = F.conv2d(F.pad(x, (pl, pr, pt, pb)), w, b, stride=s)
            y.backward(g)
        return f
    if kind == "maxpool":
        n, ci, h, wd, k, s = c["shape"]
        x = torch.randn(n, ci, h, wd)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        x.requires_grad_()
        pt, pb = same_pad(h, k, s); pl, pr = same_pad(wd, k, s)
        def f():
            x.grad = None
            y = F.max_pool2d(F.pad(x, (pl, pr, pt, pb), value=float("-inf")), k, s)
            y.backward(torch.ones_like(y))
        return f
    if kind == "batchnorm":
        n, ci, h, wd = c["shape"]
        x = torch.randn(n, ci, h, wd)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        x.requires_grad_()
        gamma, beta = torch.ones(ci, requires_grad=True), torch.zeros(ci, requires_grad=True)
        rm, rv = torch.zeros(ci), torch.ones(ci)
        g = torch.randn(n, ci, h, wd)
        def f():
            x.grad = gamma.grad = beta.grad = None
            F.batch_norm(x, rm, rv, gamma, beta, training=True, momentum=0.1, eps=1e-5).backward(g)
        return f
    if kind == "lstm":
        lstm = torch.nn.LSTM(c["i"], c["h"])
        x = torch.randn(c["t"], c["b"], c["i"], requires_grad=True)
        g = torch.randn(c["t"], c["b"], c["h"])
        def f():
            x.grad = None
            lstm.zero_grad()
            out, _ = lstm(x)
            out.backward(g)
        return f
    raise ValueError(kind)


cases = json.load(sys.stdin)
print(json.dumps({"corename": corename, "threads": threads, "torch": torch.__version__}), flush=True)
for c in cases:
    ms = timeit(case_fn(c))
    if c["kind"] in ("conv", "maxpool", "batchnorm"):
        ms = min(ms, timeit(case_fn(c, channels_last=True)))
    print(json.dumps({"name": c["name"], "ms": ms}), flush=True)
