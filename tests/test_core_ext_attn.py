"""core_ext's attention and layer-norm kernels (core_ext/_attn.pyx) against the A4 reference's
own NumPy code and against their NumPy fallback (core_ext/_attn_numpy.py), on a grid of shapes,
masks (all-masked rows included), layouts and dtypes; results independent of the thread count;
the reference calling them with unchanged results."""

from unittest import mock

import numpy as np
import pytest

import core_ext
from solutions.a4_attention import attention, transformer_blocks, transformer_layers

COMPILED = core_ext._attn is not None
needs_kernels = pytest.mark.skipif(not COMPILED, reason="core_ext._attn is not built")
TOL = {np.float64: dict(rtol=1e-12, atol=1e-13), np.float32: dict(rtol=2e-5, atol=2e-6)}

# (q's leading axes, Tq, Tk, d, dv, mask kind)
ATTENTION_GRID = [
    ((3,), 5, 7, 4, 3, None), ((2,), 1, 1, 1, 1, None), ((2,), 6, 6, 8, 8, "causal"),
    ((4,), 5, 3, 2, 6, "per sample"), ((2, 3), 4, 6, 5, 2, None), ((2, 3), 6, 6, 4, 4, "causal"),
    ((2, 3), 5, 4, 3, 3, "per sample, every head"), ((3,), 7, 9, 16, 5, "rows all masked"),
    ((2, 2), 4, 5, 3, 3, "rows all masked"), ((1,), 9, 130, 8, 4, "random"),
]


def mask_for(kind, lead, Tq, Tk, rng):
    if kind is None:
        return None
    if kind == "causal":
        return np.tril(np.ones((Tq, Tk), dtype=bool))
    if kind == "per sample":
        return rng.random((*lead, Tq, Tk)) < 0.6
    if kind == "per sample, every head":  # (N, 1, Tq, Tk): multi-head attention's broadcast
        return rng.random((lead[0], 1, Tq, Tk)) < 0.6
    m = rng.random((*lead, Tq, Tk)) < 0.5
    if kind == "rows all masked":
        m[..., 1, :] = False
        m[..., :, 0] = False  # a key no query may attend to
    return m


def arrays(case, dtype, seed=0):
    lead, Tq, Tk, d, dv, kind = case
    rng = np.random.default_rng(seed)
    q, k = rng.standard_normal((*lead, Tq, d)), rng.standard_normal((*lead, Tk, d))
    v, dout = rng.standard_normal((*lead, Tk, dv)), rng.standard_normal((*lead, Tq, dv))
    return [a.astype(dtype) for a in (q, k, v, dout)], mask_for(kind, lead, Tq, Tk, rng)


def reference_numpy(q, k, v, dout, mask):
    """The reference's own NumPy code (core_ext out of its reach)."""
    with mock.patch.object(attention, "_core_ext", None):
        out, cache = attention.scaled_dot_product_attention_forward(q, k, v, mask)
        return (out, cache[3], *attention.scaled_dot_product_attention_backward(dout, cache))


def kernel(q, k, v, dout, mask, fallback=False):
    with mock.patch.object(core_ext, "_attn", None) if fallback else mock.MagicMock():
        out, weights = core_ext.attention_forward(q, k, v, mask)
        grads = core_ext.attention_backward(dout, q, k, v, weights, 1 / np.sqrt(q.shape[-1]))
    return (out, weights, *grads)


@pytest.mark.parametrize("fallback", [pytest.param(False, marks=needs_kernels), True],
                         ids=["compiled", "numpy fallback"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("case", ATTENTION_GRID, ids=lambda c: f"{c[0]}-{c[1]}x{c[2]}-{c[5]}")
def test_attention_matches_the_reference(case, dtype, fallback):
    (q, k, v, dout), mask = arrays(case, dtype)
    got = kernel(q, k, v, dout, mask, fallback)
    want = reference_numpy(*(a.astype(np.float64) for a in (q, k, v, dout)), mask)
    names = ("out", "weights", "dq", "dk", "dv")
    for name, g, w in zip(names, got, want, strict=True):
        assert g.dtype == dtype and g.shape == w.shape, name
        np.testing.assert_allclose(g, w, **TOL[dtype], err_msg=name)
    if mask is not None:  # masked keys: weight exactly 0; a query with none allowed: out 0
        allowed = np.broadcast_to(mask, got[1].shape)
        assert (got[1][~allowed] == 0).all()
        none = ~allowed.any(axis=-1)
        assert (got[0][none] == 0).all() and (got[2][none] == 0).all()
        assert np.isfinite(got[0]).all() and np.isfinite(got[2]).all()


@needs_kernels
def test_attention_reads_the_split_heads_in_place_and_writes_merged_heads():
    """Multi-head attention's heads: views (N, h, T, d_k) of (N, T, D) projections."""
    rng = np.random.default_rng(3)
    N, T, h, dk = 2, 6, 3, 4
    Q, K, V = (rng.standard_normal((N, T, h * dk)) for _ in range(3))
    q, k, v = (x.reshape(N, T, h, dk).transpose(0, 2, 1, 3) for x in (Q, K, V))
    dout = rng.standard_normal((N, h, T, dk))
    got = kernel(q, k, v, dout, None)
    want = reference_numpy(q, k, v, dout, None)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, **TOL[np.float64])
    out = got[0]
    assert out.transpose(0, 2, 1, 3).flags.c_contiguous  # merging the heads is a free reshape
    # the same from copies of any layout (a deep copy of a cache keeps its strides' order)
    copies = [np.asfortranarray(a) for a in (q, k, v, dout)]
    for g, w in zip(kernel(*copies, None), want, strict=True):
        np.testing.assert_allclose(g, w, **TOL[np.float64])


@needs_kernels
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_attention_is_the_same_for_any_thread_count(monkeypatch, dtype):
    case = ((8, 4), 32, 40, 16, 8, "per sample")
    (q, k, v, dout), mask = arrays(case, dtype, seed=5)
    results = []
    for threads in ("1", "2", "3"):
        monkeypatch.setenv("LAYERLAB_THREADS", threads)
        results.append(kernel(q, k, v, dout, mask))
    for other in results[1:]:
        for a, b in zip(results[0], other, strict=True):
            np.testing.assert_array_equal(a, b)


def test_attention_large_scores_neither_overflow_nor_warn():
    rng = np.random.default_rng(4)
    q, k, v = (1e3 * rng.standard_normal((2, 5, 4)) for _ in range(3))
    with np.errstate(all="raise"):
        out, weights = core_ext.attention_forward(q, k, v)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-12)


def test_attention_rejects_what_it_cannot_compute():
    q = np.zeros((2, 3, 4))
    with pytest.raises(ValueError, match="3-d"):
        core_ext.attention_forward(np.zeros((3, 4)), q, q)
    with pytest.raises(TypeError, match="float32 or float64"):
        core_ext.attention_forward(q.astype(int), q, q)
    with pytest.raises(TypeError, match="dtype"):
        core_ext.attention_forward(q, q.astype(np.float32), q)
    with pytest.raises(ValueError, match="leading"):
        core_ext.attention_forward(q, np.zeros((2, 3, 5)), q)


# -- layer norm ---------------------------------------------------------------------------------
LAYERNORM_GRID = [(4, 8), (2, 3, 5), (1, 1), (3, 130, 16), (200, 7)]


def reference_layernorm(x, gamma, beta, dout, eps):
    with mock.patch.object(transformer_layers, "_core_ext", None):
        out, cache = transformer_layers.layernorm_forward(x, gamma, beta, {"eps": eps})
        return (out, cache[0], cache[2], *transformer_layers.layernorm_backward(dout, cache))


@pytest.mark.parametrize("fallback", [pytest.param(False, marks=needs_kernels), True],
                         ids=["compiled", "numpy fallback"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", LAYERNORM_GRID, ids=str)
def test_layernorm_matches_the_reference(shape, dtype, fallback):
    rng = np.random.default_rng(6)
    x = 3 + 2 * rng.standard_normal(shape)
    gamma, beta = rng.standard_normal(shape[-1]), rng.standard_normal(shape[-1])
    dout = rng.standard_normal(shape)
    x, gamma, beta, dout = (a.astype(dtype) for a in (x, gamma, beta, dout))
    with mock.patch.object(core_ext, "_attn", None) if fallback else mock.MagicMock():
        out, x_hat, std = core_ext.layernorm_forward(x, gamma, beta, 1e-5)
        got = (out, x_hat, std, *core_ext.layernorm_backward(dout, x_hat, gamma, std))
    want = reference_layernorm(*(a.astype(np.float64) for a in (x, gamma, beta, dout)), 1e-5)
    tol = {np.float64: dict(rtol=1e-11, atol=1e-11), np.float32: dict(rtol=1e-4, atol=1e-4)}
    for name, g, w in zip(("out", "x_hat", "std", "dx", "dgamma", "dbeta"), got, want,
                          strict=True):
        assert g.shape == w.shape and g.dtype == dtype, name
        np.testing.assert_allclose(g, w, **tol[dtype], err_msg=name)


@needs_kernels
def test_layernorm_is_the_same_for_any_thread_count(monkeypatch):
    rng = np.random.default_rng(7)
    x, dout = rng.standard_normal((37, 129, 24)), rng.standard_normal((37, 129, 24))
    gamma, beta = rng.standard_normal(24), rng.standard_normal(24)
    results = []
    for threads in ("1", "2", "3"):
        monkeypatch.setenv("LAYERLAB_THREADS", threads)
        out, x_hat, std = core_ext.layernorm_forward(x, gamma, beta)
        results.append((out, x_hat, std, *core_ext.layernorm_backward(dout, x_hat, gamma, std)))
    for other in results[1:]:
        for a, b in zip(results[0], other, strict=True):
            np.testing.assert_array_equal(a, b)


# -- the reference calls the kernels ------------------------------------------------------------
def block_inputs(rng, N=2, T=5, D=8):
    params = {}
    for name in "QKVO":
        params[f"W_{name}"] = rng.standard_normal((D, D)) / np.sqrt(D)
        params[f"b_{name}"] = rng.standard_normal(D)
    params |= {"W1": rng.standard_normal((D, 3 * D)), "b1": rng.standard_normal(3 * D),
               "W2": rng.standard_normal((3 * D, D)), "b2": rng.standard_normal(D),
               "gamma1": rng.standard_normal(D), "beta1": rng.standard_normal(D),
               "gamma2": rng.standard_normal(D), "beta2": rng.standard_normal(D)}
    return rng.standard_normal((N, T, D)), rng.standard_normal((N, T, D)), params


def numpy_only(fn):
    with mock.patch.object(attention, "_core_ext", None), \
            mock.patch.object(transformer_layers, "_core_ext", None):
        return fn()


@pytest.mark.parametrize("norm", ["post", "pre"])
@pytest.mark.parametrize("mask", [None, "causal", "per sample"])
def test_the_reference_blocks_give_the_same_results_with_the_kernels(norm, mask):
    rng = np.random.default_rng(8)
    x, dout, params = block_inputs(rng)
    m = {None: None, "causal": attention.causal_mask(5),
         "per sample": rng.random((2, 5, 5)) < 0.6}[mask]
    block_param = {"num_heads": 2, "norm": norm}

    def run():
        out, cache = transformer_blocks.encoder_block_forward(x, params, block_param, m)
        return out, *transformer_blocks.encoder_block_backward(dout, cache)

    assert attention._core_ext is core_ext and transformer_layers._core_ext is core_ext
    (out, dx, grads), (ref_out, ref_dx, ref_grads) = run(), numpy_only(run)
    np.testing.assert_allclose(out, ref_out, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(dx, ref_dx, rtol=1e-11, atol=1e-12)
    assert grads.keys() == ref_grads.keys()
    for key in grads:
        np.testing.assert_allclose(grads[key], ref_grads[key], rtol=1e-11, atol=1e-12,
                                   err_msg=key)


def test_the_reference_keeps_its_cache_layouts():
    """The known mistakes (solutions/a4_attention/mistakes.py) unpack the reference's caches."""
    rng = np.random.default_rng(9)
    q, k, v = (rng.standard_normal((2, 4, 3)) for _ in range(3))
    out, (cq, ck, cv, weights, scale) = attention.scaled_dot_product_attention_forward(q, k, v)
    assert cq is q and ck is k and cv is v and weights.shape == (2, 4, 4)
    assert scale == 1 / np.sqrt(3)
    x = rng.standard_normal((2, 4, 6))
    out, (x_hat, gamma, std) = transformer_layers.layernorm_forward(x, np.ones(6), np.zeros(6), {})
    assert x_hat.shape == x.shape and std.shape == (2, 4, 1) and gamma.shape == (6,)


def test_float32_and_other_inputs_stay_on_the_reference_numpy_code():
    """The kernels take float64 only in the reference: its NumPy code promotes float32 scores
    to float64 (the scale is a NumPy float64), and that result is kept."""
    rng = np.random.default_rng(10)
    q = rng.standard_normal((2, 3, 4)).astype(np.float32)
    with mock.patch.object(core_ext, "attention_forward", side_effect=AssertionError):
        out, _ = attention.scaled_dot_product_attention_forward(q, q, q)
    assert out.dtype == np.float64


# -- matmul (the reference's projections) -------------------------------------------------------
@pytest.mark.parametrize("shapes", [((300, 7), (7, 5)), ((5, 300), (300, 1100)), ((1, 1), (1, 1)),
                                    ((2000, 64), (64, 64))], ids=str)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matmul_matches_numpy_and_any_thread_count(monkeypatch, shapes, dtype):
    rng = np.random.default_rng(11)
    a, b = (rng.standard_normal(s).astype(dtype) for s in shapes)
    results = []
    for threads in ("1", "2", "3"):
        monkeypatch.setenv("LAYERLAB_THREADS", threads)
        results.append(core_ext.matmul(a, b))
    within_gemm_rounding(results[0], a, b)
    for other in results[1:]:
        np.testing.assert_array_equal(results[0], other)
    # any layout (a transposed view: BLAS reads it in place, rounding may differ)
    within_gemm_rounding(core_ext.matmul(np.asfortranarray(a), b), a, b)


def within_gemm_rounding(c, a, b):
    """c is a @ b up to the rounding any summation order may give: |c - ab| <= K u |a||b|
    (elementwise, against the product in float64). A relative tolerance on c alone fails on
    the elements that cancel to near zero, where BLAS kernels of different CPUs disagree."""
    exact = a.astype(np.float64) @ b.astype(np.float64)
    bound = a.shape[1] * np.finfo(a.dtype).eps * (np.abs(a).astype(np.float64)
                                                  @ np.abs(b).astype(np.float64))
    assert c.dtype == a.dtype and c.shape == exact.shape
    excess = np.abs(c - exact) - bound
    assert (excess <= 0).all(), f"{(excess > 0).sum()} elements beyond K u |a||b|"


def test_matmul_rejects_what_it_cannot_compute():
    with pytest.raises(ValueError, match="2-d"):
        core_ext.matmul(np.zeros(3), np.zeros((3, 2)))
    with pytest.raises(TypeError, match="one dtype"):
        core_ext.matmul(np.zeros((2, 3)), np.zeros((3, 2), np.float32))
    with pytest.raises(ValueError, match="chain"):
        core_ext.matmul(np.zeros((2, 3)), np.zeros((2, 2)))
