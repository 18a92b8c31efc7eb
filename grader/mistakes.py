"""Known mistakes: name the bug a student's wrong output comes from, as a TA would.

An assignment may list, instructor-side in ``solutions/<folder>/mistakes.py`` (never released),
functions that reproduce a classic bug of one reference function::

    @mistake("affine_backward", "db is averaged over the batch instead of summed",
             mutant="affine_db_not_summed")
    def affine_db_mean(dout, cache):
        dx, dw, _ = layers.affine_backward(dout, cache)
        return dx, dw, dout.mean(axis=0)

While a test runs, every call it makes to a reference function that has listed mistakes is
recorded with a copy of its arguments. When the test then finds a wrong output that came from
such a call, the trusted process runs each listed mistake on the same arguments; if the mistake
gives the student's value (and differs from the reference there), the feedback names it. All of
this happens in the trusted process: the mistakes are instructor code, run on the grader's own
copies of the inputs, and the student's value is only compared with.
"""

from __future__ import annotations

import copy
import functools
import importlib
import importlib.util
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from grader.compare import Mismatch, agrees


@dataclass(frozen=True)
class Mistake:
    """A bug in ``function`` that ``reproduce`` (the reference's signature) commits."""

    function: str
    says: str  # completes "this is what you get when …"
    reproduce: Callable
    mutant: str = ""  # the mutant in tests/mutants that makes this mistake


def mistake(function: str, says: str, *, mutant: str = "") -> Callable[[Callable], Callable]:
    """Mark the decorated function as reproducing a mistake in the reference ``function``."""
    def register(fn: Callable) -> Callable:
        fn.mistake = Mistake(function, says, fn, mutant)
        return fn
    return register


def load(module: str) -> dict[str, list[Mistake]]:
    """The mistakes listed in ``module`` by reference function; none if it does not exist."""
    try:
        if importlib.util.find_spec(module) is None:
            return {}
    except ModuleNotFoundError:  # no solutions package at all: a student's release
        return {}
    found: dict[str, list[Mistake]] = {}
    for value in vars(importlib.import_module(module)).values():
        listed = getattr(value, "mistake", None)
        if isinstance(listed, Mistake):
            found.setdefault(listed.function, []).append(listed)
    return found


@dataclass
class Call:
    """One call a test made to a reference function, with copies of its arguments."""

    function: str
    args: tuple
    kwargs: dict
    result: object
    returned_dicts: dict[int, dict]  # the dicts it returned, as they were then (see _position)


@dataclass
class Recorder:
    """Records a test's calls to the reference functions that have listed mistakes."""

    mistakes: dict[str, list[Mistake]]
    calls: list[Call] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # a listed mistake that itself failed

    def wrap(self, name: str, fn: Callable) -> Callable:
        """``fn`` itself, or a recording stand-in when ``name`` has listed mistakes."""
        if name not in self.mistakes:
            return fn

        @functools.wraps(fn)
        def recorded(*args, **kwargs):
            try:
                saved = copy.deepcopy((args, kwargs))
            except Exception:  # noqa: BLE001 - an argument that cannot be copied: not recorded
                return fn(*args, **kwargs)
            result = fn(*args, **kwargs)
            self.calls.append(Call(name, *saved, result, _dicts_now(result)))
            return result
        return recorded

    def name(self, failure: Mismatch) -> str:
        """What the listed mistake that explains ``failure`` says, or ""."""
        for call in reversed(self.calls):
            position = _position(call, failure.expected)
            if position is _ABSENT:
                continue
            for listed in self.mistakes[call.function]:
                try:
                    if self._explains(listed, call, position, failure):
                        return listed.says
                except Exception:  # noqa: BLE001 - a broken listing costs the student nothing
                    self.errors.append(f"mistake {listed.reproduce.__name__} "
                                       f"({listed.function}): {traceback.format_exc(limit=-1)}")
        return ""

    def _explains(self, listed: Mistake, call: Call, path: tuple, failure: Mismatch) -> bool:
        """Whether the mistake gives the student's value; raises if the listing is broken."""
        args, kwargs = copy.deepcopy((call.args, call.kwargs))
        value = listed.reproduce(*args, **kwargs)
        for key in path:
            value = value[key]
        if not _finite(value):  # a NaN would agree with anything
            return False
        tol = {"rtol": failure.rtol, "atol": failure.atol}
        return agrees(failure.got, value, **tol) and not agrees(failure.expected, value, **tol)

    def clear(self) -> None:
        self.calls.clear()


_ABSENT = object()


def _dicts_now(result) -> dict[int, dict]:
    """Copies of the dicts among ``result``'s items (an update rule's config): the reference
    may change them in place on its next call, so the values compared later are the ones it
    returned, kept by identity."""
    items = result if isinstance(result, (tuple, list)) else ()
    return {i: dict(item) for i, item in enumerate(items) if isinstance(item, dict)}


def _position(call: Call, expected):
    """The path of keys that leads from the call's result to ``expected``: () for the result
    itself, (i,) for an item of a returned tuple, (i, key) for a value in a returned dict (an
    optimizer's config), ``_ABSENT`` if it is not there. Compared by identity, the very object;
    ints, bools and None are shared by the interpreter, so they are never matched."""
    if expected is None or isinstance(expected, (int, bool, np.bool_)):
        return _ABSENT
    result = call.result
    if result is expected:
        return ()
    for i, item in enumerate(result if isinstance(result, (tuple, list)) else ()):
        if item is expected:
            return (i,)
    for i, values in call.returned_dicts.items():
        key = next((k for k, v in values.items() if v is expected), _ABSENT)
        if key is not _ABSENT:
            return (i, key)
    return _ABSENT


def _finite(value) -> bool:
    try:
        return bool(np.all(np.isfinite(value)))
    except (TypeError, ValueError):  # not numbers: agrees() decides
        return True
