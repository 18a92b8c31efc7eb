"""Hidden tests: the graph f = (x + y)^2 against the reference, the XOR network on random
weights, and XOR training judged by the reference forward pass."""

import numpy as np
import pytest

from grader.compare import Mismatch, check_array, check_backward, check_forward

SHAPES = [(), (1,), (3, 4), (2, 3, 5)]
# (N, D, H): the four XOR points, a batch of one, odd sizes
XOR_SHAPES = [(4, 2, 2), (1, 2, 3), (7, 3, 5)]
XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_LABELS = np.array([False, True, True, False])


def shape_id(shape):
    return "x".join(map(str, shape)) or "scalar"


@pytest.mark.task("a1.graph")
@pytest.mark.points(2)
@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_square_of_sum_forward(student, ref, rng, shape):
    """square_of_sum_forward: f = (x + y)^2 matches the reference"""
    check_forward(student, ref, "square_of_sum", rng.standard_normal(shape),
                  rng.standard_normal(shape))


@pytest.mark.task("a1.graph")
@pytest.mark.points(3)
@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_square_of_sum_backward(student, ref, rng, shape):
    """square_of_sum_backward: dx and dy match the reference"""
    args = rng.standard_normal(shape), rng.standard_normal(shape)
    check_backward(student, ref, "square_of_sum", args, ("dx", "dy"), rng.standard_normal(shape))


@pytest.mark.task("a1.xor")
@pytest.mark.points(2)
@pytest.mark.parametrize("n,d,h", XOR_SHAPES, ids=[f"N{n}-D{d}-H{h}" for n, d, h in XOR_SHAPES])
def test_xor_forward(student, ref, rng, n, d, h):
    """xor_forward: scores of a two-layer ReLU network with random weights match the reference"""
    args = (rng.standard_normal((n, d)), rng.standard_normal((d, h)), rng.standard_normal(h),
            rng.standard_normal(h), float(rng.standard_normal()))
    check_array("scores", student.xor_forward(*args), ref.xor_forward(*args))


def xor_params(params) -> dict:
    """The arrays of a train_xor result, in the shapes xor_forward takes; Mismatch if malformed."""
    want = "a dict with keys 'W' (2, H), 'c' (H,), 'w' (H,) and 'b' (a number)"
    if not isinstance(params, dict):
        raise Mismatch(f"train_xor returned a {type(params).__name__}; expected {want}")
    missing = sorted({"W", "c", "w", "b"} - set(params))
    if missing:
        raise Mismatch(f"train_xor returned a dict without {', '.join(map(repr, missing))}; "
                       f"expected {want}")
    try:
        W = np.asarray(params["W"], dtype=np.float64)
        h = W.shape[1]
        c, w = (np.asarray(params[k], dtype=np.float64).reshape(h) for k in "cw")
        b = float(np.asarray(params["b"], dtype=np.float64).reshape(()))
    except (ValueError, TypeError, IndexError):
        shapes = {k: np.shape(params[k]) for k in ("W", "c", "w", "b")}
        raise Mismatch(f"train_xor returned arrays of shapes {shapes}; expected {want}") from None
    if W.shape != (2, h):
        raise Mismatch(f"train_xor returned W of shape {W.shape}; expected {want}")
    return {"W": W, "c": c, "w": w, "b": b}


@pytest.mark.task("a1.xor")
@pytest.mark.points(4)
@pytest.mark.parametrize("options", [{}, {"hidden": 24}], ids=["defaults", "hidden=24"])
def test_train_xor(student, ref, rng, options):
    """train_xor: with a random seed (and H = 24), all four XOR points come out right"""
    seed = int(rng.integers(0, 10_000))
    call = ", ".join([*(f"{k}={v}" for k, v in options.items()), f"seed={seed}"])
    with student.timeout(30):
        params = xor_params(student.train_xor(**options, seed=seed))
    if "hidden" in options and params["W"].shape != (2, options["hidden"]):
        raise Mismatch(f"train_xor({call}) returned W of shape {params['W'].shape}; expected "
                       f"(2, {options['hidden']})")
    scores = ref.xor_forward(XOR_X, **params)
    if not np.array_equal(scores > 0.5, XOR_LABELS):
        raise Mismatch(f"after train_xor({call}) the network gives scores {np.round(scores, 3)} "
                       "for X = [[0, 0], [0, 1], [1, 0], [1, 1]]; expected > 0.5 exactly for "
                       "[0, 1] and [1, 0]")


@pytest.mark.task("a1.xor")
@pytest.mark.points(1)
def test_train_xor_uses_seed(student, rng):
    """train_xor: the same seed gives the same weights, another seed other weights"""
    seed = int(rng.integers(0, 10_000))
    with student.timeout(30):
        first, again, other = (xor_params(student.train_xor(seed=s))
                               for s in (seed, seed, seed + 1))
    if any(not np.array_equal(first[k], again[k]) for k in first):
        raise Mismatch(f"train_xor(seed={seed}) returned different weights on a second call; "
                       "initialise from np.random.default_rng(seed)")
    if np.array_equal(first["W"], other["W"]):
        raise Mismatch(f"train_xor(seed={seed}) and train_xor(seed={seed + 1}) returned the same "
                       "W; the initialisation must come from the seed")
