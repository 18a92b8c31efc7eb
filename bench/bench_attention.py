"""Multi-head self-attention and a Transformer encoder block, forward + backward: the A4
reference (with core_ext's kernels, as graded code imports it) against the same reference
without them, PyTorch CPU and the GEMM bound.

Run: .venv/bin/python bench/bench_attention.py [--repeats 7] [--quick]

Two cases at N=32, T=128, D=256, 8 heads, float64 (issue 12): multi-head self-attention
(solutions/a4_attention/attention.py, multihead_attention_forward(x, x, ...) then its backward)
and one encoder block (transformer_blocks.py: post-norm, FFN of width 4D with ReLU, dropout 0).
One run on this machine (2 threads everywhere: timing.THREADS) prints the median of --repeats
timed runs (each contender in one block, after a pause and at least 0.3 s of warm-up) of a
full forward + backward (out, then dx and every parameter's gradient):

- "reference (core_ext kernels)": the reference as the grader's reference namespace and the
  model modules import it, where core_ext imports: fused softmax and its backward between
  BLAS products per (sample, head), the fused layer norm;
- "reference (NumPy only)": the same functions with core_ext out of reach, as in the grading
  sandbox (which refuses the import): the reference's own NumPy code;
- PyTorch CPU (nn.MultiheadAttention with need_weights=False, nn.TransformerEncoderLayer,
  + autograd) in float64 and float32, when installed, timed in a child process;
- "GEMM bound": only the products the layer needs, as NumPy matmuls into preallocated arrays
  (4 projections, the scores and the weighted sum per (sample, head) as one stacked matmul
  over N*h contiguous matrices; backward: the 8 projection products and the 4 per-head ones;
  the block adds the FFN's 2 + 4), in two arrangements, the faster being the bound: OpenBLAS's
  threads splitting each product, and the two halves of the batch on two threads with BLAS on
  one thread each (core_ext's split).

Each target is judged on paired rounds (the reference, then PyTorch, alternating; the median
of the rounds' ratios), as this shared VM's speed drifts between the table's rows.
--quick runs tiny shapes once (a smoke test).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from unittest import mock

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from solutions.a4_attention import attention, transformer_blocks, transformer_layers
from timing import (PAIRED_ROUNDS, TorchTimer, console, load_torch, paired_line,
                    paired_ratios, ratio, serve_torch_medians, start, table, time_contenders,
                    timer)

CASE = (32, 128, 256, 8)  # N, T, D, heads
QUICK_CASE = (2, 5, 8, 2)
KINDS = ("attention", "encoder")
TARGETS = {"attention": 0.8, "encoder": 1.0}  # reference / PyTorch CPU float64
OURS, NUMPY = "reference (core_ext kernels)", "reference (NumPy only)"
BOUND_BLAS, BOUND_SPLIT = "GEMM bound (BLAS on 2 threads)", "GEMM bound (batch halves on 2 threads)"
TORCH64, TORCH32 = "PyTorch CPU float64", "PyTorch CPU float32"


def inputs(case, dtype=np.float64):
    """x, dout and the encoder block's parameters (the attention's are among them), seeded,
    weights of scale 1/sqrt(fan-in)."""
    N, T, D, _ = case
    rng = np.random.default_rng(0)
    params = {}
    for name in "QKVO":
        params[f"W_{name}"] = rng.standard_normal((D, D)) / np.sqrt(D)
        params[f"b_{name}"] = 0.1 * rng.standard_normal(D)
    F = 4 * D
    params |= {"W1": rng.standard_normal((D, F)) / np.sqrt(D), "b1": 0.1 * rng.standard_normal(F),
               "W2": rng.standard_normal((F, D)) / np.sqrt(F), "b2": 0.1 * rng.standard_normal(D)}
    for i in (1, 2):
        params[f"gamma{i}"] = 1 + 0.1 * rng.standard_normal(D)
        params[f"beta{i}"] = 0.1 * rng.standard_normal(D)
    x, dout = rng.standard_normal((N, T, D)), rng.standard_normal((N, T, D))
    return x.astype(dtype), dout.astype(dtype), {k: v.astype(dtype) for k, v in params.items()}


def reference_run(kind, case):
    """The reference's forward + backward of ``kind``; returns its outputs (for the check)."""
    x, dout, params = inputs(case)
    heads = case[3]
    if kind == "attention":
        attn = {k: params[k] for k in transformer_blocks.ATTENTION_KEYS}

        def run():
            out, cache = attention.multihead_attention_forward(x, x, attn, heads)
            dx_q, dx_kv, grads = attention.multihead_attention_backward(dout, cache)
            return out, dx_q + dx_kv, grads
        return run
    block_param = {"num_heads": heads, "norm": "post", "activation": "relu"}

    def run():
        out, cache = transformer_blocks.encoder_block_forward(x, params, block_param)
        return (out, *transformer_blocks.encoder_block_backward(dout, cache))
    return run


def numpy_only(fn):
    """``fn`` with core_ext out of the reference's reach, as in the grading sandbox."""
    def run():
        with mock.patch.object(attention, "_core_ext", None), \
                mock.patch.object(transformer_layers, "_core_ext", None):
            return fn()
    return run


def gemm_products(kind, N, T, D, heads):
    """The layer's products alone for a batch of N, as NumPy matmuls into preallocated arrays."""
    rng = np.random.default_rng(1)
    dk, NT, NH = D // heads, N * T, N * heads
    x, W = rng.standard_normal((NT, D)), rng.standard_normal((D, D))
    dy = rng.standard_normal((NT, D))
    proj = [np.empty((NT, D)) for _ in range(4)]
    q, kt = rng.standard_normal((NH, T, dk)), rng.standard_normal((NH, dk, T))
    scores, heads_out = np.empty((NH, T, T)), np.empty((NH, T, dk))
    dgrad = [np.empty((NT, D)) for _ in range(4)]
    # weight gradients column-major: long reductions (over N*T) into row-major arrays ran up
    # to 2.5x slower with two OpenBLAS threads here (bench_conv.py's dw)
    wgrad = [np.empty((D, D), order="F") for _ in range(4)]
    F = 4 * D
    W1, W2 = rng.standard_normal((D, F)), rng.standard_normal((F, D))
    hidden, dhidden = np.empty((NT, F)), np.empty((NT, F))
    dW1, dW2 = np.empty((D, F), order="F"), np.empty((F, D), order="F")
    ffn_out, ffn_dx = np.empty((NT, D)), np.empty((NT, D))
    s2 = np.empty((NH, T, T))

    def products():
        for p in proj:  # Q, K, V, then the output projection
            np.matmul(x, W, out=p)
        np.matmul(q, kt, out=scores)                       # scores
        np.matmul(scores, q, out=heads_out)                # weighted sum
        for i in range(4):                                 # dx and dW of each projection
            np.matmul(dy, W.T, out=dgrad[i])
            np.matmul(x.T, dy, out=wgrad[i])
        np.matmul(scores, q, out=heads_out)                # dv = W^T dout (same shapes)
        np.matmul(q, kt, out=s2)                           # dW = dout v^T
        np.matmul(scores, q, out=heads_out)                # dq = dS k
        np.matmul(scores, q, out=heads_out)                # dk = dS^T q
        if kind == "encoder":
            np.matmul(x, W1, out=hidden)
            np.matmul(hidden, W2, out=ffn_out)
            np.matmul(dy, W2.T, out=dhidden)
            np.matmul(dhidden, W1.T, out=ffn_dx)
            np.matmul(x.T, dhidden, out=dW1)
            np.matmul(hidden.T, dy, out=dW2)
    return products


def gemm_bounds(kind, case):
    """The products in two arrangements: OpenBLAS splitting each over its threads, and the
    batch's two halves on two threads with BLAS on one thread each."""
    N, T, D, heads = case
    whole = gemm_products(kind, N, T, D, heads)
    halves = [gemm_products(kind, n, T, D, heads) for n in (N - N // 2, N // 2) if n]
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
    ours = reference_run(kind, case)
    return {OURS: (ours, 1), NUMPY: (numpy_only(ours), 1), **gemm_bounds(kind, case)}


def torch_contenders(torch, kind, case):
    N, T, D, heads = case
    x, dout, _ = inputs(case)
    runs = {}
    for dtype, name in ((torch.float64, TORCH64), (torch.float32, TORCH32)):
        torch.manual_seed(0)
        if kind == "attention":
            net = torch.nn.MultiheadAttention(D, heads, batch_first=True, dtype=dtype)
        else:
            net = torch.nn.TransformerEncoderLayer(D, heads, 4 * D, dropout=0.0,
                                                   activation="relu", batch_first=True,
                                                   norm_first=False, dtype=dtype)
        tx = torch.tensor(x, dtype=dtype, requires_grad=True)
        tdout = torch.tensor(dout, dtype=dtype)

        def run(net=net, tx=tx, tdout=tdout):
            net.zero_grad(set_to_none=True)
            tx.grad = None
            if kind == "attention":
                out = net(tx, tx, tx, need_weights=False)[0]
            else:
                out = net(tx)
            out.backward(tdout)
        runs[name] = run
    return runs


def check_agreement(kind, case) -> None:
    """The reference with and without the kernels computes the same thing (a benchmark of a
    wrong kernel is worthless)."""
    run = reference_run(kind, case)
    ours, theirs = run(), numpy_only(run)()
    for got, want in zip(ours, theirs, strict=True):
        if isinstance(got, dict):
            assert got.keys() == want.keys()
            for key in got:
                np.testing.assert_allclose(got[key], want[key], rtol=1e-9, atol=1e-9, err_msg=key)
        else:
            np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


def blas_line() -> str:
    """OpenBLAS's own choice of kernels and whether OPENBLAS_CORETYPE forced it."""
    libs = [f"{info.get('internal_api')} {info.get('version')} ({info.get('architecture')}, "
            f"{info.get('num_threads')} threads, {os.path.basename(info.get('filepath', ''))})"
            for info in threadpool_info() if info.get("user_api") == "blas"]
    return (f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}; BLAS loaded: "
            + "; ".join(libs))


def bench_case(kind, case, repeats: int, quick: bool) -> None:
    check_agreement(kind, case)
    runs = contenders(kind, case)
    rounds = 1 if quick else PAIRED_ROUNDS
    out = console()
    with TorchTimer(kind, repeats, quick) as torch_timer:
        times = time_contenders(runs, torch_timer, repeats)
        torch64 = times.get(TORCH64)
        fastest_bound = min((BOUND_BLAS, BOUND_SPLIT), key=times.get)
        bound = times[fastest_bound]
        t = table(["contender", "ms", "/ torch f64", "/ GEMM bound", "/ reference"])
        for name in (OURS, NUMPY, BOUND_BLAS, BOUND_SPLIT, TORCH64, TORCH32):
            if name in times:
                seconds = times[name]
                t.add_row(name, f"{seconds * 1e3:.2f}", ratio(seconds, torch64),
                          ratio(seconds, bound), ratio(seconds, times[OURS]))
        N, T, D, heads = case
        what = ("multi-head self-attention" if kind == "attention" else
                "encoder block (post-norm, FFN 4D ReLU, dropout 0)")
        out.print(f"{what} N={N} T={T} D={D} heads={heads}, forward+backward float64, "
                  f"median of {repeats}")
        out.print(t)
        if torch64 is not None:
            out.print(f"reference / PyTorch float64, from the table: {times[OURS] / torch64:.2f}")
            paired = paired_ratios(timer(runs[OURS][0], repeats), torch_timer.timer(TORCH64),
                                   rounds)
            out.print(paired_line("reference / PyTorch float64", paired, TARGETS[kind]),
                      soft_wrap=True)
        paired = paired_ratios(timer(runs[OURS][0], repeats),
                               timer(runs[fastest_bound][0], repeats), rounds)
        out.print(f"reference / {fastest_bound}, median of {len(paired)} paired rounds: "
                  f"{paired[len(paired) // 2]:.2f} (no target); rounds "
                  + ", ".join(f"{r:.2f}" for r in paired) + "\n", soft_wrap=True)


def main() -> None:
    repeats, quick, torch_only = start(__doc__)
    case = QUICK_CASE if quick else CASE
    if torch_only is not None:  # the child process that times PyTorch
        serve_torch_medians(torch_contenders(load_torch(), torch_only, case), repeats)
        return
    console().print(blas_line() + "\n", soft_wrap=True)
    for kind in KINDS:
        bench_case(kind, case, repeats, quick)


if __name__ == "__main__":
    main()
