"""The ``student`` fixture: calls into the submission, which runs in the sandbox worker.

Each function is called in the module that defines it (see :func:`grader.submission.locate`:
students may lay their files out as another course does). A name the submission defines twice
fails every call with the message that names both places.
"""

from __future__ import annotations

import time

from grader.compare import expect_tuple
from grader.session import StudentError, WorkerSession
from grader.wire import Handle


class Student:
    """Calls the submission's functions by name, e.g. ``student.affine_forward(x, w, b)``."""

    def __init__(self, session: WorkerSession, functions: dict[str, str],
                 errors: dict[str, str] | None = None):
        """``functions`` maps each name to the submission module that defines it; ``errors``
        maps names that cannot be called (defined twice) to the reason."""
        self._session, self._functions, self._errors = session, functions, dict(errors or {})

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        module = self._module(name)
        return lambda *args, **kwargs: self._session.call(module, name, args, kwargs)

    @property
    def warnings(self) -> list[str]:
        """Warnings (e.g. RuntimeWarning: overflow) raised during the latest call."""
        calls = self._session.calls
        return calls[-1].warnings if calls else []

    def forward(self, name: str, *args, **kwargs):
        """Call a ``*_forward`` function: returns ``(out, cache)``, the cache left in the worker."""
        __tracebackhide__ = True
        result = self._session.call(self._module(name), name, args, kwargs, keep=(1,))
        return expect_tuple(result, ("out", "cache"), name)

    def many(self, name: str, calls: list[tuple], *, pick: int | None = None,
             chunk: int = 64) -> list:
        """``name(*args)`` for each ``args`` in ``calls``, in requests of up to ``chunk`` calls
        (each request has the call timeout): the values, element ``pick`` of each tuple."""
        return self._many(self._module(name), None, [[(name, args)] for args in calls], pick,
                          chunk)

    def many_methods(self, obj: Handle, points: list[list[tuple[str, tuple]]], *,
                     pick: int | None = None, chunk: int = 64) -> list:
        """For each point, the methods ``(name, args)`` of ``obj`` called in turn (e.g.
        set_params, then loss), in requests of up to ``chunk`` points: the last call's value
        of each point, element ``pick`` of it."""
        return self._many("", obj, points, pick, chunk)

    def _many(self, module: str, target, points: list, pick, chunk: int) -> list:
        values = []
        for start in range(0, len(points), chunk):
            part = points[start:start + chunk]
            values += self._session.call(module, part[0][-1][0], (), {}, target=target,
                                         many=part, pick=pick)
        return values

    def timed(self, name: str, *args, **kwargs) -> tuple[object, float]:
        """Call ``name`` and return ``(value, seconds)``: the seconds of the call's round trip,
        measured here by time.perf_counter() around the request (code in the worker can patch
        its own clock, not this one). The first call of a module also imports it: time a
        function after calling it once."""
        module = self._module(name)
        started = time.perf_counter()
        value = self._session.call(module, name, args, kwargs)
        return value, time.perf_counter() - started

    def with_args(self, name: str, *args, **kwargs) -> tuple[object, tuple]:
        """Call ``name`` and also return its positional arguments as the call left them
        (e.g. ``bn_param`` with updated running statistics)."""
        return self._session.call(self._module(name), name, args, kwargs, return_args=True)

    def new(self, cls: str, *args, **kwargs) -> Handle:
        """Construct ``cls(*args, **kwargs)`` in the worker; the object stays there."""
        return self._session.call(self._module(cls), cls, args, kwargs, keep=(-1,))

    def method(self, obj: Handle, name: str, *args, **kwargs):
        """Call ``obj.name(*args, **kwargs)`` on an object kept in the worker."""
        return self._session.call("", name, args, kwargs, target=obj)

    def attr(self, obj: Handle, name: str):
        """Read ``obj.name`` of an object kept in the worker."""
        return self._session.attribute(obj, name)

    def timeout(self, seconds: float):
        """``with student.timeout(120):`` allows each call in the block that long."""
        return self._session.timeout(seconds)

    def _module(self, name: str) -> str:
        if name in self._errors:
            raise StudentError(self._errors[name], kind="layout")
        if name not in self._functions:
            raise AttributeError(f"the assignment has no function or class '{name}'")
        return self._functions[name]
