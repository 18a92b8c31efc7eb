"""The pytest plugin that turns test outcomes into points.

Markers: ``points(n)`` on a test function (a parametrised test splits ``n`` evenly over its
cases) and ``task("a1.affine")`` (usually as a module-level ``pytestmark``). Fixtures:
``student`` (proxy to the sandbox worker), ``ref`` (the reference solution's functions, in the
trusted process) and ``rng`` (a NumPy generator seeded from the run's seed and the test's id).
"""

from __future__ import annotations

import importlib
import time
import traceback
import zlib
from collections.abc import Callable
from types import SimpleNamespace

import numpy as np
import pytest

from grader.compare import Mismatch, expect_tuple
from grader.results import CaseResult, GradingResult, TestResult
from grader.policy import Sessions
from grader.session import StudentError, WorkerSession
from grader.wire import Handle
from grader.spec import ROOT, Assignment


class Student:
    """Calls the submission's functions by name, e.g. ``student.affine_forward(x, w, b)``."""

    def __init__(self, session: WorkerSession, functions: dict[str, str]):
        self._session, self._functions = session, functions

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
        """Call a ``*_forward`` function: returns ``(out, cache)`` with the cache left in the worker."""
        __tracebackhide__ = True
        result = self._session.call(self._module(name), name, args, kwargs, keep=(1,))
        return expect_tuple(result, ("out", "cache"), name)

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
        if name not in self._functions:
            raise AttributeError(f"the assignment has no function or class '{name}'")
        return self._functions[name]


def case_seed(seed: int, nodeid: str) -> int:
    return (seed * 1_000_003 + zlib.crc32(nodeid.encode())) % 2**32


class GradingPlugin:
    def __init__(self, spec: Assignment, sessions: Sessions, seed: int, *,
                 progress: Callable[[int, int, str], None] | None = None,
                 tasks: frozenset[str] | None = None):
        self.spec, self.sessions, self.seed, self.progress = spec, sessions, seed, progress
        self.tasks = tasks
        self._functions = spec.functions()
        self.result = GradingResult(spec.id, spec.title, "", seed, task_titles=dict(spec.tasks))
        self._tests: dict[str, TestResult] = {}
        self._points: dict[str, float] = {}
        self._total = self._done = 0

    # -- configuration and collection -----------------------------------------------------------
    def pytest_configure(self, config):
        """Register the grading markers."""
        config.addinivalue_line("markers", "points(n): points for this test, split over its cases")
        config.addinivalue_line("markers", "task(id): the assignment task this test grades")

    def pytest_collection_modifyitems(self, config, items):
        """Keep the selected tasks; split each test's points over its cases; make its row."""
        if self.tasks is not None:
            chosen = [i for i in items if _task(i) in self.tasks]
            config.hook.pytest_deselected(items=[i for i in items if _task(i) not in self.tasks])
            items[:] = chosen
        groups: dict[str, list] = {}
        for item in items:
            groups.setdefault(_function_id(item), []).append(item)
        for test_id, group in groups.items():
            first = group[0]
            points = first.get_closest_marker("points")
            total = float(points.args[0]) if points else 1.0
            doc = (first.function.__doc__ or first.originalname).strip().splitlines()[0]
            hidden = "hidden_tests" in str(first.path)
            self._tests[test_id] = TestResult(_task(first), doc, test_id,
                                              "hidden" if hidden else "public")
            for item in group:
                self._points[item.nodeid] = total / len(group)
        self._total = len(items)

    def pytest_collectreport(self, report):
        """A test file that fails to import is a grader error, never the student's."""
        if report.failed:
            self.result.internal_errors.append(f"collecting {report.nodeid}: {report.longreprtext}")

    # -- fixtures --------------------------------------------------------------------------------
    @pytest.fixture
    def student(self, request) -> Student:
        return Student(self._session(request.node), self._functions)

    @pytest.fixture
    def ref(self) -> SimpleNamespace:
        namespace = SimpleNamespace()
        for module in self.spec.modules:
            mod = importlib.import_module(f"solutions.{self.spec.folder.name}.{module}")
            namespace.__dict__.update({k: v for k, v in vars(mod).items() if not k.startswith("_")})
        return namespace

    @pytest.fixture
    def rng(self, request) -> np.random.Generator:
        return np.random.default_rng(case_seed(self.seed, request.node.nodeid))

    # -- outcomes --------------------------------------------------------------------------------
    def pytest_runtest_setup(self, item):
        """Start each test with no output recorded from earlier calls."""
        self._session(item).calls.clear()

    def _session(self, item) -> WorkerSession:
        """The worker for this test's task (its import policy decides which)."""
        return self.sessions.for_task(_task(item))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item, call):
        """Record each test's verdict, feedback and points."""
        report = yield
        if report.when == "call" or (report.when == "setup" and not report.passed):
            self._record(item, call, report)
        if report.when == "teardown":
            self._session(item).release_handles()
        return report

    def _record(self, item, call, report) -> None:
        points = self._points.get(item.nodeid, 0.0)
        case = item.callspec.id if hasattr(item, "callspec") else ""
        calls = self._session(item).calls
        output = "\n".join(c.output for c in calls if c.output)[:2000]
        warned = [w for c in calls for w in c.warnings]
        if report.passed:
            result = CaseResult(case, True, points, points, output=output)
        else:
            feedback, internal = _explain(call.excinfo)
            if internal:
                self.result.internal_errors.append(f"{item.nodeid}: {feedback}")
                feedback = "grader error (not your fault; reported to the instructor): " + \
                    feedback.splitlines()[-1]
            if warned and warned[0] not in feedback:
                feedback += f" (your code warned: {warned[0]})"
            result = CaseResult(case, False, 0.0, points, feedback, output, internal)
        self._tests[_function_id(item)].cases.append(result)

    def pytest_runtest_logfinish(self, nodeid):
        """Report progress after each test."""
        self._done += 1
        if self.progress:
            self.progress(self._done, self._total, nodeid)

    def plan(self) -> list[tuple[TestResult, float]]:
        """Every collected test with the points it is worth (for ``layerlab list``)."""
        worth: dict[str, float] = {}
        for nodeid, points in self._points.items():
            test_id = nodeid.split("[", 1)[0]
            worth[test_id] = worth.get(test_id, 0.0) + points
        return [(test, worth[test_id]) for test_id, test in self._tests.items()]

    def finish(self, started: float) -> GradingResult:
        self.result.execution_time = time.monotonic() - started
        self.result.protections = dict(self.sessions.protections)
        self.result.tests = [t for t in self._tests.values() if t.cases]
        return self.result


def _task(item) -> str:
    marker = item.get_closest_marker("task")
    return marker.args[0] if marker else "unassigned"


def _function_id(item) -> str:
    return item.nodeid.split("[", 1)[0]


def _explain(excinfo) -> tuple[str, bool]:
    """Feedback for a failed case, and whether the grader itself (not the student) failed."""
    exc = excinfo.value
    if isinstance(exc, (StudentError, Mismatch)):
        return str(exc), False
    if isinstance(exc, pytest.fail.Exception) and "pytest-timeout" in str(exc):
        return "the test as a whole took too long (stopped by the per-test time limit)", False
    if isinstance(exc, (AssertionError, pytest.fail.Exception)):
        return (str(exc).strip().splitlines() or ["a check failed"])[0], False
    tb = "".join(traceback.format_exception(exc)[-3:]).strip()
    return tb, True


def grading_args(spec: Assignment, *, hidden: bool, timeout: float) -> list[str]:
    """The pytest command line for one grading run (files, ini isolation, backstop timeout)."""
    paths = [str(spec.public_tests)]
    if hidden and spec.hidden_tests is not None:
        paths.append(str(spec.hidden_tests))
    return [*paths, "--disable-plugin-autoload", "-c", str(ROOT / "grader" / "grading.ini"), "--rootdir", str(ROOT),
            "-p", "no:cacheprovider", "-p", "pytest_timeout", f"--timeout={timeout:g}",
            "--import-mode=importlib", "-qq", "--no-header", "--tb=native", "-p", "no:warnings"]
