"""Convolution forward + backward (float64): core_ext against its peers and the GEMM limit.

Run: .venv/bin/python bench/bench_conv.py [--repeats 7] [--quick]

For issue 4's two cases and issue 11's single image x=(1, 64, 64, 64), one run on this
machine (2 threads everywhere: timing.THREADS) prints the median of --repeats timed runs
(each contender in one block, after a pause and at least 0.3 s of warm-up) of a full forward +
backward (out, then dx, dw, db):

- core_ext in float64 and float32, core_ext right after a NumPy matmul (an affine layer's
  product on the same batch; only core_ext's call timed: issue 11), and core_ext with its
  NumPy fallback instead of the Cython kernels;
- the naive loop layers of the reference solution, timed on the first image only and
  extrapolated to the whole batch by FLOPs (which are proportional to N), labelled so (not
  on the single 64x64 image, where one run takes seconds);
- a vectorised NumPy convolution (sliding windows + tensordot), written here;
- PyTorch CPU (F.conv2d + autograd) in float64 and float32, when installed;
- "GEMM bound (same shapes)": only the three matrix products that im2col convolution needs,
  (F,K)@(K,NP), (F,NP)@(NP,K) and (K,F)@(F,NP) with K = C*HH*WW and NP = N*Ho*Wo, into
  preallocated arrays: the convolution with im2col, col2im and every layout move for free;
- "GEMM peak": one square NumPy matmul with the same total FLOPs (what BLAS reaches on a
  shape that suits it).

Ratios are each row's time over PyTorch float64 and over both bounds. The targets (against
PyTorch float64 and float32, the GEMM bound, and after a matmul against alone) are judged on
paired rounds instead (core_ext, then the
other, alternating; the median of the rounds' ratios), as the VM's speed drifts between the
table's rows; PyTorch runs in a child process that stays up between rounds. Then the peak memory of
one core_ext forward + backward (tracemalloc sees NumPy's allocations) as a multiple of the
im2col matrix (C*HH*WW * N*Ho*Wo * itemsize). --quick runs tiny shapes once (a smoke test).
"""

from __future__ import annotations

import tracemalloc

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

import core_ext
from solutions.a2_cnn import layers
from timing import (PAIRED_ROUNDS, TorchTimer, after_matmul_timer, console, load_torch,
                    numpy_fallback, paired_line, paired_ratios, ratio, report_vs_torch,
                    serve_torch_medians, start, table, time_contenders, timer, verdict)

# (x shape, w shape, stride, pad): issue 4's two cases, then issue 11's single image
CASES = [((64, 64, 16, 16), (64, 64, 3, 3), 1, 1), ((100, 3, 31, 31), (25, 3, 3, 3), 2, 1),
         ((1, 64, 64, 64), (64, 64, 3, 3), 1, 1)]
QUICK_CASES = [((4, 3, 8, 8), (4, 3, 3, 3), 1, 1), ((5, 2, 9, 7), (3, 2, 3, 2), 2, 1),
               ((1, 3, 40, 40), (4, 3, 3, 3), 1, 1)]
# per case index: core_ext / PyTorch float64 (issue 4 at N=64 and 100, issue 11 at N=1)
TORCH_TARGETS = {0: 0.7, 1: 0.7, 2: 1.0}
TARGETS = {"gemm": 1.5, "memory": 3.0,
           "float32": 1.5,  # core_ext float32 / PyTorch float32 (issue 11), every case
           "after": 1.2}  # core_ext right after a NumPy matmul / alone (issue 11), every case
OURS, OURS32, AFTER = "core_ext (Cython)", "core_ext float32", "core_ext after a NumPy matmul"
NAIVE_UP_TO = 64 * 16 * 16  # images x pixels: the naive loops above this would take minutes


def numpy_conv_forward(x, w, b, stride, pad):
    """Vectorised NumPy: every window as a strided view, contracted with the filters."""
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = sliding_window_view(xp, w.shape[2:], axis=(2, 3))[:, :, ::stride, ::stride]
    out = np.tensordot(windows, w, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2)
    return out + b[:, None, None], (x.shape, xp.shape, windows, w, stride, pad)


def numpy_conv_backward(dout, cache):
    (N, C, H, W), padded, windows, w, stride, pad = cache
    Ho, Wo = dout.shape[2:]
    dw = np.tensordot(dout, windows, axes=([0, 2, 3], [0, 2, 3]))
    db = dout.sum(axis=(0, 2, 3))
    dxp = np.zeros(padded, dout.dtype)
    for u, v in np.ndindex(*w.shape[2:]):  # each filter tap scatters back on a strided grid
        dxp[:, :, u:u + stride * (Ho - 1) + 1:stride, v:v + stride * (Wo - 1) + 1:stride] += \
            np.tensordot(w[:, :, u, v], dout, axes=([0], [1])).transpose(1, 0, 2, 3)
    return dxp[:, :, pad:pad + H, pad:pad + W], dw, db


def contenders(x, w, b, dout, stride, pad):
    """name -> (fwd+bwd callable, multiplier applied to its time)."""
    param = {"stride": stride, "pad": pad}

    def ours():
        return core_ext.conv_backward(dout, core_ext.conv_forward(x, w, b, param)[1])

    def naive_first_image():
        out, cache = layers.conv_forward_naive(x[:1], w, b, param)
        return layers.conv_backward_naive(dout[:1], cache)

    def vectorised():
        return numpy_conv_backward(dout, numpy_conv_forward(x, w, b, stride, pad)[1])

    x32, w32, b32, dout32 = (a.astype(np.float32) for a in (x, w, b, dout))

    def ours32():
        return core_ext.conv_backward(dout32, core_ext.conv_forward(x32, w32, b32, param)[1])

    N = x.shape[0]
    runs = {OURS: (ours, 1), OURS32: (ours32, 1),
            "core_ext NumPy fallback": (numpy_fallback(ours), 1)}
    if N * x.shape[2] * x.shape[3] <= NAIVE_UP_TO:
        runs[f"naive loops (N=1 x{N}, extrapolated)"] = (naive_first_image, N)
    return runs | {"vectorised NumPy (windows+tensordot)": (vectorised, 1)}


def torch_contenders(torch, x, w, b, dout, stride, pad):
    runs = {}
    for dtype, name in ((torch.float64, "PyTorch CPU float64"),
                        (torch.float32, "PyTorch CPU float32")):
        tx, tw, tb = (torch.tensor(a, dtype=dtype, requires_grad=True) for a in (x, w, b))
        tdout = torch.tensor(dout, dtype=dtype)

        def run(tx=tx, tw=tw, tb=tb, tdout=tdout):
            tx.grad = tw.grad = tb.grad = None
            torch.nn.functional.conv2d(tx, tw, tb, stride=stride, padding=pad).backward(tdout)
        runs[name] = run
    return runs


def gemm_bounds(F, K, NP):
    rng = np.random.default_rng(1)
    w, cols = rng.standard_normal((F, K)), rng.standard_normal((K, NP))
    by_filter = rng.standard_normal((F, NP))
    # dw is written column-major (as dw.T = cols @ by_filter.T would be): with two OpenBLAS
    # threads, this long reduction (over NP) into a row-major (F, K) array was up to 8x slower
    # here than into a column-major one, with no difference on one thread. A bound takes the
    # better layout.
    out, dw, dcols = np.empty((F, NP)), np.empty((F, K), order="F"), np.empty((K, NP))

    def same_shapes():  # the three products of an im2col convolution, inputs laid out as there
        np.matmul(w, cols, out=out)
        np.matmul(by_filter, cols.T, out=dw)
        np.matmul(w.T, by_filter, out=dcols)

    n = round((3 * F * K * NP) ** (1 / 3))  # 2n^3 = 3 * 2*F*K*NP
    a, c, d = rng.standard_normal((n, n)), rng.standard_normal((n, n)), np.empty((n, n))
    return {"GEMM bound (same shapes)": (same_shapes, 1),
            f"GEMM peak (one {n}x{n} matmul)": (lambda: np.matmul(a, c, out=d), 1)}


def peak_memory(x, w, b, dout, param) -> tuple[int, int, int]:
    """(peak bytes of one core_ext forward + backward, bytes returned, bytes of scratch).

    tracemalloc sees NumPy's allocations. core_ext keeps two (C*HH*WW, Ho*Wo) scratch arrays
    per thread across calls, which earlier calls have already allocated, so they are added
    here for every thread core_ext may run, whether or not they showed up. A batch cut into
    bands of output rows (core_ext._tiles) keeps one (C*HH*WW, band) array per thread; its
    whole-image tap gradients are allocated in the call and seen by tracemalloc.
    """
    F, C, HH, WW = w.shape
    Ho, Wo = dout.shape[2:]
    K, P = C * HH * WW, Ho * Wo
    tiles = core_ext._tiles(core_ext._conv, x.shape[0], Ho, Wo)
    per_thread = K * -(-Ho // tiles) * Wo if tiles else 2 * K * P
    scratch = per_thread * x.itemsize * core_ext._thread_count()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    out, cache = core_ext.conv_forward(x, w, b, param)
    grads = core_ext.conv_backward(dout, cache)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak + scratch, out.nbytes + sum(g.nbytes for g in grads), scratch


def check_agreement(x, w, b, dout, stride, pad) -> None:
    """The contenders compute the same thing (a benchmark of a wrong kernel is worthless)."""
    out, cache = core_ext.conv_forward(x, w, b, {"stride": stride, "pad": pad})
    vout, vcache = numpy_conv_forward(x, w, b, stride, pad)
    for ours, theirs in zip((out, *core_ext.conv_backward(dout, cache)),
                            (vout, *numpy_conv_backward(dout, vcache)), strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-9)


def inputs(case):
    (N, C, H, W), (F, _, HH, WW), stride, pad = case
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((N, C, H, W)), rng.standard_normal((F, C, HH, WW))
    b = rng.standard_normal(F)
    Ho, Wo = 1 + (H + 2 * pad - HH) // stride, 1 + (W + 2 * pad - WW) // stride
    return x, w, b, rng.standard_normal((N, F, Ho, Wo))


def bench_case(index: int, case, repeats: int, quick: bool) -> None:
    (N, C, H, W), (F, _, HH, WW), stride, pad = case
    x, w, b, dout = inputs(case)
    Ho, Wo = dout.shape[2:]
    check_agreement(x, w, b, dout, stride, pad)
    K, NP = C * HH * WW, N * Ho * Wo
    flops = 3 * 2 * F * K * NP  # forward, dw and dx: one F x K x NP product each

    runs = contenders(x, w, b, dout, stride, pad) | gemm_bounds(F, K, NP)
    ours = runs[OURS][0]
    # after the product of an affine layer on the same batch (N*Ho*Wo rows of F features)
    after = after_matmul_timer(ours, repeats, N * Ho * Wo, F, 64)
    rounds = 1 if quick else PAIRED_ROUNDS
    with TorchTimer(str(index), repeats, quick) as torch_timer:
        times = time_contenders(runs, torch_timer, repeats)
        times[AFTER] = after()
        torch64 = times.get("PyTorch CPU float64")
        same, peak = (times[n] for n in times if n.startswith("GEMM"))
        t = table(["contender", "ms", "GFLOP/s", "/ torch f64", "/ GEMM same shapes",
                   "/ GEMM peak"])
        for name in [OURS, OURS32, AFTER] + [n for n in times if n not in (OURS, OURS32, AFTER)]:
            seconds = times[name]
            t.add_row(name, f"{seconds * 1e3:.2f}", f"{flops / seconds / 1e9:.1f}",
                      ratio(seconds, torch64), ratio(seconds, same), ratio(seconds, peak))
        out = console()
        out.print(f"conv x={(N, C, H, W)} w={(F, C, HH, WW)} stride {stride} pad {pad}, "
                  f"forward+backward float64 (but the float32 rows), median of {repeats}",
                  soft_wrap=True)
        out.print(t)
        report_vs_torch(out, times, ours, torch_timer, repeats, rounds, TORCH_TARGETS[index])
        if "PyTorch CPU float32" in times:
            paired = paired_ratios(timer(runs[OURS32][0], repeats),
                                   torch_timer.timer("PyTorch CPU float32"), rounds)
            out.print(paired_line("core_ext float32 / PyTorch float32", paired,
                                  TARGETS["float32"]), soft_wrap=True)
    out.print(f"core_ext / GEMM bound (same shapes), from the table: {times[OURS] / same:.2f}")
    bound = runs["GEMM bound (same shapes)"][0]
    paired = paired_ratios(timer(ours, repeats), timer(bound, repeats), rounds)
    out.print(paired_line("core_ext / GEMM bound (same shapes)", paired, TARGETS["gemm"]),
              soft_wrap=True)
    paired = paired_ratios(after, timer(ours, repeats), rounds)
    out.print(paired_line("core_ext after a NumPy matmul / alone", paired, TARGETS["after"]),
              soft_wrap=True)
    used, returned, scratch = peak_memory(x, w, b, dout, {"stride": stride, "pad": pad})
    im2col = K * NP * x.itemsize
    out.print(f"peak memory of one forward+backward / im2col matrix ({im2col / 2**20:.1f} MiB): "
              f"{verdict(used / im2col, TARGETS['memory'])}; peak {used / 2**20:.2f} MiB, of "
              f"which the returned out, dx, dw, db are {returned / im2col:.2f} x im2col and "
              f"the per-thread scratch {scratch / im2col:.2f} x\n", soft_wrap=True)


def main() -> None:
    repeats, quick, torch_only = start(__doc__)
    cases = QUICK_CASES if quick else CASES
    if torch_only is not None:  # the child process that times PyTorch
        case = cases[int(torch_only)]
        serve_torch_medians(torch_contenders(load_torch(), *inputs(case), *case[2:]), repeats)
        return
    for index, case in enumerate(cases):
        bench_case(index, case, repeats, quick)


if __name__ == "__main__":
    main()
