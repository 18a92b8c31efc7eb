"""Comparisons that explain themselves: every failure says which output, how and where.

Tests call these with the student's value (as decoded from the worker) and the expected value
computed in the trusted process. A failed check raises :class:`Mismatch`, whose message is the
feedback the student reads.
"""

from __future__ import annotations

import contextlib
import copy

import numpy as np

from grader.wire import Handle


class Mismatch(AssertionError):
    """The student's value is wrong; the message says how.

    ``got`` and ``expected`` are the values compared (the expected one exactly as the test
    passed it), so that the grader can tell whether a known mistake produces ``got``.
    """

    def __init__(self, message: str, *, got=None, expected=None, rtol: float = 1e-6,
                 atol: float = 1e-9):
        super().__init__(message)
        self.got, self.expected, self.rtol, self.atol = got, expected, rtol, atol


class PartlyWrong(Mismatch):
    """Some of a case's outputs are wrong: the case earns the share of those that are right."""

    def __init__(self, failures: list[Mismatch], passed: int):
        super().__init__("\n".join(str(f) for f in failures))  # one line per wrong output
        self.failures, self.passed = failures, passed

    @property
    def credit(self) -> float:
        return self.passed / (self.passed + len(self.failures))


class Outputs:
    """The outputs one case checks, each worth an equal share of the case's points.

    Use through :func:`outputs`; ``with checks.part("db"): check_array("db", …)`` records a
    wrong ``db`` and goes on to the next output instead of ending the case.
    """

    def __init__(self):
        self._first_failure: dict[str, Mismatch | None] = {}

    @contextlib.contextmanager
    def part(self, name: str):
        self._first_failure.setdefault(name, None)
        try:
            yield
        except Mismatch as exc:
            if self._first_failure[name] is None:
                self._first_failure[name] = exc

    def close(self) -> None:
        __tracebackhide__ = True
        failures = [f for f in self._first_failure.values() if f is not None]
        if failures:
            raise PartlyWrong(failures, len(self._first_failure) - len(failures))


@contextlib.contextmanager
def outputs():
    """Check several outputs of one case; each wrong one costs only its share of the points.
    A failure outside a ``part`` (the call itself failed) still costs the whole case."""
    __tracebackhide__ = True
    checks = Outputs()
    yield checks
    checks.close()


def describe(value) -> str:
    """A value in words, for messages: its type, or an array's shape and dtype."""
    if isinstance(value, Handle):
        return f"an object the grader cannot inspect ({value.type_name})"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    return f"a {type(value).__name__}"


def expect_tuple(value, names: tuple[str, ...], func: str) -> tuple:
    """Check that ``func`` returned exactly ``len(names)`` values and return them."""
    __tracebackhide__ = True
    want = f"({', '.join(names)})"
    if len(names) == 1:
        return (value,)
    if not isinstance(value, (tuple, list)):
        raise Mismatch(f"{func} returned {describe(value)}; expected a tuple {want}")
    if len(value) != len(names):
        raise Mismatch(f"{func} returned {len(value)} values; expected {len(names)}: {want}")
    return tuple(value)


def check_array(name: str, got, expected: np.ndarray, *, rtol: float = 1e-6,
                atol: float = 1e-9, dtype: bool = True) -> None:
    """Compare an array output with the reference; explain the first thing that is wrong."""
    __tracebackhide__ = True
    problem = _array_problem(name, got, np.asarray(expected), rtol, atol, dtype)
    if problem:
        raise Mismatch(problem, got=got, expected=expected, rtol=rtol, atol=atol)


def _array_problem(name: str, got, expected: np.ndarray, rtol: float, atol: float,
                   dtype: bool) -> str | None:
    if got is None:
        return f"{name}: got None (is a return statement missing?)"
    if not isinstance(got, np.ndarray):
        if isinstance(got, (float, int, np.generic)) and expected.ndim == 0:
            got = np.asarray(got)
        else:
            return f"{name}: expected a NumPy array of shape {expected.shape}, got {describe(got)}"
    if got.shape != expected.shape:
        return f"{name} has shape {got.shape}; expected {expected.shape}"
    if got.dtype.kind not in "fiub":
        return f"{name} has dtype {got.dtype}; expected a real {expected.dtype} array"
    if dtype and got.dtype != expected.dtype:
        return f"{name} has dtype {got.dtype}; expected {expected.dtype}"
    got_f, exp_f = got.astype(np.float64), expected.astype(np.float64)
    bad = ~np.isfinite(got_f)
    if bad.any() and got.ndim == 0:
        return f"{name} is {got_f[()]} (expected {float(expected):.6g})"
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        return (f"{name} contains {int(np.isnan(got_f).sum())} NaN and "
                f"{int(np.isinf(got_f).sum())} infinite values (first at index {first})")
    diff = np.abs(got_f - exp_f)
    if not (diff > atol + rtol * np.abs(exp_f)).any():
        return None
    rel = diff / np.maximum(np.abs(got_f) + np.abs(exp_f), 1e-300)
    worst = np.unravel_index(int(np.argmax(np.where(diff > atol, rel, 0))), rel.shape)
    where = f" at index {tuple(int(i) for i in worst)}" if got.ndim else ""
    return (f"{name} differs from the reference: max relative error {rel[worst]:.2e}{where} "
            f"(got {got_f[worst]:.6g}, expected {exp_f[worst]:.6g}); tolerance {rtol:g}")


def agrees(got, expected, *, rtol: float = 1e-6, atol: float = 1e-9) -> bool:
    """Whether ``check_array`` (or ``check_scalar``, for numbers) would accept ``got``."""
    if _is_number(got) and _is_number(expected):
        got, expected = np.float64(got), np.float64(expected)
    with np.errstate(all="ignore"):  # infinities in either are an answer, not a warning
        return _array_problem("", got, np.asarray(expected), rtol, atol, False) is None


def _is_number(value) -> bool:
    return not isinstance(value, (bool, np.bool_)) and (
        isinstance(value, (int, float, np.integer, np.floating))
        or (isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "fi"))


def check_scalar(name: str, got, expected: float, *, rtol: float = 1e-6,
                 atol: float = 1e-9) -> None:
    """Compare a scalar output (a loss): Python or NumPy numbers and 0-d arrays are accepted."""
    __tracebackhide__ = True
    if not _is_number(got):
        raise Mismatch(f"{name}: expected a number, got {describe(got)}", got=got,
                       expected=expected, rtol=rtol, atol=atol)
    problem = _array_problem(name, np.asarray(got, dtype=np.float64).reshape(()),
                             np.asarray(expected, dtype=np.float64), rtol, atol, True)
    if problem:
        raise Mismatch(problem, got=got, expected=expected, rtol=rtol, atol=atol)


def check_forward(student, ref, layer: str, *args, rtol: float = 1e-6, suffix: str = "") -> None:
    """``<layer>_forward<suffix>`` output matches the reference on ``args``
    (``suffix="_naive"`` for ``conv_forward_naive`` and the like)."""
    __tracebackhide__ = True
    name = f"{layer}_forward{suffix}"
    out, _ = student.forward(name, *args)
    check_array("out", out, getattr(ref, name)(*args)[0], rtol=rtol)


def check_backward(student, ref, layer: str, args: tuple, grads: tuple[str, ...],
                   dout: np.ndarray | np.random.Generator, *, rtol: float = 1e-6,
                   suffix: str = "") -> None:
    """Every gradient ``<layer>_backward<suffix>`` returns matches the reference for upstream
    ``dout``; given a Generator instead, dout is drawn from it (standard normal) in the shape
    of the reference's output. Each gradient earns its share of the case's points."""
    __tracebackhide__ = True
    forward, backward = f"{layer}_forward{suffix}", f"{layer}_backward{suffix}"
    ref_out, ref_cache = getattr(ref, forward)(*args)
    if isinstance(dout, np.random.Generator):
        dout = dout.standard_normal(np.shape(ref_out))
    _, cache = student.forward(forward, *args)
    got = expect_tuple(getattr(student, backward)(dout, cache), grads, backward)
    expected = expect_tuple(getattr(ref, backward)(dout, ref_cache), grads, f"reference {backward}")
    with outputs() as checks:
        for name, g, e in zip(grads, got, expected, strict=True):
            with checks.part(name):
                check_array(name, g, e, rtol=rtol)


def check_loss(student, ref, loss: str, x: np.ndarray, y: np.ndarray, *,
               rtol: float = 1e-6) -> None:
    """A loss function's ``(loss, dx)`` matches the reference, each worth half the case."""
    __tracebackhide__ = True
    got = expect_tuple(getattr(student, loss)(x, y), ("loss", "dx"), loss)
    expected = getattr(ref, loss)(x, y)
    with outputs() as checks:
        with checks.part("loss"):
            check_scalar("loss", got[0], expected[0], rtol=rtol)
        with checks.part("dx"):
            check_array("dx", got[1], expected[1], rtol=rtol)


def check_params(params, expected: dict, where: str) -> None:
    """``params`` has exactly the keys of ``expected`` and arrays of the same shapes."""
    __tracebackhide__ = True
    if not isinstance(params, dict):
        raise Mismatch(f"{where} is a {type(params).__name__}; expected a dict of arrays")
    missing, extra = sorted(set(expected) - set(params)), sorted(set(params) - set(expected))
    if missing or extra:
        raise Mismatch(f"{where} has keys {sorted(map(str, params))}; expected "
                       f"{sorted(expected)}" + (f" (missing {missing})" if missing else ""))
    for key, value in expected.items():
        got = params[key]
        if not isinstance(got, np.ndarray) or got.shape != value.shape:
            shape = got.shape if isinstance(got, np.ndarray) else type(got).__name__
            raise Mismatch(f"{where}['{key}'] has shape {shape}; expected {value.shape}")


def check_update_rule(student, ref, rng, rule: str, shape: tuple, config, grad_scale: float,
                      state: tuple[str, ...], steps: int = 5) -> None:
    """Run ``steps`` updates of the update rule ``rule`` in the student and the reference,
    feeding each returned config back in, and compare after every step: next_w and each
    ``state`` entry of the config (velocity, cache, m, v, t) earn their share, the first wrong
    step counting. Some bugs (a step counter starting at 1) leave the weights right and show
    only in the state."""
    __tracebackhide__ = True
    w = rng.standard_normal(shape)
    ref_w, ref_config = w.copy(), copy.deepcopy(config)
    with outputs() as checks:
        for step in range(1, steps + 1):
            dw = grad_scale * rng.standard_normal(shape)
            w, config = expect_tuple(getattr(student, rule)(w, dw, config), ("next_w", "config"),
                                     rule)
            ref_w, ref_config = getattr(ref, rule)(ref_w, dw, ref_config)
            with checks.part("next_w"):
                check_array(f"next_w after step {step}", w, ref_w)
            if not isinstance(config, dict):
                raise Mismatch(f"{rule} returned a {type(config).__name__} as config; "
                               "expected the config dict")
            for key in state:
                with checks.part(key):
                    _check_state(config, ref_config, key, step)


def _check_state(config: dict, ref_config: dict, key: str, step: int) -> None:
    __tracebackhide__ = True
    if key not in config:
        raise Mismatch(f"after step {step} config has no '{key}' "
                       f"(its keys: {sorted(map(str, config))})")
    if key == "t":
        check_scalar(f"config['t'] after step {step}", config["t"], ref_config["t"])
    else:
        check_array(f"config['{key}'] after step {step}", config[key], ref_config[key])


def check_loss_and_grads(got, expected: tuple, call: str, *, rtol: float = 1e-6,
                         atol: float = 1e-9) -> None:
    """A model's ``loss(...) -> (loss, grads)`` (``call`` names it in messages) against the
    reference's: grads must have the reference's keys and shapes; the loss and each gradient
    then earn their share."""
    __tracebackhide__ = True
    loss, grads = expect_tuple(got, ("loss", "grads"), call)
    expected_loss, expected_grads = expected
    check_params(grads, expected_grads, "grads")
    with outputs() as checks:
        with checks.part("loss"):
            check_scalar("loss", loss, expected_loss, rtol=rtol, atol=atol)
        for key, value in expected_grads.items():
            with checks.part(key):
                check_array(f"grads['{key}']", grads[key], value, rtol=rtol, atol=atol)
