"""Hidden tests: activations against the reference, every gradient, several shapes, large inputs."""

import pytest

from grader.compare import Mismatch, check_backward, check_forward

SHAPES = [(1, 4), (5, 7), (3, 2, 5)]
PRELU_SHAPES = [(1, 4), (5, 7), (4, 4), (6, 1)]  # (N, D); N == D catches alpha on the wrong axis


def shape_id(shape):
    return "x".join(map(str, shape))


def with_hyper(name, value):
    """Each shape with the default hyper-parameter (not passed) and with ``name=value``."""
    cases = [(shape, params) for shape in SHAPES for params in ((), (value,))]
    ids = [f"{shape_id(s)}-{f'{name}={p[0]}' if p else 'default'}" for s, p in cases]
    return pytest.mark.parametrize("shape,params", cases, ids=ids)


def both_signs(x):
    """x with x.flat[1] > 0 and x.flat[2] < 0 (not among with_zeros' zeros): then zeros or the
    identity are wrong for every activation, whatever the seed, even on 4 values."""
    x.flat[1], x.flat[2] = abs(x.flat[1]), -abs(x.flat[2])
    return x


def with_zeros(rng, shape):
    """Standard normal values, every third one exactly 0 (where the kink convention matters)."""
    x = both_signs(rng.standard_normal(shape))
    x.flat[::3] = 0.0
    return x


def check_large_inputs(student, ref, rng, layer, *params):
    """Forward and backward on |x| ~ 1e3 match the reference, and neither call warns."""
    __tracebackhide__ = True
    x = 1e3 * rng.standard_normal((4, 5))
    x.flat[:2] = 1e3, -1e3
    check_forward(student, ref, layer, x, *params)
    _check_quiet(student, f"{layer}_forward")
    check_backward(student, ref, layer, (x, *params), ("dx",), rng.standard_normal(x.shape))
    _check_quiet(student, f"{layer}_backward")


def _check_quiet(student, func):
    __tracebackhide__ = True
    if student.warnings:
        raise Mismatch(f"{func} warned on inputs of magnitude 1e3; never take exp of a "
                       "large positive number")


@pytest.mark.task("a1.relu")
@pytest.mark.points(2)
@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_relu_forward(student, ref, rng, shape):
    """relu_forward: out matches the reference"""
    check_forward(student, ref, "relu", both_signs(rng.standard_normal(shape)))


@pytest.mark.task("a1.relu")
@pytest.mark.points(3)
@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_relu_backward(student, ref, rng, shape):
    """relu_backward: dx matches the reference, including exact zeros in x"""
    x = with_zeros(rng, shape)
    check_backward(student, ref, "relu", (x,), ("dx",), rng.standard_normal(shape))


@pytest.mark.task("a1.leaky_relu")
@pytest.mark.points(2)
@with_hyper("alpha", 0.2)
def test_leaky_relu_forward(student, ref, rng, shape, params):
    """leaky_relu_forward: out matches the reference, default and non-default alpha"""
    check_forward(student, ref, "leaky_relu", both_signs(rng.standard_normal(shape)), *params)


@pytest.mark.task("a1.leaky_relu")
@pytest.mark.points(3)
@with_hyper("alpha", 0.2)
def test_leaky_relu_backward(student, ref, rng, shape, params):
    """leaky_relu_backward: dx matches the reference, including exact zeros in x"""
    x = with_zeros(rng, shape)
    check_backward(student, ref, "leaky_relu", (x, *params), ("dx",), rng.standard_normal(shape))


@pytest.mark.task("a1.prelu")
@pytest.mark.points(2)
@pytest.mark.parametrize("shape", PRELU_SHAPES, ids=shape_id)
def test_prelu_forward(student, ref, rng, shape):
    """prelu_forward: out matches the reference for a random slope per feature"""
    check_forward(student, ref, "prelu", both_signs(rng.standard_normal(shape)),
                  rng.uniform(0.0, 0.5, shape[1]))


@pytest.mark.task("a1.prelu")
@pytest.mark.points(4)
@pytest.mark.parametrize("shape", PRELU_SHAPES, ids=shape_id)
def test_prelu_backward(student, ref, rng, shape):
    """prelu_backward: dx and dalpha (summed over the batch) match the reference"""
    args = (with_zeros(rng, shape), rng.uniform(0.0, 0.5, shape[1]))
    check_backward(student, ref, "prelu", args, ("dx", "dalpha"), rng.standard_normal(shape))


@pytest.mark.task("a1.elu")
@pytest.mark.points(2)
@with_hyper("gamma", 0.5)
def test_elu_forward(student, ref, rng, shape, params):
    """elu_forward: out matches the reference, default and non-default gamma"""
    check_forward(student, ref, "elu", both_signs(rng.standard_normal(shape)), *params)


@pytest.mark.task("a1.elu")
@pytest.mark.points(2)
@with_hyper("gamma", 0.5)
def test_elu_backward(student, ref, rng, shape, params):
    """elu_backward: dx matches the reference, including exact zeros in x"""
    x = with_zeros(rng, shape)
    check_backward(student, ref, "elu", (x, *params), ("dx",), rng.standard_normal(shape))


@pytest.mark.task("a1.elu")
@pytest.mark.points(1)
def test_elu_large_inputs(student, ref, rng):
    """elu_forward/backward: inputs of magnitude 1e3 give finite values without warnings"""
    check_large_inputs(student, ref, rng, "elu", 2.0)


@pytest.mark.task("a1.sigmoid")
@pytest.mark.points(2)
@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_sigmoid_forward(student, ref, rng, shape):
    """sigmoid_forward: out matches the reference"""
    check_forward(student, ref, "sigmoid", 3 * rng.standard_normal(shape))


@pytest.mark.task("a1.sigmoid")
@pytest.mark.points(2)
@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_sigmoid_backward(student, ref, rng, shape):
    """sigmoid_backward: dx matches the reference"""
    check_backward(student, ref, "sigmoid", (3 * rng.standard_normal(shape),), ("dx",),
                   rng.standard_normal(shape))


@pytest.mark.task("a1.sigmoid")
@pytest.mark.points(1)
def test_sigmoid_large_inputs(student, ref, rng):
    """sigmoid_forward/backward: inputs of magnitude 1e3 give finite values without warnings"""
    check_large_inputs(student, ref, rng, "sigmoid")


@pytest.mark.task("a1.tanh")
@pytest.mark.points(2)
@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_tanh_forward(student, ref, rng, shape):
    """tanh_forward: out matches the reference"""
    check_forward(student, ref, "tanh", 2 * rng.standard_normal(shape))


@pytest.mark.task("a1.tanh")
@pytest.mark.points(2)
@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_tanh_backward(student, ref, rng, shape):
    """tanh_backward: dx matches the reference"""
    check_backward(student, ref, "tanh", (2 * rng.standard_normal(shape),), ("dx",),
                   rng.standard_normal(shape))


@pytest.mark.task("a1.tanh")
@pytest.mark.points(1)
def test_tanh_large_inputs(student, ref, rng):
    """tanh_forward/backward: inputs of magnitude 1e3 give finite values without warnings"""
    check_large_inputs(student, ref, rng, "tanh")
