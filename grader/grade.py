"""Grade one submission: stage it, run the tests against a sandbox worker, return the result."""

from __future__ import annotations

import contextlib
import io
import platform
import signal
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pytest

from grader import submission
from grader.plugin import GradingPlugin, grading_args
from grader.results import GradingResult
from grader.policy import Sessions
from grader.spec import Assignment, UsageError

DEFAULT_SEED = 1234


def grade(path: Path, spec: Assignment, *, seed: int = DEFAULT_SEED, hidden: bool = True,
          progress: Callable[[int, int, str], None] | None = None,
          tasks: Iterable[str] | None = None) -> GradingResult:
    """Grade the submission at ``path``; never raises for anything the submission does.

    ``tasks`` limits grading to those task ids. Raises :class:`grader.spec.UsageError` for a
    bad path, layout or task id, before any test runs.
    """
    if tasks is not None:
        tasks = frozenset(tasks)
        unknown = sorted(tasks - set(spec.tasks))
        if unknown:
            raise UsageError(f"unknown task {', '.join(unknown)} for {spec.id} "
                             f"(known: {', '.join(spec.tasks)})")
    started = time.monotonic()
    staging = Path(tempfile.mkdtemp(prefix="layerlab-submission-"))
    try:
        given = submission.supply_given(spec, staging, submission.stage(path, spec, staging))
        layout = submission.locate(staging, spec)
        sessions = Sessions(staging, spec)
        plugin = GradingPlugin(spec, sessions, seed, progress=progress, tasks=tasks,
                               functions=layout.modules, unusable=layout.duplicates)
        plugin.result.submission = str(path)
        plugin.result.notes = [*given, *layout.notes]
        plugin.result.versions = {"Python": platform.python_version(), "NumPy": np.__version__}
        backstop = 3 * spec.limits.call_timeout + 30
        main_thread = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, raise_interrupt) if main_thread else None
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # pytest's own terminal output
                code = pytest.main(grading_args(spec, hidden=hidden, timeout=backstop),
                                   plugins=[plugin])
            if code == pytest.ExitCode.INTERRUPTED:
                plugin.result.interrupted = True
            elif code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
                plugin.result.internal_errors.append(f"pytest ended with {code!r}")
        except BaseException as exc:  # noqa: BLE001 - keep every result computed so far
            plugin.result.interrupted = isinstance(exc, KeyboardInterrupt)
            if not plugin.result.interrupted:
                plugin.result.internal_errors.append(traceback.format_exc())
        finally:
            if main_thread:
                signal.signal(signal.SIGTERM, previous)
            sessions.close()
        return plugin.finish(started)
    finally:
        submission.clean(staging)


def plan(spec: Assignment) -> GradingResult:
    """Collect the assignment's tests without running them: every case scores 0 of its points."""
    plugin = GradingPlugin(spec, Sessions(spec.folder, spec), DEFAULT_SEED)
    with contextlib.redirect_stdout(io.StringIO()):
        code = pytest.main([*grading_args(spec, hidden=True, timeout=60), "--collect-only"],
                           plugins=[plugin])
    if code != pytest.ExitCode.OK or plugin.result.internal_errors:
        raise RuntimeError(f"collecting the tests of {spec.id} failed: "
                           f"{plugin.result.internal_errors or code}")
    return plugin.plan()


def raise_interrupt(signum, frame):
    """A signal handler that stops the work at hand as Ctrl-C would (KeyboardInterrupt)."""
    raise KeyboardInterrupt(f"signal {signum}")
