"""The console report: a per-task summary first, then what failed, then the sandbox.

Rendering only; the numbers come from :class:`grader.results.GradingResult`. The summary is one
table (task, title, points, status); the details list the failed tests of each task with their
feedback, identical messages collapsed. Without a terminal (CI logs) or with ``NO_COLOR`` set,
rich prints plain text; on a terminal it uses the terminal's width.
"""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader.protections import describe_protections
from grader.results import FULL, NONE, NOT_STARTED, PARTIAL, GradingResult, TaskResult, TestResult

DETAILS = ("failed", "all", "none")
_STATUS_STYLE = {FULL: "green", PARTIAL: "yellow", NONE: "red", NOT_STARTED: "dim"}


def render(result: GradingResult, console: Console, *, details: str = "failed") -> None:
    """Print the report; ``details`` is ``failed`` (tests that lost points), ``all`` or ``none``."""
    if details not in DETAILS:
        raise ValueError(f"details must be one of {', '.join(DETAILS)}; got {details!r}")
    for line in _header(result):
        console.print(line)
    console.print(summary(result))
    console.print(_total(result))
    for line in _notes(result):
        console.print(line)
    if details != "none":
        for line in detail_lines(result, everything=details == "all"):
            console.print(line)
    console.print(Text("Sandbox protections:", style="bold"))
    for name, what in _protections(result):
        console.print(Text(f"  {name}: {what}"))


def _header(result: GradingResult) -> list[Text]:
    lines = [Text(f"LayerLab · {result.assignment} · {result.title}", style="bold"),
             Text(f"submission: {result.submission} · seed {result.seed} · "
                  f"{result.execution_time:.1f} s")]
    if result.versions:
        lines.append(Text(" · ".join(f"{name} {v}" for name, v in result.versions.items())))
    return lines


def summary(result: GradingResult) -> Table:
    """One row per task: id, title, points, status."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("task", no_wrap=True)
    table.add_column("title", overflow="ellipsis")
    table.add_column("points", justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for task in result.tasks():
        table.add_row(task.task, task.title, f"{task.score:.4g}/{task.max_score:g}",
                      Text(task.status, style=_STATUS_STYLE[task.status]))
    return table


def _total(result: GradingResult) -> Text:
    style = "green" if result.percent >= 99.99 else ("yellow" if result.score else "red")
    return Text(f"Total: {result.score:.4g}/{result.max_score:g} points "
                f"({result.percent:.1f} %)", style=f"bold {style}")


def detail_lines(result: GradingResult, *, everything: bool = False) -> list[Text]:
    """The tests that lost points (or every test), task by task, with their feedback."""
    lines = []
    for task in result.tasks():
        if task.status == FULL and not everything:
            continue
        lines.append(Text(f"{task.task} · {task.title} · {task.score:.4g}/{task.max_score:g} "
                          f"({task.status})", style="bold"))
        lines += _task_lines(task, everything)
    if lines:
        lines.insert(0, Text("\nWhat lost points:" if not everything else "\nEvery test:",
                             style="bold"))
    return lines


def _task_lines(task: TaskResult, everything: bool) -> list[Text]:
    failed = [t for t in task.tests if not t.passed]
    shared = {line for t in failed for line in _bare(t)}
    if not everything and len(failed) > 1 and len(shared) == 1:
        points = sum(t.max_score - t.score for t in failed)
        return [_mark(False).append(f" {len(failed)} tests ({points:g} points): {shared.pop()}",
                                    style="yellow")]
    lines = []
    for test in task.tests if everything else failed:
        lines.append(_mark(test.passed).append(
            f" {test.visibility:<6} {test.score:.4g}/{test.max_score:g}  {test.name}"))
        lines += [Text("      " + line, style="yellow") for line in test.feedback_lines()]
    return lines


def _bare(test: TestResult) -> set[str]:
    """The distinct messages of a test's failed cases, without the case ids."""
    return {c.feedback for c in test.cases if not c.passed} | \
        {"(your code printed something)" for c in test.cases if not c.passed and c.output}


def _mark(passed: bool) -> Text:
    return Text("  ✓", style="green") if passed else Text("  ✗", style="red")


def _notes(result: GradingResult) -> list[Text]:
    notes = [Text(note, style="cyan") for note in result.notes]
    if result.interrupted:
        notes.append(Text("Grading was interrupted: the report covers the tests that finished.",
                          style="bold red"))
    for error in result.internal_errors:
        notes.append(Text("Grader error (please report it): " + error, style="bold red"))
    return notes


def _protections(result: GradingResult) -> list[tuple[str, str]]:
    return describe_protections(result.protections) or [("workers", "none was started")]
