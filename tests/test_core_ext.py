"""core_ext: the compiled kernels agree with the NumPy fallback and with a naive loop, the
fallback path itself is exercised, and the build switch LAYERLAB_REQUIRE_EXT is honoured."""

import os
import subprocess
import sys

import numpy as np
import pytest

import core_ext
from core_ext import _pool_numpy

# (x shape, pool_height, pool_width, stride): tiling, non-tiling, overlapping, rectangular, N=1
POOL_CASES = [((2, 3, 8, 8), 2, 2, 2), ((1, 2, 7, 9), 2, 2, 2), ((2, 1, 6, 6), 3, 3, 1),
              ((3, 2, 7, 5), 3, 2, 2), ((1, 1, 5, 5), 5, 5, 1), ((2, 2, 9, 7), 2, 3, 3)]


def naive_max_pool(x, ph, pw, s):
    N, C, H, W = x.shape
    out = np.empty((N, C, 1 + (H - ph) // s, 1 + (W - pw) // s), x.dtype)
    for n, c, i, j in np.ndindex(out.shape):
        out[n, c, i, j] = x[n, c, i * s:i * s + ph, j * s:j * s + pw].max()
    return out


def naive_max_pool_backward(x, dout, ph, pw, s):
    dx = np.zeros_like(x)
    for n, c, i, j in np.ndindex(dout.shape):
        window = x[n, c, i * s:i * s + ph, j * s:j * s + pw]
        u, v = np.unravel_index(np.argmax(window), window.shape)  # first maximum
        dx[n, c, i * s + u, j * s + v] += dout[n, c, i, j]
    return dx


@pytest.fixture(params=["compiled", "fallback"])
def kernels(request, monkeypatch):
    if request.param == "compiled":
        if not core_ext.COMPILED:
            pytest.fail("the Cython extension is not built (pip install -e .)")
    else:
        monkeypatch.setattr(core_ext, "_pool", None)
    return request.param


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape,ph,pw,s", POOL_CASES)
def test_max_pool_matches_naive_loops(kernels, shape, ph, pw, s, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    param = {"pool_height": ph, "pool_width": pw, "stride": s}
    out, cache = core_ext.max_pool_forward(x, param)
    np.testing.assert_array_equal(out, naive_max_pool(x, ph, pw, s))
    assert out.dtype == dtype
    dout = rng.standard_normal(out.shape).astype(dtype)
    dx = core_ext.max_pool_backward(dout, cache)
    np.testing.assert_allclose(dx, naive_max_pool_backward(x, dout, ph, pw, s), rtol=1e-6)


def test_max_pool_ties_go_to_the_first_maximum(kernels):
    x = np.ones((1, 1, 2, 2))
    out, cache = core_ext.max_pool_forward(x, {"pool_height": 2, "pool_width": 2, "stride": 2})
    dx = core_ext.max_pool_backward(np.array([[[[5.0]]]]), cache)
    np.testing.assert_array_equal(dx, [[[[5.0, 0.0], [0.0, 0.0]]]])


def test_curriculum_pooling_example(kernels):
    x = np.array([[3, 6, 1, 4], [4, 7, 7, 8], [2, 2, 1, 2], [2, 4, 3, 4]], float)[None, None]
    out, _ = core_ext.max_pool_forward(x, {"pool_height": 2, "pool_width": 2, "stride": 2})
    np.testing.assert_array_equal(out[0, 0], [[7, 8], [4, 4]])


@pytest.mark.parametrize("x,param,message", [
    (np.zeros((2, 3, 4)), {"pool_height": 2, "pool_width": 2, "stride": 2}, "4-d"),
    (np.zeros((1, 1, 4, 4), int), {"pool_height": 2, "pool_width": 2, "stride": 2}, "float32"),
    (np.zeros((1, 1, 4, 4)), {"pool_height": 2, "stride": 2}, "pool_width"),
    (np.zeros((1, 1, 4, 4)), {"pool_height": 5, "pool_width": 2, "stride": 1}, "does not fit"),
    (np.zeros((1, 1, 4, 4)), {"pool_height": 2, "pool_width": 2, "stride": 0}, "does not fit"),
])
def test_max_pool_rejects_bad_input_with_a_clear_message(x, param, message):
    with pytest.raises((ValueError, TypeError), match=message):
        core_ext.max_pool_forward(x, param)


def test_backward_rejects_wrong_dout_shape():
    _, cache = core_ext.max_pool_forward(np.zeros((1, 1, 4, 4)),
                                         {"pool_height": 2, "pool_width": 2, "stride": 2})
    with pytest.raises(ValueError, match="dout must have shape"):
        core_ext.max_pool_backward(np.zeros((1, 1, 3, 3)), cache)


def _import_without_extension(require: str) -> subprocess.CompletedProcess:
    code = ("import sys; sys.modules['core_ext._pool'] = None\n"
            "import warnings; warnings.simplefilter('always')\n"
            "import core_ext; print('compiled', core_ext.COMPILED)")
    env = {**os.environ, "LAYERLAB_REQUIRE_EXT": require}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)


def test_missing_extension_falls_back_with_one_warning():
    proc = _import_without_extension("0")
    assert proc.returncode == 0, proc.stderr
    assert "compiled False" in proc.stdout
    assert proc.stderr.count("NumPy fallback") == 1


def test_require_ext_turns_the_fallback_into_an_error():
    proc = _import_without_extension("1")
    assert proc.returncode != 0
    assert "LAYERLAB_REQUIRE_EXT=1" in proc.stderr


def test_ci_builds_the_extension():
    if os.environ.get("LAYERLAB_REQUIRE_EXT") != "1":
        pytest.skip("only enforced where LAYERLAB_REQUIRE_EXT=1 (set by .ci/run)")
    assert core_ext.COMPILED
