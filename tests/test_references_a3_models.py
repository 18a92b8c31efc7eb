"""Reference solutions of the A3 models against numerical gradients, hand-computed values and
their graded training runs. One block per model; each keeps its own names."""
import filecmp

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from gradients import assert_grad  # tests/gradients.py
from solutions.a3_rnn import long_range, rnn_layers
from solutions.a3_rnn.classifier import MEMORY_BIAS, SequenceClassifier, train_classifier


# == SequenceClassifier and the long-range task (classifier.py, long_range.py) ==================
CLASSIFIER_CELLS = ("rnn", "lstm", "gru")


def classifier_with_random_weights(cell, V=5, C=3, D=4, H=3, seed=0):
    """A classifier whose weights (biases too) are random, so that no gradient is trivially 0."""
    model = SequenceClassifier(V, C, D, H, cell, seed=seed)
    rng = np.random.default_rng(seed + 1)
    model.set_params({k: 0.7 * rng.standard_normal(v.shape) for k, v in model.params.items()})
    return model, rng


@pytest.mark.parametrize("cell", CLASSIFIER_CELLS)
@pytest.mark.parametrize("N,T", [(3, 4), (1, 1)])
def test_classifier_gradients_match_numerical_gradients(cell, N, T):
    model, rng = classifier_with_random_weights(cell)
    x = rng.integers(0, 5, (N, T))
    x.flat[-1] = x.flat[0]
    y = rng.integers(0, 3, N)
    _, grads = model.loss(x, y)
    params = model.params
    assert set(grads) == set(params)

    def loss_with(name, value):
        model.set_params({**params, name: value})
        return model.loss(x, y)[0]

    for name, value in params.items():
        assert_grad(name, grads[name], lambda v, name=name: loss_with(name, v), value, tol=1e-6)


@pytest.mark.parametrize("cell", CLASSIFIER_CELLS)
def test_classifier_scores_the_last_state_of_the_sequence_functions(cell):
    """The same scores from rnn_layers' whole-sequence forwards (not model_utils): the last
    hidden state, from h0 = 0, through W_out."""
    model, rng = classifier_with_random_weights(cell)
    p, x = model.params, rng.integers(0, 5, (4, 6))
    biases = (p["bx"], p["bh"]) if cell == "gru" else (p["b"],)
    forward = {"rnn": rnn_layers.rnn_forward, "lstm": rnn_layers.lstm_forward,
               "gru": rnn_layers.gru_forward}[cell]
    h, _ = forward(p["W_embed"][x], np.zeros((4, 3)), p["Wx"], p["Wh"], *biases)
    np.testing.assert_allclose(model.loss(x), h[:, -1] @ p["W_out"] + p["b_out"], rtol=1e-12)


def test_classifier_handout_example():
    model = SequenceClassifier(2, 2, 1, 1, "rnn")
    model.set_params({"W_embed": [[1.0], [-1.0]], "Wx": [[1.0]], "Wh": [[2.0]], "b": [0.0],
                      "W_out": [[1.0, -1.0]], "b_out": [0.0, 0.0]})
    h1 = np.tanh(-1 + 2 * np.tanh(1))  # 0.4802
    np.testing.assert_allclose(model.loss(np.array([[0, 1]])), [[h1, -h1]])
    loss, _ = model.loss(np.array([[0, 1]]), np.array([0]))
    assert loss == pytest.approx(np.log1p(np.exp(-2 * h1))) == pytest.approx(0.3241, abs=1e-4)


@pytest.mark.parametrize("cell", CLASSIFIER_CELLS)
def test_classifier_init_keeps_the_memory_gate_open(cell):
    V, C, D, H = 40, 5, 16, 24
    params = SequenceClassifier(V, C, D, H, cell, seed=3).params
    expected = {"W_embed": (V, D), "W_out": (H, C), "b_out": (C,)}
    g = {"rnn": 1, "lstm": 4, "gru": 3}[cell]
    expected.update({"Wx": (D, g * H), "Wh": (H, g * H)})
    expected.update({"bx": (g * H,), "bh": (g * H,)} if cell == "gru" else {"b": (g * H,)})
    assert {k: v.shape for k, v in params.items()} == expected
    for name, std in (("W_embed", 1), ("Wx", D ** -0.5), ("Wh", H ** -0.5), ("W_out", H ** -0.5)):
        assert params[name].std() == pytest.approx(std, rel=0.25)
    bias = params["bx"] + params["bh"] if cell == "gru" else params["b"]
    memory = {"rnn": slice(0, 0), "lstm": slice(H, 2 * H), "gru": slice(H, 2 * H)}[cell]
    assert np.all(bias[memory] == MEMORY_BIAS) and MEMORY_BIAS == 4.0
    assert np.count_nonzero(bias) == bias[memory].size and not params["b_out"].any()


def test_classifier_float32_and_set_params_copies():
    model = SequenceClassifier(5, 3, 4, 3, "lstm", dtype=np.float32, seed=0)
    x, y = np.array([[1, 2, 1]]), np.array([2])
    assert model.loss(x).dtype == np.float32
    assert all(g.dtype == np.float32 for g in model.loss(x, y)[1].values())
    params = {k: np.zeros_like(v) for k, v in model.params.items()}
    model.set_params(params)
    params["W_out"][0, 0] = 5.0
    assert model.params["W_out"][0, 0] == 0.0


def test_long_range_sequences_hold_the_label_first_and_noise_after():
    x, y = long_range.make_sequences(500, T=7, num_classes=3, num_noise=5, seed=4)
    assert x.shape == (500, 7) and y.shape == (500,)
    assert np.array_equal(x[:, 0], y) and set(np.unique(y)) == {0, 1, 2}
    assert set(np.unique(x[:, 1:])) == set(range(3, 8))
    again, _ = long_range.make_sequences(500, T=7, num_classes=3, num_noise=5, seed=4)
    assert np.array_equal(x, again)


def test_long_range_is_the_given_copy():
    root = long_range.__file__.rsplit("/solutions/", 1)[0]
    assert filecmp.cmp(f"{root}/solutions/a3_rnn/long_range.py",
                       f"{root}/assignments/a3_rnn/long_range.py", shallow=False)


def perturbed_loss(params, cell, x, y, t, delta):
    """The summed loss with delta (N, H) added to h_t right after step t, by the step functions
    alone (for the LSTM the cell state is left as it is)."""
    N, H = x.shape[0], params["Wh"].shape[0]
    h, c = np.zeros((N, H)), np.zeros((N, H))
    for s in range(x.shape[1]):
        e = params["W_embed"][x[:, s]]
        if cell == "rnn":
            h, _ = rnn_layers.rnn_step_forward(e, h, params["Wx"], params["Wh"], params["b"])
        elif cell == "lstm":
            h, c, _ = rnn_layers.lstm_step_forward(e, h, c, params["Wx"], params["Wh"],
                                                   params["b"])
        else:
            h, _ = rnn_layers.gru_step_forward(e, h, params["Wx"], params["Wh"], params["bx"],
                                               params["bh"])
        if s == t:
            h = h + delta
    scores = h @ params["W_out"] + params["b_out"]
    shifted = scores - scores.max(axis=1, keepdims=True)
    return float(-np.sum(shifted[np.arange(N), y] - np.log(np.exp(shifted).sum(axis=1))))


@pytest.mark.parametrize("cell", CLASSIFIER_CELLS)
def test_hidden_gradient_norms_are_the_norms_of_numerical_gradients(cell):
    model, rng = classifier_with_random_weights(cell)
    x, y = rng.integers(0, 5, (2, 5)), rng.integers(0, 3, 2)
    norms = long_range.hidden_gradient_norms(model.params, cell, x, y)
    assert norms.shape == (5,)
    for t in range(5):
        numeric = np.zeros((2, 3))
        for i in np.ndindex(numeric.shape):
            step = np.zeros((2, 3))
            step[i] = 1e-6
            numeric[i] = (perturbed_loss(model.params, cell, x, y, t, step)
                          - perturbed_loss(model.params, cell, x, y, t, -step)) / 2e-6
        assert norms[t] == pytest.approx(np.linalg.norm(numeric, axis=1).mean(), rel=1e-6)


@pytest.mark.parametrize("seed", [0, 1])
def test_vanishing_gradients_at_initialisation(seed):
    """The handout's claim: from the last step back to the first, the RNN's gradient falls by
    more than 1e6 and the gated cells' (memory gate at MEMORY_BIAS) by less than 100; the LSTM
    with its forget-gate biases at 0 vanishes like the RNN."""
    x, y = long_range.make_sequences(200, 50, seed=seed)
    ratio = {}
    for cell in CLASSIFIER_CELLS:
        params = SequenceClassifier(12, 4, 8, 32, cell, seed=seed).params
        norms = long_range.hidden_gradient_norms(params, cell, x, y)
        ratio[cell] = norms[0] / norms[-1]
        if cell == "lstm":
            params["b"][32:64] = 0.0
            norms = long_range.hidden_gradient_norms(params, cell, x, y)
            ratio["lstm, b_f = 0"] = norms[0] / norms[-1]
    assert ratio["rnn"] < 1e-6 and ratio["lstm, b_f = 0"] < 1e-6, ratio
    assert ratio["lstm"] > 1e-2 and ratio["gru"] > 1e-2, ratio


def long_range_accuracy(cell, seed):
    """train_classifier's documented run, the hidden test's: 2000 sequences of 50, the
    defaults (4 epochs, batches of 32, Adam at 5e-3), judged on 1000 fresh sequences."""
    x, y = long_range.make_sequences(2000, 50, seed=seed)
    x_val, y_val = long_range.make_sequences(1000, 50, seed=7)
    model = SequenceClassifier(12, 4, 8, 32, cell, seed=seed)
    with threadpool_limits(1):  # as in the sandbox
        losses = train_classifier(model, x, y, seed=seed)
    assert len(losses) == 4 * 63
    return long_range.accuracy(model, x_val, y_val)


@pytest.mark.parametrize("seed", [0, 1])
def test_classifier_budget_lstm_remembers_where_the_rnn_cannot(seed):
    """The hidden test asks the LSTM for 0.95 at T = 50 (seed 0); the reference keeps a margin
    on other seeds too. The vanilla RNN, trained alike, stays near chance (0.25)."""
    assert long_range_accuracy("lstm", seed) >= 0.99
    assert long_range_accuracy("rnn", seed) <= 0.35
