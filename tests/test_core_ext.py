"""core_ext pooling: the compiled kernels and the NumPy fallback agree with the naive reference
layers (solutions/a2_cnn/layers.py) and with numerical gradients; the import-time fallback is
exercised for the whole extension, and LAYERLAB_REQUIRE_EXT is honoured.

Convolution is in test_core_ext_conv.py, threading in test_core_ext_threads.py; all use the
``kernels`` fixture of conftest.py."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import core_ext
from gradients import assert_grad  # tests/gradients.py
from solutions.a2_cnn import layers

DTYPES = [np.float64, np.float32]
# (x shape, pool_height, pool_width, stride): tiling, non-tiling (N = 1), overlapping 3x3
# stride 1, rectangular overlapping, window as large as the input, rectangular with gaps
# between windows (stride > width), a tall window, 1x1 windows skipping rows and columns
POOL_CASES = [((2, 3, 8, 8), 2, 2, 2), ((1, 2, 7, 9), 2, 2, 2), ((2, 1, 6, 6), 3, 3, 1),
              ((3, 2, 7, 5), 3, 2, 2), ((1, 1, 5, 4), 5, 4, 1), ((2, 2, 9, 7), 2, 3, 3),
              ((1, 3, 10, 6), 4, 1, 2), ((2, 1, 5, 7), 1, 1, 2)]
POOLS = {"max": (core_ext.max_pool_forward, core_ext.max_pool_backward,
                 layers.max_pool_forward_naive, layers.max_pool_backward_naive),
         "avg": (core_ext.avg_pool_forward, core_ext.avg_pool_backward,
                 layers.avg_pool_forward_naive, layers.avg_pool_backward_naive)}


def tolerance(dtype) -> dict:
    return {"rtol": 1e-12, "atol": 1e-13} if dtype == np.float64 else {"rtol": 1e-5, "atol": 1e-6}


def pool_id(case):
    shape, ph, pw, s = case
    return f"{'x'.join(map(str, shape))}-{ph}x{pw}s{s}"


def pool_param(ph, pw, s):
    return {"pool_height": ph, "pool_width": pw, "stride": s}



# -- agreement with the naive reference layers ---------------------------------------------------
@pytest.mark.parametrize("kind", POOLS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", POOL_CASES, ids=pool_id)
def test_pool_matches_naive_reference(kernels, case, dtype, kind):
    forward, backward, forward_naive, backward_naive = POOLS[kind]
    shape, ph, pw, s = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    param = pool_param(ph, pw, s)

    out, cache = forward(x, param)
    expected, naive_cache = forward_naive(x, param)
    assert out.shape == expected.shape == (shape[0], shape[1], 1 + (shape[2] - ph) // s,
                                           1 + (shape[3] - pw) // s)
    assert out.dtype == dtype
    np.testing.assert_allclose(out, expected, **tolerance(dtype))

    dout = rng.standard_normal(out.shape).astype(dtype)
    dx = backward(dout, cache)
    assert dx.shape == shape and dx.dtype == dtype
    np.testing.assert_allclose(dx, backward_naive(dout, naive_cache), **tolerance(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", POOL_CASES, ids=pool_id)
def test_max_pool_ties_match_naive_reference(kernels, case, dtype):
    """Few distinct values, so most windows hold several maxima: the gradient must go to the
    same element as in the naive layer (the first maximum in row-major window order)."""
    shape, ph, pw, s = case
    rng = np.random.default_rng(1)
    x = rng.integers(0, 3, shape).astype(dtype)
    param = pool_param(ph, pw, s)
    out, cache = core_ext.max_pool_forward(x, param)
    expected, naive_cache = layers.max_pool_forward_naive(x, param)
    np.testing.assert_array_equal(out, expected)
    # powers of two: every sum of routed gradients is exact, whatever the order
    dout = 2.0 ** rng.integers(-3, 4, out.shape).astype(dtype)
    np.testing.assert_array_equal(core_ext.max_pool_backward(dout, cache),
                                  layers.max_pool_backward_naive(dout, naive_cache))


def test_max_pool_tie_goes_to_first_maximum_in_row_major_order(kernels):
    # [[0, 2], [2, 0]]: row-major order finds (0, 1) first, column-major would pick (1, 0)
    x = np.array([[0.0, 2.0], [2.0, 0.0]])[None, None]
    out, cache = core_ext.max_pool_forward(x, pool_param(2, 2, 2))
    assert out.item() == 2.0
    dx = core_ext.max_pool_backward(np.full((1, 1, 1, 1), 5.0), cache)
    np.testing.assert_array_equal(dx[0, 0], [[0.0, 5.0], [0.0, 0.0]])


def test_max_pool_overlapping_ties_accumulate_on_each_window_first_maximum(kernels):
    x = np.ones((1, 1, 4, 4))
    out, cache = core_ext.max_pool_forward(x, pool_param(3, 3, 1))
    dx = core_ext.max_pool_backward(np.ones_like(out), cache)
    # each of the four windows routes its gradient to its own top-left element
    np.testing.assert_array_equal(dx[0, 0], [[1, 1, 0, 0], [1, 1, 0, 0],
                                             [0, 0, 0, 0], [0, 0, 0, 0]])


def test_max_pool_propagates_nan_like_naive_reference(kernels):
    """A NaN in a window must come out of max pooling (as np.max and the naive layer do), and
    its gradient goes to the first NaN (np.argmax): a diverging run must not be hidden."""
    x = np.array([[1.0, np.nan, 0.0, 5.0], [3.0, 2.0, np.nan, 4.0]])[None, None]
    param = pool_param(2, 2, 2)
    out, cache = core_ext.max_pool_forward(x, param)
    expected, naive_cache = layers.max_pool_forward_naive(x, param)
    np.testing.assert_array_equal(out, expected)
    dout = np.array([[[[1.0, 2.0]]]])
    np.testing.assert_array_equal(core_ext.max_pool_backward(dout, cache),
                                  layers.max_pool_backward_naive(dout, naive_cache))


def test_avg_pool_windows_that_miss_elements_give_them_zero_gradient(kernels):
    x = np.arange(2 * 1 * 5 * 7, dtype=float).reshape(2, 1, 5, 7)
    out, cache = core_ext.avg_pool_forward(x, pool_param(2, 2, 3))
    dx = core_ext.avg_pool_backward(np.ones_like(out), cache)
    covered = np.zeros((5, 7), bool)
    covered[np.ix_([0, 1, 3, 4], [0, 1, 3, 4])] = True
    np.testing.assert_array_equal(dx[1, 0], np.where(covered, 0.25, 0.0))


def test_curriculum_pooling_example(kernels):
    x = np.array([[3, 6, 1, 4], [4, 7, 7, 8], [2, 2, 1, 2], [2, 4, 3, 4]], float)[None, None]
    param = pool_param(2, 2, 2)
    np.testing.assert_array_equal(core_ext.max_pool_forward(x, param)[0][0, 0], [[7, 8], [4, 4]])
    np.testing.assert_array_equal(core_ext.avg_pool_forward(x, param)[0][0, 0],
                                  [[5, 5], [2.5, 2.5]])


# -- gradients ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", POOLS)
@pytest.mark.parametrize("case", POOL_CASES, ids=pool_id)
def test_pool_gradient_is_numerically_right(kernels, case, kind):
    forward, backward = POOLS[kind][:2]
    shape, ph, pw, s = case
    rng = np.random.default_rng(2)
    # a permutation of well-separated values: no two elements of a window within a step
    x = rng.permutation(np.arange(np.prod(shape), dtype=float)).reshape(shape) * 0.01
    param = pool_param(ph, pw, s)
    out, cache = forward(x, param)
    dout = rng.standard_normal(out.shape)
    assert_grad("dx", backward(dout, cache), lambda v: np.sum(forward(v, param)[0] * dout), x)


@pytest.mark.parametrize("kind", POOLS)
def test_pool_backward_twice_on_one_cache_gives_the_same_result(kernels, kind):
    forward, backward = POOLS[kind][:2]
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 7, 7))
    x_before = x.copy()
    out, cache = forward(x, pool_param(3, 3, 2))
    dout = rng.standard_normal(out.shape)
    dout_before = dout.copy()
    first = backward(dout, cache)
    first_copy = first.copy()
    second = backward(dout, cache)
    np.testing.assert_array_equal(second, first_copy)
    np.testing.assert_array_equal(first, first_copy)  # the second call did not reuse the first's
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(dout, dout_before)


@pytest.mark.parametrize("kind", POOLS)
def test_pool_accepts_strided_and_read_only_arrays(kernels, kind):
    forward, backward = POOLS[kind][:2]
    rng = np.random.default_rng(4)
    base = rng.standard_normal((3, 2, 9, 8))
    param = pool_param(2, 3, 2)
    strided = base.transpose(1, 0, 3, 2)[:, :, ::-1]
    read_only = np.ascontiguousarray(strided)
    read_only.setflags(write=False)
    out, cache = forward(strided, param)
    out_ro, cache_ro = forward(read_only, param)
    np.testing.assert_array_equal(out, out_ro)
    np.testing.assert_array_equal(out, forward(np.ascontiguousarray(strided), param)[0])
    dout = rng.standard_normal(out.shape)[..., ::-1]
    dout_ro = np.ascontiguousarray(dout)
    dout_ro.setflags(write=False)
    np.testing.assert_array_equal(backward(dout, cache), backward(dout_ro, cache_ro))


# -- bad input ----------------------------------------------------------------------------------
GOOD = pool_param(2, 2, 2)


@pytest.mark.parametrize("kind", POOLS)
@pytest.mark.parametrize("x,param,error,message", [
    (np.zeros((2, 3, 4)), GOOD, ValueError, r"x must be a 4-d array \(N, C, H, W\).*\(2, 3, 4\)"),
    ([[[[1.0, 2.0]]]], GOOD, ValueError, "x must be a 4-d array.*got list"),
    (np.zeros((1, 1, 4, 4), int), GOOD, TypeError, "x must be float32 or float64; got int64"),
    (np.zeros((1, 1, 4, 4), np.float16), GOOD, TypeError, "float32 or float64; got float16"),
    (np.zeros((1, 1, 4, 4)), {"pool_height": 2, "stride": 2}, ValueError, "'pool_width'"),
    (np.zeros((1, 1, 4, 4)), None, ValueError, "pool_param needs"),
    (np.zeros((1, 1, 4, 4)), pool_param(2.0, 2, 2), ValueError,
     "pool_param values must be integers"),
    (np.zeros((1, 1, 4, 4)), pool_param(2, 2, True), ValueError, "must be integers"),
    (np.zeros((1, 1, 4, 4)), pool_param(2, 2, "2"), ValueError, "must be integers"),
    (np.zeros((1, 1, 4, 4)), pool_param(5, 2, 1), ValueError, "5x2.*stride 1.*does not fit.*4x4"),
    (np.zeros((1, 1, 4, 4)), pool_param(2, 5, 1), ValueError, "does not fit"),
    (np.zeros((1, 1, 4, 4)), pool_param(2, 2, 0), ValueError, "stride 0 does not fit"),
    (np.zeros((1, 1, 4, 4)), pool_param(-1, 2, 1), ValueError, "pool -1x2"),
    (np.zeros((1, 1, 4, 4)), pool_param(2, 0, 1), ValueError, "pool 2x0"),
    (np.zeros((1, 1, 4, 4)), pool_param(2, 2, -2), ValueError, "stride -2"),
])
def test_pool_rejects_bad_input_with_a_clear_message(kind, x, param, error, message):
    with pytest.raises(error, match=message):
        POOLS[kind][0](x, param)


@pytest.mark.parametrize("kind", POOLS)
@pytest.mark.parametrize("dout", [np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 2, 2, 1)),
                                  np.zeros((2, 1, 2, 2)), [[[[0.0, 0.0], [0.0, 0.0]]]]],
                         ids=["spatial", "5-d", "batch", "list"])
def test_pool_backward_rejects_wrong_dout(kind, dout):
    forward, backward = POOLS[kind][:2]
    _, cache = forward(np.zeros((1, 1, 4, 4)), GOOD)
    with pytest.raises(ValueError, match=r"dout must have.*shape.*\(1, 1, 2, 2\)"):
        backward(dout, cache)


# -- the import-time fallback --------------------------------------------------------------------
FALLBACK_RUN = """
import sys, warnings
for name in sys.argv[2:]:
    sys.modules[name] = None  # as if this part of the extension had not been built
warnings.simplefilter("always")
import numpy as np
import core_ext
print("compiled", core_ext.COMPILED, core_ext._conv, core_ext._pool)
rng = np.random.default_rng(5)
x, w, b = (rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 2)),
           rng.standard_normal(4))
out, cache = core_ext.conv_forward(x, w, b, {"stride": 2, "pad": 1})
grads = core_ext.conv_backward(np.ones_like(out), cache)
pooled, pcache = core_ext.max_pool_forward(x, {"pool_height": 3, "pool_width": 2, "stride": 1})
dpool = core_ext.max_pool_backward(np.ones_like(pooled), pcache)
avg, acache = core_ext.avg_pool_forward(x, {"pool_height": 2, "pool_width": 3, "stride": 2})
davg = core_ext.avg_pool_backward(np.ones_like(avg), acache)
np.savez(sys.argv[1], out, *grads, pooled, dpool, avg, davg)
"""


def _import_without(modules: list[str], require: str, result: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "LAYERLAB_REQUIRE_EXT": require}
    return subprocess.run([sys.executable, "-c", FALLBACK_RUN, str(result), *modules],
                          capture_output=True, text=True, env=env)


def _arrays(path: Path) -> list[np.ndarray]:
    with np.load(path) as run:
        return [run[f"arr_{i}"] for i in range(len(run.files))]


@pytest.mark.parametrize("missing", [["core_ext._conv"], ["core_ext._pool"], ["core_ext._memory"],
                                     ["core_ext._conv", "core_ext._pool"]], ids="+".join)
def test_missing_extension_falls_back_with_one_warning_and_same_results(missing, tmp_path):
    compiled = _import_without([], "1", tmp_path / "compiled.npz")
    assert compiled.returncode == 0 and "compiled True" in compiled.stdout, compiled.stderr
    proc = _import_without(missing, "0", tmp_path / "fallback.npz")
    assert proc.returncode == 0, proc.stderr
    assert "compiled False None None" in proc.stdout
    assert proc.stderr.count("NumPy fallback") == 1, proc.stderr
    assert proc.stderr.count("Warning") == 1, proc.stderr
    fallback, want = _arrays(tmp_path / "fallback.npz"), _arrays(tmp_path / "compiled.npz")
    assert len(fallback) == len(want) == 8  # out, dx, dw, db and two poolings each way
    for got, expected in zip(fallback, want, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("missing", [["core_ext._conv"], ["core_ext._pool"], ["core_ext._memory"]],
                         ids="+".join)
def test_require_ext_turns_the_fallback_into_an_error(missing, tmp_path):
    proc = _import_without(missing, "1", tmp_path / "run.npz")
    assert proc.returncode != 0
    assert "LAYERLAB_REQUIRE_EXT=1 forbids the NumPy fallback" in proc.stderr
    assert not (tmp_path / "run.npz").exists()
