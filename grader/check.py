"""``check()``: the public checks from Python, for students who work in Jupyter.

``from grader import check; check("a1", task="a1.affine")`` runs what ``layerlab check a1
--task a1.affine`` runs (the same sandboxed public tests, through :func:`grader.grade.grade`)
and renders the same report: inline in a notebook (rich detects Jupyter and prints HTML there),
as text anywhere else. Bad input raises :class:`grader.spec.UsageError` with the CLI's message.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from rich.console import Console

from grader import report, spec
from grader.grade import DEFAULT_SEED, grade
from grader.progress import progress as progress_of
from grader.results import GradingResult
from grader.spec import UsageError


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
    with progress_of(console, "checking") as progress:
        result = grade(folder, target, seed=seed, hidden=False, progress=progress, tasks=tasks)
    with console:  # buffered: in Jupyter the whole report is one output
        report.render(result, console)
    return result


def _task_ids(task: str | Iterable[str] | None) -> list[str] | None:
    if task is None:
        return None
    tasks = [task] if isinstance(task, str) else list(task)
    if not tasks:
        raise UsageError("task= names no task (leave it out to check every task)")
    return tasks
