"""Public checks for the computational graph, XOR, FullyConnectedNet and its training: the notes'
worked examples, numerical gradients of your own code, and a short training run on digits.
Run them with `layerlab check a1`.
"""

import numpy as np
import pytest

from grader.compare import Mismatch, check_array, check_scalar, expect_tuple
from grader.numeric import numerical_gradient

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])


@pytest.mark.task("a1.graph")
@pytest.mark.points(1)
def test_square_of_sum_example(student):
    """square_of_sum: x = 1, y = 2 gives f = 9 and df/dx = df/dy = 2(x + y) = 6"""
    f, cache = student.forward("square_of_sum_forward", np.array([1.0]), np.array([2.0]))
    check_array("f", f, np.array([9.0]))
    dx, dy = expect_tuple(student.square_of_sum_backward(np.array([1.0]), cache), ("dx", "dy"),
                          "square_of_sum_backward")
    check_array("dx", dx, np.array([6.0]))
    check_array("dy", dy, np.array([6.0]))


@pytest.mark.task("a1.graph")
@pytest.mark.points(1)
def test_square_of_sum_numerical(student):
    """square_of_sum_backward: dx, dy agree with numerical gradients of your forward"""
    rng = np.random.default_rng(2)
    x, y, df = rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    _, cache = student.forward("square_of_sum_forward", x, y)
    dx, dy = expect_tuple(student.square_of_sum_backward(df, cache), ("dx", "dy"),
                          "square_of_sum_backward")
    f = lambda x_, y_: student.forward("square_of_sum_forward", x_, y_)[0]  # noqa: E731
    check_array("dx", dx, numerical_gradient(lambda v: f(v, y), x, df), rtol=1e-5)
    check_array("dy", dy, numerical_gradient(lambda v: f(x, v), y, df), rtol=1e-5)


@pytest.mark.task("a1.xor")
@pytest.mark.points(1)
def test_xor_notes_solution(student):
    """xor_forward: the notes' weights W=[[1,1],[1,1]], c=[0,-1], w=[1,-2], b=0 give [0, 1, 1, 0]"""
    scores = student.xor_forward(XOR_X, np.ones((2, 2)), np.array([0.0, -1.0]),
                                 np.array([1.0, -2.0]), 0.0)
    check_array("scores", scores, np.array([0.0, 1.0, 1.0, 0.0]))


@pytest.mark.task("a1.xor")
@pytest.mark.points(1)
def test_train_xor_seed_0(student):
    """train_xor: seed 0 with the default settings learns XOR (scores > 0.5 only at [0,1], [1,0])"""
    with student.timeout(30):
        params = student.train_xor(seed=0)
    if not isinstance(params, dict) or not {"W", "c", "w", "b"} <= set(params):
        raise Mismatch("train_xor should return a dict with keys 'W', 'c', 'w' and 'b'")
    W, c, w, b = (np.asarray(params[k], dtype=np.float64) for k in ("W", "c", "w", "b"))
    scores = np.maximum(0, XOR_X @ W + c) @ w + b
    if not np.array_equal(scores > 0.5, [False, True, True, False]):
        raise Mismatch(f"the trained network gives scores {np.round(scores, 3)}; expected > 0.5 "
                       "exactly for [0, 1] and [1, 0]")


def small_net(student, reg):
    """A 3-4-3 net with fixed weights, loaded with set_params."""
    model = student.new("FullyConnectedNet", [4], 3, 3, reg=reg, seed=0)
    rng = np.random.default_rng(5)
    params = {"W1": rng.standard_normal((3, 4)), "b1": 0.1 * rng.standard_normal(4),
              "W2": rng.standard_normal((4, 3)) / 2, "b2": 0.1 * rng.standard_normal(3)}
    student.method(model, "set_params", params)
    return model, params


@pytest.mark.task("a1.fcnet")
@pytest.mark.points(2)
def test_fc_net_gradients_numerical(student):
    """FullyConnectedNet.loss: every gradient agrees with numerical gradients of your loss"""
    model, params = small_net(student, reg=0.1)
    rng = np.random.default_rng(6)
    X, y = rng.standard_normal((5, 3)), np.array([0, 2, 1, 1, 0])
    loss, grads = expect_tuple(student.method(model, "loss", X, y), ("loss", "grads"), "loss")
    if not isinstance(grads, dict) or set(grads) != set(params):
        raise Mismatch(f"grads should be a dict with keys {sorted(params)}")

    def loss_with(key, value):
        student.method(model, "set_params", {**params, key: value})
        return student.method(model, "loss", X, y)[0]

    for key, value in params.items():
        check_array(f"grads['{key}']", grads[key],
                    numerical_gradient(lambda v: loss_with(key, v), value), rtol=1e-5, atol=1e-8)


@pytest.mark.task("a1.fcnet")
@pytest.mark.points(1)
def test_fc_net_initial_loss(student):
    """FullyConnectedNet.loss: tiny initial weights give a loss of about log(10) for 10 classes"""
    model = student.new("FullyConnectedNet", [20, 15], 30, 10, weight_scale=1e-3, seed=0)
    X = np.random.default_rng(7).standard_normal((8, 30))
    loss, _ = expect_tuple(student.method(model, "loss", X, np.arange(8)), ("loss", "grads"),
                           "loss")
    check_scalar("loss", loss, np.log(10), rtol=1e-3)


@pytest.mark.task("a1.training")
@pytest.mark.points(2)
@pytest.mark.timeout(300)
def test_digits_training(student):
    """train: 5 epochs of Adam on digits reach 90 % validation accuracy"""
    from sklearn.datasets import load_digits

    data = load_digits()
    order = np.random.default_rng(0).permutation(len(data.target))
    X, y = data.data[order] / 16.0, data.target[order]
    model = student.new("FullyConnectedNet", [100], 64, 10, weight_scale=0.1, reg=1e-4, seed=0)
    with student.timeout(120):
        history = student.train(model, X[:1500], y[:1500], X[1500:], y[1500:], epochs=5,
                                update_rule="adam", optim_config={"learning_rate": 1e-2},
                                seed=0, verbose=False)
    scores = student.method(model, "loss", X[1500:])
    accuracy = float(np.mean(np.argmax(scores, axis=1) == y[1500:]))
    if accuracy < 0.9:
        raise Mismatch(f"validation accuracy {accuracy:.3f} after 5 epochs; expected at least "
                       f"0.9 (your history: {history!r:.500})")
