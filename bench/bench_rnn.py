"""Recurrent layers (RNN, LSTM, GRU) forward + backward: core_ext against its peers and the
GEMM bound.

Run: .venv/bin/python bench/bench_rnn.py [--repeats 7] [--quick]

For each layer at N=64, T=50, D=128, H=256 and at N=1, T=200, D=32, H=64, one run on this
machine (2 threads everywhere: timing.THREADS) prints the median of --repeats timed runs (each
contender in one block, after a pause and at least 0.3 s of warm-up) of a full forward +
backward (h, then dx, dh0, dWx, dWh and the biases' gradients), float64 unless the row says:

- core_ext, in float64 and float32, and in float64 right after a NumPy matmul (only core_ext's
  call timed; NumPy's BLAS threads spin for a while after a call, as they do in a training
  loop between an affine layer and the recurrent one);
- the step-by-step NumPy loops: core_ext's fallback (input projection hoisted) and the
  reference solution (solutions/a3_rnn, one step function call per step);
- PyTorch CPU (nn.RNN/nn.LSTM/nn.GRU + autograd) in float64 and float32, when installed, timed
  in a child process;
- "GEMM bound": only the products the layer needs, as NumPy matmuls into preallocated arrays:
  the input projection (N*T, D) @ (D, GH), T steps of (N, H) @ (H, GH), then T steps of
  (N, GH) @ (GH, H), and dx, dWx, dWh as one product each (GH = gates * H), in two
  arrangements: each product split by OpenBLAS over its 2 threads, and the two halves of the
  batch on 2 threads with BLAS on one thread each; "/ GEMM bound" is over the faster.

Each target is judged on paired rounds (core_ext, then the other contender, alternating; the
median of the rounds' ratios), as the VM's speed drifts between the table's rows.
--quick runs tiny shapes once (a smoke test).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from unittest import mock

import numpy as np
from threadpoolctl import threadpool_limits

import core_ext
from solutions.a3_rnn import rnn_layers
from timing import (PAIRED_ROUNDS, TorchTimer, after_matmul_timer, console, load_torch,
                    paired_line, paired_ratios, ratio, serve_torch_medians, start, table,
                    time_contenders, timer)

CASES = [(64, 50, 128, 256), (1, 200, 32, 64)]  # (N, T, D, H)
QUICK_CASES = [(4, 5, 6, 8), (1, 7, 3, 4)]
LAYERS = {"rnn": 1, "lstm": 4, "gru": 3}  # gates
# per (layer, case index): contender -> largest allowed ratio core_ext / contender
TARGETS = {("lstm", 0): {"PyTorch CPU float64": 0.9, "GEMM bound": 1.3,
                         "PyTorch CPU float32": 1.5},
           ("rnn", 0): {"PyTorch CPU float64": 0.8}, ("gru", 0): {"PyTorch CPU float64": 0.8},
           **{(kind, 1): {"PyTorch CPU float64": 0.5, "step-by-step NumPy": 0.2}
              for kind in LAYERS}}
AFTER_MATMUL = 1.2  # core_ext right after a NumPy matmul / core_ext alone
OURS, OURS32, AFTER = "core_ext (Cython)", "core_ext float32", "core_ext after a NumPy matmul"
FALLBACK, SOLUTION = "step-by-step NumPy (core_ext fallback)", "step-by-step NumPy (solution)"
BOUND_BLAS, BOUND_SPLIT = "GEMM bound (BLAS on 2 threads)", "GEMM bound (batch halves on 2 threads)"


def inputs(kind, case, dtype=np.float64):
    """x, h0, Wx, Wh, the biases and dh, seeded, with weights of scale 1/sqrt(D + H)."""
    N, T, D, H = case
    GH = LAYERS[kind] * H
    rng = np.random.default_rng(0)
    scale = 1 / np.sqrt(D + H)
    arrays = [rng.standard_normal((N, T, D)), rng.standard_normal((N, H)),
              scale * rng.standard_normal((D, GH)), scale * rng.standard_normal((H, GH))]
    arrays += [0.5 * rng.standard_normal(GH) for _ in range(2 if kind == "gru" else 1)]
    return [a.astype(dtype) for a in arrays], rng.standard_normal((N, T, H)).astype(dtype)


def fwd_bwd(module, kind, arrays, dh):
    forward, backward = getattr(module, f"{kind}_forward"), getattr(module, f"{kind}_backward")
    return lambda: backward(dh, forward(*arrays)[1])


def numpy_fallback(fn):
    """``fn`` on core_ext's NumPy fallback (no kernels, no recycling memory handler)."""
    def run():
        with mock.patch.multiple(core_ext, _rnn=None, _memory=None):
            return fn()
    return run


def gemm_products(kind, N, T, D, H):
    """The layer's products alone, as NumPy matmuls into preallocated arrays, for a batch of
    N: the input projection, T steps forward, T steps back, then dx, dWx and dWh."""
    GH = LAYERS[kind] * H
    rng = np.random.default_rng(1)
    x, Wx, Wh = (rng.standard_normal(s) for s in ((N * T, D), (D, GH), (H, GH)))
    hs, das = rng.standard_normal((T, N, H)), rng.standard_normal((T, N, GH))
    proj, step, dnext = np.empty((N * T, GH)), np.empty((N, GH)), np.empty((N, H))
    # dWx and dWh column-major: with two OpenBLAS threads, these long reductions (over N*T)
    # into row-major arrays ran up to 2.5x slower here (as bench_conv.py found for dw)
    dx, dWx, dWh = np.empty((N * T, D)), np.empty((D, GH), order="F"), np.empty((H, GH), order="F")
    flat_h, flat_da = hs.reshape(T * N, H), das.reshape(T * N, GH)

    def products():
        np.matmul(x, Wx, out=proj)
        for t in range(T):
            np.matmul(hs[t], Wh, out=step)
        for t in range(T):
            np.matmul(das[t], Wh.T, out=dnext)
        np.matmul(flat_da, Wx.T, out=dx)
        np.matmul(x.T, flat_da, out=dWx)
        np.matmul(flat_h.T, flat_da, out=dWh)
    return products


def gemm_bounds(kind, case):
    """The products in two arrangements (a bound takes the faster): OpenBLAS splitting each
    over its threads, and the batch's two halves on two threads with BLAS on one thread each
    (as core_ext splits its work; OpenBLAS's threads meet at every one of the 2T + 4 products,
    which cost it up to 10x when another process held a core here)."""
    N, T, D, H = case
    whole = gemm_products(kind, N, T, D, H)
    halves = [gemm_products(kind, n, T, D, H) for n in (N - N // 2, N // 2) if n]
    pool = ThreadPoolExecutor(max_workers=1)

    def split():
        with threadpool_limits(1):
            other = pool.submit(halves[-1]) if len(halves) > 1 else None
            halves[0]()
            if other is not None:
                other.result()
    return {BOUND_BLAS: (whole, 1), BOUND_SPLIT: (split, 1)}


def contenders(kind, case):
    """name -> (fwd+bwd callable, multiplier applied to its time)."""
    arrays, dh = inputs(kind, case)
    arrays32, dh32 = inputs(kind, case, np.float32)
    ours = fwd_bwd(core_ext, kind, arrays, dh)
    return {OURS: (ours, 1), OURS32: (fwd_bwd(core_ext, kind, arrays32, dh32), 1),
            FALLBACK: (numpy_fallback(ours), 1),
            SOLUTION: (fwd_bwd(rnn_layers, kind, arrays, dh), 1), **gemm_bounds(kind, case)}


def torch_contenders(torch, kind, case):
    arrays, dh = inputs(kind, case)
    x, h0, Wx, Wh, *biases = arrays
    N, T, D, H = case
    module = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind]
    runs = {}
    for dtype, name in ((torch.float64, "PyTorch CPU float64"),
                        (torch.float32, "PyTorch CPU float32")):
        net = module(D, H, batch_first=True, dtype=dtype)  # its own weights: same shapes
        tx, th0 = (torch.tensor(a, dtype=dtype, requires_grad=True) for a in (x, h0[None]))
        state = (th0, torch.zeros_like(th0)) if kind == "lstm" else th0
        tdh = torch.tensor(dh, dtype=dtype)

        def run(net=net, tx=tx, th0=th0, state=state, tdh=tdh):
            net.zero_grad(set_to_none=True)
            tx.grad = th0.grad = None
            net(tx, state)[0].backward(tdh)
        runs[name] = run
    return runs


def check_agreement(kind, case) -> None:
    """The contenders compute the same thing (a benchmark of a wrong kernel is worthless)."""
    arrays, dh = inputs(kind, case)
    h, cache = getattr(core_ext, f"{kind}_forward")(*arrays)
    ref_h, ref_cache = getattr(rnn_layers, f"{kind}_forward")(*arrays)
    ours = [h, *getattr(core_ext, f"{kind}_backward")(dh, cache)]
    theirs = [ref_h, *getattr(rnn_layers, f"{kind}_backward")(dh, ref_cache)]
    for got, want in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


def bench_case(kind, index, case, repeats: int, quick: bool) -> None:
    check_agreement(kind, case)
    runs = contenders(kind, case)
    ours = runs[OURS][0]
    N, T, _, H = case
    after = after_matmul_timer(ours, repeats, N * T, H)  # a temporal affine layer's product
    rounds = 1 if quick else PAIRED_ROUNDS
    with TorchTimer(f"{kind}:{index}", repeats, quick) as torch_timer:
        times = time_contenders(runs, torch_timer, repeats)
        times[AFTER] = after()
        torch64 = times.get("PyTorch CPU float64")
        fastest_bound = min((BOUND_BLAS, BOUND_SPLIT), key=times.get)
        bound = times[fastest_bound]
        t = table(["contender", "ms", "/ torch f64", "/ GEMM bound", "/ core_ext"])
        for name in (OURS, OURS32, AFTER, FALLBACK, SOLUTION, BOUND_BLAS, BOUND_SPLIT,
                     "PyTorch CPU float64", "PyTorch CPU float32"):
            if name in times:
                seconds = times[name]
                t.add_row(name, f"{seconds * 1e3:.2f}", ratio(seconds, torch64),
                          ratio(seconds, bound), ratio(seconds, times[OURS]))
        out = console()
        N, T, D, H = case
        out.print(f"{kind} N={N} T={T} D={D} H={H}, forward+backward, median of {repeats}")
        out.print(t)
        for other, target in TARGETS.get((kind, index), {}).items():
            if other.startswith("PyTorch") and torch64 is None:
                continue
            mine = timer(runs[OURS32 if other.endswith("float32") else OURS][0], repeats)
            if other.startswith("PyTorch"):
                theirs = torch_timer.timer(other)
            elif other == "GEMM bound":  # the faster arrangement in the table
                theirs, other = timer(runs[fastest_bound][0], repeats), fastest_bound
            else:  # the faster of the two step-by-step NumPy loops
                fastest = min((FALLBACK, SOLUTION), key=times.get)
                theirs, other = timer(runs[fastest][0], repeats), f"{fastest} (>= 5x faster)"
            label = f"{OURS32 if other.endswith('float32') else 'core_ext'} / {other}"
            out.print(paired_line(label, paired_ratios(mine, theirs, rounds), target),
                      soft_wrap=True)
    paired = paired_ratios(after, timer(ours, repeats), rounds)
    out.print(paired_line("core_ext after a NumPy matmul / alone", paired, AFTER_MATMUL) + "\n",
              soft_wrap=True)


def main() -> None:
    repeats, quick, torch_only = start(__doc__)
    cases = QUICK_CASES if quick else CASES
    if torch_only is not None:  # the child process that times PyTorch
        kind, index = torch_only.split(":")
        serve_torch_medians(torch_contenders(load_torch(), kind, cases[int(index)]), repeats)
        return
    for kind in LAYERS:
        for index, case in enumerate(cases):
            bench_case(kind, index, case, repeats, quick)


if __name__ == "__main__":
    main()
