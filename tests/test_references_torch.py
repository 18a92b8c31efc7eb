"""Reference solutions of A1 against PyTorch autograd (float64); skipped when torch is absent."""
import numpy as np
import pytest

pytest.importorskip("torch")

from solutions.a1_networks import activations, layers, losses
from torch_oracle import F, assert_close, tensor, torch  # tests/ is on sys.path


@pytest.mark.parametrize("x_shape, m", [((1, 3), 2), ((3, 4, 5), 7), ((5, 2, 3, 1), 4)])
def test_affine_matches_linear(x_shape, m):
    rng = np.random.default_rng(10)
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal((int(np.prod(x_shape[1:])), m))
    b = rng.standard_normal(m)
    dout = rng.standard_normal((x_shape[0], m))

    out, cache = layers.affine_forward(x, w, b)
    dx, dw, db = layers.affine_backward(dout, cache)

    tx, tw, tb = tensor(x), tensor(w), tensor(b)
    t_out = F.linear(tx.reshape(x_shape[0], -1), tw.T, tb)
    t_out.backward(torch.from_numpy(dout))
    assert_close("out", out, t_out)
    assert_close("dx", dx, tx.grad)
    assert_close("dw", dw, tw.grad)
    assert_close("db", db, tb.grad)


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (2, 3, 4)])
def test_relu_matches_torch(shape):
    rng = np.random.default_rng(11)
    x = rng.standard_normal(shape)
    x.flat[0] = 0.0  # both sides use gradient 0 at the kink
    dout = rng.standard_normal(shape)

    out, cache = activations.relu_forward(x)
    dx = activations.relu_backward(dout, cache)

    tx = tensor(x)
    t_out = torch.relu(tx)
    t_out.backward(torch.from_numpy(dout))
    assert_close("out", out, t_out)
    assert_close("dx", dx, tx.grad)


@pytest.mark.parametrize("n, c, scale", [(1, 2, 1.0), (3, 5, 1.0), (7, 10, 1.0), (4, 6, 1e3)])
def test_softmax_matches_cross_entropy(n, c, scale):
    rng = np.random.default_rng(12)
    x = scale * rng.standard_normal((n, c))
    y = rng.integers(0, c, n)

    loss, dx = losses.softmax_loss(x, y)

    tx = tensor(x)
    t_loss = F.cross_entropy(tx, torch.from_numpy(y))
    t_loss.backward()
    assert_close("loss", loss, t_loss)
    assert_close("dx", dx, tx.grad)


@pytest.mark.parametrize("n, c", [(1, 3), (5, 4), (7, 10)])
def test_svm_matches_multi_margin(n, c):
    rng = np.random.default_rng(13)
    x = rng.standard_normal((n, c))
    y = rng.integers(0, c, n)

    loss, dx = losses.svm_loss(x, y)

    tx = tensor(x)
    # multi_margin_loss also averages over the C classes; ours sums over them.
    t_loss = c * F.multi_margin_loss(tx, torch.from_numpy(y), p=1, margin=1.0)
    t_loss.backward()
    assert_close("loss", loss, t_loss)
    assert_close("dx", dx, tx.grad)
