"""``check()``: the public checks from Python, for students who work in Jupyter.

``from grader import check; check("a1", task="a1.affine")`` runs what ``layerlab check a1
--task a1.affine`` runs (the same sandboxed public tests, through :func:`grader.grade.grade`)
and renders the same report: inline in a notebook (rich detects Jupyter and prints HTML there),
as text anywhere else. Bad input raises :class:`grader.spec.UsageError` with the CLI's message.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from grader import report, spec
from grader.grade import DEFAULT_SEED, grade
from grader.results import GradingResult
from grader.spec import UsageError

OnProgress = Callable[[int, int, str], None]
NOTEBOOK_UPDATE_SECONDS = 0.25  # at most this often: each update is a message to the browser


class CheckResult(GradingResult):
    """A :class:`GradingResult` whose repr is one line.

    ``check(...)`` as the last line of a notebook cell would otherwise print the whole result
    model under the report it has just rendered.
    """

    @classmethod
    def of(cls, result: GradingResult) -> CheckResult:
        return cls(**{f.name: getattr(result, f.name) for f in dataclasses.fields(result)})

    def __repr__(self) -> str:
        return (f"<GradingResult {self.assignment}: {self.score:.4g}/{self.max_score:g} points, "
                f"{len(self.tests)} tests>")


def check(assignment: str, task: str | Iterable[str] | None = None, *,
          path: str | os.PathLike[str] | None = None, seed: int = DEFAULT_SEED,
          console: Console | None = None) -> GradingResult:
    """Run the public checks of ``assignment`` on the student's files and show the report.

    - assignment: an assignment id, e.g. ``"a1"``
    - task: one task id (``"a1.affine"``) or several; default every task
    - path: the student's assignment folder; default the repository's ``assignments/<folder>``
    - seed: seed of the random inputs, as ``layerlab check --seed``
    - console: where the report goes; default a new rich Console (inline in Jupyter)

    Returns the result (``.score``, ``.max_score``, ``.tests``). Raises UsageError for an
    unknown assignment or task or a bad path, before any test runs.
    """
    target = spec.get(assignment)
    tasks = _task_ids(task)
    folder = Path(path).expanduser() if path is not None else target.folder
    console = console or Console(highlight=False)
    with _progress(console) as progress:
        result = grade(folder, target, seed=seed, hidden=False, progress=progress, tasks=tasks)
    with console:  # buffered: in Jupyter the whole report is one output
        report.render(result, console)
    return CheckResult.of(result)


def _task_ids(task: str | Iterable[str] | None) -> list[str] | None:
    if task is None:
        return None
    tasks = [task] if isinstance(task, str) else list(task)
    if not tasks:
        raise UsageError("task= names no task (leave it out to check every task)")
    return tasks


@contextmanager
def _progress(console: Console) -> Iterator[OnProgress | None]:
    """Progress where someone watches: one line updated in place in Jupyter, a transient bar
    on a terminal, nothing in a log."""
    if console.is_jupyter:
        with _notebook_line() as update:
            yield update
    elif console.is_terminal:
        bar = Progress(TextColumn("checking"), BarColumn(), MofNCompleteColumn(),
                       TimeElapsedColumn(), TextColumn("{task.description}"),
                       console=console, transient=True)
        with bar:
            job = bar.add_task("", total=None)
            yield lambda done, total, nodeid: bar.update(
                job, completed=done, total=total, description=_test_name(nodeid))
    else:
        yield None


@contextmanager
def _notebook_line() -> Iterator[OnProgress]:
    """A text output that counts the tests as they finish, emptied once grading ends.

    Rich's own live display needs ipywidgets in a notebook; a display handle needs only IPython.
    """
    from IPython.display import display

    handle = display({"text/plain": "checking …"}, raw=True, display_id=True)
    last = 0.0

    def update(done: int, total: int, nodeid: str) -> None:
        nonlocal last
        if time.monotonic() - last >= NOTEBOOK_UPDATE_SECONDS:
            last = time.monotonic()
            handle.update({"text/plain": f"checking {done}/{total}  {_test_name(nodeid)}"},
                          raw=True)

    try:
        yield update
    finally:
        handle.update({"text/plain": ""}, raw=True)


def _test_name(nodeid: str) -> str:
    return nodeid.rsplit("::", 1)[-1][:40]
