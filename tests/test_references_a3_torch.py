"""Reference A3 layers against PyTorch's modules and autograd (float64), forward and backward;
skipped when torch is absent.

Our weights are torch's transposed: Wx (D, G*H) is weight_ih.T and Wh (H, G*H) weight_hh.T.
The RNN and the LSTM have one bias, which goes into bias_ih with bias_hh = 0 (torch adds the
two). The LSTM stacks its gates i, f, o, g where torch stacks i, f, g, o: the last two blocks
swap (a permutation that is its own inverse). The GRU is torch's exactly: r, z, n, with
bx = bias_ih and bh = bias_hh.
"""
import numpy as np
import pytest

pytest.importorskip("torch")

from solutions.a3_rnn import rnn_layers as L
from solutions.a3_rnn.optim import clip_grad_norm
from torch_oracle import F, assert_close, tensor, torch  # tests/ is on sys.path

# (N, T, D, H): N = 1 and more, T = 1 and more, D != H both ways
GRID = [(n, t, d, h) for n in (1, 3) for t in (1, 4) for d, h in ((3, 5), (4, 2))]
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
MODULES = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
CELLS = {"rnn": torch.nn.RNNCell, "lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell}


def shape_id(shape):
    return "N{}-T{}-D{}-H{}".format(*shape)


over_grid = pytest.mark.parametrize("shape", GRID, ids=shape_id)
over_kinds = pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])


def torch_order(kind, w, h):
    """Our gate blocks along the last axis in torch's order (and back: the map is its own
    inverse)."""
    if kind != "lstm":
        return w
    i, f, o, g = (w[..., k * h:(k + 1) * h] for k in range(4))
    return np.concatenate([i, f, g, o], axis=-1)


def inputs(rng, kind, shape):
    n, t, d, h = shape
    g = GATES[kind]
    Wx, Wh = rng.standard_normal((d, g * h)) / np.sqrt(d), rng.standard_normal((h, g * h)) / 2
    biases = [0.5 * rng.standard_normal(g * h) for _ in range(2 if kind == "gru" else 1)]
    return rng.standard_normal((n, t, d)), rng.standard_normal((n, h)), (Wx, Wh, *biases)


def module(cls, kind, d, h, params, suffix=""):
    """A torch RNN module (or cell, suffix "") in float64 holding our parameters."""
    Wx, Wh, *biases = params
    bias_hh = biases[1] if kind == "gru" else np.zeros_like(biases[0])
    layer = cls(d, h, dtype=torch.float64, **({"batch_first": True} if suffix else {}))
    with torch.no_grad():
        for name, value in (("weight_ih", torch_order(kind, Wx, h).T),
                            ("weight_hh", torch_order(kind, Wh, h).T),
                            ("bias_ih", torch_order(kind, biases[0], h)),
                            ("bias_hh", torch_order(kind, bias_hh, h))):
            getattr(layer, name + suffix).copy_(torch.from_numpy(np.ascontiguousarray(value)))
    return layer


def our_grads(kind, layer, h, suffix=""):
    """The layer's parameter gradients in our layout: dWx, dWh and the bias gradient(s)."""
    grad = {name: getattr(layer, name + suffix).grad.numpy() for name in
            ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
    dWx, dWh = (torch_order(kind, grad[k].T, h) for k in ("weight_ih", "weight_hh"))
    biases = (grad["bias_ih"], grad["bias_hh"]) if kind == "gru" else (grad["bias_ih"],)
    return (dWx, dWh, *(torch_order(kind, b, h) for b in biases))


@over_kinds
@over_grid
def test_sequence_matches_torch(kind, shape):
    n, t, d, h = shape
    rng = np.random.default_rng(40)
    x, h0, params = inputs(rng, kind, shape)
    out, cache = getattr(L, f"{kind}_forward")(x, h0, *params)
    dh = rng.standard_normal(out.shape)
    grads = getattr(L, f"{kind}_backward")(dh, cache)

    layer = module(MODULES[kind], kind, d, h, params, suffix="_l0")
    tx, th0 = tensor(x), tensor(h0[None])
    state = (th0, torch.zeros(1, n, h, dtype=torch.float64)) if kind == "lstm" else th0
    t_out, _ = layer(tx, state)
    t_out.backward(torch.from_numpy(dh))
    assert_close("h", out, t_out)
    assert_close("dx", grads[0], tx.grad)
    assert_close("dh0", grads[1], th0.grad[0])
    names = ("dWx", "dWh", "dbx", "dbh") if kind == "gru" else ("dWx", "dWh", "db")
    for name, ours, theirs in zip(names, grads[2:], our_grads(kind, layer, h, "_l0"),
                                  strict=True):
        assert_close(name, ours, theirs)


@over_kinds
@pytest.mark.parametrize("shape", [s for s in GRID if s[1] == 1], ids=shape_id)
def test_step_matches_torch_cell(kind, shape):
    n, _, d, h = shape
    rng = np.random.default_rng(41)
    x, prev_h, params = inputs(rng, kind, shape)
    x = x[:, 0]
    layer = module(CELLS[kind], kind, d, h, params)
    tx, th = tensor(x), tensor(prev_h)
    dnext_h = rng.standard_normal((n, h))
    if kind == "lstm":
        prev_c, dnext_c = rng.standard_normal((n, h)), rng.standard_normal((n, h))
        next_h, next_c, cache = L.lstm_step_forward(x, prev_h, prev_c, *params)
        dx, dprev_h, dprev_c, *dparams = L.lstm_step_backward(dnext_h, dnext_c, cache)
        tc = tensor(prev_c)
        t_h, t_c = layer(tx, (th, tc))
        (t_h * torch.from_numpy(dnext_h) + t_c * torch.from_numpy(dnext_c)).sum().backward()
        assert_close("next_c", next_c, t_c)
        assert_close("dprev_c", dprev_c, tc.grad)
    else:
        next_h, cache = getattr(L, f"{kind}_step_forward")(x, prev_h, *params)
        dx, dprev_h, *dparams = getattr(L, f"{kind}_step_backward")(dnext_h, cache)
        t_h = layer(tx, th)
        t_h.backward(torch.from_numpy(dnext_h))
    assert_close("next_h", next_h, t_h)
    assert_close("dx", dx, tx.grad)
    assert_close("dprev_h", dprev_h, th.grad)
    for k, (ours, theirs) in enumerate(zip(dparams, our_grads(kind, layer, h), strict=True)):
        assert_close(f"parameter gradient {k}", ours, theirs)


@pytest.mark.parametrize("n,t,v,d", [(1, 1, 4, 3), (3, 5, 4, 2), (2, 6, 10, 5)])
def test_word_embedding_matches_embedding(n, t, v, d):
    rng = np.random.default_rng(42)
    x, W = rng.integers(0, v, (n, t)), rng.standard_normal((v, d))
    out, cache = L.word_embedding_forward(x, W)
    dout = rng.standard_normal(out.shape)
    tW = tensor(W)
    t_out = F.embedding(torch.from_numpy(x), tW)
    t_out.backward(torch.from_numpy(dout))
    assert_close("out", out, t_out)
    assert_close("dW", L.word_embedding_backward(dout, cache), tW.grad)


@pytest.mark.parametrize("n,t,d,m", [(1, 1, 3, 2), (3, 4, 5, 6)])
def test_temporal_affine_matches_linear(n, t, d, m):
    rng = np.random.default_rng(43)
    x, w, b = rng.standard_normal((n, t, d)), rng.standard_normal((d, m)), rng.standard_normal(m)
    out, cache = L.temporal_affine_forward(x, w, b)
    dout = rng.standard_normal(out.shape)
    tx, tw, tb = tensor(x), tensor(w), tensor(b)
    t_out = F.linear(tx, tw.T, tb)
    t_out.backward(torch.from_numpy(dout))
    assert_close("out", out, t_out)
    for name, ours, theirs in zip(("dx", "dw", "db"), L.temporal_affine_backward(dout, cache),
                                  (tx.grad, tw.grad, tb.grad), strict=True):
        assert_close(name, ours, theirs)


@pytest.mark.parametrize("n,t,v,scale", [(1, 1, 3, 1.0), (4, 5, 6, 1.0), (3, 4, 7, 1e3)])
def test_temporal_softmax_loss_matches_masked_cross_entropy(n, t, v, scale):
    rng = np.random.default_rng(44)
    x, y = scale * rng.standard_normal((n, t, v)), rng.integers(0, v, (n, t))
    mask = np.arange(t) < rng.integers(0, t + 1, (n, 1))
    mask[0, 0] = True
    loss, dx = L.temporal_softmax_loss(x, y, mask)
    tx = tensor(x)
    per_step = F.cross_entropy(tx.reshape(n * t, v), torch.from_numpy(y.reshape(-1)),
                               reduction="none")
    t_loss = (per_step * torch.from_numpy(mask.reshape(-1).astype(np.float64))).sum() / n
    t_loss.backward()
    assert_close("loss", loss, t_loss)
    assert_close("dx", dx, tx.grad)


@pytest.mark.parametrize("ratio", [2.0, 0.3], ids=["below", "above"])
def test_clip_grad_norm_matches_clip_grad_norm_(ratio):
    rng = np.random.default_rng(45)
    grads = {"Wx": rng.standard_normal((3, 8)), "Wh": rng.standard_normal((2, 8)),
             "b": rng.standard_normal(8)}
    max_norm = ratio * float(np.sqrt(sum(np.sum(g ** 2) for g in grads.values())))
    clipped, total_norm = clip_grad_norm(grads, max_norm)
    params = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads.values()]
    for p, g in zip(params, grads.values(), strict=True):
        p.grad = torch.from_numpy(g.copy())
    t_norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
    assert_close("total_norm", total_norm, t_norm)
    # torch scales by max_norm / (total_norm + 1e-6), ours by max_norm / total_norm: they
    # differ by about 1e-6 / total_norm relative when clipping, not at all below the threshold
    rtol = 1e-6 if ratio < 1 else 1e-10
    for (name, ours), p in zip(clipped.items(), params, strict=True):
        assert_close(name, ours, p.grad, rtol=rtol)
