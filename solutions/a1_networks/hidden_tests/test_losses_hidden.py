"""Hidden tests: softmax and SVM losses and their gradients against the reference."""

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
    check_loss(student, ref, "svm_loss", *scores(rng, n, c))
