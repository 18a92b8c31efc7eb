"""Hidden tests: word embeddings, the temporal affine layer and the masked temporal softmax loss
against the reference.

The embeddings use small vocabularies, so that words repeat within a batch (their gradients
must add up) and some words do not occur at all (their rows of dW stay 0). The loss is taken
over padded sequences (each sequence counts its first L steps), some with padded-out samples
(L = 0: a whole row of the mask False), over scattered masks, and on scores of size 1e3.
"""

import numpy as np
import pytest

from grader.compare import (check_array, check_backward, check_forward, check_scalar,
                            expect_tuple, outputs)

# (N, T, V, D)
EMBEDDINGS = [(1, 1, 4, 3), (3, 4, 5, 2), (2, 6, 3, 4), (4, 5, 20, 3)]
# (N, T, D, M)
AFFINES = [(1, 1, 3, 2), (3, 4, 5, 6), (2, 7, 4, 1)]
# (N, T, V, mask): 'all' counts every step, 'padded' the first L >= 1 steps of each sequence,
# 'empty rows' also has sequences of length 0, 'scattered' keeps random steps
LOSSES = [(1, 1, 3, "all"), (3, 4, 5, "all"), (1, 5, 4, "padded"), (4, 6, 7, "padded"),
          (3, 5, 6, "empty rows"), (5, 3, 10, "empty rows"), (4, 6, 5, "scattered")]


def shape_id(case):
    return "x".join(str(v) for v in case if isinstance(v, int)) + \
        "".join(f"-{v.replace(' ', '_')}" for v in case if isinstance(v, str))


def word_indices(rng, n, t, v):
    """(N, T) indices below V; the first and the last are the same word when N * T > 1."""
    x = rng.integers(0, v, (n, t))
    x.flat[-1] = x.flat[0]
    return x


def mask(rng, n, t, kind):
    if kind == "all":
        return np.ones((n, t), dtype=bool)
    if kind == "scattered":
        keep = rng.random((n, t)) < 0.5
        keep[0, 0], keep[-1, -1] = True, False
        return keep
    lengths = rng.integers(1, t + 1, n)
    lengths[0] = t - 1  # at least one sequence is shorter than T
    if kind == "empty rows":
        lengths[1::2] = 0  # but the first sequence still counts
    return np.arange(t) < lengths[:, None]


# -- a3.embedding -----------------------------------------------------------------------------
@pytest.mark.task("a3.embedding")
@pytest.mark.points(1)
@pytest.mark.parametrize("case", EMBEDDINGS, ids=shape_id)
def test_word_embedding_forward(student, ref, rng, case):
    """word_embedding_forward: out matches the reference"""
    n, t, v, d = case
    check_forward(student, ref, "word_embedding", word_indices(rng, n, t, v),
                  rng.standard_normal((v, d)))


@pytest.mark.task("a3.embedding")
@pytest.mark.points(3)
@pytest.mark.parametrize("case", EMBEDDINGS, ids=shape_id)
def test_word_embedding_backward(student, ref, rng, case):
    """word_embedding_backward: dW matches the reference (repeated words add up)"""
    n, t, v, d = case
    check_backward(student, ref, "word_embedding",
                   (word_indices(rng, n, t, v), rng.standard_normal((v, d))), ("dW",), rng)


# -- a3.temporal ------------------------------------------------------------------------------
def affine_inputs(rng, case):
    n, t, d, m = case
    return rng.standard_normal((n, t, d)), rng.standard_normal((d, m)), rng.standard_normal(m)


@pytest.mark.task("a3.temporal")
@pytest.mark.points(1)
@pytest.mark.parametrize("case", AFFINES, ids=shape_id)
def test_temporal_affine_forward(student, ref, rng, case):
    """temporal_affine_forward: out matches the reference"""
    check_forward(student, ref, "temporal_affine", *affine_inputs(rng, case))


@pytest.mark.task("a3.temporal")
@pytest.mark.points(2)
@pytest.mark.parametrize("case", AFFINES, ids=shape_id)
def test_temporal_affine_backward(student, ref, rng, case):
    """temporal_affine_backward: dx, dw and db (summed over batch and time) match the reference"""
    check_backward(student, ref, "temporal_affine", affine_inputs(rng, case), ("dx", "dw", "db"),
                   rng)


def check_masked_loss(student, ref, x, y, keep):
    """temporal_softmax_loss's loss and dx against the reference, each worth half the case."""
    __tracebackhide__ = True
    got = expect_tuple(student.temporal_softmax_loss(x, y, keep), ("loss", "dx"),
                       "temporal_softmax_loss")
    loss, dx = ref.temporal_softmax_loss(x, y, keep)
    with outputs() as checks:
        with checks.part("loss"):
            check_scalar("loss", got[0], loss)
        with checks.part("dx"):
            check_array("dx", got[1], dx)


@pytest.mark.task("a3.temporal")
@pytest.mark.points(4)
@pytest.mark.parametrize("case", LOSSES, ids=shape_id)
def test_temporal_softmax_loss(student, ref, rng, case):
    """temporal_softmax_loss: loss and dx match the reference (masked steps, sum / N, 1e3 scores)"""
    n, t, v, kind = case
    y, keep = rng.integers(0, v, (n, t)), mask(rng, n, t, kind)
    check_masked_loss(student, ref, rng.standard_normal((n, t, v)), y, keep)
    check_masked_loss(student, ref, 1e3 * rng.standard_normal((n, t, v)), y, keep)
