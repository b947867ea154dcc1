"""PyTorch at its best settings on this machine, for every bench's PyTorch side
(ops_torch.py, steps_torch.py, epoch_torch.py): call reexec_tuned() before
importing torch, then set_threads(n).

- tcmalloc (the process re-executes itself with LD_PRELOAD; glibc malloc costs
  PyTorch 2-3x on big nets through page faults) and OMP_WAIT_POLICY=PASSIVE;
- OPENBLAS_CORETYPE dropped, so OpenBLAS detects the CPU (an inherited Haswell
  halves GEMM speed on AVX-512);
- torch's and OpenBLAS's thread counts both set."""
import ctypes, os, sys

TCMALLOC = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"


def reexec_tuned():
    """Re-executes this script once with the tuned environment (no-op the second time)."""
    if os.environ.get("DEEPOBS_TORCH_REEXEC") == "1":
        return
    env = dict(os.environ, DEEPOBS_TORCH_REEXEC="1", OMP_WAIT_POLICY="PASSIVE")
    env.pop("OPENBLAS_CORETYPE", None)
    if os.path.exists(TCMALLOC):
        env["LD_PRELOAD"] = TCMALLOC
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


def set_threads(n):
    """torch's and OpenBLAS's threads; returns OpenBLAS's core name ("unknown" without it)."""
    import torch
    torch.set_num_threads(n)
    try:
        blas = ctypes.CDLL("libopenblas.so.0")
    except OSError:
        return "unknown"
    blas.openblas_set_num_threads(n)
    blas.openblas_get_corename.restype = ctypes.c_char_p
    return blas.openblas_get_corename().decode()
