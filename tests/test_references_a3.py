"""Reference solutions of A3 against numerical gradients, the handout's worked examples and
hand-computed values, and their sequence functions against their own steps."""
import numpy as np
import pytest

from gradients import assert_grad  # tests/gradients.py
from solutions.a3_rnn import rnn_layers as L
from solutions.a3_rnn.optim import clip_grad_norm

# (N, T, D, H): N = 1, T = 1, H != D both ways, D = H
SHAPES = [(1, 1, 3, 2), (2, 4, 3, 5), (3, 3, 4, 2), (2, 2, 3, 3)]
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
# Sums over samples and gates cancel: a few gradient entries are near zero, where the centred
# difference (h = 1e-5) is off by up to ~1.5e-7 relative (GRU's dWx), above tests/gradients.py's
# 1e-7; a wrong formula is off by far more than 1e-6.
TOL = 1e-6


def shape_id(shape):
    return "N{}-T{}-D{}-H{}".format(*shape)


over_shapes = pytest.mark.parametrize("shape", SHAPES, ids=shape_id)


def parameters(rng, kind, d, h):
    g = GATES[kind]
    Wx = rng.standard_normal((d, g * h)) / np.sqrt(d)
    Wh = rng.standard_normal((h, g * h)) / np.sqrt(h)
    return (Wx, Wh, *(0.5 * rng.standard_normal(g * h) for _ in range(2 if kind == "gru" else 1)))


def assert_grads(names, grads, scalar, args):
    """Each gradient in ``grads`` against the numerical gradient of ``scalar(*args)`` in the
    argument of the same position."""
    for i, (name, grad) in enumerate(zip(names, grads, strict=True)):
        assert_grad(name, grad, lambda v, i=i: scalar(*args[:i], v, *args[i + 1:]), args[i],
                    tol=TOL)


# -- numerical gradients -----------------------------------------------------------------------

@over_shapes
@pytest.mark.parametrize("kind", ["rnn", "gru"])
def test_step_gradients(kind, shape):
    n, _, d, h = shape
    rng = np.random.default_rng(0)
    forward, backward = getattr(L, f"{kind}_step_forward"), getattr(L, f"{kind}_step_backward")
    args = (rng.standard_normal((n, d)), rng.standard_normal((n, h)), *parameters(rng, kind, d, h))
    out, cache = forward(*args)
    dout = rng.standard_normal(out.shape)
    names = ("dx", "dprev_h", "dWx", "dWh") + (("dbx", "dbh") if kind == "gru" else ("db",))
    assert_grads(names, backward(dout, cache), lambda *a: np.sum(forward(*a)[0] * dout), args)


@over_shapes
@pytest.mark.parametrize("cell_only", [False, True], ids=["both", "cell-state-path"])
def test_lstm_step_gradients(shape, cell_only):
    n, _, d, h = shape
    rng = np.random.default_rng(1)
    args = (rng.standard_normal((n, d)), rng.standard_normal((n, h)), rng.standard_normal((n, h)),
            *parameters(rng, "lstm", d, h))
    next_h, next_c, cache = L.lstm_step_forward(*args)
    dnext_h = np.zeros_like(next_h) if cell_only else rng.standard_normal(next_h.shape)
    dnext_c = rng.standard_normal(next_c.shape)

    def scalar(*a):
        h_, c_, _ = L.lstm_step_forward(*a)
        return np.sum(h_ * dnext_h) + np.sum(c_ * dnext_c)

    assert_grads(("dx", "dprev_h", "dprev_c", "dWx", "dWh", "db"),
                 L.lstm_step_backward(dnext_h, dnext_c, cache), scalar, args)


@over_shapes
@pytest.mark.parametrize("last_only", [False, True], ids=["every-step", "last-step"])
@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_sequence_gradients(kind, shape, last_only):
    n, t, d, h = shape
    rng = np.random.default_rng(2)
    forward, backward = getattr(L, f"{kind}_forward"), getattr(L, f"{kind}_backward")
    args = (rng.standard_normal((n, t, d)), rng.standard_normal((n, h)),
            *parameters(rng, kind, d, h))
    out, cache = forward(*args)
    assert out.shape == (n, t, h)
    dh = rng.standard_normal(out.shape)
    if last_only:
        dh[:, :-1] = 0
    names = ("dx", "dh0", "dWx", "dWh") + (("dbx", "dbh") if kind == "gru" else ("db",))
    assert_grads(names, backward(dh, cache), lambda *a: np.sum(forward(*a)[0] * dh), args)


def test_word_embedding_gradient_accumulates_repeated_words():
    rng = np.random.default_rng(3)
    x, W = rng.integers(0, 4, (3, 5)), rng.standard_normal((4, 3))
    assert len(np.unique(x)) < x.size
    out, cache = L.word_embedding_forward(x, W)
    dout = rng.standard_normal(out.shape)
    assert_grad("dW", L.word_embedding_backward(dout, cache),
                lambda v: np.sum(L.word_embedding_forward(x, v)[0] * dout), W)


def test_temporal_affine_gradients():
    rng = np.random.default_rng(4)
    args = rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5)), rng.standard_normal(5)
    out, cache = L.temporal_affine_forward(*args)
    dout = rng.standard_normal(out.shape)
    assert_grads(("dx", "dw", "db"), L.temporal_affine_backward(dout, cache),
                 lambda *a: np.sum(L.temporal_affine_forward(*a)[0] * dout), args)


@pytest.mark.parametrize("scale", [1.0, 1e3])
def test_temporal_softmax_loss_gradient(scale):
    rng = np.random.default_rng(5)
    x, y = scale * rng.standard_normal((3, 4, 5)), rng.integers(0, 5, (3, 4))
    mask = np.arange(4) < np.array([[4], [2], [0]])
    loss, dx = L.temporal_softmax_loss(x, y, mask)
    assert np.isfinite(loss)
    if scale == 1.0:  # at 1e3 the loss is piecewise linear: no smooth finite difference
        assert_grad("dx", dx, lambda v: L.temporal_softmax_loss(v, y, mask)[0], x)
    assert np.all(dx[~mask] == 0)


# -- worked examples and hand-computed values --------------------------------------------------

def test_rnn_step_example():
    x, prev_h = np.array([[1.0, 2.0], [0.0, -1.0]]), np.array([[1.0, -1.0, 0.0], [0.0, 0.0, 0.0]])
    Wx = np.array([[1.0, 0.0, -1.0], [0.0, 0.5, 1.0]])
    Wh = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    next_h, _ = L.rnn_step_forward(x, prev_h, Wx, Wh, np.array([-1.0, 0.0, 0.5]))
    np.testing.assert_allclose(next_h, np.tanh([[0.0, 2.0, 0.5], [-1.0, -0.5, -0.5]]), rtol=1e-15)


def test_rnn_scalar_bptt_by_hand():
    h, cache = L.rnn_forward(np.array([[[1.0], [-1.0]]]), np.array([[0.5]]), np.array([[1.0]]),
                             np.array([[2.0]]), np.array([0.0]))
    h1, h2 = np.tanh(2.0), np.tanh(-1.0 + 2.0 * np.tanh(2.0))
    np.testing.assert_allclose(h.ravel(), [h1, h2], rtol=1e-15)
    dx, dh0, dWx, dWh, db = L.rnn_backward(np.array([[[0.0], [1.0]]]), cache)
    da2 = 1 - h2 ** 2
    da1 = 2 * da2 * (1 - h1 ** 2)
    for got, want in ((dx.ravel(), [da1, da2]), (dh0, 2 * da1), (dWx, da1 - da2),
                      (dWh, 0.5 * da1 + h1 * da2), (db, da1 + da2)):
        np.testing.assert_allclose(np.ravel(got), np.ravel(want), rtol=1e-14)


def test_lstm_with_zero_weights_is_its_biases():
    prev_c = np.array([[1.0, -2.0]])
    zeros = np.zeros((3, 8)), np.zeros((2, 8))
    x, prev_h = np.array([[1.0, -2.0, 3.0]]), np.array([[0.5, -0.5]])
    next_h, next_c, _ = L.lstm_step_forward(x, prev_h, prev_c, *zeros, np.zeros(8))
    np.testing.assert_allclose(next_c, 0.5 * prev_c, rtol=1e-15)
    np.testing.assert_allclose(next_h, 0.5 * np.tanh(0.5 * prev_c), rtol=1e-15)
    b = np.repeat(np.log([0.25, 4.0, 3.0, 2.0]), 2)  # i = 0.2, f = 0.8, o = 0.75, g = 0.6
    next_h, next_c, _ = L.lstm_step_forward(x, prev_h, prev_c, *zeros, b)
    np.testing.assert_allclose(next_c, [[0.92, -1.48]], rtol=1e-14)
    np.testing.assert_allclose(next_h, 0.75 * np.tanh([[0.92, -1.48]]), rtol=1e-14)
    h, _ = L.lstm_forward(np.arange(6.0).reshape(1, 3, 2), np.array([[1.0, -1.0]]),
                          np.zeros((2, 8)), np.zeros((2, 8)), b)
    c = np.array([0.12, 0.216, 0.2928])  # c_t = 0.8 c_{t-1} + 0.12 from c0 = 0
    np.testing.assert_allclose(h[0], np.repeat(0.75 * np.tanh(c), 2).reshape(3, 2), rtol=1e-14)


def test_gru_with_zero_weights_is_its_biases():
    bx, bh = np.repeat([0.0, np.log(3.0), 0.0], 2), np.repeat([0.0, 0.0, 2 * np.log(2.0)], 2)
    next_h, _ = L.gru_step_forward(np.ones((1, 3)), np.array([[0.2, -1.0]]), np.zeros((3, 6)),
                                   np.zeros((2, 6)), bx, bh)
    np.testing.assert_allclose(next_h, [[0.3, -0.6]], rtol=1e-14)
    h, _ = L.gru_forward(np.ones((1, 3, 3)), np.array([[0.2, -1.0]]), np.zeros((3, 6)),
                         np.zeros((2, 6)), bx, bh)
    np.testing.assert_allclose(h[0], [[0.3, -0.6], [0.375, -0.3], [0.43125, -0.075]], rtol=1e-14)


def test_word_embedding_example():
    W = np.array([[0.0, 0.0], [1.0, 10.0], [2.0, 20.0], [3.0, 30.0]])
    out, cache = L.word_embedding_forward(np.array([[1, 3, 1], [0, 1, 2]]), W)
    np.testing.assert_array_equal(out[0], [[1, 10], [3, 30], [1, 10]])
    dout = np.array([[[1, 0], [2, 0], [3, 0]], [[0, 1], [0, 2], [0, 4]]], dtype=float)
    np.testing.assert_array_equal(L.word_embedding_backward(dout, cache),
                                  [[0, 1], [4, 2], [0, 4], [2, 0]])


def test_temporal_softmax_loss_example():
    mask = np.array([[True, True, False], [True, False, False]])
    y = np.array([[0, 3, 1], [2, 2, 2]])
    loss, dx = L.temporal_softmax_loss(np.zeros((2, 3, 4)), y, mask)
    assert loss == pytest.approx(1.5 * np.log(4.0), rel=1e-15)
    assert dx[0, 0, 0] == pytest.approx((0.25 - 1) / 2) and dx[0, 0, 1] == pytest.approx(0.125)
    assert np.all(dx[0, 2] == 0) and np.all(dx[1, 1:] == 0)


def test_temporal_softmax_loss_of_one_step_is_softmax_cross_entropy():
    rng = np.random.default_rng(6)
    x, y = rng.standard_normal((4, 1, 6)), rng.integers(0, 6, (4, 1))
    p = np.exp(x[:, 0]) / np.exp(x[:, 0]).sum(axis=1, keepdims=True)
    loss, _ = L.temporal_softmax_loss(x, y, np.ones((4, 1), dtype=bool))
    assert loss == pytest.approx(-np.mean(np.log(p[np.arange(4), y[:, 0]])), rel=1e-13)


def test_clipping_examples():
    clipped, norm = clip_grad_norm({"w": np.array([3.0, 4.0])}, 10.0)
    assert norm == 5.0 and np.array_equal(clipped["w"], [3.0, 4.0])
    clipped, _ = clip_grad_norm({"w": np.array([3.0, 4.0])}, 1.0)
    np.testing.assert_allclose(clipped["w"], [0.6, 0.8], rtol=1e-15)
    grads = {"a": np.array([3.0]), "b": np.array([[4.0]])}  # each below 4.5, together 5
    clipped, norm = clip_grad_norm(grads, 4.5)
    assert norm == 5.0 and isinstance(norm, float)
    np.testing.assert_allclose(clipped["a"], [2.7], rtol=1e-15)
    np.testing.assert_allclose(clipped["b"], [[3.6]], rtol=1e-15)
    assert grads["a"][0] == 3.0, "the input is left unchanged"
    clipped, norm = clip_grad_norm({"z": np.zeros(3)}, 1.0)
    assert norm == 0.0 and np.array_equal(clipped["z"], np.zeros(3))


# -- sequences are their steps -----------------------------------------------------------------

@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_sequence_is_its_steps(kind):
    n, t, d, h = 2, 4, 3, 5
    rng = np.random.default_rng(7)
    x, h0, params = rng.standard_normal((n, t, d)), rng.standard_normal((n, h)), \
        parameters(rng, kind, d, h)
    out, _ = getattr(L, f"{kind}_forward")(x, h0, *params)
    prev_h, prev_c = h0, np.zeros((n, h))
    for step in range(t):
        if kind == "lstm":
            prev_h, prev_c, _ = L.lstm_step_forward(x[:, step], prev_h, prev_c, *params)
        else:
            prev_h, _ = getattr(L, f"{kind}_step_forward")(x[:, step], prev_h, *params)
        np.testing.assert_array_equal(out[:, step], prev_h)
