"""core_ext against PyTorch's CPU kernels and autograd (optional extra: pip install '.[torch]'):
convolution (F.conv2d), max pooling (F.max_pool2d) and average pooling (F.avg_pool2d), forward
and backward, compiled kernels and NumPy fallback, float64 (tight) and float32 (loose)."""

import numpy as np
import pytest

import core_ext
from test_core_ext import DTYPES, POOL_CASES, pool_id
from test_core_ext_conv import CONV_CASES, case_id

pytest.importorskip("torch")

from torch_oracle import ATOL, RTOL, F, assert_close, tensor, torch


def tolerance(dtype) -> dict:
    return {"rtol": RTOL, "atol": ATOL} if dtype == np.float64 else {"rtol": 1e-4, "atol": 1e-5}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONV_CASES, ids=case_id)
def test_conv_matches_torch(kernels, case, dtype):
    x_shape, w_shape, stride, pad = case
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(x_shape).astype(dtype), rng.standard_normal(w_shape).astype(dtype)
    b = rng.standard_normal(w_shape[0]).astype(dtype)
    out, cache = core_ext.conv_forward(x, w, b, {"stride": stride, "pad": pad})
    tx, tw, tb = tensor(x, dtype=None), tensor(w, dtype=None), tensor(b, dtype=None)
    tout = F.conv2d(tx, tw, tb, stride=stride, padding=pad)
    assert_close("out", out, tout, **tolerance(dtype))

    dout = rng.standard_normal(out.shape).astype(dtype)
    tout.backward(torch.tensor(dout))
    grads = core_ext.conv_backward(dout, cache)
    for name, ours, theirs in zip(("dx", "dw", "db"), grads, (tx, tw, tb), strict=True):
        assert_close(name, ours, theirs.grad, **tolerance(dtype))


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", POOL_CASES, ids=pool_id)
def test_pool_matches_torch(kernels, case, dtype, kind):
    shape, ph, pw, s = case
    forward, backward, torch_pool = {
        "max": (core_ext.max_pool_forward, core_ext.max_pool_backward, F.max_pool2d),
        "avg": (core_ext.avg_pool_forward, core_ext.avg_pool_backward, F.avg_pool2d)}[kind]
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(dtype)
    out, cache = forward(x, {"pool_height": ph, "pool_width": pw, "stride": s})
    tx = tensor(x, dtype=None)
    tout = torch_pool(tx, (ph, pw), stride=s)
    assert_close("out", out, tout, **tolerance(dtype))

    dout = rng.standard_normal(out.shape).astype(dtype)
    tout.backward(torch.tensor(dout))
    assert_close("dx", backward(dout, cache), tx.grad, **tolerance(dtype))


def test_max_pool_tie_rule_matches_torch(kernels):
    """PyTorch's CPU max pooling also routes a tie to the first maximum in row-major order."""
    x = np.random.default_rng(2).integers(0, 2, (2, 3, 9, 8)).astype(np.float64)
    param = {"pool_height": 3, "pool_width": 2, "stride": 1}
    out, cache = core_ext.max_pool_forward(x, param)
    tx = tensor(x, dtype=None)
    tout = F.max_pool2d(tx, (3, 2), stride=1)
    dout = 2.0 ** np.random.default_rng(3).integers(-2, 3, out.shape)
    tout.backward(torch.tensor(dout))
    np.testing.assert_array_equal(core_ext.max_pool_backward(dout, cache), tx.grad.numpy())
