"""Hidden tests: inverted dropout. Any random generator is accepted, so the mask itself is never
compared with the reference: large inputs check what every correct mask satisfies (each output
is 0 or x / p, about a fraction p is kept, a seed fixes the mask) and the backward pass is
checked against the student's own forward output.
"""

import numpy as np
import pytest

from grader.compare import Mismatch, check_array

pytestmark = pytest.mark.task("a1.dropout")

# (shape of x, p = probability of keeping); p != 0.5 so that p and 1 - p are told apart
CASES = [((1, 20000), 0.3), ((250, 160), 0.8), ((8, 25, 60), 0.65)]
over_cases = pytest.mark.parametrize(
    "shape,p", CASES, ids=[f"{'x'.join(map(str, s))}-p{p}" for s, p in CASES])
SIGMAS = 5


def nonzero_inputs(rng, shape):
    """Values with |x| in [0.5, 2]: an output of 0 can only come from the mask."""
    return rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def kept_units(out, x, p):
    """The mask the student's forward applied; every output must be 0 or exactly x / p."""
    __tracebackhide__ = True
    if not isinstance(out, np.ndarray) or out.shape != x.shape:
        check_array("out", out, x)  # explains the wrong type or shape
    kept = out != 0
    wrong = kept & ~np.isclose(out, x / p, rtol=1e-12, atol=0.0)
    if wrong.any():
        i = tuple(int(k) for k in np.argwhere(wrong)[0])
        raise Mismatch(f"out{list(i)} = {out[i]:.6g} is neither 0 nor x / p = {x[i] / p:.6g} "
                       f"(x = {x[i]:.6g}, p = {p}): kept units must be divided by p")
    return kept


def train_out(student, x, p, **seed):
    out, _ = student.forward("dropout_forward", x, {"p": p, "mode": "train", **seed})
    return out


@pytest.mark.points(3)
@over_cases
def test_dropout_train_values(student, rng, shape, p):
    """dropout_forward (train): each output is 0 or x / p, and a fraction ~p of units is kept"""
    x = nonzero_inputs(rng, shape)
    kept = kept_units(train_out(student, x, p, seed=int(rng.integers(2**31))), x, p)
    sigma = np.sqrt(p * (1 - p) / kept.size)
    if abs(kept.mean() - p) > SIGMAS * sigma:
        raise Mismatch(f"kept a fraction {kept.mean():.4f} of {kept.size} units with p = {p}; "
                       f"expected {p} ± {SIGMAS * sigma:.4f} (p is the probability of KEEPING)")


@pytest.mark.points(1)
def test_dropout_seed(student, rng):
    """dropout_forward (train): the same seed gives the same mask, another seed a different one"""
    x = nonzero_inputs(rng, (40, 50))
    first = train_out(student, x, 0.7, seed=123)
    check_array("out (second call with the same seed)", train_out(student, x, 0.7, seed=123),
                first, rtol=0.0, atol=0.0)
    if np.array_equal(train_out(student, x, 0.7, seed=124) != 0, first != 0):
        raise Mismatch("seeds 123 and 124 gave the same mask; the seed must drive the mask")
    kept_units(train_out(student, x, 0.7), x, 0.7)  # no seed: still a valid mask


@pytest.mark.points(1)
@over_cases
def test_dropout_test_mode(student, rng, shape, p):
    """dropout (test mode): out = x and dx = dout, nothing dropped or rescaled"""
    x, dout = nonzero_inputs(rng, shape), rng.standard_normal(shape)
    # test mode is the identity, which earns nothing unless train mode really is dropout
    kept_units(train_out(student, x, p, seed=int(rng.integers(2**31))), x, p)
    out, cache = student.forward("dropout_forward", x, {"p": p, "mode": "test"})
    check_array("out", out, x, rtol=0.0, atol=0.0)
    check_array("dx", student.dropout_backward(dout, cache), dout, rtol=0.0, atol=0.0)


@pytest.mark.points(3)
@over_cases
def test_dropout_backward(student, rng, shape, p):
    """dropout_backward (train): dx = dout * mask / p, with the mask of your own forward"""
    x, dout = nonzero_inputs(rng, shape), rng.standard_normal(shape)
    param = {"p": p, "mode": "train", "seed": int(rng.integers(2**31))}
    out, cache = student.forward("dropout_forward", x, param)
    kept = kept_units(out, x, p)
    if not kept.any():  # then dx = 0 would pass, and a backward returning zeros with it
        raise Mismatch(f"dropout_forward (train) dropped every unit with p = {p}; p is the "
                       "probability of KEEPING a unit")
    check_array("dx", student.dropout_backward(dout, cache), dout * kept / p, rtol=1e-12)
