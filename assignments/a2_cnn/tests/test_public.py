"""Public checks for the A2 layers: the worked examples of the notes and numerical gradients of
your own forward passes (on inputs drawn from the run's --seed). Run them with
`layerlab check a2`. The grade also uses hidden tests that check every output and gradient on
random shapes (odd sizes, stride 2 and 3, padding 0 to 2, rectangular kernels, N = 1) against a
reference implementation.
"""

import numpy as np
import pytest

from grader.compare import Mismatch, check_array, check_scalar, expect_tuple
from grader.numeric import (check_against_numerical_gradients,
                            check_loss_against_numerical_gradient, forward_first)

# The notes' examples, each a single 2-d image or kernel.
NOTES_X = np.array([[1, 1, 1, 1, 1], [-1, 0, -3, 0, 1], [2, 1, 1, -1, 0], [0, -1, 1, 2, 1],
                    [1, 2, 1, 1, 1]], dtype=float)
NOTES_K = np.array([[1, 0, 0], [0, 0, 0], [0, 0, -1]], dtype=float)
NOTES_Y = np.array([[0, -2, -1], [2, 2, 4], [-1, 0, 0]], dtype=float)  # true convolution X * K
BINARY = np.array([[1, 1, 1, 0, 0], [0, 1, 1, 1, 0], [0, 0, 1, 1, 1], [0, 0, 1, 1, 0],
                   [0, 1, 1, 0, 0]], dtype=float)
CROSS = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]], dtype=float)
POOL_X = np.array([[3, 6, 1, 4], [4, 7, 7, 8], [2, 2, 1, 2], [2, 4, 3, 4]], dtype=float)


def image(a):
    """A 2-d array as a batch of one single-channel image, shape (1, 1, H, W)."""
    return a[None, None]


def pool_param(height, width, stride):
    return {"pool_height": height, "pool_width": width, "stride": stride}


# -- a2.carryover ---------------------------------------------------------------------------------
def check_affine_example(student):
    __tracebackhide__ = True
    x = np.arange(8, dtype=float).reshape(2, 2, 2)
    w = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 2.0]])
    out, _ = student.forward("affine_forward", x, w, np.array([0.5, -1.0]))
    check_array("affine_forward out", out, np.array([[-0.5, 8.0], [3.5, 24.0]]))


def check_softmax_example(student):
    __tracebackhide__ = True
    loss, _ = expect_tuple(student.softmax_loss(np.zeros((4, 5)), np.array([0, 1, 2, 3])),
                           ("loss", "dx"), "softmax_loss")
    check_scalar("softmax_loss of equal scores (log 5)", loss, np.log(5))


@pytest.mark.task("a2.carryover")
@pytest.mark.points(1)
def test_carryover_examples(student):
    """affine_forward, relu_forward/backward and softmax_loss on small examples"""
    check_affine_example(student)
    x = np.array([[-2.0, 0.0, 3.0], [1.5, -0.1, 0.2]])
    out, cache = student.forward("relu_forward", x)
    check_array("relu_forward out", out, np.array([[0.0, 0.0, 3.0], [1.5, 0.0, 0.2]]))
    check_array("relu_backward dx", student.relu_backward(np.full_like(x, 2.0), cache),
                np.array([[0.0, 0.0, 2.0], [2.0, 0.0, 2.0]]))
    check_softmax_example(student)


@pytest.mark.task("a2.carryover")
@pytest.mark.points(1)
def test_carryover_gradients_numerical(student, rng):
    """affine_backward and softmax_loss: gradients agree with numerical gradients of your code"""
    with forward_first("the worked examples"):
        check_affine_example(student)
        check_softmax_example(student)
    x, w, b = rng.standard_normal((3, 2, 2)), rng.standard_normal((4, 3)), rng.standard_normal(3)
    check_against_numerical_gradients(student, "affine_forward", "affine_backward", (x, w, b),
                                      ("dx", "dw", "db"), rng.standard_normal((3, 3)))
    check_loss_against_numerical_gradient(student, "softmax_loss", rng.standard_normal((3, 4)),
                                          np.array([0, 3, 1]))


# -- a2.conv --------------------------------------------------------------------------------------
def check_conv_example(student):
    __tracebackhide__ = True
    # True convolution flips the kernel; your layer (like every deep-learning library's)
    # does not, so flipping K in both axes beforehand reproduces the notes' Y.
    flipped = NOTES_K[::-1, ::-1].copy()
    out, _ = student.forward("conv_forward_naive", image(NOTES_X), image(flipped), np.zeros(1),
                             {"stride": 1, "pad": 0})
    check_array("out", out, image(NOTES_Y))


@pytest.mark.task("a2.conv")
@pytest.mark.points(1)
def test_conv_true_convolution_example(student):
    """conv_forward_naive: the notes' true convolution, by cross-correlating the flipped kernel"""
    check_conv_example(student)


@pytest.mark.task("a2.conv")
@pytest.mark.points(1)
def test_conv_binary_image_example(student):
    """conv_forward_naive: the notes' binary image with the X-shaped kernel, plus a bias"""
    out, _ = student.forward("conv_forward_naive", image(BINARY), image(CROSS), np.array([0.5]),
                             {"stride": 1, "pad": 0})
    check_array("out", out, image(np.array([[4, 3, 4], [2, 4, 3], [2, 3, 4]]) + 0.5))


@pytest.mark.task("a2.conv")
@pytest.mark.points(1)
def test_conv_stride_and_padding(student):
    """conv_forward_naive: stride 2, pad 1 on a 6x5 input; padding on H and W, floor division"""
    # All-ones input with 2 channels and an all-ones 3x3 filter: each output counts the input
    # pixels (not padding) under its window, twice. H' = 1 + (6 + 2 - 3) // 2 = 3 and
    # W' = 1 + (5 + 2 - 3) // 2 = 3. Rows under the windows: [-1, 1], [1, 3], [3, 5] -> 2, 3, 3
    # pixels (the padding row 6 is in no window); columns [-1, 1], [1, 3], [3, 5] -> 2, 3, 2
    # pixels (column 5 is padding).
    x, w = np.ones((1, 2, 6, 5)), np.ones((1, 2, 3, 3))
    out, _ = student.forward("conv_forward_naive", x, w, np.array([-1.0]),
                             {"stride": 2, "pad": 1})
    check_array("out", out, image(2 * np.outer([2, 3, 3], [2, 3, 2]) - 1.0))


@pytest.mark.task("a2.conv")
@pytest.mark.points(2)
def test_conv_backward_numerical(student, rng):
    """conv_backward_naive: dx, dw, db agree with numerical gradients of your forward"""
    with forward_first("conv_forward_naive on the notes' example"):
        check_conv_example(student)
    x, w, b = rng.standard_normal((2, 2, 5, 4)), rng.standard_normal((3, 2, 3, 2)), \
        rng.standard_normal(3)
    conv_param = {"stride": 2, "pad": 1}  # H' = 1 + (5 + 2 - 3) // 2 = 3, W' = 3
    check_against_numerical_gradients(student, "conv_forward_naive", "conv_backward_naive",
                                      (x, w, b, conv_param), ("dx", "dw", "db"),
                                      rng.standard_normal((2, 3, 3, 3)))


# -- a2.max_pool ----------------------------------------------------------------------------------
def check_max_pool_example(student):
    __tracebackhide__ = True
    x = np.stack([POOL_X, -POOL_X])[None]  # two channels, pooled separately
    out, _ = student.forward("max_pool_forward_naive", x, pool_param(2, 2, 2))
    check_array("out", out, np.array([[[[7, 8], [4, 4]], [[-3, -1], [-2, -1]]]], dtype=float))


@pytest.mark.task("a2.max_pool")
@pytest.mark.points(1)
def test_max_pool_example(student):
    """max_pool_forward_naive: the notes' 4x4 example, 2x2 windows, stride 2"""
    check_max_pool_example(student)


@pytest.mark.task("a2.max_pool")
@pytest.mark.points(1)
def test_max_pool_backward_ties_and_overlap(student):
    """max_pool_backward_naive: ties go to the first maximum only; overlapping windows add up"""
    x = image(np.array([[1, 5, 5], [5, 2, 0], [0, 3, 4]], dtype=float))
    # 2x2 windows, stride 1: top-left has 5 three times -> only (0, 1), the first in row-major
    # order; top-right has 5 at (0, 1) and (0, 2) -> (0, 1) again; bottom-left 5 at (1, 0);
    # bottom-right 4 at (2, 2).
    out, cache = student.forward("max_pool_forward_naive", x, pool_param(2, 2, 1))
    check_array("out", out, image(np.array([[5, 5], [5, 4]], dtype=float)))
    dx = student.max_pool_backward_naive(image(np.array([[1.0, 10.0], [100.0, 1000.0]])), cache)
    check_array("dx", dx, image(np.array([[0, 11, 0], [100, 0, 0], [0, 0, 1000]], dtype=float)))


@pytest.mark.task("a2.max_pool")
@pytest.mark.points(1)
def test_max_pool_backward_numerical(student, rng):
    """max_pool_backward_naive: dx agrees with numerical gradients (3x2 windows, stride 2)"""
    with forward_first("max_pool_forward_naive on the notes' example"):
        check_max_pool_example(student)
    x = rng.permutation(2 * 2 * 7 * 6).reshape(2, 2, 7, 6) / 10.0  # distinct values: no ties
    check_against_numerical_gradients(student, "max_pool_forward_naive", "max_pool_backward_naive",
                                      (x, pool_param(3, 2, 2)), ("dx",),
                                      rng.standard_normal((2, 2, 3, 3)))


# -- a2.avg_pool ----------------------------------------------------------------------------------
def check_avg_pool_example(student):
    """avg_pool_forward_naive on the notes' example; returns the cache."""
    __tracebackhide__ = True
    out, cache = student.forward("avg_pool_forward_naive", image(POOL_X), pool_param(2, 2, 2))
    check_array("out", out, image(np.array([[5, 5], [2.5, 2.5]])))
    return cache


@pytest.mark.task("a2.avg_pool")
@pytest.mark.points(1)
def test_avg_pool_example(student):
    """avg_pool_forward_naive / backward: the notes' 4x4 example, 2x2 windows, stride 2"""
    cache = check_avg_pool_example(student)
    dx = student.avg_pool_backward_naive(image(np.array([[4.0, 8.0], [-4.0, 0.0]])), cache)
    check_array("dx", dx, image(np.kron([[1.0, 2.0], [-1.0, 0.0]], np.ones((2, 2)))))


@pytest.mark.task("a2.avg_pool")
@pytest.mark.points(1)
def test_avg_pool_backward_numerical(student, rng):
    """avg_pool_backward_naive: dx agrees with numerical gradients (overlapping 3x3, stride 2)"""
    with forward_first("avg_pool_forward_naive on the notes' example"):
        check_avg_pool_example(student)
    x = rng.standard_normal((2, 3, 6, 7))
    check_against_numerical_gradients(student, "avg_pool_forward_naive", "avg_pool_backward_naive",
                                      (x, pool_param(3, 3, 2)), ("dx",),
                                      rng.standard_normal((2, 3, 2, 3)))


# -- a2.spatial_bn --------------------------------------------------------------------------------
def check_spatial_batchnorm_example(student, rng):
    """The train-mode output; returns bn_param as the call left it, and the batch statistics."""
    __tracebackhide__ = True
    x = 2.0 * rng.standard_normal((3, 2, 4, 5)) + np.array([5.0, -3.0])[None, :, None, None]
    gamma, beta = np.array([1.0, 2.0]), np.array([0.0, -1.0])
    result, (_, _, _, param) = student.with_args("spatial_batchnorm_forward", x, gamma, beta,
                                                 {"mode": "train"})
    out, _ = expect_tuple(result, ("out", "cache"), "spatial_batchnorm_forward")
    mu, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    per_channel = (1, 2, 1, 1)
    x_hat = (x - mu.reshape(per_channel)) / np.sqrt(var.reshape(per_channel) + 1e-5)
    check_array("out", out, gamma.reshape(per_channel) * x_hat + beta.reshape(per_channel))
    return param, mu, var


@pytest.mark.task("a2.spatial_bn")
@pytest.mark.points(1)
def test_spatial_batchnorm_train_example(student, rng):
    """spatial_batchnorm_forward: statistics per channel over N, H and W; running statistics"""
    param, mu, var = check_spatial_batchnorm_example(student, rng)
    if not isinstance(param, dict) or "running_mean" not in param or "running_var" not in param:
        raise Mismatch("bn_param should hold 'running_mean' and 'running_var' after a train step")
    # momentum 0.9 from running_mean = running_var = 0
    check_array("running_mean", param["running_mean"], 0.1 * mu)
    check_array("running_var", param["running_var"], 0.1 * var)


@pytest.mark.task("a2.spatial_bn")
@pytest.mark.points(2)
def test_spatial_batchnorm_backward_numerical(student, rng):
    """spatial_batchnorm_backward: dx, dgamma, dbeta agree with numerical gradients"""
    with forward_first("spatial_batchnorm_forward (train) on the worked example"):
        check_spatial_batchnorm_example(student, rng)
    x = 3.0 * rng.standard_normal((2, 3, 3, 2)) + rng.uniform(-5, 5, (1, 3, 1, 1))
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    check_against_numerical_gradients(student, "spatial_batchnorm_forward",
                                      "spatial_batchnorm_backward",
                                      (x, gamma, beta, {"mode": "train"}),
                                      ("dx", "dgamma", "dbeta"), rng.standard_normal(x.shape))
