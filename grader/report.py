"""The console report: one table per task, feedback under each failed test, a total.

Rendering only; the numbers come from :class:`grader.results.GradingResult`. Without a terminal
(CI logs) or with ``NO_COLOR`` set, rich prints plain text.
"""

from __future__ import annotations

from rich import box
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from grader.results import GradingResult


def render(result: GradingResult, console: Console) -> None:
    console.print(Text(f"LayerLab · {result.assignment} · {result.title}", style="bold"))
    console.print(f"submission: {result.submission}    seed: {result.seed}    "
                  f"time: {result.execution_time:.1f} s")
    for task, tests in result.by_task().items():
        console.print(_task_table(task, result.task_titles.get(task, ""), tests))
    console.print(_totals(result))
    console.print(_protections(result))
    for note in _notes(result):
        console.print(note)


def _task_table(task: str, title: str, tests) -> Table:
    score = sum(t.score for t in tests)
    possible = sum(t.max_score for t in tests)
    table = Table(title=f"{task}  {title}  —  {score:g}/{possible:g}", title_justify="left",
                  box=box.SIMPLE_HEAD, expand=True, show_edge=False)
    table.add_column("", width=2, no_wrap=True)
    table.add_column("test", ratio=1)
    table.add_column("kind", width=6)
    table.add_column("points", justify="right", width=11, no_wrap=True)
    for test in tests:
        mark = Text("✓", style="green") if test.passed else Text("✗", style="red")
        name = Text(test.name)
        for line in test.feedback_lines():
            name.append("\n  " + line, style="yellow")
        table.add_row(mark, name, test.visibility, f"{test.score:.4g}/{test.max_score:g}")
    return table


def _totals(result: GradingResult) -> Panel:
    style = "green" if result.percent >= 99.99 else ("yellow" if result.score else "red")
    text = Text(f"Total: {result.score:.4g}/{result.max_score:g} points "
                f"({result.percent:.1f} %)", style=f"bold {style}")
    return Panel(text, box=box.ROUNDED, expand=False)


def _protections(result: GradingResult) -> Group:
    lines = [Text("Sandbox protections active:", style="bold")]
    for name, what in result.protections.items():
        lines.append(Text(f"  {name}: {what}"))
    if not result.protections:
        lines.append(Text("  (no worker was started)"))
    return Group(*lines)


def _notes(result: GradingResult) -> list[Text]:
    notes = []
    if result.interrupted:
        notes.append(Text("Grading was interrupted: the report covers the tests that finished.",
                          style="bold red"))
    for error in result.internal_errors:
        notes.append(Text("Grader error (please report it): " + error, style="bold red"))
    return notes
