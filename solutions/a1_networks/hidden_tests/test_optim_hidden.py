"""Hidden tests: update rules over several steps, feeding the returned config back in.

Every step compares next_w and the rule's state (velocity, cache, m, v, t) with the reference:
some bugs (momentum with both signs flipped, a step counter starting at 1) leave the weights
right and only show in the state.
"""

import pytest

from grader.compare import check_update_rule

SHAPES = [(1,), (4, 3), (2, 3, 5)]
over_shapes = pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
STEPS = 5

# Non-default hyper-parameters; with gradients of size ~1e-2 epsilon matters too.
CUSTOM = {
    "sgd": {"learning_rate": 0.3},
    "sgd_momentum": {"learning_rate": 0.05, "momentum": 0.6},
    "rmsprop": {"learning_rate": 0.02, "decay_rate": 0.8, "epsilon": 1e-3},
    "adam": {"learning_rate": 0.05, "beta1": 0.7, "beta2": 0.95, "epsilon": 1e-3},
}
STATE = {"sgd": (), "sgd_momentum": ("velocity",), "rmsprop": ("cache",), "adam": ("m", "v", "t")}


def check_trajectory(student, ref, rng, rule, shape, config, grad_scale):
    """STEPS updates of ``rule`` against the reference, next_w and the rule's state compared."""
    __tracebackhide__ = True
    check_update_rule(student, ref, rng, rule, shape, config, grad_scale, STATE[rule], STEPS)


@pytest.mark.task("a1.sgd")
@pytest.mark.points(2)
@over_shapes
def test_sgd_defaults(student, ref, rng, shape):
    """sgd: 5 steps from config=None (learning_rate 1e-2): next_w matches the reference"""
    check_trajectory(student, ref, rng, "sgd", shape, None, 1.0)


@pytest.mark.task("a1.sgd")
@pytest.mark.points(2)
@over_shapes
def test_sgd_custom(student, ref, rng, shape):
    """sgd: 5 steps with learning_rate 0.3: next_w matches the reference"""
    check_trajectory(student, ref, rng, "sgd", shape, dict(CUSTOM["sgd"]), 1.0)


@pytest.mark.task("a1.momentum")
@pytest.mark.points(3)
@over_shapes
def test_sgd_momentum_defaults(student, ref, rng, shape):
    """sgd_momentum: 5 steps from config=None: next_w and config['velocity'] match the reference"""
    check_trajectory(student, ref, rng, "sgd_momentum", shape, None, 1.0)


@pytest.mark.task("a1.momentum")
@pytest.mark.points(3)
@over_shapes
def test_sgd_momentum_custom(student, ref, rng, shape):
    """sgd_momentum: 5 steps, learning_rate 0.05, momentum 0.6: next_w and velocity match"""
    check_trajectory(student, ref, rng, "sgd_momentum", shape, dict(CUSTOM["sgd_momentum"]), 1.0)


@pytest.mark.task("a1.rmsprop")
@pytest.mark.points(3)
@over_shapes
def test_rmsprop_defaults(student, ref, rng, shape):
    """rmsprop: 5 steps from config=None: next_w and config['cache'] match the reference"""
    check_trajectory(student, ref, rng, "rmsprop", shape, None, 1.0)


@pytest.mark.task("a1.rmsprop")
@pytest.mark.points(3)
@over_shapes
def test_rmsprop_custom(student, ref, rng, shape):
    """rmsprop: 5 steps, decay_rate 0.8, epsilon 1e-3, small gradients: next_w and cache match"""
    check_trajectory(student, ref, rng, "rmsprop", shape, dict(CUSTOM["rmsprop"]), 1e-2)


@pytest.mark.task("a1.adam")
@pytest.mark.points(4)
@over_shapes
def test_adam_defaults(student, ref, rng, shape):
    """adam: 5 steps from config=None: next_w and config['m'], ['v'], ['t'] match the reference"""
    check_trajectory(student, ref, rng, "adam", shape, None, 1.0)


@pytest.mark.task("a1.adam")
@pytest.mark.points(4)
@over_shapes
def test_adam_custom(student, ref, rng, shape):
    """adam: 5 steps, beta1 0.7, beta2 0.95, epsilon 1e-3, small gradients: next_w, m, v, t match"""
    check_trajectory(student, ref, rng, "adam", shape, dict(CUSTOM["adam"]), 1e-2)
