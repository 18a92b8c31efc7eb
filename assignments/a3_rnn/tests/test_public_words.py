"""Public checks for word embeddings, the temporal affine layer, the masked temporal softmax loss,
gradient clipping and Adam: the handout's worked examples, numerical gradients of your own code and
the definition of the global norm (on inputs drawn from the run's --seed). Run them with
`layerlab check a3`. The grade also compares every output and gradient with a reference
implementation: larger vocabularies with many repeated words, padded sequences and samples that
are padding only, scores of size 1e3, and clipping below and above the threshold.
"""

import numpy as np
import pytest

from grader.compare import Mismatch, check_array, check_scalar, expect_tuple
from grader.numeric import (check_against_numerical_gradients, check_numerical_gradient,
                            forward_first)


# -- a3.embedding ---------------------------------------------------------------------------------
EMBEDDING_W = np.array([[0.0, 0.0], [1.0, 10.0], [2.0, 20.0], [3.0, 30.0]])  # V = 4, D = 2
EMBEDDING_X = np.array([[1, 3, 1], [0, 1, 2]])  # word 1 three times


def check_embedding_example(student):
    """word_embedding_forward on the example; returns the cache."""
    __tracebackhide__ = True
    out, cache = student.forward("word_embedding_forward", EMBEDDING_X, EMBEDDING_W)
    check_array("out", out, np.array([[[1, 10], [3, 30], [1, 10]], [[0, 0], [1, 10], [2, 20]]],
                                     dtype=float))
    return cache


@pytest.mark.task("a3.embedding")
@pytest.mark.points(1)
def test_embedding_example_with_a_repeated_word(student):
    """word_embedding_forward / backward: word 1 occurs three times, its gradients add up"""
    cache = check_embedding_example(student)
    dout = np.array([[[1, 0], [2, 0], [3, 0]], [[0, 1], [0, 2], [0, 4]]], dtype=float)
    # dW[1] = dout[0, 0] + dout[0, 2] + dout[1, 1]; dW[0], dW[2], dW[3] one occurrence each
    check_array("dW", student.word_embedding_backward(dout, cache),
                np.array([[0, 1], [4, 2], [0, 4], [2, 0]], dtype=float))


@pytest.mark.task("a3.embedding")
@pytest.mark.points(1)
def test_embedding_backward_numerical(student, rng):
    """word_embedding_backward: dW agrees with numerical gradients of your forward"""
    with forward_first("word_embedding_forward on the handout's example"):
        check_embedding_example(student)
    x, W = rng.integers(0, 4, (3, 5)), rng.standard_normal((4, 3))  # 15 words of 4: repeats
    dout = rng.standard_normal((3, 5, 3))
    _, cache = student.forward("word_embedding_forward", x, W)
    check_numerical_gradient("dW", student.word_embedding_backward(dout, cache),
                             lambda v: student.forward("word_embedding_forward", x, v)[0], W,
                             dout, func="word_embedding_forward", wrt="W")


# -- a3.temporal ----------------------------------------------------------------------------------
def check_temporal_examples(student):
    __tracebackhide__ = True
    x = np.array([[[1.0, 2.0], [3.0, 4.0]]])  # N = 1, T = 2, D = 2
    w, b = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, -1.0]]), np.array([0.0, 0.0, 10.0])
    out, _ = student.forward("temporal_affine_forward", x, w, b)
    check_array("temporal_affine_forward out", out, np.array([[[1.0, 2.0, 9.0],
                                                                [3.0, 4.0, 9.0]]]))
    # Equal scores over V = 4 words: every counted step costs log 4. Three steps count, and the
    # sum is divided by N = 2 (not by the 3 counted steps, nor by N * T = 6).
    mask = np.array([[True, True, False], [True, False, False]])
    y = np.array([[0, 3, 1], [2, 2, 2]])
    loss, dx = expect_tuple(student.temporal_softmax_loss(np.zeros((2, 3, 4)), y, mask),
                            ("loss", "dx"), "temporal_softmax_loss")
    check_scalar("temporal_softmax_loss (3 counted steps of log 4, / N = 2)", loss,
                 1.5 * np.log(4.0))
    expected = np.full((2, 3, 4), 0.25)
    expected[np.arange(2)[:, None], np.arange(3), y] -= 1.0
    check_array("temporal_softmax_loss dx", dx, expected * mask[:, :, None] / 2)


@pytest.mark.task("a3.temporal")
@pytest.mark.points(1)
def test_temporal_examples(student):
    """temporal_affine_forward and temporal_softmax_loss (masked steps, divided by N) by hand"""
    check_temporal_examples(student)


@pytest.mark.task("a3.temporal")
@pytest.mark.points(1)
def test_temporal_affine_backward_numerical(student, rng):
    """temporal_affine_backward: dx, dw, db agree with numerical gradients of your forward"""
    with forward_first("the handout's examples"):
        check_temporal_examples(student)
    args = rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5)), rng.standard_normal(5)
    check_against_numerical_gradients(student, "temporal_affine_forward",
                                      "temporal_affine_backward", args, ("dx", "dw", "db"),
                                      rng.standard_normal((2, 3, 5)))


@pytest.mark.task("a3.temporal")
@pytest.mark.points(1)
def test_temporal_softmax_loss_numerical(student, rng):
    """temporal_softmax_loss: dx agrees with the numerical gradient of your loss (with a mask)"""
    with forward_first("the handout's examples"):
        check_temporal_examples(student)
    x, y = rng.standard_normal((3, 4, 5)), rng.integers(0, 5, (3, 4))
    mask = np.arange(4) < np.array([[4], [2], [0]])  # lengths 4, 2 and 0 (padding only)

    def loss_and_dx(v):
        return expect_tuple(student.temporal_softmax_loss(v, y, mask), ("loss", "dx"),
                            "temporal_softmax_loss")

    check_numerical_gradient("dx", loss_and_dx(x)[1], lambda v: loss_and_dx(v)[0], x,
                             func="temporal_softmax_loss", wrt="x")


# -- a3.clipping ----------------------------------------------------------------------------------
def clip(student, grads, max_norm):
    __tracebackhide__ = True
    clipped, total_norm = expect_tuple(student.clip_grad_norm(grads, max_norm),
                                       ("clipped", "total_norm"), "clip_grad_norm")
    if not isinstance(clipped, dict) or set(clipped) != set(grads):
        raise Mismatch(f"clip_grad_norm should return a dict with the keys {sorted(grads)}")
    return clipped, total_norm


@pytest.mark.task("a3.clipping")
@pytest.mark.points(1)
def test_clipping_examples(student):
    """clip_grad_norm: [3, 4] has norm 5; [3] and [4] too, together, each below max_norm 4.5"""
    one = {"w": np.array([3.0, 4.0])}
    clipped, total_norm = clip(student, one, 10.0)
    check_scalar("total_norm", total_norm, 5.0)
    check_array("clipped['w'] (below max_norm 10: unchanged)", clipped["w"], one["w"])
    clipped, _ = clip(student, one, 1.0)
    check_array("clipped['w'] (max_norm 1)", clipped["w"], np.array([0.6, 0.8]))
    # each norm (3 and 4) is below 4.5, the global norm 5 is not: both scaled by 4.5 / 5
    two = {"a": np.array([3.0]), "b": np.array([[4.0]])}
    clipped, total_norm = clip(student, two, 4.5)
    check_scalar("total_norm (of {'a': [3], 'b': [[4]]})", total_norm, 5.0)
    check_array("clipped['a'] (max_norm 4.5)", clipped["a"], np.array([2.7]))
    check_array("clipped['b'] (max_norm 4.5)", clipped["b"], np.array([[3.6]]))


@pytest.mark.task("a3.clipping")
@pytest.mark.points(1)
def test_clipping_follows_the_definition(student, rng):
    """clip_grad_norm: the global norm of random gradients, and what clipping it to half does"""
    grads = {"Wx": rng.standard_normal((3, 4)), "Wh": rng.standard_normal((4, 4)),
             "b": rng.standard_normal(4)}
    norm = np.sqrt(sum(np.sum(g ** 2) for g in grads.values()))
    clipped, total_norm = clip(student, grads, norm / 2)
    check_scalar("total_norm", total_norm, norm)
    for name, g in grads.items():
        check_array(f"clipped['{name}'] (max_norm = total_norm / 2)", clipped[name], g / 2)


# -- a3.adam --------------------------------------------------------------------------------------
@pytest.mark.task("a3.adam")
@pytest.mark.points(1)
def test_adam_first_two_steps(student):
    """adam: bias correction makes the first step about learning_rate per weight; t counts steps"""
    w, dw = np.array([0.5, -0.5, 2.0]), np.array([3.0, -0.01, 1e-3])
    # t = 1: m_hat = m / 0.1 = dw and v_hat = v / 0.001 = dw^2, so the step is ~1e-3 * sign(dw)
    next_w, config = expect_tuple(student.adam(w, dw, None), ("next_w", "config"), "adam")
    if not isinstance(config, dict) or not {"m", "v", "t"} <= set(config):
        raise Mismatch("adam should return its config dict with 'm', 'v' and 't' in it")
    check_array("config['m'] after one step", config["m"], 0.1 * dw)
    check_array("config['v'] after one step", config["v"], 0.001 * dw ** 2)
    check_scalar("config['t'] after one step", config["t"], 1)
    check_array("next_w after one step", next_w, [0.499, -0.499, 1.999], rtol=1e-7)
    # the same gradient again: m_hat and v_hat stay dw and dw^2, another step of ~1e-3
    next_w, config = expect_tuple(student.adam(next_w, dw, config), ("next_w", "config"), "adam")
    check_scalar("config['t'] after two steps", config["t"], 2)
    check_array("next_w after two steps", next_w, [0.498, -0.498, 1.998], rtol=1e-6)
