"""core_ext recurrent layers against PyTorch's nn.RNN (tanh), nn.LSTM and nn.GRU and autograd
(optional extra: pip install '.[torch]'), forward and backward, compiled kernels and NumPy
fallback, float64 (tight) and float32 (loose), on a grid of N, T and D != H.

The weights map as: weight_ih_l0 = Wx.T, weight_hh_l0 = Wh.T; biases: the RNN's and the LSTM's
b is bias_ih_l0 (bias_hh_l0 = 0), the GRU's bx and bh are bias_ih_l0 and bias_hh_l0. PyTorch
stacks the LSTM's gates i, f, g, o, ours i, f, o, g: the last two blocks swap."""

import numpy as np
import pytest

import core_ext
from test_core_ext import DTYPES
from test_core_ext_rnn import CASES, GRAD_NAMES, LAYERS, assert_matches, case_id, inputs

pytest.importorskip("torch")

from torch_oracle import tensor, torch


def assert_close(name, ours, theirs, dtype):
    """As test_core_ext_rnn.assert_matches, with torch's tensor detached."""
    if isinstance(theirs, torch.Tensor):
        theirs = theirs.detach().numpy()
    assert_matches(name, ours, theirs, dtype)


def torch_order(kind, H):
    """Our gate columns in PyTorch's order (a permutation that is its own inverse)."""
    if kind != "lstm":
        return np.arange({"rnn": 1, "gru": 3}[kind] * H)
    i, f, o, g = np.split(np.arange(4 * H), 4)
    return np.concatenate((i, f, g, o))


def torch_layer(kind, arrays):
    """The PyTorch module holding our weights, and its parameters in our layout's order
    (weight_ih, weight_hh, bias_ih[, bias_hh]) with the maps back to Wx, Wh and the biases."""
    x, h0, Wx, Wh, *biases = arrays
    D, H = x.shape[2], h0.shape[1]
    module = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind]
    net = module(D, H, batch_first=True, dtype=torch.from_numpy(x).dtype)
    order = torch_order(kind, H)
    values = {"weight_ih_l0": Wx.T[order], "weight_hh_l0": Wh.T[order],
              "bias_ih_l0": biases[0][order],
              "bias_hh_l0": biases[1][order] if kind == "gru" else np.zeros_like(biases[0])}
    with torch.no_grad():
        for name, value in values.items():
            getattr(net, name).copy_(torch.from_numpy(np.ascontiguousarray(value)))
    ours = [getattr(net, name) for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0")]
    if kind == "gru":
        ours.append(net.bias_hh_l0)
    return net, ours, order


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=case_id)
@pytest.mark.parametrize("kind", LAYERS)
def test_layer_matches_torch(kernels, kind, case, dtype):
    forward, backward = getattr(core_ext, f"{kind}_forward"), getattr(core_ext, f"{kind}_backward")
    arrays = inputs(kind, case, dtype)
    h, cache = forward(*arrays)
    net, params, order = torch_layer(kind, arrays)
    tx, th0 = tensor(arrays[0], dtype=None), tensor(arrays[1][None], dtype=None)
    state = (th0, torch.zeros_like(th0)) if kind == "lstm" else th0
    th, _ = net(tx, state)
    assert_close("h", h, th, dtype)

    dh = np.random.default_rng(1).standard_normal(h.shape).astype(dtype)
    th.backward(torch.from_numpy(dh))
    weight_ih, weight_hh, *bias = (p.grad.numpy() for p in params)
    theirs = [tx.grad, th0.grad[0], weight_ih[order].T, weight_hh[order].T,
              *(b[order] for b in bias)]
    for name, ours, want in zip(GRAD_NAMES[kind], backward(dh, cache), theirs, strict=True):
        assert_close(name, ours, want, dtype)
