"""Centred-difference gradients computed in the trusted process, for public checks.

Public checks cannot use the reference solution (students do not have it), so they check a
student's gradients against numerical derivatives of the student's own code: a backward pass
against its forward, a loss's dx against its loss value, a model's grads against its loss. Such
a check proves only that the two agree, so every one of them refuses a numerical gradient that
is zero everywhere: a forward whose output does not change with its inputs (one that returns
zeros or a constant) agrees with a backward of zeros, and earns nothing. (The public tests
also check the forward on a worked example first: see :func:`forward_first`.)

Not to be confused with :func:`grader.compare.check_backward`, which compares a student's
backward with the reference solution's (the hidden tests).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import numpy as np

from grader.compare import Mismatch, check_array, describe, expect_tuple, outputs

RTOL, ATOL = 1e-5, 1e-8


def numerical_gradient(f: Callable[[np.ndarray], object] | None, x: np.ndarray,
                       df: np.ndarray | float = 1.0, h: float = 1e-6, *,
                       many: Callable[[list[np.ndarray]], list] | None = None) -> np.ndarray:
    """Gradient of ``sum(df * f(x))`` with respect to ``x``; ``x`` is left unchanged.
    ``many(points)``, if given, evaluates f at every point at once (x + h and x - h along each
    axis in turn, as a list): the student's function in one request to the worker, not two per
    entry of x. The differences are taken here either way."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    points = []
    for ix in np.ndindex(x.shape):
        for step in (h, -h):
            point = x.copy()
            point[ix] = x[ix] + step
            points.append(point)
    values = many(points) if many is not None else [f(p) for p in points]
    for k, ix in enumerate(np.ndindex(x.shape)):
        plus, minus = _numbers(values[2 * k]), _numbers(values[2 * k + 1])
        grad[ix] = np.sum(df * (plus - minus)) / (2 * h)
    return grad


def _numbers(value) -> np.ndarray:
    """The student's output as float64; anything else is their mistake, said in words."""
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise Mismatch(f"the output is {describe(value)}, not numbers, so its gradient "
                       "cannot be computed") from None


def check_numerical_gradient(name: str, got, f: Callable[[np.ndarray], object] | None,
                             x: np.ndarray, df: np.ndarray | float = 1.0, *, func: str,
                             wrt: str, rtol: float = RTOL, atol: float = ATOL,
                             many: Callable[[list[np.ndarray]], list] | None = None) -> None:
    """The student's gradient ``name`` (``got``) against the numerical gradient of ``f`` (the
    student's ``func``, as a function of its input ``wrt``) at ``x``, pulled back through ``df``.

    Raises :class:`Mismatch` when they differ, and also when the numerical gradient is zero
    everywhere: then ``func`` does not depend on ``wrt`` and there is nothing to check."""
    __tracebackhide__ = True
    numeric = numerical_gradient(f, x, df, many=many)
    if not np.any(numeric):
        raise Mismatch(f"your {func}'s output does not change with its input {wrt}, so {name} "
                       f"cannot be checked against its numerical gradient (a {func} that "
                       "returns zeros or a constant earns nothing here)")
    check_array(name, got, numeric, rtol=rtol, atol=atol)


def check_against_numerical_gradients(student, forward: str, backward: str, args: tuple,
                                      grad_names: tuple[str, ...], dout: np.ndarray, *,
                                      rtol: float = RTOL, atol: float = ATOL) -> None:
    """Every gradient the student's ``backward`` returns against numerical gradients of the
    student's ``forward`` (both run in the worker through ``student``), for upstream ``dout``.

    ``args`` are the forward's inputs; the first len(grad_names) of them are differentiated
    (``grad_names[i]`` is the gradient of ``args[i]``, e.g. ("dx", "dw", "db")), the rest (a
    param dict) are passed unchanged. Raises :class:`grader.compare.Mismatch` on a wrong output
    shape, a wrong number of gradients, a gradient that differs, or a forward whose output does
    not change with one of the differentiated inputs."""
    __tracebackhide__ = True
    first, cache = student.forward(forward, *args)
    if np.shape(first) != np.shape(dout):
        raise Mismatch(f"{forward} returned an output of shape {np.shape(first)}; "
                       f"expected {np.shape(dout)}")
    grads = expect_tuple(getattr(student, backward)(dout, cache), grad_names, backward)

    def outs(i, values):
        return student.many(forward, [(*args[:i], v, *args[i + 1:]) for v in values], pick=0)

    with outputs() as checks:  # each gradient earns its share
        for i, (name, got) in enumerate(zip(grad_names, grads, strict=True)):
            with checks.part(name):
                check_numerical_gradient(name, got, None, args[i], dout, func=forward,
                                         wrt=name.removeprefix("d"), rtol=rtol, atol=atol,
                                         many=lambda values, i=i: outs(i, values))


def check_loss_against_numerical_gradient(student, loss: str, x: np.ndarray, y: np.ndarray, *,
                                          rtol: float = RTOL, atol: float = ATOL) -> None:
    """The dx the student's ``loss(x, y) -> (loss, dx)`` returns against the numerical gradient
    of its loss value with respect to ``x``."""
    __tracebackhide__ = True

    def loss_and_dx(v):
        return expect_tuple(getattr(student, loss)(v, y), ("loss", "dx"), loss)

    dx = loss_and_dx(x)[1]
    check_numerical_gradient("dx", dx, None, x, func=loss, wrt="x", rtol=rtol, atol=atol,
                             many=lambda values: student.many(loss, [(v, y) for v in values],
                                                              pick=0))


def check_model_against_numerical_gradients(student, model, params: dict, X: np.ndarray,
                                            y: np.ndarray, *, rtol: float = RTOL,
                                            atol: float = ATOL) -> None:
    """Every entry of the grads the student's ``model.loss(X, y) -> (loss, grads)`` returns
    against the numerical gradient of its loss, each parameter varied in turn through
    ``model.set_params``; ``model`` (a handle) must hold ``params`` when called."""
    __tracebackhide__ = True
    _, grads = expect_tuple(student.method(model, "loss", X, y), ("loss", "grads"), "loss")
    if not isinstance(grads, dict) or set(grads) != set(params):
        raise Mismatch(f"grads should be a dict with keys {sorted(params)}")

    def losses_with(key, values):  # every point in a few requests: set_params, then loss
        return student.many_methods(model, [[("set_params", ({**params, key: v},)),
                                             ("loss", (X, y))] for v in values], pick=0)

    try:
        with outputs() as checks:  # each parameter's gradient earns its share
            for key, value in params.items():
                with checks.part(key):
                    check_numerical_gradient(f"grads['{key}']", grads[key], None, value,
                                             func="loss", wrt=key, rtol=rtol, atol=atol,
                                             many=lambda values, key=key: losses_with(key,
                                                                                      values))
    finally:  # the model holds the parameters it was given again
        student.method(model, "set_params", params)


@contextlib.contextmanager
def forward_first(what: str):
    """``with forward_first("affine_forward on the worked example"): <check it>`` before a
    numerical gradient check: a forward that is wrong there fails the gradient check too, saying
    why. (An identity forward with a backward that returns dout agrees with its own numerical
    gradient, but it is no layer.) Only wrong values are reworded; a stub that is not
    implemented yet, or code that raises, is reported as such."""
    __tracebackhide__ = True
    try:
        yield
    except Mismatch as exc:
        raise Mismatch(f"the gradient check needs a correct forward first: {what}: {exc}") \
            from None


def away_from_zero(rng: np.random.Generator, shape, low: float = 0.1,
                   high: float = 2.0) -> np.ndarray:
    """Random values with ``low <= |x| <= high``: no kink at 0 within a finite-difference step."""
    return rng.uniform(low, high, shape) * rng.choice([-1.0, 1.0], shape)
