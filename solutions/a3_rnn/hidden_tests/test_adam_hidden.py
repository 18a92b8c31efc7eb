"""Hidden tests: Adam, as A1 grades it: several steps feeding the returned config back in, with
next_w, m, v and t compared after every step."""

import pytest

from grader.compare import check_update_rule

pytestmark = pytest.mark.task("a3.adam")

SHAPES = [(1,), (4, 3), (2, 3, 5)]
CUSTOM = {"learning_rate": 0.05, "beta1": 0.7, "beta2": 0.95, "epsilon": 1e-3}


@pytest.mark.points(2)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_adam_defaults(student, ref, rng, shape):
    """adam: 5 steps from config=None: next_w and config['m'], ['v'], ['t'] match the reference"""
    check_update_rule(student, ref, rng, "adam", shape, None, 1.0, ("m", "v", "t"))


@pytest.mark.points(2)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_adam_custom(student, ref, rng, shape):
    """adam: 5 steps, beta1 0.7, beta2 0.95, epsilon 1e-3, small gradients: next_w, m, v, t match"""
    check_update_rule(student, ref, rng, "adam", shape, dict(CUSTOM), 1e-2, ("m", "v", "t"))
