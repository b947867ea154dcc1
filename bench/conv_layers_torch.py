"""PyTorch reference for bench/conv_layers.lua: forward + backward of conv2d
at the same layer shapes. Run with Debian's torch:
    /usr/bin/python3 bench/conv_layers_torch.py [threads] [repeats] [filter]
It re-executes itself with OMP_WAIT_POLICY=PASSIVE and tcmalloc preloaded."""
import os
import sys

TCMALLOC = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"
if os.environ.get("CONV_BENCH_CHILD") != "1":
    env = dict(os.environ, CONV_BENCH_CHILD="1", OMP_WAIT_POLICY="PASSIVE")
    env.pop("OPENBLAS_CORETYPE", None)
    if os.path.exists(TCMALLOC):
        env["LD_PRELOAD"] = TCMALLOC
    os.execve(sys.executable, [sys.executable] + sys.argv, env)

import ctypes
import time
import torch
import torch.nn.functional as F

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 5
filt = sys.argv[3] if len(sys.argv) > 3 else None
torch.set_num_threads(threads)
try:
    ctypes.CDLL("libopenblas.so.0").openblas_set_num_threads(threads)
except OSError:
    pass

LAYERS = [
    ("2c2d conv1 1->32 5x5 28 SAME", 128, 1, 28, 28, 32, 5, 1, "SAME"),
    ("2c2d conv2 32->64 5x5 14 SAME", 128, 32, 14, 14, 64, 5, 1, "SAME"),
    ("3c3d conv1 3->64 5x5 32 VALID", 128, 3, 32, 32, 64, 5, 1, "VALID"),
    ("3c3d conv2 64->96 3x3 14 VALID", 128, 64, 14, 14, 96, 3, 1, "VALID"),
    ("3c3d conv3 96->128 3x3 6 SAME", 128, 96, 6, 6, 128, 3, 1, "SAME"),
    ("allcnnc 3->96 3x3 32 SAME", 256, 3, 32, 32, 96, 3, 1, "SAME"),
    ("allcnnc 96->96 3x3 s2 32 SAME", 256, 96, 32, 32, 96, 3, 2, "SAME"),
    ("allcnnc 96->192 3x3 16 SAME", 256, 96, 16, 16, 192, 3, 1, "SAME"),
    ("allcnnc 192->192 3x3 8 VALID", 256, 192, 8, 8, 192, 3, 1, "VALID"),
    ("wrn 16->64 3x3 32 SAME", 128, 16, 32, 32, 64, 3, 1, "SAME"),
    ("wrn 64->64 3x3 32 SAME", 128, 64, 32, 32, 64, 3, 1, "SAME"),
    ("wrn 128->128 3x3 16 SAME", 128, 128, 16, 16, 128, 3, 1, "SAME"),
    ("wrn 256->256 3x3 8 SAME", 128, 256, 8, 8, 256, 3, 1, "SAME"),
]


def same_pad(n, k, s):
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2


def median(v):
    v = sorted(v)
    return v[(len(v) - 1) // 2]


# 1 thread: the thread's CPU time (less disturbed by other jobs), as the Lua side
now = time.thread_time if threads == 1 and os.environ.get("BENCH_WALL") != "1" else time.perf_counter
print(f"torch {torch.__version__}, threads {threads}, {'thread CPU' if now is time.thread_time else 'wall'} time")
print(f"{'layer':34s} {'ms':>9s} {'GFLOP/s':>8s} {'fwd ms':>9s} {'bwd ms':>9s} {'GF fwd':>9s}")
for name, N, C, H, W, OC, K, s, pad in LAYERS:
    if filt and filt not in name:
        continue
    x = torch.randn(N, C, H, W, requires_grad=True)
    w = torch.full((OC, C, K, K), 0.01, requires_grad=True)
    b = torch.zeros(OC, requires_grad=True)
    if pad == "SAME":
        pt, pb = same_pad(H, K, s)
        pl, pr = same_pad(W, K, s)
    else:
        pt = pb = pl = pr = 0
    sym = pt == pb and pl == pr

    def fwd():
        if sym:
            return F.conv2d(x, w, b, stride=s, padding=(pt, pl))
        return F.conv2d(F.pad(x, (pl, pr, pt, pb)), w, b, stride=s)

    with torch.no_grad():
        y = fwd()
    OH, OW = y.shape[2], y.shape[3]
    flops = 2 * N * OC * OH * OW * C * K * K
    gy = torch.full(y.shape, 0.001)
    iters = max(1, min(20, int(2e9 / (3 * flops))))
    best = bestf = bestb = float("inf")
    for r in range(repeats):
        tt, tf, tb = [], [], []
        for i in range(iters + 1):
            x.grad = w.grad = b.grad = None
            t0 = now()
            out = fwd()
            t1 = now()
            out.backward(gy)
            t2 = now()
            del out
            if i > 0 or r > 0:
                tt.append(t2 - t0)
                tf.append(t1 - t0)
                tb.append(t2 - t1)
        if tt:
            best = min(best, median(tt))
            bestf = min(bestf, median(tf))
            bestb = min(bestb, median(tb))
    print(f"{name:34s} {best*1e3:9.2f} {3*flops/best/1e9:8.1f} {bestf*1e3:9.2f} {bestb*1e3:9.2f} {flops/bestf/1e9:9.1f}",
          flush=True)
