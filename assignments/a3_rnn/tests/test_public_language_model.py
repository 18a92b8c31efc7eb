"""Public checks for the character-level language model (CharLM) and train_tbptt: worked examples
with known answers (uniform scores cost log V per character; a model whose scores never change
samples from one fixed distribution), numerical gradients of your own loss, and train_tbptt
with learning rate 0 against your own loss over the chunks. Run them with `layerlab check a3`.
The grade also compares every output and gradient with a reference implementation (every cell,
one and two layers, N = 1 and T = 1, a carried state), the samples on fixed seeds, a short
training run step by step, and training on the grammar's text to near its entropy rate.
"""

import numpy as np
import pytest

from grader.compare import (Mismatch, check_array, check_params, check_scalar, expect_tuple,
                            outputs)
from grader.numeric import check_numerical_gradient, forward_first

GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def shapes(V, D, H, cell, layers) -> dict:
    """The parameters' shapes, as CharLM's docstring gives them."""
    g = GATES[cell]
    found = {"W_embed": (V, D)}
    for k in range(1, layers + 1):
        found[f"Wx{k}"], found[f"Wh{k}"] = (D if k == 1 else H, g * H), (H, g * H)
        for name in ("bx", "bh") if cell == "gru" else ("b",):
            found[f"{name}{k}"] = (g * H,)
    return {**found, "W_vocab": (H, V), "b_vocab": (V,)}


def new_model(student, V, D, H, cell, layers):
    """A CharLM whose params have the documented keys and shapes; returns it and the shapes."""
    __tracebackhide__ = True
    model = student.new("CharLM", V, D, H, cell, layers, seed=0)
    expected = {k: np.zeros(s) for k, s in shapes(V, D, H, cell, layers).items()}
    check_params(student.attr(model, "params"), expected, f"CharLM({V}, {D}, {H}, {cell!r}, "
                 f"{layers}).params")
    return model, expected


def loss_of(student, model, *args):
    __tracebackhide__ = True
    return expect_tuple(student.method(model, "loss", *args), ("loss", "grads", "last_state"),
                        "loss")


# -- a3.charlm ------------------------------------------------------------------------------------
P = np.array([0.1, 0.2, 0.3, 0.4])  # the next-character distribution of the worked example
X = np.array([[0, 1, 2], [3, 3, 0]])  # N = 2, T = 3
Y = np.array([[1, 2, 3], [3, 0, 3]])


def check_uniform_and_fixed_scores(student):
    """Every weight 0: the hidden states stay 0 and the scores are b_vocab at every step."""
    __tracebackhide__ = True
    model, zeros = new_model(student, 4, 3, 5, "lstm", 2)
    student.method(model, "set_params", zeros)
    loss, grads, last_state = loss_of(student, model, X, Y)
    check_scalar("loss with every weight 0 (uniform scores: log V = log 4 per character)", loss,
                 np.log(4))
    # d loss / d b_vocab = mean over the N * T steps of softmax - onehot(y)
    onehot = np.eye(4)[Y]
    check_array("grads['b_vocab'] with every weight 0", grads["b_vocab"],
                (0.25 - onehot).mean(axis=(0, 1)))
    check_array("grads['W_vocab'] with every weight 0 (the hidden states are 0)",
                grads["W_vocab"], np.zeros((5, 4)))
    if not isinstance(last_state, (list, tuple)) or len(last_state) != 2:
        raise Mismatch("last_state of a two-layer model should be a list of 2 per-layer states")
    for k, pair in enumerate(last_state, start=1):
        h, c = expect_tuple(pair, ("h", "c"), f"layer {k}'s last state (an LSTM's)")
        check_array(f"layer {k}'s last h with every weight 0", h, np.zeros((2, 5)))
        check_array(f"layer {k}'s last c with every weight 0", c, np.zeros((2, 5)))
    student.method(model, "set_params", {**zeros, "b_vocab": np.log(P)})
    loss, _, _ = loss_of(student, model, X, Y)
    check_scalar("loss with b_vocab = log p (the mean of -log p[y] over the 6 characters)", loss,
                 -np.log(P[Y]).mean())
    return model, zeros


@pytest.mark.task("a3.charlm")
@pytest.mark.points(1)
def test_charlm_worked_examples(student):
    """CharLM.loss with every weight 0: log V per character, then -log p[y] with b_vocab = log p"""
    check_uniform_and_fixed_scores(student)


@pytest.mark.task("a3.charlm")
@pytest.mark.points(2)
def test_charlm_gradients_numerical(student, rng):
    """CharLM.loss (two LSTM layers, a given state): every gradient agrees with numerical ones"""
    with forward_first("the worked examples with every weight 0"):
        check_uniform_and_fixed_scores(student)
    model, like = new_model(student, 5, 3, 4, "lstm", 2)
    params = {k: 0.5 * rng.standard_normal(v.shape) for k, v in like.items()}
    student.method(model, "set_params", params)
    x, y = rng.integers(0, 5, (2, 3)), rng.integers(0, 5, (2, 3))
    state = [(0.5 * rng.standard_normal((2, 4)), 0.5 * rng.standard_normal((2, 4)))
             for _ in range(2)]
    _, grads, _ = loss_of(student, model, x, y, state)
    check_params(grads, like, "grads")

    def losses_with(key, values):  # every point in a few requests: set_params, then loss
        return student.many_methods(model, [[("set_params", ({**params, key: v},)),
                                             ("loss", (x, y, state))] for v in values], pick=0)

    with outputs() as checks:  # each parameter's gradient earns its share
        for key, value in params.items():
            with checks.part(key):
                check_numerical_gradient(f"grads['{key}']", grads[key], None, value,
                                         func="loss", wrt=key,
                                         many=lambda values, key=key: losses_with(key, values))


@pytest.mark.task("a3.charlm")
@pytest.mark.points(1)
def test_sample_from_fixed_scores(student):
    """CharLM.sample with every weight 0 but b_vocab: greedy repeats its argmax; with a
    temperature, one rng.choice(V, p=softmax(b_vocab / temperature)) per step"""
    with forward_first("the worked examples with every weight 0"):
        model, zeros = check_uniform_and_fixed_scores(student)
    student.method(model, "set_params", {**zeros, "b_vocab": np.log(P)})
    check_array("sample(0, 6) (greedy: argmax p = 3 every step)",
                student.method(model, "sample", 0, 6), np.full(6, 3), dtype=False)
    for temperature in (0.5, 2.0):
        q = P ** (1 / temperature)  # softmax(log(p) / temperature)
        rng = np.random.default_rng(11)
        expected = [rng.choice(4, p=q / q.sum()) for _ in range(30)]
        check_array(f"sample(1, 30, temperature={temperature}, seed=11)",
                    student.method(model, "sample", 1, 30, temperature=temperature, seed=11),
                    np.array(expected), dtype=False)


# -- a3.tbptt -------------------------------------------------------------------------------------
@pytest.mark.task("a3.tbptt")
@pytest.mark.points(1)
def test_tbptt_with_learning_rate_0(student, rng):
    """train_tbptt, learning_rate 0: the losses are your loss over the chunks, the state carried"""
    with forward_first("the worked examples with every weight 0"):
        check_uniform_and_fixed_scores(student)
    model, like = new_model(student, 5, 3, 4, "gru", 1)
    params = {k: 0.5 * rng.standard_normal(v.shape) for k, v in like.items()}
    student.method(model, "set_params", params)
    # 2 streams of 11 characters (of 23: one unused), (11 - 1) // 3 = 3 chunks of 3 per pass
    data = rng.integers(0, 5, 23)
    streams, expected, state = data[:22].reshape(2, 11), [], None
    for i in range(7):
        k = i % 3
        state = None if k == 0 else state
        x, y = streams[:, 3 * k:3 * k + 3], streams[:, 3 * k + 1:3 * k + 4]
        loss, _, state = loss_of(student, model, x, y, *([] if state is None else [state]))
        expected.append(loss)
    losses = student.train_tbptt(model, data, 3, 2, 7, learning_rate=0.0)
    if not isinstance(losses, (list, tuple, np.ndarray)) or len(losses) != 7:
        raise Mismatch(f"train_tbptt should return a list of 7 losses; got {losses!r:.120}")
    check_array("the losses of train_tbptt(model, data, seq_len=3, batch_size=2, "
                "num_iterations=7, learning_rate=0.0)", np.asarray(losses, dtype=float),
                np.array(expected), dtype=False)
    after = student.attr(model, "params")
    for key, value in params.items():
        check_array(f"self.params['{key}'] after training with learning_rate 0", after[key],
                    value)


@pytest.mark.task("a3.tbptt")
@pytest.mark.points(1)
def test_tbptt_learns_a_repeating_text(student, rng):
    """train_tbptt: 60 iterations on a text repeating 5 characters take the loss below 0.2"""
    with forward_first("the worked examples with every weight 0"):
        check_uniform_and_fixed_scores(student)
    model = student.new("CharLM", 5, 8, 16, "rnn", 1, seed=int(rng.integers(1000)))
    data = np.tile(rng.permutation(5), 100)  # every character says what comes next
    streams = data.reshape(2, 250)
    first, _, _ = loss_of(student, model, streams[:, :10], streams[:, 1:11])
    losses = student.train_tbptt(model, data, 10, 2, 60, learning_rate=0.05)
    if not isinstance(losses, (list, tuple, np.ndarray)) or len(losses) != 60:
        raise Mismatch(f"train_tbptt should return a list of 60 losses; got {losses!r:.120}")
    check_scalar("the loss of iteration 0 (your loss on chunk 0 before any update)", losses[0],
                 first)
    if not float(losses[-1]) < 0.2:
        raise Mismatch(f"after 60 iterations of Adam (learning rate 0.05) the loss is "
                       f"{float(losses[-1]):.3f}; expected below 0.2 on a text that repeats "
                       f"{data[:5].tolist()} (in which every character says what comes next)")
