"""Hidden tests: gradient-norm clipping against the reference, below and above the threshold.

One case has every gradient's own norm below max_norm while their global norm is above it:
clipping each tensor by its own norm changes nothing there, clipping by the global norm
scales them all.
"""

import numpy as np
import pytest

from grader.compare import Mismatch, check_array, check_params, check_scalar, expect_tuple, \
    outputs

pytestmark = pytest.mark.task("a3.clipping")

SHAPES = {"Wx": (3, 8), "Wh": (2, 8), "b": (8,), "W_vocab": (2, 5)}


def gradients(rng, scale=1.0):
    return {name: scale * rng.standard_normal(shape) for name, shape in SHAPES.items()}


def unit_norm_gradients(rng):
    """Four gradients of norm 1 each: their global norm is 2."""
    grads = gradients(rng)
    return {name: g / np.linalg.norm(g) for name, g in grads.items()}


def global_norm(grads) -> float:
    return float(np.sqrt(sum(np.sum(g ** 2) for g in grads.values())))


def check_clipping(student, ref, grads, max_norm):
    """The clipped gradients (grads itself left unchanged) and total_norm, half the case each."""
    __tracebackhide__ = True
    before = {name: g.copy() for name, g in grads.items()}
    result, (after, _) = student.with_args("clip_grad_norm", grads, max_norm)
    clipped, total_norm = expect_tuple(result, ("clipped", "total_norm"), "clip_grad_norm")
    ref_clipped, ref_total = ref.clip_grad_norm(grads, max_norm)
    with outputs() as checks:
        with checks.part("clipped"):
            check_params(clipped, ref_clipped, "clipped")
            for name, expected in ref_clipped.items():
                check_array(f"clipped['{name}']", clipped[name], expected)
            for name, g in before.items():
                if not np.array_equal(after[name], g):
                    raise Mismatch(f"clip_grad_norm changed grads['{name}'] in place; it must "
                                   "return new arrays and leave grads unchanged")
        with checks.part("total_norm"):
            check_scalar("total_norm", total_norm, ref_total)


@pytest.mark.points(1)
@pytest.mark.parametrize("scale", [0.1, 3.0])
def test_below_the_threshold(student, ref, rng, scale):
    """clip_grad_norm below max_norm: the gradients come back unchanged, with their norm"""
    grads = gradients(rng, scale)
    check_clipping(student, ref, grads, 1.5 * global_norm(grads))


@pytest.mark.points(2)
@pytest.mark.parametrize("scale", [0.1, 3.0])
def test_above_the_threshold(student, ref, rng, scale):
    """clip_grad_norm above max_norm: every gradient scaled by max_norm / total_norm"""
    grads = gradients(rng, scale)
    check_clipping(student, ref, grads, 0.25 * global_norm(grads))


@pytest.mark.points(1)
def test_each_below_but_the_global_norm_above(student, ref, rng):
    """clip_grad_norm with each gradient's norm 1 and max_norm 1.5: the global norm 2 is clipped"""
    check_clipping(student, ref, unit_norm_gradients(rng), 1.5)
