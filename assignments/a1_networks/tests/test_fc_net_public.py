"""Public checks for FullyConnectedNet and its training: the initial loss, numerical gradients
of your own loss (on weights and inputs drawn from the run's --seed), and a short training run
on digits. Run them with `layerlab check a1`.
"""

import numpy as np
import pytest

from grader.compare import Mismatch, check_scalar, expect_tuple
from grader.numeric import check_model_against_numerical_gradients, forward_first


def small_net(student, rng, reg):
    """A 3-4-3 net with random weights, loaded with set_params."""
    model = student.new("FullyConnectedNet", [4], 3, 3, reg=reg, seed=0)
    params = {"W1": rng.standard_normal((3, 4)), "b1": 0.1 * rng.standard_normal(4),
              "W2": rng.standard_normal((4, 3)) / 2, "b2": 0.1 * rng.standard_normal(3)}
    student.method(model, "set_params", params)
    return model, params


def check_initial_loss(student, rng):
    __tracebackhide__ = True
    model = student.new("FullyConnectedNet", [20, 15], 30, 10, weight_scale=1e-3, seed=0)
    X = rng.standard_normal((8, 30))
    loss, _ = expect_tuple(student.method(model, "loss", X, np.arange(8)), ("loss", "grads"),
                           "loss")
    check_scalar("loss", loss, np.log(10), rtol=1e-3)


@pytest.mark.task("a1.fcnet")
@pytest.mark.points(2)
def test_fc_net_gradients_numerical(student, rng):
    """FullyConnectedNet.loss: every gradient agrees with numerical gradients of your loss"""
    with forward_first("the initial loss of 10 classes"):
        check_initial_loss(student, rng)
    model, params = small_net(student, rng, reg=0.1)
    X, y = rng.standard_normal((5, 3)), np.array([0, 2, 1, 1, 0])
    check_model_against_numerical_gradients(student, model, params, X, y)


@pytest.mark.task("a1.fcnet")
@pytest.mark.points(1)
def test_fc_net_initial_loss(student, rng):
    """FullyConnectedNet.loss: tiny initial weights give a loss of about log(10) for 10 classes"""
    check_initial_loss(student, rng)


@pytest.mark.task("a1.training")
@pytest.mark.points(2)
@pytest.mark.timeout(300)
def test_digits_training(student):
    """train: 5 epochs of Adam on digits reach 90 % validation accuracy"""
    from sklearn.datasets import load_digits

    data = load_digits()
    # the fixed split of the hidden tests (1500 training, 297 validation images)
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
