"""The console report: a per-task summary first, then what failed, then the sandbox.

Rendering only; the numbers come from :class:`grader.results.GradingResult`. The summary is one
table (task, title, points, status); the notes the tests recorded (``record_note``: e.g. a
measured speed ratio) follow, for the tests the details do not list; the details list the
failed tests of each task with their feedback and notes, identical messages collapsed. Without
a terminal (CI logs) or with ``NO_COLOR`` set, rich prints plain text; on a terminal it uses the
terminal's width.
"""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader.protections import describe_protections
from grader.results import (FULL, NONE, NOT_STARTED, PARTIAL, GradingResult, TaskResult,
                            TestResult, points)

DETAILS = ("failed", "all", "none")
INTERRUPTED = "Grading was interrupted: the report covers the tests that finished."
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
    if details == "failed":
        for line in passed_note_lines(result):
            console.print(line)
    if details != "none":
        for line in detail_lines(result, everything=details == "all"):
            console.print(line)
    lines = protection_lines(result)
    console.print(Text(lines[0], style="bold"))
    for line in lines[1:]:
        console.print(Text(line))


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
        table.add_row(task.task, task.title, _score(task),
                      Text(task.status, style=_STATUS_STYLE[task.status]))
    return table


def _total(result: GradingResult) -> Text:
    style = "green" if result.percent >= 99.99 else ("yellow" if result.score else "red")
    return Text(f"Total: {_score(result)} points "
                f"({result.percent:.1f} %)", style=f"bold {style}")


def passed_note_lines(result: GradingResult) -> list[Text]:
    """The notes of the tests that passed (the details show the others' under each test), one
    line each after the task id: a heading first, nothing when no passed test has a note."""
    lines = [Text(f"  {test.task}  ").append(line, style="cyan")
             for test in result.tests if test.passed for line in test.note_lines()]
    return [Text("\nNotes on tests that passed:", style="bold"), *lines] if lines else []


def detail_lines(result: GradingResult, *, everything: bool = False) -> list[Text]:
    """The tests that lost points (or every test), task by task, with their feedback."""
    lines = []
    for task in result.tasks():
        if task.status == FULL and not everything:
            continue
        lines.append(Text(f"{task.task} · {task.title} · {_score(task)} ({task.status})",
                          style="bold"))
        lines += _task_lines(task, everything)
    if lines:
        lines.insert(0, Text("\nWhat lost points:" if not everything else "\nEvery test:",
                             style="bold"))
    return lines


def _task_lines(task: TaskResult, everything: bool) -> list[Text]:
    failed = [t for t in task.tests if not t.passed]
    shared = {line for t in failed for line in _bare(t)}
    if not everything and len(failed) > 1 and len(shared) == 1:
        lost = sum(t.max_score - t.score for t in failed)
        return [_mark(False).append(f" {len(failed)} tests ({points(lost)} points): {shared.pop()}",
                                    style="yellow"),
                *(_note(line) for t in failed for line in t.note_lines())]
    lines = []
    for test in task.tests if everything else failed:
        lines.append(_mark(test.passed).append(
            f" {test.visibility:<6} {_score(test)}  {test.name}"))
        lines += [Text("      " + line, style="yellow") for line in test.feedback_lines()]
        lines += [_note(line) for line in test.note_lines()]
    return lines


def _note(line: str) -> Text:
    return Text("      " + line, style="cyan")


def _bare(test: TestResult) -> set[str]:
    """The distinct messages of a test's failed cases, without the case ids."""
    return {c.feedback for c in test.cases if not c.passed} | \
        {"(your code printed something)" for c in test.cases if not c.passed and c.output}


def _score(graded: GradingResult | TaskResult | TestResult) -> str:
    return f"{points(graded.score)}/{points(graded.max_score)}"


def _mark(passed: bool) -> Text:
    return Text("  ✓", style="green") if passed else Text("  ✗", style="red")


def _notes(result: GradingResult) -> list[Text]:
    notes = [Text(note, style="cyan") for note in result.notes]
    if result.interrupted:
        notes.append(Text(INTERRUPTED, style="bold red"))
    for error in result.internal_errors:
        notes.append(Text("Grader error (please report it): " + error, style="bold red"))
    return notes


def protection_lines(result: GradingResult) -> list[str]:
    """What the sandbox enforced: a heading, then one line per protection."""
    described = describe_protections(result.protections) or [("workers", "none was started")]
    return ["Sandbox protections:", *(f"  {name}: {what}" for name, what in described)]
