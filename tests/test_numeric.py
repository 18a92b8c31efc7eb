"""grader.numeric: the public checks' numerical gradients of a student's own code, and the gates
that keep trivial code from passing them (a forward that does not change with its inputs, a
forward that is wrong on its worked example)."""

import numpy as np
import pytest

from grader.compare import Mismatch, PartlyWrong
from grader.numeric import (away_from_zero, check_against_numerical_gradients,
                            check_loss_against_numerical_gradient,
                            check_model_against_numerical_gradients, forward_first,
                            numerical_gradient)
from grader.session import StudentError


class FakeStudent:
    """The Student proxy's calls, run in this process on plain functions."""

    def __init__(self, **functions):
        self._functions = functions

    def __getattr__(self, name):
        return self._functions[name]

    def forward(self, name, *args):
        return self._functions[name](*args)

    def method(self, obj, name, *args):
        return getattr(obj, name)(*args)

    def many(self, name, calls, *, pick=None):
        values = [self._functions[name](*args) for args in calls]
        return [v[pick] if pick is not None and isinstance(v, tuple) else v for v in values]

    def many_methods(self, obj, points, *, pick=None):
        values = []
        for steps in points:
            for name, args in steps:
                value = getattr(obj, name)(*args)
            values.append(value[pick] if pick is not None and isinstance(value, tuple)
                          else value)
        return values


def affine_forward(x, w, b):
    return x.reshape(len(x), -1) @ w + b, (x, w)


def affine_backward(dout, cache):
    x, w = cache
    return (dout @ w.T).reshape(x.shape), x.reshape(len(x), -1).T @ dout, dout.sum(axis=0)


def affine_args(rng):
    return (rng.standard_normal((3, 2, 2)), rng.standard_normal((4, 3)), rng.standard_normal(3),
            rng.standard_normal((3, 3)))


def check_affine(student, rng):
    *args, dout = affine_args(rng)
    check_against_numerical_gradients(student, "affine_forward", "affine_backward", tuple(args),
                                      ("dx", "dw", "db"), dout)


def test_numerical_gradient_pulls_back_df():
    x, df = np.array([1.0, -2.0]), np.array([3.0, 0.5])
    np.testing.assert_allclose(numerical_gradient(lambda v: v**2, x, df), 2 * x * df, rtol=1e-7)


def test_a_correct_layer_passes():
    check_affine(FakeStudent(affine_forward=affine_forward, affine_backward=affine_backward),
                 np.random.default_rng(0))


def test_a_wrong_gradient_is_named():
    def db_averaged(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        return dx, dw, db / len(dout)

    student = FakeStudent(affine_forward=affine_forward, affine_backward=db_averaged)
    with pytest.raises(Mismatch, match="^db differs"):
        check_affine(student, np.random.default_rng(1))


@pytest.mark.parametrize("constant", [0.0, 1.0])
def test_a_constant_forward_with_a_zero_backward_is_refused(constant):
    """A forward returning zeros (or ones) agrees with a backward returning zeros."""
    student = FakeStudent(
        affine_forward=lambda x, w, b: (np.full((len(x), w.shape[1]), constant), None),
        affine_backward=lambda dout, cache: (np.zeros((3, 2, 2)), np.zeros((4, 3)),
                                             np.zeros(3)))
    with pytest.raises(Mismatch, match="affine_forward's output does not change with its input "
                                       "x, so dx cannot be checked"):
        check_affine(student, np.random.default_rng(2))


def test_a_forward_that_ignores_one_input_is_refused_for_that_gradient():
    def without_bias(x, w, b):
        return affine_forward(x, w, np.zeros_like(b))

    def zero_db(dout, cache):
        dx, dw, _ = affine_backward(dout, cache)
        return dx, dw, np.zeros(dout.shape[1])

    student = FakeStudent(affine_forward=without_bias, affine_backward=zero_db)
    with pytest.raises(Mismatch, match="does not change with its input b, so db"):
        check_affine(student, np.random.default_rng(3))


def test_the_output_shape_is_checked_first():
    student = FakeStudent(affine_forward=lambda x, w, b: (x, None),
                          affine_backward=lambda dout, cache: (dout, dout, dout))
    with pytest.raises(Mismatch, match=r"returned an output of shape \(3, 2, 2\); expected "
                                       r"\(3, 3\)"):
        check_affine(student, np.random.default_rng(4))


def softmax_loss(x, y):
    p = np.exp(x - x.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(p[np.arange(len(y)), y]))
    p[np.arange(len(y)), y] -= 1
    return loss, p / len(y)


def test_loss_gradient_passes_and_a_constant_loss_is_refused():
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((3, 4)), np.array([0, 3, 1])
    check_loss_against_numerical_gradient(FakeStudent(softmax_loss=softmax_loss), "softmax_loss",
                                          x, y)
    zeros = FakeStudent(softmax_loss=lambda x, y: (0.0, np.zeros_like(x)))
    with pytest.raises(Mismatch, match="softmax_loss's output does not change with its input x"):
        check_loss_against_numerical_gradient(zeros, "softmax_loss", x, y)


class Linear:
    """loss = 0.5 * sum((X @ W + b)^2): a model with a loss(X, y) and set_params."""

    def __init__(self, trivial=False):
        self.params, self.trivial = {}, trivial

    def set_params(self, params):
        self.params = {k: np.array(v) for k, v in params.items()}

    def loss(self, X, y):
        W, b = self.params["W"], self.params["b"]
        if self.trivial:
            return 0.0, {"W": np.zeros_like(W), "b": np.zeros_like(b)}
        out = X @ W + b
        return 0.5 * float(np.sum(out**2)), {"W": X.T @ out, "b": out.sum(axis=0)}


@pytest.mark.parametrize("trivial", [False, True], ids=["real", "trivial"])
def test_model_gradients(trivial):
    rng = np.random.default_rng(6)
    params = {"W": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}
    model = Linear(trivial)
    model.set_params(params)
    check = lambda: check_model_against_numerical_gradients(  # noqa: E731
        FakeStudent(), model, params, rng.standard_normal((4, 3)), None)
    if trivial:
        with pytest.raises(Mismatch, match=r"loss's output does not change with its input W"):
            check()
    else:
        check()


def test_forward_first_rewords_a_wrong_forward_only():
    with pytest.raises(Mismatch, match="^the gradient check needs a correct forward first: "
                                       "relu_forward on the example: out differs"):
        with forward_first("relu_forward on the example"):
            raise Mismatch("out differs")
    # a stub that is not implemented (or code that raises) keeps its own verdict
    with pytest.raises(StudentError, match="not implemented"):
        with forward_first("relu_forward on the example"):
            raise StudentError("not implemented (a1.relu: implement relu_forward)",
                               kind="not_implemented")
    with forward_first("a forward that is right"):
        pass


def test_away_from_zero():
    x = away_from_zero(np.random.default_rng(7), (50, 40))
    assert x.shape == (50, 40) and np.all(np.abs(x) >= 0.1) and np.all(np.abs(x) <= 2.0)
    assert (x > 0).any() and (x < 0).any()


def test_an_output_that_is_not_numbers_is_the_students_mistake_in_words():
    with pytest.raises(Mismatch, match="the output is a str, not numbers"):
        numerical_gradient(lambda x: "not a number", np.ones(2))


def test_each_gradient_earns_its_share_of_the_self_consistency_check():
    def db_keepdims(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        return dx, dw, db[None, :]

    with pytest.raises(PartlyWrong) as info:
        check_affine(FakeStudent(affine_forward=affine_forward, affine_backward=db_keepdims),
                     np.random.default_rng(0))
    assert info.value.credit == pytest.approx(2 / 3)
    assert str(info.value) == "db has shape (1, 3); expected (3,)"
