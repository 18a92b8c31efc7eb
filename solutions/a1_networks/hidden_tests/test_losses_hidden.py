"""Hidden tests: every loss and its gradient against the reference, several shapes, large inputs."""

import numpy as np
import pytest

from grader.compare import Mismatch, check_loss

SHAPES = [(1, 3), (5, 4), (7, 10), (16, 2)]


def scores(rng, n, c, scale=1.0):
    return scale * rng.standard_normal((n, c)), rng.integers(0, c, size=n)


@pytest.mark.task("a1.softmax")
@pytest.mark.points(6)
@pytest.mark.parametrize("n,c", SHAPES, ids=[f"{n}x{c}" for n, c in SHAPES])
def test_softmax_loss(student, ref, rng, n, c):
    """softmax_loss: loss and dx match the reference"""
    check_loss(student, ref, "softmax_loss", *scores(rng, n, c))


@pytest.mark.task("a1.softmax")
@pytest.mark.points(2)
def test_softmax_loss_large_scores(student, ref, rng):
    """softmax_loss: scores of magnitude 1e3 give finite values without overflow warnings"""
    check_loss(student, ref, "softmax_loss", *scores(rng, 6, 5, scale=1e3))
    if student.warnings:
        raise Mismatch("softmax_loss warned on large scores: " + student.warnings[0])


@pytest.mark.task("a1.svm")
@pytest.mark.points(6)
@pytest.mark.parametrize("n,c", SHAPES, ids=[f"{n}x{c}" for n, c in SHAPES])
def test_svm_loss(student, ref, rng, n, c):
    """svm_loss: loss and dx match the reference"""
    x, y = scores(rng, n, c)
    # one violated margin: with every margin met (likely for one sample) zeros would be right
    x[0, (y[0] + 1) % c] = x[0, y[0]] - 0.5
    check_loss(student, ref, "svm_loss", x, y)


REGRESSION_SHAPES = [(1, 5), (4, 3), (3, 2, 5), (9,)]  # elementwise losses: any shape


def shape_id(shape):
    return "x".join(map(str, shape))


def pairs(rng, shape):
    return rng.standard_normal(shape), rng.standard_normal(shape)


def logits_and_targets(rng, shape, scale=1.0):
    """Logits and targets in [0, 1]: about half of them hard 0/1 labels, the rest soft."""
    y = rng.uniform(0.0, 1.0, shape)
    hard = rng.random(shape) < 0.5
    y[hard] = np.round(y[hard])
    return scale * rng.standard_normal(shape), y


@pytest.mark.task("a1.mse")
@pytest.mark.points(5)
@pytest.mark.parametrize("shape", REGRESSION_SHAPES, ids=shape_id)
def test_mse_loss(student, ref, rng, shape):
    """mse_loss: loss and dx match the reference (mean over every element)"""
    check_loss(student, ref, "mse_loss", *pairs(rng, shape))


@pytest.mark.task("a1.mae")
@pytest.mark.points(4)
@pytest.mark.parametrize("shape", REGRESSION_SHAPES, ids=shape_id)
def test_mae_loss(student, ref, rng, shape):
    """mae_loss: loss and dx match the reference (mean over every element)"""
    check_loss(student, ref, "mae_loss", *pairs(rng, shape))


@pytest.mark.task("a1.mae")
@pytest.mark.points(1)
def test_mae_loss_ties(student, ref, rng):
    """mae_loss: dx is 0 where x == y"""
    x, y = pairs(rng, (4, 5))
    y.flat[::3] = x.flat[::3]
    check_loss(student, ref, "mae_loss", x, y)


@pytest.mark.task("a1.bce")
@pytest.mark.points(4)
@pytest.mark.parametrize("shape", REGRESSION_SHAPES, ids=shape_id)
def test_bce_with_logits_loss(student, ref, rng, shape):
    """bce_with_logits_loss: loss and dx match the reference, hard and soft targets"""
    check_loss(student, ref, "bce_with_logits_loss", *logits_and_targets(rng, shape, 3.0))


@pytest.mark.task("a1.bce")
@pytest.mark.points(2)
def test_bce_with_logits_loss_large_logits(student, ref, rng):
    """bce_with_logits_loss: logits of magnitude 1e3 give finite values without warnings"""
    x, y = logits_and_targets(rng, (6, 5), scale=1e3)
    x.flat[:4] = 1e3, -1e3, 1e3, -1e3
    y.flat[:4] = 0.0, 1.0, 1.0, 0.0
    check_loss(student, ref, "bce_with_logits_loss", x, y)
    if student.warnings:
        raise Mismatch("bce_with_logits_loss warned on logits of magnitude 1e3; never take exp of "
                       "a large positive number or log of 0")
