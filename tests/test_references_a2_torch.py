"""Reference naive layers of A2 against PyTorch's CPU kernels and autograd (float64); skipped
when torch is absent."""
import numpy as np
import pytest

pytest.importorskip("torch")

from solutions.a2_cnn import layers
from torch_oracle import F, assert_close, tensor, torch  # tests/ is on sys.path


# (x shape, w shape, stride, pad): N = 1, rectangular inputs and kernels (both HH > WW and
# HH < WW), stride > 1 with padding, windows that do not fit at the edge, a kernel as tall as
# the input
CONV_CASES = [((1, 1, 5, 5), (1, 1, 3, 3), 1, 0), ((2, 3, 7, 5), (4, 3, 3, 2), 2, 1),
              ((2, 2, 9, 8), (3, 2, 2, 4), 3, 2), ((3, 2, 6, 7), (2, 2, 4, 3), 1, 2),
              ((1, 4, 5, 6), (5, 4, 5, 1), 2, 0), ((2, 1, 8, 11), (2, 1, 3, 5), 3, 1)]
# (x shape, pool_height, pool_width, stride): tiling, non-tiling, overlapping (3x3 stride 1 and
# 3x2 stride 2), gaps between windows (stride > window), N = 1, a window as large as the input
POOL_CASES = [((2, 3, 8, 8), 2, 2, 2), ((1, 2, 7, 9), 2, 2, 2), ((2, 2, 6, 6), 3, 3, 1),
              ((3, 2, 7, 5), 3, 2, 2), ((1, 2, 9, 7), 2, 3, 3), ((1, 1, 5, 4), 5, 4, 1)]
BN_CASES = [((2, 3, 4, 5), 1e-5, 0.9), ((1, 4, 3, 3), 1e-3, 0.9), ((5, 2, 1, 1), 1e-5, 0.6),
            ((3, 5, 2, 7), 1e-2, 0.8)]


def case_id(case):
    return "-".join("x".join(map(str, v)) if isinstance(v, tuple) else f"{v:g}" for v in case)


@pytest.mark.parametrize("case", CONV_CASES, ids=case_id)
def test_conv_matches_conv2d(case):
    x_shape, w_shape, stride, pad = case
    rng = np.random.default_rng(30)
    x, w, b = (rng.standard_normal(s) for s in (x_shape, w_shape, w_shape[:1]))
    out, cache = layers.conv_forward_naive(x, w, b, {"stride": stride, "pad": pad})
    dout = rng.standard_normal(out.shape)
    dx, dw, db = layers.conv_backward_naive(dout, cache)

    tx, tw, tb = tensor(x), tensor(w), tensor(b)
    t_out = F.conv2d(tx, tw, tb, stride=stride, padding=pad)
    t_out.backward(torch.from_numpy(dout))
    assert out.shape == tuple(t_out.shape)
    assert_close("out", out, t_out)
    assert_close("dx", dx, tx.grad)
    assert_close("dw", dw, tw.grad)
    assert_close("db", db, tb.grad)


def pool_inputs(rng, shape, ties):
    """Standard normal values, or small integers so that most windows hold several maxima."""
    return rng.integers(-2, 3, shape).astype(np.float64) if ties else rng.standard_normal(shape)


def check_pool_against_torch(kind, x, ph, pw, stride, rng):
    """Our naive ``kind`` pooling, forward and backward, against torch's ``kind``_pool2d."""
    param = {"pool_height": ph, "pool_width": pw, "stride": stride}
    out, cache = getattr(layers, f"{kind}_pool_forward_naive")(x, param)
    dout = rng.standard_normal(out.shape)
    dx = getattr(layers, f"{kind}_pool_backward_naive")(dout, cache)

    tx = tensor(x)
    t_out = getattr(F, f"{kind}_pool2d")(tx, (ph, pw), stride=stride)
    t_out.backward(torch.from_numpy(dout))
    assert out.shape == tuple(t_out.shape)
    assert_close("out", out, t_out)
    assert_close("dx", dx, tx.grad)


@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
@pytest.mark.parametrize("case", POOL_CASES, ids=case_id)
def test_max_pool_matches_max_pool2d(case, ties):
    """With ties, torch's CPU kernel also sends the gradient to the first maximum it scans."""
    shape, ph, pw, stride = case
    rng = np.random.default_rng(31)
    check_pool_against_torch("max", pool_inputs(rng, shape, ties), ph, pw, stride, rng)


@pytest.mark.parametrize("case", POOL_CASES, ids=case_id)
def test_avg_pool_matches_avg_pool2d(case):
    shape, ph, pw, stride = case
    rng = np.random.default_rng(32)
    check_pool_against_torch("avg", rng.standard_normal(shape), ph, pw, stride, rng)


@pytest.mark.parametrize("case", BN_CASES, ids=case_id)
def test_spatial_batchnorm_matches_batch_norm(case):
    shape, eps, momentum = case
    rng = np.random.default_rng(33)
    C = shape[1]
    x = 2.0 * rng.standard_normal(shape) + rng.uniform(-3.0, 3.0, (1, C, 1, 1))
    gamma, beta, dout = rng.standard_normal(C), rng.standard_normal(C), rng.standard_normal(shape)
    # both running statistics from zeros, as torch's below
    bn_param = {"mode": "train", "eps": eps, "momentum": momentum, "running_mean": np.zeros(C),
                "running_var": np.zeros(C)}
    out, cache = layers.spatial_batchnorm_forward(x, gamma, beta, bn_param)
    dx, dgamma, dbeta = layers.spatial_batchnorm_backward(dout, cache)

    tx, tg, tb = tensor(x), tensor(gamma), tensor(beta)
    t_mean, t_var = torch.zeros(C, dtype=torch.float64), torch.zeros(C, dtype=torch.float64)
    # torch's momentum is the weight of the new batch statistic: 1 - ours
    t_out = F.batch_norm(tx, t_mean, t_var, tg, tb, training=True, momentum=1 - momentum, eps=eps)
    t_out.backward(torch.from_numpy(dout))
    assert_close("out", out, t_out)
    assert_close("dx", dx, tx.grad)
    assert_close("dgamma", dgamma, tg.grad)
    assert_close("dbeta", dbeta, tb.grad)
    assert_close("running_mean", bn_param["running_mean"], t_mean)
    # torch averages the unbiased variance over the M = N*H*W values of a channel; ours the
    # biased one: from zeros the two differ by M / (M - 1).
    m = shape[0] * shape[2] * shape[3]
    assert_close("running_var * M / (M - 1)", bn_param["running_var"] * m / (m - 1), t_var)

    bn_param["mode"] = "test"
    out, _ = layers.spatial_batchnorm_forward(x, gamma, beta, bn_param)
    t_out = F.batch_norm(torch.from_numpy(x), torch.from_numpy(bn_param["running_mean"]),
                         torch.from_numpy(bn_param["running_var"]), torch.from_numpy(gamma),
                         torch.from_numpy(beta), training=False, eps=eps)
    assert_close("out (test mode)", out, t_out)
