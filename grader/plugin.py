"""The pytest plugin that turns test outcomes into points.

Markers: ``points(n)`` on a test function (a parametrised test splits ``n`` evenly over its
cases) and ``task("a1.affine")`` (usually as a module-level ``pytestmark``). Fixtures:
``student`` (proxy to the sandbox worker), ``ref`` (the reference solution's functions, in the
trusted process), ``rng`` (a NumPy generator seeded from the run's seed and the test's id) and
``record_note`` (``record_note("163x faster")`` attaches a line to the case's result, passed or
failed, which every report shows: what the test measured, built here from the grader's own
values, never text taken from the worker as it came).
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

from grader import mistakes
from grader.compare import Mismatch, PartlyWrong
from grader.policy import Sessions
from grader.results import CaseResult, GradingResult, TestResult, clean_notes
from grader.session import StudentError, WorkerSession
from grader.spec import ROOT, Assignment
from grader.student import Student


# What a call failed with when the student has not written the function yet.
NOT_STARTED = ("not_implemented", "missing", "missing_module")


def case_seed(seed: int, nodeid: str) -> int:
    return (seed * 1_000_003 + zlib.crc32(nodeid.encode())) % 2**32


class GradingPlugin:
    def __init__(self, spec: Assignment, sessions: Sessions, seed: int, *,
                 progress: Callable[[int, int, str], None] | None = None,
                 tasks: frozenset[str] | None = None, functions: dict[str, str] | None = None,
                 unusable: dict[str, str] | None = None):
        """``functions`` maps each function name to the submission module that defines it
        (default: the stubs' layout); ``unusable`` maps names that cannot be called to why."""
        self.spec, self.sessions, self.seed, self.progress = spec, sessions, seed, progress
        self.tasks = tasks
        self._functions = spec.functions() if functions is None else functions
        self._unusable = dict(unusable or {})
        self._mistakes = mistakes.Recorder(mistakes.load(spec.mistakes_module))
        self.result = GradingResult(spec.id, spec.title, "", seed, task_titles=dict(spec.tasks))
        self._tests: dict[str, TestResult] = {}
        self._points: dict[str, float] = {}
        self._notes: dict[str, list] = {}  # nodeid -> what record_note got, until _record
        self._total = self._done = 0
        self._ref: SimpleNamespace | None = None

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
            # The verdict and feedback come from the exception itself (_record); pytest's own
            # rendering of each failure's traceback, a third of a failing grading's time, is
            # never read.
            item.repr_failure = _brief_failure
        for test_id, group in groups.items():
            first = group[0]
            points = first.get_closest_marker("points")
            total = float(points.args[0]) if points else 1.0
            doc = (first.function.__doc__ or first.originalname).strip().splitlines()[0]
            self._tests[test_id] = TestResult(_task(first), doc, test_id,
                                              self.spec.visibility(first.path))
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
        return Student(self._session(request.node), self._functions, self._unusable)

    @pytest.fixture
    def ref(self) -> SimpleNamespace:
        """The reference's public names; calls to those with known mistakes are recorded (in
        the recorder each test starts afresh, so one namespace serves the whole run)."""
        if self._ref is None:
            self._ref = SimpleNamespace()
            for module in self.spec.modules:
                mod = importlib.import_module(self.spec.reference_module(module))
                self._ref.__dict__.update({k: self._mistakes.wrap(k, v)
                                           for k, v in vars(mod).items() if not k.startswith("_")})
        return self._ref

    @pytest.fixture
    def rng(self, request) -> np.random.Generator:
        return np.random.default_rng(case_seed(self.seed, request.node.nodeid))

    @pytest.fixture
    def record_note(self, request) -> Callable[[object], None]:
        """``record_note(text)``: a line on this case's result, shown in every report whether
        the case passed or not (cleaned to one short line: see results.clean_note)."""
        notes = self._notes.setdefault(request.node.nodeid, [])
        return notes.append

    # -- outcomes --------------------------------------------------------------------------------
    def pytest_runtest_setup(self, item):
        """Start each test with no output or reference calls recorded from earlier tests."""
        self._session(item).calls.clear()
        self._mistakes.clear()

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
            self._notes.pop(item.nodeid, None)
            self._session(item).release_handles()
        return report

    def _record(self, item, call, report) -> None:
        points = self._points.get(item.nodeid, 0.0)
        case = item.callspec.id if hasattr(item, "callspec") else ""
        calls = self._session(item).calls
        output = "\n".join(c.output for c in calls if c.output)[:2000]
        warned = [w for c in calls for w in c.warnings]
        notes = clean_notes(self._notes.pop(item.nodeid, []))
        if report.passed:
            result = CaseResult(case, True, points, points, output=output, notes=notes)
        else:
            exc = call.excinfo.value
            feedback, internal = self._explain(call.excinfo)
            if internal:
                self.result.internal_errors.append(f"{item.nodeid}: {feedback}")
                feedback = "grader error (not your fault; reported to the instructor): " + \
                    feedback.splitlines()[-1]
            if warned and warned[0] not in feedback:
                feedback += f" (your code warned: {warned[0]})"
            credit = exc.credit if isinstance(exc, PartlyWrong) else 0.0
            not_started = isinstance(exc, StudentError) and exc.kind in NOT_STARTED
            result = CaseResult(case, False, points * credit, points, feedback, output, internal,
                                not_started, notes)
        self.result.internal_errors += [f"{item.nodeid}: {e}" for e in self._mistakes.errors]
        self._mistakes.errors.clear()
        self._tests[_function_id(item)].cases.append(result)

    def _explain(self, excinfo) -> tuple[str, bool]:
        """Feedback for a failed case (naming the known mistakes that explain wrong outputs),
        and whether the grader itself (not the student) failed."""
        exc = excinfo.value
        if isinstance(exc, Mismatch):
            parts = exc.failures if isinstance(exc, PartlyWrong) else [exc]
            return "\n".join(self._named(part) for part in parts), False
        return _explain(excinfo)

    def _named(self, failure: Mismatch) -> str:
        says = self._mistakes.name(failure)
        return f"{failure} — this is what you get when {says}" if says else str(failure)

    def pytest_runtest_logfinish(self, nodeid):
        """Report progress after each test."""
        self._done += 1
        if self.progress:
            self.progress(self._done, self._total, nodeid)

    def plan(self) -> GradingResult:
        """Every collected test, each case not yet run and worth its points (``layerlab list``)."""
        for nodeid, points in self._points.items():
            case = nodeid.partition("[")[2].removesuffix("]")
            self._tests[nodeid.split("[", 1)[0]].cases.append(CaseResult(case, False, 0.0, points))
        self.result.tests = list(self._tests.values())
        return self.result

    def finish(self, started: float) -> GradingResult:
        self.result.execution_time = time.monotonic() - started
        self.result.protections = self.sessions.protections
        self.result.tests = [t for t in self._tests.values() if t.cases]
        return self.result


def _task(item) -> str:
    marker = item.get_closest_marker("task")
    return marker.args[0] if marker else "unassigned"


def _function_id(item) -> str:
    return item.nodeid.split("[", 1)[0]


def _brief_failure(excinfo, style=None) -> str:
    """A failed test's report text: the exception's first line (see _record for the feedback)."""
    return f"{type(excinfo.value).__name__}: {(str(excinfo.value).strip().splitlines() or [''])[0]}"


def _explain(excinfo) -> tuple[str, bool]:
    """Feedback for a failed case, and whether the grader itself (not the student) failed."""
    exc = excinfo.value
    if isinstance(exc, StudentError):
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
    # Not loaded: pytest's terminal reporter (nobody reads its output: the report is built from
    # the plugin's results, and its failure summary costs a tenth of a grading), the cache, and
    # the log-capturing, warnings and unraisable-exception plugins (student code never runs in
    # this process; the last one's closing gc.collect() is a grading's slowest single call).
    return [*paths, "--disable-plugin-autoload", "-c", str(ROOT / "grader" / "grading.ini"),
            "--rootdir", str(ROOT), "-p", "pytest_timeout", f"--timeout={timeout:g}",
            "--import-mode=importlib", "-p", "no:cacheprovider", "-p", "no:warnings",
            "-p", "no:unraisableexception", "-p", "no:terminal", "-p", "no:logging"]
