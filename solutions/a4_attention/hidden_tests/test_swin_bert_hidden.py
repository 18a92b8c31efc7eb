"""Hidden tests: Swin's window partition and reverse and the shifted-window mask against the
reference, and BERT-style masking exactly on fixed seeds and statistically on large batches.

Windows are cut from maps that are not square and hold at least two windows (a single window is
the map itself). The masks use shifts of 1 up to ws - 1 on square and oblong maps. The masking
statistics are taken over 200 000 tokens with a seed from the run: the chosen fraction and,
among the chosen, the [MASK], random and kept fractions within five standard errors of what
the 15 % / 80 % / 10 % / 10 % rule gives (a random token may equal the original, so kept is
10 % + 10 % / V).
"""

import numpy as np
import pytest

from grader.compare import Mismatch, check_array, expect_tuple

# (N, H, W, C, ws)
PARTITIONS = [(2, 4, 6, 3, 2), (1, 6, 9, 2, 3), (3, 8, 4, 1, 4), (2, 4, 4, 5, 2)]
# (H, W, ws, shift)
MASKS = [(4, 4, 2, 1), (8, 8, 4, 2), (6, 9, 3, 1), (8, 12, 4, 3), (14, 7, 7, 3)]
# (N, T, V, mask_token, seed, mask_prob, ignore_index)
EXACT = [(4, 16, 30, 30, 0, 0.15, -100), (8, 32, 100, 1, 7, 0.15, -100),
         (2, 50, 1000, 1000, 123, 0.3, -1)]
SIGMAS = 5


def case_id(case) -> str:
    return "-".join(map(str, case))


# -- a4.swin ----------------------------------------------------------------------------------
@pytest.mark.task("a4.swin")
@pytest.mark.points(2)
@pytest.mark.parametrize("case", PARTITIONS, ids=case_id)
def test_window_partition(student, ref, rng, case):
    """window_partition: the windows match the reference (their order too)"""
    n, h, w, c, ws = case
    x = rng.standard_normal((n, h, w, c))
    check_array("windows", student.window_partition(x, ws), ref.window_partition(x, ws))


@pytest.mark.task("a4.swin")
@pytest.mark.points(2)
@pytest.mark.parametrize("case", PARTITIONS, ids=case_id)
def test_window_reverse(student, ref, rng, case):
    """window_reverse: the feature map matches the reference"""
    n, h, w, c, ws = case
    windows = rng.standard_normal((n * (h // ws) * (w // ws), ws, ws, c))
    check_array("x", student.window_reverse(windows, ws, h, w),
                ref.window_reverse(windows, ws, h, w))


@pytest.mark.task("a4.swin")
@pytest.mark.points(3)
@pytest.mark.parametrize("case", MASKS, ids=case_id)
def test_shifted_window_mask(student, ref, case):
    """shifted_window_mask: the mask matches the reference (booleans, True = same region)"""
    check_array("mask", student.shifted_window_mask(*case), ref.shifted_window_mask(*case))


# -- a4.bert_masking --------------------------------------------------------------------------
def masked(student, tokens, *args):
    __tracebackhide__ = True
    return expect_tuple(student.bert_mask_tokens(tokens, *args), ("inputs", "labels"),
                        "bert_mask_tokens")


@pytest.mark.task("a4.bert_masking")
@pytest.mark.points(2)
@pytest.mark.parametrize("case", EXACT, ids=case_id)
def test_bert_masking_on_a_fixed_seed(student, ref, rng, case):
    """bert_mask_tokens: inputs and labels match the reference exactly (the documented draws)"""
    n, t, v, mask_token, seed, prob, ignore = case
    tokens = rng.integers(0, v, (n, t))
    inputs, labels = masked(student, tokens, v, mask_token, seed, prob, ignore)
    expected = ref.bert_mask_tokens(tokens, v, mask_token, seed, prob, ignore)
    check_array("labels", labels, expected[1], rtol=0.0, atol=0.0)
    check_array("inputs", inputs, expected[0], rtol=0.0, atol=0.0)


def check_fraction(what: str, count: int, total: int, p: float) -> None:
    __tracebackhide__ = True
    sigma = np.sqrt(p * (1 - p) / total)
    if abs(count / total - p) > SIGMAS * sigma:
        raise Mismatch(f"{what}: {count / total:.4f} of {total}; expected {p:.4f} ± "
                       f"{SIGMAS * sigma:.4f}")


@pytest.mark.task("a4.bert_masking")
@pytest.mark.points(4)
@pytest.mark.parametrize("V", [20, 5000])
def test_bert_masking_proportions(student, rng, V):
    """bert_mask_tokens on 200 000 tokens: 15 % chosen; of those 80 % [MASK], 10 % random,
    10 % kept; labels the originals where chosen and ignore_index elsewhere"""
    tokens = rng.integers(0, V, (400, 500))
    mask_token, ignore = V, -100
    inputs, labels = masked(student, tokens, V, mask_token, int(rng.integers(2**31)))
    for name, value in (("inputs", inputs), ("labels", labels)):
        if not isinstance(value, np.ndarray) or value.shape != tokens.shape:
            check_array(name, value, tokens)  # explains the wrong type or shape
    chosen = labels != ignore
    check_array("labels where chosen (the original tokens)", labels[chosen], tokens[chosen],
                rtol=0.0, atol=0.0)
    check_array("inputs where not chosen (unchanged)", inputs[~chosen], tokens[~chosen],
                rtol=0.0, atol=0.0)
    total = int(chosen.sum())
    check_fraction("the fraction of positions chosen", total, tokens.size, 0.15)
    picked, original = inputs[chosen], tokens[chosen]
    is_mask = picked == mask_token
    changed = ~is_mask & (picked != original)
    check_fraction("of the chosen, the fraction replaced by [MASK]", int(is_mask.sum()), total,
                   0.8)
    check_fraction("of the chosen, the fraction replaced by another token", int(changed.sum()),
                   total, 0.1 * (1 - 1 / V))
    check_fraction("of the chosen, the fraction kept", int((picked == original).sum()), total,
                   0.1 + 0.1 / V)
    replaced = picked[changed]  # uniform over the vocabulary: its mean is near (V - 1) / 2
    spread = np.sqrt((V ** 2 - 1) / 12 / max(len(replaced), 1))
    if abs(replaced.mean() - (V - 1) / 2) > SIGMAS * spread:
        raise Mismatch(f"the random replacement tokens average {replaced.mean():.1f}; tokens "
                       f"drawn uniformly from 0 ... {V - 1} average {(V - 1) / 2:.1f}")


@pytest.mark.task("a4.bert_masking")
@pytest.mark.points(1)
def test_bert_masking_follows_the_seed(student, ref, rng):
    """bert_mask_tokens: the same seed gives the same masking, another seed another"""
    tokens = rng.integers(0, 50, (6, 40))
    first = masked(student, tokens, 50, 50, 11)
    check_array("inputs (again with the same seed)", masked(student, tokens, 50, 50, 11)[0],
                first[0], rtol=0.0, atol=0.0)
    check_array("labels", first[1], ref.bert_mask_tokens(tokens, 50, 50, 11)[1], rtol=0.0,
                atol=0.0)
    if np.array_equal(masked(student, tokens, 50, 50, 12)[1], first[1]):
        raise Mismatch("seeds 11 and 12 chose the same positions; the seed must drive the draws")
