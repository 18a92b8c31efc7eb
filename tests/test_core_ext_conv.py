"""core_ext convolution: compiled kernels and NumPy fallback (the ``kernels`` fixture) against the
naive reference layers (solutions/a2_cnn/layers.py), numerical gradients, the curriculum's
worked examples, and input validation."""

import itertools

import numpy as np
import pytest

import core_ext
from gradients import assert_grad  # tests/gradients.py
from solutions.a2_cnn import layers
from test_core_ext import DTYPES

# (x shape, w shape, stride, pad). Every stride 1/2/3 with every pad 0/1/2 on a rectangular
# input with a tall kernel (HH > WW) and on one with a wide kernel (HH < WW), N = 1 in the
# second; then: square, a kernel as tall as the input, 1x1 filters with pad 2 (outputs that
# see only padding), a filter as large as the input, a filter larger than the unpadded input,
# an even kernel, windows that don't divide the input; then small batches of large images.
CONV_CASES = (
    [((2, 3, 7, 6), (4, 3, 3, 2), s, p) for s, p in itertools.product((1, 2, 3), (0, 1, 2))]
    + [((1, 2, 6, 9), (3, 2, 2, 4), s, p) for s, p in itertools.product((1, 2, 3), (0, 1, 2))]
    + [((1, 1, 5, 5), (1, 1, 3, 3), 1, 0), ((1, 4, 5, 6), (5, 4, 5, 1), 2, 0),
       ((2, 2, 4, 3), (3, 2, 1, 1), 3, 2), ((2, 3, 5, 4), (2, 3, 5, 4), 1, 0),
       ((1, 2, 3, 3), (2, 2, 5, 4), 1, 1), ((2, 3, 9, 9), (2, 3, 2, 2), 2, 0),
       ((3, 1, 8, 11), (2, 1, 3, 5), 3, 1)]
    # "same" convolutions (stride 1, W == Wo), which im2col and col2im copy as one shifted run
    # per tap: 3x3 pad 1, 5x5 pad 2 on an input shorter than the filter (taps whose every row
    # is in the padding), 1x1, a one-column input (every shifted column is padding), a tall
    # 5x3 filter with pad 1 (H != Ho)
    + [((2, 3, 6, 5), (4, 3, 3, 3), 1, 1), ((1, 2, 2, 5), (2, 2, 5, 5), 1, 2),
       ((2, 2, 4, 6), (3, 2, 1, 1), 1, 0), ((1, 1, 4, 1), (2, 1, 3, 3), 1, 1),
       ((1, 1, 3, 4), (2, 1, 5, 3), 1, 1)])
# batches of 1 to 3 images with many output positions: the compiled kernels cut each image's
# output rows into bands (core_ext._tiles), here of uneven height, with a tall filter whose
# bands overlap in dx, and stride 2. Too large for numerical gradients (a forward pass per
# input element); checked against the naive layers.
BANDED_CASES = [((1, 2, 45, 33), (3, 2, 3, 3), 1, 1), ((1, 1, 96, 64), (2, 1, 5, 3), 1, 2),
                ((2, 2, 60, 40), (3, 2, 5, 5), 1, 2),
                ((3, 2, 70, 17), (2, 2, 4, 3), 1, 2), ((1, 3, 81, 70), (2, 3, 3, 3), 2, 1)]


def case_id(case):
    x, w, s, p = case
    return f"x{'x'.join(map(str, x))}-w{'x'.join(map(str, w))}-s{s}p{p}"


def tolerance(dtype, scale: float = 1.0) -> dict:
    """rtol and atol; ``scale``: the largest magnitude of the array compared, for float32 sums
    of thousands of terms (dw over a large image), whose rounding grows with the terms."""
    if dtype == np.float64:
        return {"rtol": 1e-11, "atol": 1e-12}
    return {"rtol": 1e-4, "atol": max(1e-5, 2e-6 * scale)}


def conv_inputs(case, dtype, seed=0):
    x_shape, w_shape, stride, pad = case
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(x_shape).astype(dtype), rng.standard_normal(w_shape).astype(dtype),
            rng.standard_normal(w_shape[0]).astype(dtype), {"stride": stride, "pad": pad})


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONV_CASES + BANDED_CASES, ids=case_id)
def test_conv_matches_naive_reference(kernels, case, dtype):
    x, w, b, param = conv_inputs(case, dtype)
    (N, _, H, W), (F, _, HH, WW), s, p = case
    out, cache = core_ext.conv_forward(x, w, b, param)
    expected, naive_cache = layers.conv_forward_naive(x, w, b, param)
    assert out.shape == (N, F, 1 + (H + 2 * p - HH) // s, 1 + (W + 2 * p - WW) // s)
    assert out.dtype == dtype
    np.testing.assert_allclose(out, expected, **tolerance(dtype))

    dout = np.random.default_rng(1).standard_normal(out.shape).astype(dtype)
    grads = core_ext.conv_backward(dout, cache)
    for name, got, want, like in zip(("dx", "dw", "db"), grads,
                                     layers.conv_backward_naive(dout, naive_cache), (x, w, b),
                                     strict=True):
        assert got.shape == like.shape and got.dtype == dtype, name
        np.testing.assert_allclose(got, want, err_msg=name,
                                   **tolerance(dtype, float(np.abs(want).max(initial=0))))


@pytest.mark.parametrize("case", CONV_CASES, ids=case_id)
def test_conv_gradients_are_numerically_right(kernels, case):
    x, w, b, param = conv_inputs(case, np.float64, seed=2)
    out, cache = core_ext.conv_forward(x, w, b, param)
    dout = np.random.default_rng(3).standard_normal(out.shape)
    dx, dw, db = core_ext.conv_backward(dout, cache)

    def loss(x, w, b):
        return np.sum(core_ext.conv_forward(x, w, b, param)[0] * dout)
    # the loss is linear in each argument: a large step has no truncation error and less
    # rounding noise, which matters for the smallest gradient elements
    assert_grad("dx", dx, lambda v: loss(v, w, b), x, h=1e-3)
    assert_grad("dw", dw, lambda v: loss(x, v, b), w, h=1e-3)
    assert_grad("db", db, lambda v: loss(x, w, v), b, h=1e-3)


def test_rectangular_filter_taps_land_on_the_right_pixels(kernels):
    """One-hot 2x3 filters pick single pixels: a row/column mix-up for non-square filters shows
    up as the wrong pixel, not just a rounding difference."""
    x = np.arange(1 * 1 * 4 * 5, dtype=float).reshape(1, 1, 4, 5)
    w = np.zeros((6, 1, 2, 3))
    for f, (u, v) in enumerate(np.ndindex(2, 3)):
        w[f, 0, u, v] = 1.0
    out, cache = core_ext.conv_forward(x, w, np.zeros(6), {"stride": 1, "pad": 0})
    for f, (u, v) in enumerate(np.ndindex(2, 3)):
        np.testing.assert_array_equal(out[0, f], x[0, 0, u:u + 3, v:v + 3], err_msg=f"tap {(u, v)}")
    dx, _, _ = core_ext.conv_backward(np.ones_like(out), cache)
    # pixel (r, c) is seen by every tap (u, v) with 0 <= r-u < 3 and 0 <= c-v < 3
    rows = np.array([1, 2, 2, 1])[:, None]
    cols = np.array([1, 2, 3, 2, 1])[None, :]
    np.testing.assert_array_equal(dx[0, 0], rows * cols)


def test_curriculum_true_convolution_example(kernels):
    X = np.array([[1, 1, 1, 1, 1], [-1, 0, -3, 0, 1], [2, 1, 1, -1, 0], [0, -1, 1, 2, 1],
                  [1, 2, 1, 1, 1]], float)
    K = np.array([[1, 0, 0], [0, 0, 0], [0, 0, -1]], float)
    out, _ = core_ext.conv_forward(X[None, None], K[::-1, ::-1][None, None], np.zeros(1),
                                   {"stride": 1, "pad": 0})
    np.testing.assert_array_equal(out[0, 0], [[0, -2, -1], [2, 2, 4], [-1, 0, 0]])


def test_curriculum_binary_image_example(kernels):
    image = np.array([[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0],
                      [0, 1, 1, 0, 0]], np.float32)
    kernel = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], np.float32)
    out, _ = core_ext.conv_forward(image[None, None], kernel[None, None], np.zeros(1),
                                   {"stride": 1, "pad": 0})
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out[0, 0], [[4, 3, 4], [2, 4, 3], [2, 3, 4]])


def test_conv_backward_twice_on_one_cache_gives_the_same_result(kernels):
    x, w, b, param = conv_inputs(((2, 3, 7, 6), (4, 3, 3, 2), 2, 1), np.float64)
    before = [a.copy() for a in (x, w, b)]
    out, cache = core_ext.conv_forward(x, w, b, param)
    dout = np.random.default_rng(4).standard_normal(out.shape)
    dout_before = dout.copy()
    first = core_ext.conv_backward(dout, cache)
    first_copies = [g.copy() for g in first]
    second = core_ext.conv_backward(dout, cache)
    for name, a, b_, c in zip(("dx", "dw", "db"), first, second, first_copies, strict=True):
        np.testing.assert_array_equal(b_, c, err_msg=name)
        np.testing.assert_array_equal(a, c, err_msg=f"{name} of the first call was overwritten")
    for a, a0 in zip((x, w, b, dout), (*before, dout_before), strict=True):
        np.testing.assert_array_equal(a, a0)


def test_conv_accepts_strided_and_read_only_arrays(kernels):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 6, 2, 7)).transpose(0, 2, 3, 1)[:, :, ::-1]  # (3, 2, 6, 7) view
    w = rng.standard_normal((2, 3, 2, 4)).transpose(3, 1, 0, 2)               # (4, 3, 2, 2) view
    w = w[:, :2]                                                              # (4, 2, 2, 2)
    b = rng.standard_normal(8)[::2]
    param = {"stride": 2, "pad": 1}
    frozen = [np.ascontiguousarray(a) for a in (x, w, b)]
    for a in frozen:
        a.setflags(write=False)
    out, cache = core_ext.conv_forward(x, w, b, param)
    out_ro, cache_ro = core_ext.conv_forward(*frozen, param)
    np.testing.assert_array_equal(out, out_ro)
    dout = rng.standard_normal(out.shape[::-1]).T  # Fortran-ordered
    dout_ro = np.ascontiguousarray(dout)
    dout_ro.setflags(write=False)
    for g, g_ro in zip(core_ext.conv_backward(dout, cache),
                       core_ext.conv_backward(dout_ro, cache_ro), strict=True):
        np.testing.assert_array_equal(g, g_ro)


@pytest.mark.parametrize("x_shape,w_shape", [((0, 2, 5, 5), (3, 2, 3, 3)),
                                             ((2, 0, 5, 5), (3, 0, 3, 3)),
                                             ((2, 2, 5, 5), (0, 2, 3, 3))],
                         ids=["no images", "no channels", "no filters"])
def test_conv_of_empty_arrays_matches_naive_reference(kernels, x_shape, w_shape):
    """BLAS and the pointer loops need an element to point at; empty arrays take another path."""
    rng = np.random.default_rng(6)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    param = {"stride": 2, "pad": 1}
    out, cache = core_ext.conv_forward(x, w, b, param)
    expected, naive_cache = layers.conv_forward_naive(x, w, b, param)
    np.testing.assert_array_equal(out, expected)
    dout = rng.standard_normal(out.shape)
    for got, want in zip(core_ext.conv_backward(dout, cache),
                         layers.conv_backward_naive(dout, naive_cache), strict=True):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_conv_bias_and_dout_take_the_dtype_of_x_and_w(kernels):
    x, w, b, param = conv_inputs(((2, 3, 7, 6), (4, 3, 3, 2), 1, 1), np.float32)
    out, cache = core_ext.conv_forward(x, w, b.astype(np.float64), param)
    assert out.dtype == np.float32
    grads = core_ext.conv_backward(np.ones(out.shape), cache)  # float64 dout
    assert [g.dtype for g in grads] == [np.float32] * 3


# -- bad input ----------------------------------------------------------------------------------
def _bad(x=(1, 2, 5, 5), w=(3, 2, 3, 3), b=(3,), param=None, dtype=np.float64, w_dtype=None):
    def array(shape, dt):
        return np.zeros(shape, dt) if isinstance(shape, tuple) else shape
    return (array(x, dtype), array(w, w_dtype or dtype), array(b, np.float64),
            {"stride": 1, "pad": 1} if param is None else param)


@pytest.mark.parametrize("args,error,message", [
    (_bad(x=(2, 5, 5)), ValueError, r"x must be a 4-d array \(N, C, H, W\).*\(2, 5, 5\)"),
    (_bad(x=[[[[0.0]]]]), ValueError, "x must be a 4-d array.*got list"),
    (_bad(w=(3, 2, 3)), ValueError, r"w must be a 4-d array \(F, C, HH, WW\).*\(3, 2, 3\)"),
    (_bad(dtype=np.int64), TypeError, "x must be float32 or float64; got int64"),
    (_bad(w_dtype=np.int32), TypeError, "w must be float32 or float64; got int32"),
    (_bad(dtype=np.float32, w_dtype=np.float64), TypeError,
     "x and w must have the same dtype; got float32 and float64"),
    (_bad(w=(3, 4, 3, 3)), ValueError, "w has 4 input channels but x has 2"),
    (_bad(b=(4,)), ValueError, r"b must have shape \(3,\).*got \(4,\)"),
    (_bad(b=(3, 1)), ValueError, r"b must have shape \(3,\).*got \(3, 1\)"),
    (_bad(b=1.0), ValueError, r"b must have shape \(3,\).*got \(\)"),
    (_bad(param={"stride": 1}), ValueError, "conv_param needs 'stride', 'pad'"),
    (_bad(param={"pad": 1}), ValueError, "conv_param needs 'stride', 'pad'"),
    (_bad(param=[1, 1]), ValueError, "conv_param needs"),
    (_bad(param={"stride": 1.0, "pad": 1}), ValueError, "conv_param values must be integers"),
    (_bad(param={"stride": 1, "pad": 0.5}), ValueError, "must be integers"),
    (_bad(param={"stride": True, "pad": 1}), ValueError, "must be integers"),
    (_bad(param={"stride": None, "pad": 1}), ValueError, "must be integers"),
    (_bad(param={"stride": 0, "pad": 1}), ValueError, "stride >= 1 and pad >= 0"),
    (_bad(param={"stride": -1, "pad": 1}), ValueError, "stride >= 1"),
    (_bad(param={"stride": 1, "pad": -1}), ValueError, "pad >= 0"),
    (_bad(w=(3, 2, 8, 3)), ValueError, "8x3 filter does not fit the 5x5 input padded by 1"),
    (_bad(w=(3, 2, 3, 8)), ValueError, "a 3x8 filter does not fit"),
    (_bad(w=(3, 2, 6, 6), param={"stride": 1, "pad": 0}), ValueError, "padded by 0"),
])
def test_conv_rejects_bad_input_with_a_clear_message(args, error, message):
    with pytest.raises(error, match=message):
        core_ext.conv_forward(*args)


def test_conv_too_large_for_blas_says_so(monkeypatch):
    monkeypatch.setattr(core_ext, "_BLAS_INT_MAX", 17)  # a filter of 2*3*3 = 18 taps
    with pytest.raises(ValueError, match="too large for BLAS: a filter has 18 taps"):
        core_ext.conv_forward(*_bad())


def test_conv_accepts_numpy_integer_params():
    x, w, b, _ = _bad()
    out, _ = core_ext.conv_forward(x, w, b, {"stride": np.int64(2), "pad": np.int32(1)})
    assert out.shape == (1, 3, 3, 3)


@pytest.mark.parametrize("dout", [np.zeros((1, 3, 5, 4)), np.zeros((1, 2, 5, 5)),
                                  np.zeros((3, 5, 5)), [[[[0.0] * 5] * 5] * 3]],
                         ids=["spatial", "channels", "3-d", "list"])
def test_conv_backward_rejects_wrong_dout(dout):
    x, w, b, param = _bad()
    _, cache = core_ext.conv_forward(x, w, b, param)
    with pytest.raises(ValueError, match=r"dout must have.*shape.*\(1, 3, 5, 5\)"):
        core_ext.conv_backward(dout, cache)
