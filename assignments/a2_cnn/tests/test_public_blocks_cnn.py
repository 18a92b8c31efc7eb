"""Public checks for the A2 building blocks and ThreeLayerConvNet: a worked example, numerical
gradients of your own code (on weights and inputs drawn from the run's --seed), and the initial
loss. Run them with `layerlab check a2`. The grade also compares your network's loss and every
gradient with a reference model holding the same weights, and trains it on the digits (the
grader measures the validation accuracy itself).
"""

import numpy as np
import pytest

from grader.compare import Mismatch, check_array, check_scalar, expect_tuple
from grader.numeric import (check_against_numerical_gradients,
                            check_model_against_numerical_gradients, forward_first)

NOTES_X = np.array([[1, 1, 1, 1, 1], [-1, 0, -3, 0, 1], [2, 1, 1, -1, 0], [0, -1, 1, 2, 1],
                    [1, 2, 1, 1, 1]], dtype=float)
FLIPPED_K = np.array([[-1, 0, 0], [0, 0, 0], [0, 0, 1]], dtype=float)  # the notes' K[::-1, ::-1]


def check_block(student, block, args, dout):
    """dx, dw, db of <block>_backward against numerical gradients of <block>_forward."""
    __tracebackhide__ = True
    check_against_numerical_gradients(student, f"{block}_forward", f"{block}_backward", args,
                                      ("dx", "dw", "db"), dout)


def check_blocks_example(student):
    __tracebackhide__ = True
    # The convolution gives Y = [[0, -2, -1], [2, 2, 4], [-1, 0, 0]]; ReLU zeroes the negatives;
    # 2x2 max pooling with stride 1 keeps the largest of each overlapping window.
    x, w, b = NOTES_X[None, None], FLIPPED_K[None, None], np.zeros(1)
    conv_param = {"stride": 1, "pad": 0}
    out, _ = student.forward("conv_relu_forward", x, w, b, conv_param)
    check_array("conv_relu_forward out", out, np.array([[[[0, 0, 0], [2, 2, 4], [0, 0, 0]]]],
                                                       dtype=float))
    out, _ = student.forward("conv_relu_pool_forward", x, w, b, conv_param,
                             {"pool_height": 2, "pool_width": 2, "stride": 1})
    check_array("conv_relu_pool_forward out", out, np.array([[[[2, 4], [2, 4]]]], dtype=float))


def check_affine_relu_example(student):
    """A1's affine example, [[-0.5, 8], [3.5, 24]] before the ReLU."""
    __tracebackhide__ = True
    x = np.arange(8, dtype=float).reshape(2, 2, 2)
    w = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 2.0]])
    out, _ = student.forward("affine_relu_forward", x, w, np.array([0.5, -1.0]))
    check_array("affine_relu_forward out", out, np.array([[0.0, 8.0], [3.5, 24.0]]))


@pytest.mark.task("a2.blocks")
@pytest.mark.points(1)
def test_conv_relu_pool_example(student):
    """conv_relu_forward and conv_relu_pool_forward on the notes' 5x5 example"""
    check_blocks_example(student)


@pytest.mark.task("a2.blocks")
@pytest.mark.points(2)
def test_blocks_backward_numerical(student, rng):
    """conv_relu, conv_relu_pool and affine_relu backwards agree with numerical gradients"""
    with forward_first("the worked examples"):
        check_blocks_example(student)
        check_affine_relu_example(student)
    x, w, b = rng.standard_normal((2, 2, 5, 6)), rng.standard_normal((3, 2, 3, 3)), \
        rng.standard_normal(3)
    conv_param = {"stride": 1, "pad": 1}
    check_block(student, "conv_relu", (x, w, b, conv_param), rng.standard_normal((2, 3, 5, 6)))
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    check_block(student, "conv_relu_pool", (x, w, b, conv_param, pool_param),
                rng.standard_normal((2, 3, 2, 3)))
    x, w, b = rng.standard_normal((4, 2, 3)), rng.standard_normal((6, 5)), rng.standard_normal(5)
    check_block(student, "affine_relu", (x, w, b), rng.standard_normal((4, 5)))


def small_cnn(student, rng, reg):
    """A ThreeLayerConvNet on 2x6x5 inputs (3 filters of 3x3, 7 hidden units, 4 classes) with
    random weights, loaded with set_params."""
    model = student.new("ThreeLayerConvNet", (2, 6, 5), num_filters=3, filter_size=3,
                        hidden_dim=7, num_classes=4, reg=reg, seed=0)
    # after the pool: 3 filters x (6 // 2) x (5 // 2) = 18 inputs to the hidden layer
    params = {"W1": 0.5 * rng.standard_normal((3, 2, 3, 3)), "b1": 0.1 * rng.standard_normal(3),
              "W2": 0.3 * rng.standard_normal((18, 7)), "b2": 0.1 * rng.standard_normal(7),
              "W3": 0.5 * rng.standard_normal((7, 4)), "b3": 0.1 * rng.standard_normal(4)}
    student.method(model, "set_params", params)
    return model, params


def check_initial_loss(student, rng):
    __tracebackhide__ = True
    model = student.new("ThreeLayerConvNet", weight_scale=1e-3, seed=0)  # 1x8x8 inputs
    X = rng.standard_normal((6, 1, 8, 8))
    scores = student.method(model, "loss", X)
    if not isinstance(scores, np.ndarray) or scores.shape != (6, 10):
        raise Mismatch(f"loss(X) should return scores of shape (6, 10); got "
                       f"{getattr(scores, 'shape', type(scores).__name__)}")
    loss, _ = expect_tuple(student.method(model, "loss", X, np.arange(6)), ("loss", "grads"),
                           "loss")
    check_scalar("loss", loss, np.log(10), rtol=1e-3)


@pytest.mark.task("a2.cnn")
@pytest.mark.points(1)
def test_cnn_initial_loss(student, rng):
    """ThreeLayerConvNet.loss: small initial weights give (N, 10) scores and a loss near log(10)"""
    check_initial_loss(student, rng)


@pytest.mark.task("a2.cnn")
@pytest.mark.points(2)
def test_cnn_gradients_numerical(student, rng):
    """ThreeLayerConvNet.loss: every gradient agrees with numerical gradients of your loss"""
    with forward_first("the initial loss of 10 classes"):
        check_initial_loss(student, rng)
    model, params = small_cnn(student, rng, reg=0.1)
    X, y = rng.standard_normal((3, 2, 6, 5)), np.array([0, 3, 1])
    check_model_against_numerical_gradients(student, model, params, X, y)
