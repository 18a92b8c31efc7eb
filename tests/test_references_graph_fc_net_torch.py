"""Reference graph and FullyConnectedNet against PyTorch autograd (float64); needs torch."""
import numpy as np
import pytest

pytest.importorskip("torch")

from solutions.a1_networks import graph
from solutions.a1_networks.fc_net import FullyConnectedNet
from torch_oracle import F, assert_close, tensor, torch  # tests/ is on sys.path


def test_square_of_sum_matches_autograd():
    rng = np.random.default_rng(20)
    x, y, df = (rng.standard_normal((3, 4)) for _ in range(3))
    f, cache = graph.square_of_sum_forward(x, y)
    dx, dy = graph.square_of_sum_backward(df, cache)
    tx, ty = tensor(x), tensor(y)
    t_f = (tx + ty) ** 2
    t_f.backward(torch.from_numpy(df))
    assert_close("f", f, t_f)
    assert_close("dx", dx, tx.grad)
    assert_close("dy", dy, ty.grad)


def torch_loss(params, X, y, normalization, reg, num_layers):
    """The same network in PyTorch: affine - [norm] - relu per hidden layer, affine, softmax."""
    out = X.reshape(X.shape[0], -1)
    for i in range(1, num_layers):
        out = out @ params[f"W{i}"] + params[f"b{i}"]
        if normalization == "batchnorm":
            out = F.batch_norm(out, None, None, params[f"gamma{i}"], params[f"beta{i}"],
                               training=True, eps=1e-5)
        elif normalization == "layernorm":
            out = F.layer_norm(out, out.shape[1:], params[f"gamma{i}"], params[f"beta{i}"],
                               eps=1e-5)
        out = F.relu(out)
    scores = out @ params[f"W{num_layers}"] + params[f"b{num_layers}"]
    weights = sum((params[f"W{i}"] ** 2).sum() for i in range(1, num_layers + 1))
    return F.cross_entropy(scores, y) + 0.5 * reg * weights


@pytest.mark.parametrize("hidden_dims, normalization, reg", [
    ([7], None, 0.0), ([6, 5, 4], None, 0.3), ([6, 5], "batchnorm", 0.1),
    ([6, 5], "layernorm", 0.2)], ids=str)
def test_fc_net_matches_autograd(hidden_dims, normalization, reg):
    rng = np.random.default_rng(21)
    model = FullyConnectedNet(hidden_dims, 6, 4, normalization=normalization, reg=reg, seed=0)
    model.set_params({k: rng.standard_normal(v.shape) for k, v in model.params.items()})
    X, y = rng.standard_normal((9, 2, 3)), rng.integers(0, 4, size=9)
    loss, grads = model.loss(X, y)

    t_params = {k: tensor(v) for k, v in model.params.items()}
    t_loss = torch_loss(t_params, torch.from_numpy(X), torch.from_numpy(y), normalization, reg,
                        len(hidden_dims) + 1)
    t_loss.backward()
    assert_close("loss", loss, t_loss)
    for key, value in t_params.items():
        assert_close(key, grads[key], value.grad)
