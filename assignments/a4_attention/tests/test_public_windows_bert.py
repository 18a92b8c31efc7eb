"""Public checks for Swin's windows and BERT-style masking: the handout's worked examples, the
round trip of window_partition and window_reverse, and the masking proportions on a large batch
(on inputs drawn from the run's --seed). Run them with `layerlab check a4`. The grade also
compares with a reference implementation on more shapes, shifts and seeds.
"""

import numpy as np
import pytest

from grader.compare import Mismatch, check_array, expect_tuple


# -- a4.swin --------------------------------------------------------------------------------------
@pytest.mark.task("a4.swin")
@pytest.mark.points(1)
def test_window_partition_example(student):
    """window_partition of a 4 x 4 map into 2 x 2 windows (row by row), and window_reverse back"""
    x = np.arange(16.0).reshape(1, 4, 4, 1)
    expected = np.array([[[0, 1], [4, 5]], [[2, 3], [6, 7]], [[8, 9], [12, 13]],
                         [[10, 11], [14, 15]]], dtype=float)[..., None]
    check_array("windows", student.window_partition(x, 2), expected)
    check_array("window_reverse(windows)", student.window_reverse(expected, 2, 4, 4), x)


@pytest.mark.task("a4.swin")
@pytest.mark.points(1)
def test_window_round_trip(student, rng):
    """window_reverse(window_partition(x)) is x (N = 2, H != W, C = 3)"""
    x = rng.standard_normal((2, 6, 9, 3))
    windows = student.window_partition(x, 3)
    check_array("windows' shape", np.array(np.shape(windows)), np.array([12, 3, 3, 3]))
    check_array("window_reverse(window_partition(x))", student.window_reverse(windows, 3, 6, 9), x)


@pytest.mark.task("a4.swin")
@pytest.mark.points(1)
def test_shifted_window_mask_example(student):
    """shifted_window_mask(4, 4, 2, 1): the handout's example (one region, two, two and four)"""
    mask = student.shifted_window_mask(4, 4, 2, 1)
    same = np.ones((4, 4), dtype=bool)
    halves = np.array([[1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 1, 0], [0, 1, 0, 1]], dtype=bool)
    rows = np.array([[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1], [0, 0, 1, 1]], dtype=bool)
    check_array("mask", mask, np.stack([same, halves, rows, np.eye(4, dtype=bool)]))


# -- a4.bert_masking ------------------------------------------------------------------------------
def masked(student, *args):
    __tracebackhide__ = True
    return expect_tuple(student.bert_mask_tokens(*args), ("inputs", "labels"), "bert_mask_tokens")


@pytest.mark.task("a4.bert_masking")
@pytest.mark.points(1)
def test_bert_masking_example(student):
    """bert_mask_tokens on the handout's example (V = 20, [MASK] = 0, seed 3, mask_prob 0.3)"""
    tokens = np.arange(24).reshape(2, 12) % 19 + 1
    inputs, labels = masked(student, tokens, 20, 0, 3, 0.3)
    check_array("labels", labels, np.array([[1, 2, -100, -100, 5, -100, -100, 8, -100, 10, -100,
                                             -100],
                                            [-100, -100, -100, -100, 17, -100, -100, 1, 2, -100,
                                             4, -100]]))
    check_array("inputs", inputs, np.array([[11, 0, 3, 4, 0, 6, 7, 0, 9, 10, 11, 12],
                                            [13, 14, 15, 16, 10, 18, 19, 7, 0, 3, 18, 5]]))


@pytest.mark.task("a4.bert_masking")
@pytest.mark.points(1)
def test_bert_masking_proportions_public(student, rng):
    """bert_mask_tokens on 60 000 tokens: about 15 % chosen, of those about 80 % [MASK]"""
    tokens = rng.integers(0, 100, (200, 300))
    inputs, labels = masked(student, tokens, 100, 100, int(rng.integers(2**31)))
    chosen = np.asarray(labels) != -100
    check_array("labels where chosen", np.asarray(labels)[chosen], tokens[chosen])
    check_array("inputs where not chosen", np.asarray(inputs)[~chosen], tokens[~chosen])
    if abs(chosen.mean() - 0.15) > 0.01:
        raise Mismatch(f"{chosen.mean():.3f} of the positions were chosen; expected about 0.15")
    share = (np.asarray(inputs)[chosen] == 100).mean()
    if abs(share - 0.8) > 0.03:
        raise Mismatch(f"{share:.3f} of the chosen positions became [MASK]; expected about 0.8")
