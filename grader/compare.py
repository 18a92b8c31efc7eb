"""Comparisons that explain themselves: every failure says which output, how and where.

Tests call these with the student's value (as decoded from the worker) and the expected value
computed in the trusted process. A failed check raises :class:`Mismatch`, whose message is the
feedback the student reads.
"""

from __future__ import annotations

import numpy as np

from grader.wire import Handle


class Mismatch(AssertionError):
    """The student's value is wrong; the message says how."""


def _describe(value) -> str:
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
        raise Mismatch(f"{func} returned {_describe(value)}; expected a tuple {want}")
    if len(value) != len(names):
        raise Mismatch(f"{func} returned {len(value)} values; expected {len(names)}: {want}")
    return tuple(value)


def check_array(name: str, got, expected: np.ndarray, *, rtol: float = 1e-6,
                atol: float = 1e-9, dtype: bool = True) -> None:
    """Compare an array output with the reference; explain the first thing that is wrong."""
    __tracebackhide__ = True
    expected = np.asarray(expected)
    if got is None:
        raise Mismatch(f"{name}: got None (is a return statement missing?)")
    if not isinstance(got, np.ndarray):
        if isinstance(got, (float, int, np.generic)) and expected.ndim == 0:
            got = np.asarray(got)
        else:
            raise Mismatch(f"{name}: expected a NumPy array of shape {expected.shape}, "
                           f"got {_describe(got)}")
    if got.shape != expected.shape:
        raise Mismatch(f"{name} has shape {got.shape}; expected {expected.shape}")
    if got.dtype.kind not in "fiub":
        raise Mismatch(f"{name} has dtype {got.dtype}; expected a real {expected.dtype} array")
    if dtype and got.dtype != expected.dtype:
        raise Mismatch(f"{name} has dtype {got.dtype}; expected {expected.dtype}")
    got_f = got.astype(np.float64)
    bad = ~np.isfinite(got_f)
    if bad.any() and got.ndim == 0:
        raise Mismatch(f"{name} is {got_f[()]} (expected {float(expected):.6g})")
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise Mismatch(f"{name} contains {int(np.isnan(got_f).sum())} NaN and "
                       f"{int(np.isinf(got_f).sum())} infinite values (first at index {first})")
    exp_f = expected.astype(np.float64)
    diff = np.abs(got_f - exp_f)
    if not (diff > atol + rtol * np.abs(exp_f)).any():
        return
    rel = diff / np.maximum(np.abs(got_f) + np.abs(exp_f), 1e-300)
    worst = np.unravel_index(int(np.argmax(np.where(diff > atol, rel, 0))), rel.shape)
    where = f" at index {tuple(int(i) for i in worst)}" if got.ndim else ""
    raise Mismatch(f"{name} differs from the reference: max relative error {rel[worst]:.2e}"
                   f"{where} (got {got_f[worst]:.6g}, expected {exp_f[worst]:.6g}); "
                   f"tolerance {rtol:g}")


def check_scalar(name: str, got, expected: float, *, rtol: float = 1e-6,
                 atol: float = 1e-9) -> None:
    """Compare a scalar output (a loss): Python or NumPy numbers and 0-d arrays are accepted."""
    __tracebackhide__ = True
    if isinstance(got, (bool, np.bool_)) or not (
            isinstance(got, (int, float, np.integer, np.floating))
            or (isinstance(got, np.ndarray) and got.size == 1 and got.dtype.kind in "fi")):
        raise Mismatch(f"{name}: expected a number, got {_describe(got)}")
    check_array(name, np.asarray(got, dtype=np.float64).reshape(()),
                np.asarray(expected, dtype=np.float64), rtol=rtol, atol=atol)


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
    of the reference's output."""
    __tracebackhide__ = True
    forward, backward = f"{layer}_forward{suffix}", f"{layer}_backward{suffix}"
    ref_out, ref_cache = getattr(ref, forward)(*args)
    if isinstance(dout, np.random.Generator):
        dout = dout.standard_normal(np.shape(ref_out))
    _, cache = student.forward(forward, *args)
    got = expect_tuple(getattr(student, backward)(dout, cache), grads, backward)
    expected = expect_tuple(getattr(ref, backward)(dout, ref_cache), grads, f"reference {backward}")
    for name, g, e in zip(grads, got, expected):
        check_array(name, g, e, rtol=rtol)


def check_loss(student, ref, loss: str, x: np.ndarray, y: np.ndarray, *,
               rtol: float = 1e-6) -> None:
    """A loss function's ``(loss, dx)`` matches the reference."""
    __tracebackhide__ = True
    got = expect_tuple(getattr(student, loss)(x, y), ("loss", "dx"), loss)
    expected = getattr(ref, loss)(x, y)
    check_scalar("loss", got[0], expected[0], rtol=rtol)
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
