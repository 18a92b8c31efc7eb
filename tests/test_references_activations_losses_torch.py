"""Reference activations and regression/binary losses of A1 against PyTorch autograd (float64),
forward values and every gradient; skipped when torch is absent."""
import numpy as np
import pytest

pytest.importorskip("torch")

from solutions.a1_networks import activations, losses
from torch_oracle import F, assert_close, tensor, torch  # tests/ is on sys.path

SHAPES = [(1, 1), (1, 5), (3, 5), (2, 3, 4)]


def inputs(seed, shape, scale=1.0):
    """Random x with exact zeros (where both sides must agree on the kink) and an upstream dout."""
    rng = np.random.default_rng(seed)
    x = scale * rng.standard_normal(shape)
    x.flat[::4] = 0.0
    return x, rng.standard_normal(shape)


# (name, extra forward args, the same function in torch)
ELEMENTWISE = [
    ("leaky_relu", (), lambda t: F.leaky_relu(t)),
    ("leaky_relu", (0.2,), lambda t: F.leaky_relu(t, negative_slope=0.2)),
    ("elu", (), lambda t: F.elu(t)),
    ("elu", (0.5,), lambda t: F.elu(t, alpha=0.5)),
    ("sigmoid", (), torch.sigmoid),
    ("tanh", (), torch.tanh),
]
ELEMENTWISE_IDS = [name + "".join(f"-{p}" for p in params) for name, params, _ in ELEMENTWISE]


@pytest.mark.parametrize("scale", [1.0, 1e3], ids=["unit", "large"])
@pytest.mark.parametrize("name, params, torch_fn", ELEMENTWISE, ids=ELEMENTWISE_IDS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_activation_matches_torch(name, params, torch_fn, shape, scale):
    x, dout = inputs(30, shape, scale)

    out, cache = getattr(activations, f"{name}_forward")(x, *params)
    dx = getattr(activations, f"{name}_backward")(dout, cache)

    tx = tensor(x)
    t_out = torch_fn(tx)
    t_out.backward(torch.from_numpy(dout))
    assert_close("out", out, t_out)
    assert_close("dx", dx, tx.grad)


@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (4, 3), (6, 1)], ids=str)
def test_prelu_matches_torch(shape):
    x, dout = inputs(31, shape)
    alpha = np.random.default_rng(32).uniform(0.0, 0.5, shape[1])

    out, cache = activations.prelu_forward(x, alpha)
    dx, dalpha = activations.prelu_backward(dout, cache)

    tx, talpha = tensor(x), tensor(alpha)
    t_out = F.prelu(tx, talpha)  # one slope per channel, dimension 1 of (N, D)
    t_out.backward(torch.from_numpy(dout))
    assert_close("out", out, t_out)
    assert_close("dx", dx, tx.grad)
    assert_close("dalpha", dalpha, talpha.grad)


LOSSES = [
    ("mse_loss", F.mse_loss, 1.0),
    ("mae_loss", F.l1_loss, 1.0),
    ("bce_with_logits_loss", F.binary_cross_entropy_with_logits, 1.0),
    ("bce_with_logits_loss", F.binary_cross_entropy_with_logits, 1e3),
]


@pytest.mark.parametrize("name, torch_fn, scale", LOSSES,
                         ids=[f"{name}-{scale:g}" for name, _, scale in LOSSES])
@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (4, 3), (2, 3, 4), (7,)], ids=str)
def test_loss_matches_torch(name, torch_fn, scale, shape):
    rng = np.random.default_rng(33)
    x = scale * rng.standard_normal(shape)
    y = rng.uniform(0.0, 1.0, shape)
    y.flat[::3] = np.round(y.flat[::3])  # hard 0/1 targets too
    if not name.startswith("bce"):
        y.flat[1::5] = x.flat[1::5]  # ties: the MAE subgradient is 0 in both

    loss, dx = getattr(losses, name)(x, y)

    tx = tensor(x)
    t_loss = torch_fn(tx, torch.from_numpy(y))  # reduction "mean": over every element
    t_loss.backward()
    assert_close("loss", loss, t_loss)
    assert_close("dx", dx, tx.grad)
