"""Max and average pooling forward + backward (float64): core_ext against its peers.

Run: .venv/bin/python bench/bench_pool.py [--repeats 7] [--quick]

One run on this machine (2 threads everywhere: timing.THREADS) prints, for 2x2 stride-2 max
pooling on x=(64, 64, 32, 32) (the issue's target) and average pooling on the same input (for
information), the median of --repeats timed runs (each contender in one block, after a pause
and at least 0.3 s of warm-up) of forward + backward:

- core_ext, and core_ext with its NumPy fallback instead of the Cython kernels;
- the naive loop layers of the reference solution, timed on the first image only and
  extrapolated to the whole batch by FLOPs (proportional to N), labelled so;
- a vectorised NumPy version (sliding windows; the max's gradient scattered with bincount),
  written here;
- PyTorch CPU (F.max_pool2d / F.avg_pool2d + autograd) in float64 and float32, when installed;
- "copy bound": two NumPy copies of x into preallocated arrays. Pooling is memory-bound: a
  forward + backward reads x and writes dx (plus the 4x smaller out and dout), about what two
  copies of x move, so this is the floor a kernel can approach.

Ratios are each row's time over PyTorch float64 and over the copy bound. The max-pooling target
against PyTorch float64 is judged on paired rounds (core_ext, then PyTorch in its child
process, alternating; the median of the rounds' ratios), as the VM's speed drifts between
the table's rows.
--quick runs a tiny shape once (a smoke test).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

import core_ext
from solutions.a2_cnn import layers
from timing import (PAIRED_ROUNDS, TorchTimer, console, load_torch, numpy_fallback, ratio,
                    report_vs_torch, serve_torch_medians, start, table, time_contenders)

SHAPE, QUICK_SHAPE = (64, 64, 32, 32), (2, 3, 8, 8)
POOL = (2, 2, 2)  # pool_height, pool_width, stride
TARGETS = {"max": 0.35}
KINDS = {"max": (core_ext.max_pool_forward, core_ext.max_pool_backward,
                 layers.max_pool_forward_naive, layers.max_pool_backward_naive, "max_pool2d"),
         "avg": (core_ext.avg_pool_forward, core_ext.avg_pool_backward,
                 layers.avg_pool_forward_naive, layers.avg_pool_backward_naive, "avg_pool2d")}


def _windows(x, ph, pw, s):
    """(N, C, Ho, Wo, ph, pw) strided view of every window."""
    return sliding_window_view(x, (ph, pw), axis=(2, 3))[:, :, ::s, ::s]


def numpy_max_pool(x, dout, ph, pw, s):
    N, C, H, W = x.shape
    windows = _windows(x, ph, pw, s)
    Ho, Wo = windows.shape[2:4]
    flat = windows.reshape(N, C, Ho, Wo, ph * pw)
    k = flat.argmax(axis=4)  # first maximum in row-major window order
    out = np.take_along_axis(flat, k[..., None], axis=4)[..., 0]
    rows = (np.arange(Ho) * s)[:, None] + k // pw
    cols = (np.arange(Wo) * s)[None, :] + k % pw
    index = (np.arange(N * C).reshape(N, C, 1, 1) * H + rows) * W + cols
    dx = np.bincount(index.ravel(), weights=dout.ravel(), minlength=x.size).reshape(x.shape)
    return out, dx


def numpy_avg_pool(x, dout, ph, pw, s):
    out = _windows(x, ph, pw, s).mean(axis=(4, 5))
    Ho, Wo = out.shape[2:]
    dx = np.zeros_like(x)
    share = dout / (ph * pw)
    for u, v in np.ndindex(ph, pw):  # each window position adds its share on a strided grid
        dx[:, :, u:u + s * (Ho - 1) + 1:s, v:v + s * (Wo - 1) + 1:s] += share
    return out, dx


def contenders(kind, x, dout):
    """name -> (fwd+bwd callable, multiplier applied to its time)."""
    forward, backward, forward_naive, backward_naive, _ = KINDS[kind]
    ph, pw, s = POOL
    param = {"pool_height": ph, "pool_width": pw, "stride": s}
    vectorised = numpy_max_pool if kind == "max" else numpy_avg_pool

    def ours():
        return backward(dout, forward(x, param)[1])

    def naive_first_image():
        return backward_naive(dout[:1], forward_naive(x[:1], param)[1])

    N = x.shape[0]
    runs = {"core_ext (Cython)": (ours, 1), "core_ext NumPy fallback": (numpy_fallback(ours), 1),
            f"naive loops (N=1 x{N}, extrapolated)": (naive_first_image, N),
            "vectorised NumPy (windows+bincount)" if kind == "max" else
            "vectorised NumPy (windows+strided adds)": (lambda: vectorised(x, dout, ph, pw, s), 1)}
    copies = np.empty_like(x), np.empty_like(x)
    runs["copy bound (x copied twice)"] = (lambda: [np.copyto(c, x) for c in copies], 1)
    return runs


def torch_contenders(torch, kind, x, dout):
    ph, pw, s = POOL
    runs = {}
    for dtype, name in ((torch.float64, "PyTorch CPU float64"),
                        (torch.float32, "PyTorch CPU float32")):
        tx = torch.tensor(x, dtype=dtype, requires_grad=True)
        tdout = torch.tensor(dout, dtype=dtype)

        def run(tx=tx, tdout=tdout):
            tx.grad = None
            getattr(torch.nn.functional, KINDS[kind][4])(tx, (ph, pw), stride=s).backward(tdout)
        runs[name] = run
    return runs


def inputs(shape):
    ph, pw, s = POOL
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    return x, rng.standard_normal((*shape[:2], 1 + (shape[2] - ph) // s, 1 + (shape[3] - pw) // s))


def check_agreement(kind, x, dout) -> None:
    """The contenders compute the same thing (a benchmark of a wrong kernel is worthless)."""
    forward, backward = KINDS[kind][:2]
    ph, pw, s = POOL
    out, cache = forward(x, {"pool_height": ph, "pool_width": pw, "stride": s})
    vectorised = (numpy_max_pool if kind == "max" else numpy_avg_pool)(x, dout, ph, pw, s)
    for ours, theirs in zip((out, backward(dout, cache)), vectorised, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)


def bench_kind(kind, shape, repeats: int, quick: bool) -> None:
    ph, pw, s = POOL
    x, dout = inputs(shape)
    check_agreement(kind, x, dout)
    runs = contenders(kind, x, dout)
    with TorchTimer(kind, repeats, quick) as torch_timer:
        times = time_contenders(runs, torch_timer, repeats)
        torch64 = times.get("PyTorch CPU float64")
        bound = times["copy bound (x copied twice)"]
        t = table(["contender", "ms", "/ torch f64", "/ copy bound"])
        for name, seconds in times.items():
            t.add_row(name, f"{seconds * 1e3:.3f}", ratio(seconds, torch64), ratio(seconds, bound))
        out = console()
        out.print(f"{kind} pooling {ph}x{pw} stride {s} on x={shape}, forward+backward float64, "
                  f"median of {repeats}", soft_wrap=True)
        out.print(t)
        report_vs_torch(out, times, runs["core_ext (Cython)"][0], torch_timer, repeats,
                        1 if quick else PAIRED_ROUNDS, TARGETS.get(kind))
    out.print(f"core_ext / copy bound: {times['core_ext (Cython)'] / bound:.2f}\n")


def main() -> None:
    repeats, quick, torch_only = start(__doc__)
    shape = QUICK_SHAPE if quick else SHAPE
    if torch_only is not None:  # the child process that times PyTorch
        serve_torch_medians(torch_contenders(load_torch(), torch_only, *inputs(shape)), repeats)
        return
    for kind in KINDS:
        bench_kind(kind, shape, repeats, quick)


if __name__ == "__main__":
    main()
