"""Reference solutions of the A3 models against numerical gradients, hand-computed values and
their graded training runs. One block per model; each keeps its own names."""
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from gradients import assert_grad  # tests/gradients.py
from grader.numeric import numerical_gradient
from solutions.a3_rnn import digit_names, grammar, long_range, model_utils, reversal, rnn_layers
from solutions.a3_rnn.captioner import DigitCaptioner, train_captioner
from solutions.a3_rnn.classifier import MEMORY_BIAS, SequenceClassifier, train_classifier
from solutions.a3_rnn.language_model import CharLM, train_tbptt
from solutions.a3_rnn.seq2seq import Seq2Seq, train_seq2seq


# == the character-level language model, truncated BPTT and the grammar (language_model.py) ====
LM_MODELS = [(cell, layers) for cell in ("rnn", "lstm", "gru") for layers in (1, 2)]


def lm_model(cell, layers, seed=0, V=5, D=3, H=4):
    """A small CharLM with random biases too (zeros would hide a missing bias gradient)."""
    model = CharLM(V, D, H, cell, layers, seed=seed)
    rng = np.random.default_rng(seed + 10)
    model.set_params({k: v + 0.3 * rng.standard_normal(v.shape) for k, v in model.params.items()})
    return model


def lm_state(rng, cell, layers, N, H=4):
    def one():
        return 0.5 * rng.standard_normal((N, H))
    return [(one(), one()) if cell == "lstm" else one() for _ in range(layers)]


@pytest.mark.parametrize("cell,layers", LM_MODELS)
@pytest.mark.parametrize("with_state", [False, True], ids=["zero-state", "given-state"])
def test_lm_gradients(cell, layers, with_state):
    model = lm_model(cell, layers)
    rng = np.random.default_rng(1)
    x, y = rng.integers(0, 5, (2, 3)), rng.integers(0, 5, (2, 3))
    state = lm_state(rng, cell, layers, 2) if with_state else None
    _, grads, _ = model.loss(x, y, state)
    assert set(grads) == set(model.params)
    params = dict(model.params)

    def loss_with(key, value):
        model.set_params({**params, key: value})
        return model.loss(x, y, state)[0]

    for key, value in params.items():
        # a few entries are ~1e-5 of the largest, where the centred difference is off by up to
        # ~3e-5 relative; a wrong formula is off by far more
        assert_grad(key, grads[key], lambda v, key=key: loss_with(key, v), value, tol=1e-4)


@pytest.mark.parametrize("cell,layers", LM_MODELS)
def test_lm_shapes_and_init(cell, layers):
    model = CharLM(19, 16, 32, cell, layers, seed=3)
    g = {"rnn": 1, "lstm": 4, "gru": 3}[cell]
    biases = ("bx", "bh") if cell == "gru" else ("b",)
    expected = {"W_embed": (19, 16), "W_vocab": (32, 19), "b_vocab": (19,)}
    for k in range(1, layers + 1):
        expected.update({f"Wx{k}": (16 if k == 1 else 32, g * 32), f"Wh{k}": (32, g * 32)})
        expected.update({f"{b}{k}": (g * 32,) for b in biases})
    assert {k: v.shape for k, v in model.params.items()} == expected
    assert model.params["W_embed"].std() == pytest.approx(1.0, rel=0.15)
    assert model.params["W_vocab"].std() == pytest.approx(1 / np.sqrt(32), rel=0.15)
    again = CharLM(19, 16, 32, cell, layers, seed=3)
    assert all(np.array_equal(again.params[k], v) for k, v in model.params.items())


def test_lm_loss_is_nats_per_character():
    """All weights 0: uniform scores, log V per character whatever N and T."""
    model = CharLM(7, 3, 4, "gru", 2)
    model.set_params({k: np.zeros_like(v) for k, v in model.params.items()})
    for shape in [(1, 1), (3, 5)]:
        loss, _, last = model.loss(np.zeros(shape, int), np.ones(shape, int))
        assert loss == pytest.approx(np.log(7))
        assert len(last) == 2 and all(np.all(h == 0) for h in last)


@pytest.mark.parametrize("cell,layers", [("rnn", 1), ("lstm", 2), ("gru", 2)])
def test_lm_state_carries_a_sequence_across_chunks(cell, layers):
    """Two chunks with the state carried give the scores and last state of one long chunk."""
    model = lm_model(cell, layers)
    rng = np.random.default_rng(2)
    x, y = rng.integers(0, 5, (3, 7)), rng.integers(0, 5, (3, 7))
    whole, _, last = model.loss(x, y)
    first, _, middle = model.loss(x[:, :3], y[:, :3])
    second, _, end = model.loss(x[:, 3:], y[:, 3:], middle)
    assert (3 * first + 4 * second) / 7 == pytest.approx(whole)
    np.testing.assert_allclose(np.concatenate([np.ravel(s) for s in end]),
                               np.concatenate([np.ravel(s) for s in last]))
    assert model.loss(x[:, 3:], y[:, 3:])[0] != pytest.approx(second)  # the state matters


def test_lm_sample_greedy_and_temperature():
    model = CharLM(4, 3, 4, "lstm")
    model.set_params({k: np.zeros_like(v) for k, v in model.params.items()}
                     | {"b_vocab": np.log([0.1, 0.2, 0.3, 0.4])})
    np.testing.assert_array_equal(model.sample(0, 5), [3] * 5)
    q = np.array([0.1, 0.2, 0.3, 0.4]) ** 2  # temperature 0.5
    rng = np.random.default_rng(3)
    expected = [rng.choice(4, p=q / q.sum()) for _ in range(50)]
    np.testing.assert_array_equal(model.sample(1, 50, 0.5, seed=3), expected)
    hot = model.sample(1, 4000, 1e3, seed=0)  # nearly uniform
    assert np.bincount(hot, minlength=4) / 4000 == pytest.approx([0.25] * 4, abs=0.03)


def test_lm_sample_feeds_back_its_choices():
    """Greedy sampling from a trained model is what step-by-step argmax over loss() gives."""
    model = lm_model("gru", 2, V=6, D=4, H=4)
    chars, current, state = [], 2, None
    for _ in range(15):
        scores, state, _ = model._forward(np.array([[current]]), state)
        current = int(np.argmax(scores[0, 0]))
        chars.append(current)
    np.testing.assert_array_equal(model.sample(2, 15), chars)


def tbptt_chunks(model, data, seq_len, batch_size, num_iterations):
    """The losses train_tbptt must give with learning_rate 0, by its docstring, step by step."""
    S = len(data) // batch_size
    C = (S - 1) // seq_len
    streams = data[:batch_size * S].reshape(batch_size, S)
    losses, state = [], None
    for i in range(num_iterations):
        k = i % C
        x, y = streams[:, k * seq_len:(k + 1) * seq_len], streams[:, k * seq_len + 1:][:, :seq_len]
        loss, _, state = model.loss(x, y, None if k == 0 else state)
        losses.append(loss)
    return losses


@pytest.mark.parametrize("cell,layers", [("rnn", 1), ("lstm", 2)])
def test_tbptt_carries_the_state_and_resets_it_when_the_streams_wrap(cell, layers):
    model = lm_model(cell, layers)
    data = np.random.default_rng(4).integers(0, 5, 44)  # 3 streams of 14, 3 chunks of 4
    before = {k: v.copy() for k, v in model.params.items()}
    expected = tbptt_chunks(model, data, 4, 3, 7)
    assert train_tbptt(model, data, 4, 3, 7, learning_rate=0.0) == pytest.approx(expected)
    assert all(np.array_equal(before[k], v) for k, v in model.params.items())
    # without the carried state the losses of chunks 1 and 2 differ; chunk 0 does not
    fresh = [model.loss(data[:42].reshape(3, 14)[:, 4 * k:4 * k + 4],
                        data[:42].reshape(3, 14)[:, 4 * k + 1:4 * k + 5])[0] for k in range(3)]
    assert fresh[0] == pytest.approx(expected[0]) and expected[3] == pytest.approx(expected[0])
    assert fresh[1] != pytest.approx(expected[1]) and fresh[2] != pytest.approx(expected[2])


def test_tbptt_updates_with_clipped_adam():
    """One iteration: the same update as clip_grad_norm then adam by hand."""
    from solutions.a3_rnn.optim import adam, clip_grad_norm

    model, by_hand = lm_model("gru", 1), lm_model("gru", 1)
    data = np.random.default_rng(5).integers(0, 5, 44)
    loss, grads, _ = by_hand.loss(data[:42].reshape(3, 14)[:, :4], data[:42].reshape(3, 14)[:, 1:5])
    clipped, norm = clip_grad_norm(grads, 0.3)
    assert norm > 0.3  # the step is clipped
    losses = train_tbptt(model, data, 4, 3, 1, learning_rate=0.05, max_norm=0.3)
    assert losses == [pytest.approx(loss)]
    for k, g in clipped.items():
        np.testing.assert_allclose(model.params[k],
                                   adam(by_hand.params[k], g, {"learning_rate": 0.05})[0])


def test_tbptt_refuses_a_text_too_short_for_one_chunk():
    with pytest.raises(ValueError, match="no chunk"):
        train_tbptt(lm_model("rnn", 1), np.zeros(12, int), 4, 3, 1)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("seed", [1, 2])
def test_lm_graded_run_reaches_the_margin(cell, seed):
    """The hidden test asks for the entropy rate + 0.04 after 200 iterations (model seed 0);
    the reference keeps a margin for other seeds, so other random numbers pass too."""
    train = grammar.encode(grammar.generate(32 * 1001, seed=2024))
    validation = grammar.encode(grammar.generate(40_000, seed=2026))
    model = CharLM(len(grammar.CHARS), 16, 64, cell, seed=seed)
    with threadpool_limits(1):  # as in the sandbox; small products are slower on more threads
        losses = train_tbptt(model, train, 25, 32, 200, learning_rate=1e-2, max_norm=5.0)
    assert len(losses) == 200 and losses[-1] < losses[0]
    assert grammar.evaluate(model, validation, streams=40) < grammar.entropy_rate() + 0.03


# -- the grammar --------------------------------------------------------------------------------
def test_grammar_vocabulary_and_generation():
    assert grammar.CHARS == " .abcdeghilmnorstwy" and len(grammar.CHARS) == 19
    text = grammar.generate(500, seed=0)
    assert len(text) == 500 and text == grammar.generate(500, seed=0)
    assert text != grammar.generate(500, seed=1)
    assert grammar.decode(grammar.encode(text)) == text
    assert grammar.encode("a .").tolist() == [2, 0, 1]
    words = set(grammar.generate(20_000, seed=1).split())
    expected = {w for options in grammar.GRAMMAR.values() for w, _, _ in options}
    assert words - expected <= {text.split()[-1]} and expected - words == set()
    for options in grammar.GRAMMAR.values():
        assert sum(p for _, p, _ in options) == pytest.approx(1.0)


def plug_in_conditional_entropy(text: str, k: int) -> float:
    """H(next character | the k before it), estimated from counts in text."""
    arr = grammar.encode(text)
    V = len(grammar.CHARS)
    codes = np.zeros(len(arr) - k, dtype=np.int64)
    for j in range(k):  # the k-character context as one number
        codes = codes * V + arr[j:len(arr) - k + j]
    joint = codes * V + arr[k:]
    _, joint_counts = np.unique(joint, return_counts=True)
    _, context_counts = np.unique(codes, return_counts=True)
    n = len(joint)
    return float((-(joint_counts * np.log(joint_counts)).sum()
                  + (context_counts * np.log(context_counts)).sum()) / n)


def test_entropy_rate_against_the_source_loss_and_plug_in_estimates():
    rate = grammar.entropy_rate()
    assert rate == pytest.approx(0.354800, abs=1e-6)
    text = grammar.generate(300_000, seed=7)
    # Shannon-McMillan-Breiman: the grammar's own -log p per character tends to the rate
    assert grammar.source_loss(text) == pytest.approx(rate, abs=0.003)
    # model-free upper bounds: H(X_t | k characters before) falls with k toward the rate
    estimates = [plug_in_conditional_entropy(text, k) for k in (0, 1, 2, 4, 8, 12)]
    assert np.all(np.diff(estimates) < 0)
    assert estimates[0] < np.log(len(grammar.CHARS))
    assert rate < estimates[-1] < rate + 0.02  # 12 characters nearly always tell the state
    assert estimates[3] > rate + 0.04  # 4 do not: the margin the grade asks for needs memory


def test_entropy_rate_of_a_one_word_grammar_by_hand(monkeypatch):
    """'ab ' then 'ab ' or 'b ' then...: two words with probabilities 1/2 after every space;
    three characters carry log 2 for 'ab ', two for 'b ': rate = log 2 / 2.5."""
    monkeypatch.setattr(grammar, "GRAMMAR", {"s": (("ab", 0.5, "s"), ("b", 0.5, "s"))})
    monkeypatch.setattr(grammar, "START", "s")
    grammar._machine.cache_clear()
    grammar.entropy_rate.cache_clear()
    try:
        assert grammar.entropy_rate() == pytest.approx(np.log(2) / 2.5)
        assert grammar.source_loss("ab b ") == pytest.approx(2 * np.log(2) / 5)
    finally:
        grammar._machine.cache_clear()
        grammar.entropy_rate.cache_clear()


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


def test_the_given_modules_have_one_copy_the_one_students_get():
    for module in (grammar, long_range, model_utils, digit_names, reversal):
        assert Path(module.__file__).parent.parts[-2:] == ("assignments", "a3_rnn")


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


# == DigitCaptioner and Seq2Seq (captioner.py, seq2seq.py; data: digit_names.py, reversal.py) ==

MODEL_CELLS = ("rnn", "lstm", "gru")
# "six" and "is" over a vocabulary of their own letters, the shorter padded with <NULL>
SMALL_VOCAB = {"<NULL>": 0, "<START>": 1, "<END>": 2, "s": 3, "i": 4, "x": 5}
SIX_IS = digit_names.encode(["six", "is"], SMALL_VOCAB)


def randomised(model, seed, scale=0.5):
    """The model with every parameter (biases too) drawn at random: no gradient trivially 0."""
    rng = np.random.default_rng(seed)
    model.set_params({k: scale * rng.standard_normal(v.shape) for k, v in model.params.items()})
    return model


def assert_model_gradients(model, *batch):
    """Every gradient of model.loss(*batch) against centred differences of the loss."""
    _, grads = model.loss(*batch)
    params = dict(model.params)
    assert set(grads) == set(params)
    assert all(grads[k].shape == v.shape and grads[k].dtype == v.dtype for k, v in params.items())

    def loss_with(name, value):
        model.set_params({**params, name: value})
        return model.loss(*batch)[0]

    for name, value in params.items():
        numeric = numerical_gradient(lambda v, name=name: loss_with(name, v), value, h=1e-5)
        # absolute: a few entries are ~1e-5 of the largest, where relative errors mislead
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-5, atol=1e-8, err_msg=name)
    model.set_params(params)


@pytest.mark.parametrize("cell", MODEL_CELLS)
@pytest.mark.parametrize("names", [("six", "is"), ("x",)], ids=["padded", "N1"])
def test_captioner_gradients_match_numerical_gradients(cell, names):
    model = randomised(DigitCaptioner(SMALL_VOCAB, 4, 3, 5, cell, seed=0), seed=1)
    features = np.random.default_rng(2).random((len(names), 4))
    assert_model_gradients(model, features, digit_names.encode(names, SMALL_VOCAB))


@pytest.mark.parametrize("cell", MODEL_CELLS)
@pytest.mark.parametrize("N,lengths", [(3, (1, 4)), (1, (2, 2))], ids=["padded", "N1"])
def test_seq2seq_gradients_match_numerical_gradients(cell, N, lengths):
    model = randomised(Seq2Seq(len(reversal.TOKENS), 3, 4, cell, seed=0), seed=1)
    src, tgt = reversal.reversal_pairs(N, *lengths, seed=3)
    _, grads = model.loss(src, tgt)
    assert all(np.any(g) for g in grads.values())  # the encoder's too, through its state
    assert_model_gradients(model, src, tgt)


def step_by_step(cell, params, suffix, tokens, state):
    """Scores (N, T, V) of a decoder reading `tokens` from `state`, by the step functions alone
    (not model_utils), and the states after each step."""
    p = {k.removesuffix(suffix): v for k, v in params.items()}
    h, c = state if cell == "lstm" else (state, None)
    scores = []
    for t in range(tokens.shape[1]):
        x = p["W_embed"][tokens[:, t]]
        if cell == "rnn":
            h, _ = rnn_layers.rnn_step_forward(x, h, p["Wx"], p["Wh"], p["b"])
        elif cell == "lstm":
            h, c, _ = rnn_layers.lstm_step_forward(x, h, c, p["Wx"], p["Wh"], p["b"])
        else:
            h, _ = rnn_layers.gru_step_forward(x, h, p["Wx"], p["Wh"], p["bx"], p["bh"])
        scores.append(h @ params["W_vocab"] + params["b_vocab"])
    return np.stack(scores, axis=1), ((h, c) if cell == "lstm" else h)


def masked_loss(scores, targets, null):
    """The summed cross-entropy of the non-<NULL> targets, divided by N."""
    shifted = scores - scores.max(axis=2, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=2, keepdims=True))
    picked = np.take_along_axis(log_probs, targets[..., None], axis=2)[..., 0]
    return float(-np.sum(picked * (targets != null)) / len(targets))


@pytest.mark.parametrize("cell", MODEL_CELLS)
def test_captioner_loss_and_sample_step_by_step(cell):
    """The loss is the teacher-forced cross-entropy from h0 = features @ W_proj + b_proj (for
    the LSTM c0 = 0); sample feeds its own choices back and writes <NULL> after <END>."""
    model = randomised(DigitCaptioner(SMALL_VOCAB, 4, 3, 5, cell, seed=0), seed=4, scale=1.0)
    p, features = model.params, np.random.default_rng(5).random((2, 4))
    h0 = features @ p["W_proj"] + p["b_proj"]
    state = (h0, np.zeros_like(h0)) if cell == "lstm" else h0
    scores, _ = step_by_step(cell, p, "", SIX_IS[:, :-1], state)
    assert model.loss(features, SIX_IS)[0] == pytest.approx(masked_loss(scores, SIX_IS[:, 1:], 0))
    tokens, ended, expected = np.full((2, 1), 1), np.zeros(2, bool), []
    for _ in range(6):
        scores, state = step_by_step(cell, p, "", tokens, state)
        tokens = scores.argmax(axis=2)
        expected.append(np.where(ended, 0, tokens[:, 0]))
        ended |= tokens[:, 0] == 2
    np.testing.assert_array_equal(model.sample(features, 6), np.stack(expected, axis=1))


@pytest.mark.parametrize("cell", MODEL_CELLS)
def test_seq2seq_loss_and_translate_step_by_step(cell):
    """The decoder starts from the encoder's last state ((h, c) for the LSTM) and reads
    <START> + tgt[:, :-1]; translate feeds its own choices back and writes <NULL> after <END>."""
    model = randomised(Seq2Seq(len(reversal.TOKENS), 3, 4, cell, seed=0), seed=6, scale=1.0)
    p = model.params
    src, tgt = reversal.reversal_pairs(4, 1, 4, seed=8)
    zero = model_utils.zero_state(cell, 4, 4)
    _, encoded = step_by_step(cell, {**p, "W_embed_enc": p["W_embed_enc"]}, "_enc", src, zero)
    tgt_in = np.concatenate([np.ones((4, 1), int), tgt[:, :-1]], axis=1)
    scores, _ = step_by_step(cell, p, "_dec", tgt_in, encoded)
    assert model.loss(src, tgt)[0] == pytest.approx(masked_loss(scores, tgt, reversal.NULL))
    tokens, ended, expected, state = np.ones((4, 1), int), np.zeros(4, bool), [], encoded
    for _ in range(7):
        scores, state = step_by_step(cell, p, "_dec", tokens, state)
        tokens = scores.argmax(axis=2)
        expected.append(np.where(ended, reversal.NULL, tokens[:, 0]))
        ended |= tokens[:, 0] == reversal.END
    np.testing.assert_array_equal(model.translate(src, 7), np.stack(expected, axis=1))


def test_captioner_handout_examples():
    """Uniform scores cost log V per counted step; the hand-wired RNN spells "six" then pads
    (the public checks' examples)."""
    model = DigitCaptioner(SMALL_VOCAB, 4, 6, 6, "rnn", seed=0)
    params = dict(model.params)
    model.set_params({**params, "W_vocab": np.zeros((6, 6)), "b_vocab": np.zeros(6)})
    assert model.loss(np.ones((2, 4)), SIX_IS)[0] == pytest.approx(7 * np.log(6) / 2)
    W_vocab = np.zeros((6, 6))
    for token, following in ((1, 3), (3, 4), (4, 5), (5, 2), (2, 3)):
        W_vocab[token, following] = 10.0
    model.set_params({**params, "W_proj": np.zeros((4, 6)), "W_embed": np.eye(6),
                      "Wx": 10 * np.eye(6), "Wh": np.zeros((6, 6)), "W_vocab": W_vocab})
    np.testing.assert_array_equal(model.sample(np.ones((3, 4)), 7), [[3, 4, 5, 2, 0, 0, 0]] * 3)


def test_seq2seq_handout_examples():
    """Uniform scores cost log V per counted step; the hand-wired RNN repeats the source's last
    token, and a first choice of <END> is followed by <NULL>s (the public checks' examples)."""
    V = len(reversal.TOKENS)
    src, tgt = np.array([[0, 4, 5, 6], [7, 8, 9, 10]]), np.array([[6, 5, 4, 2, 0],
                                                                   [10, 9, 8, 7, 2]])
    model = Seq2Seq(V, 3, 4, "rnn", seed=0)
    model.set_params({**model.params, "W_vocab": np.zeros((4, V)), "b_vocab": np.zeros(V)})
    assert model.loss(src, tgt)[0] == pytest.approx(9 * np.log(V) / 2)
    eye = np.eye(V)
    model = Seq2Seq(V, V, V, "rnn", seed=0)
    model.set_params({**model.params, "W_embed_enc": eye, "Wx_enc": 10 * eye,
                      "Wh_enc": 0 * eye, "W_embed_dec": eye, "Wx_dec": 0 * eye,
                      "Wh_dec": 10 * eye, "W_vocab": 10 * eye})
    np.testing.assert_array_equal(model.translate(src, 3), [[6, 6, 6], [10, 10, 10]])
    np.testing.assert_array_equal(model.translate(np.array([[4, 2], [5, 2]]), 3),
                                  [[2, 0, 0], [2, 0, 0]])


def test_captioner_and_seq2seq_init():
    captioner = DigitCaptioner(digit_names.VOCAB, 64, 16, 32, "lstm", seed=3).params
    assert {k: v.shape for k, v in captioner.items()} == {
        "W_proj": (64, 32), "b_proj": (32,), "W_embed": (18, 16), "Wx": (16, 128),
        "Wh": (32, 128), "b": (128,), "W_vocab": (32, 18), "b_vocab": (18,)}
    for name, std in (("W_proj", 1 / 8), ("W_embed", 1), ("Wx", 1 / 4), ("W_vocab", 32 ** -0.5)):
        assert captioner[name].std() == pytest.approx(std, rel=0.15), name
    s2s = Seq2Seq(13, 16, 32, "gru", seed=3).params
    assert sorted(s2s) == sorted(["W_embed_enc", "Wx_enc", "Wh_enc", "bx_enc", "bh_enc",
                                  "W_embed_dec", "Wx_dec", "Wh_dec", "bx_dec", "bh_dec",
                                  "W_vocab", "b_vocab"])
    assert not np.allclose(s2s["Wh_enc"], s2s["Wh_dec"])
    assert all(not v.any() for k, v in s2s.items() if k.startswith("b"))
    f32 = Seq2Seq(13, 4, 5, "lstm", dtype=np.float32, seed=0)
    src, tgt = reversal.reversal_pairs(3, 2, 4, seed=0)
    assert all(g.dtype == np.float32 for g in f32.loss(src, tgt)[1].values())


def test_train_captioner_and_train_seq2seq_batches_by_their_docstrings():
    """With learning rate 0 the losses are those of the documented minibatches: a permutation
    per epoch for the captioner, fresh reversal_pairs from one rng for seq2seq."""
    features, captions = np.random.default_rng(0).random((7, 4)), SIX_IS[[0, 1, 1, 0, 1, 0, 0]]
    model = randomised(DigitCaptioner(SMALL_VOCAB, 4, 3, 5, "gru", seed=0), seed=1)
    rng, expected = np.random.default_rng(9), []
    for _ in range(2):
        order = rng.permutation(7)
        expected += [model.loss(features[b], captions[b])[0] for b in (order[:3], order[3:6],
                                                                         order[6:])]
    losses = train_captioner(model, features, captions, epochs=2, batch_size=3,
                             learning_rate=0.0, seed=9)
    assert losses == pytest.approx(expected)
    model = randomised(Seq2Seq(13, 3, 4, "rnn", seed=0), seed=1)
    rng = np.random.default_rng(5)
    batches = [reversal.reversal_pairs(4, 2, 3, seed=rng) for _ in range(3)]
    losses = train_seq2seq(model, 3, batch_size=4, min_length=2, max_length=3,
                           learning_rate=0.0, seed=5)
    assert losses == pytest.approx([model.loss(*b)[0] for b in batches])
    assert len({tuple(b[0].ravel()) for b in batches}) == 3  # fresh pairs every step


def test_digit_names_and_reversal_data():
    assert digit_names.TOKENS[:3] == ("<NULL>", "<START>", "<END>") and len(digit_names.VOCAB) == 18
    captions = digit_names.encode(["six", "seven"])
    s, i, x = (digit_names.VOCAB[c] for c in "six")
    assert captions.tolist()[0] == [1, s, i, x, 2, 0, 0]
    assert digit_names.decode(captions) == ["six", "seven"]
    assert digit_names.decode(np.array([[s, 2, i], [0, x, 0]])) == ["s", "x"]
    data = digit_names.load_digit_captions()
    assert data["X_train"].shape == (1500, 64) and data["X_val"].shape == (297, 64)
    assert 0 <= data["X_train"].min() and data["X_train"].max() <= 1
    assert digit_names.decode(data["captions_val"][:5]) == [digit_names.NAMES[y]
                                                            for y in data["y_val"][:5]]
    assert len(digit_names.picture(data["X_val"][0]).splitlines()) == 8
    src, tgt = reversal.reversal_pairs(200, 3, 6, seed=1)
    assert src.shape == (200, 6) and tgt.shape == (200, 7)
    texts = reversal.to_text(src)
    assert {len(t) for t in texts} == {3, 4, 5, 6}
    assert reversal.to_text(tgt) == [t[::-1] for t in texts]
    lengths = np.array([len(t) for t in texts])
    assert np.all(src[np.arange(6) < 6 - lengths[:, None]] == reversal.NULL)  # padded in front
    assert np.all(tgt[np.arange(200), lengths] == reversal.END)
    assert np.array_equal(reversal.reversal_pairs(200, 3, 6, seed=1)[0], src)


def name_accuracy(cell, seed):
    """The hidden test's graded run of train_captioner (8 epochs, H = 32), with model and
    minibatch seed `seed`: the share of validation digits spelled right."""
    data = digit_names.load_digit_captions()
    model = DigitCaptioner(digit_names.VOCAB, 64, 16, 32, cell, seed=seed)
    with threadpool_limits(1):  # as in the sandbox
        losses = train_captioner(model, data["X_train"], data["captions_train"], epochs=8,
                                 batch_size=50, learning_rate=1e-2, seed=seed)
    assert len(losses) == 240 and np.mean(losses[-30:]) < 0.5 * np.mean(losses[:30])
    words = digit_names.decode(model.sample(data["X_val"], digit_names.MAX_LENGTH))
    return np.mean([w == digit_names.NAMES[y] for w, y in zip(words, data["y_val"], strict=True)])


def reversal_exact_match(cell, seed):
    """The hidden test's graded run of train_seq2seq (400 steps, H = 64, strings of 3 to 6
    digits), with model and data seed `seed`: the share of 500 new strings reversed exactly."""
    model = Seq2Seq(len(reversal.TOKENS), 16, 64, cell, seed=seed)
    with threadpool_limits(1):
        losses = train_seq2seq(model, 400, seed=seed)
    assert len(losses) == 400 and np.mean(losses[-50:]) < 0.5 * np.mean(losses[:50])
    src, tgt = reversal.reversal_pairs(500, 3, 6, seed=20_000)
    return np.mean(np.all(model.translate(src, 7) == tgt, axis=1))


@pytest.mark.parametrize("cell", MODEL_CELLS)
@pytest.mark.parametrize("seed", [1, 2])
def test_captioner_graded_run_keeps_its_margin(cell, seed):
    """The hidden test asks for 0.85 (model seed 0); the reference spells 0.94 or more."""
    assert name_accuracy(cell, seed) >= 0.92


@pytest.mark.parametrize("cell", MODEL_CELLS)
@pytest.mark.parametrize("seed", [1, 2])
def test_seq2seq_graded_run_keeps_its_margin(cell, seed):
    """The hidden test asks for 0.65 (model seed 0); the reference reverses 0.78 or more (the
    LSTM 0.92)."""
    assert reversal_exact_match(cell, seed) >= (0.9 if cell == "lstm" else 0.75)
