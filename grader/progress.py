"""Progress of a grading run where someone watches: a line updated in place in Jupyter, a
transient bar on a terminal, nothing in a log (CI)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

OnProgress = Callable[[int, int, str], None]
NOTEBOOK_UPDATE_SECONDS = 0.25  # at most this often: each update is a message to the browser


@contextmanager
def progress(console: Console, verb: str = "grading") -> Iterator[OnProgress | None]:
    """Progress where someone watches: one line updated in place in Jupyter, a transient bar
    on a terminal, nothing in a log."""
    if console.is_jupyter:
        with _notebook_line(verb) as update:
            yield update
    elif console.is_terminal:
        bar = Progress(TextColumn(verb), BarColumn(), MofNCompleteColumn(),
                       TimeElapsedColumn(), TextColumn("{task.description}"),
                       console=console, transient=True)
        with bar:
            job = bar.add_task("", total=None)
            yield lambda done, total, nodeid: bar.update(
                job, completed=done, total=total, description=_test_name(nodeid))
    else:
        yield None


@contextmanager
def _notebook_line(verb: str) -> Iterator[OnProgress]:
    """A text output that counts the tests as they finish, emptied once grading ends.

    Rich's own live display needs ipywidgets in a notebook; a display handle needs only IPython.
    """
    from IPython.display import display

    handle = display({"text/plain": f"{verb} …"}, raw=True, display_id=True)
    last = 0.0

    def update(done: int, total: int, nodeid: str) -> None:
        nonlocal last
        if time.monotonic() - last >= NOTEBOOK_UPDATE_SECONDS:
            last = time.monotonic()
            handle.update({"text/plain": f"{verb} {done}/{total}  {_test_name(nodeid)}"},
                          raw=True)

    try:
        yield update
    finally:
        handle.update({"text/plain": ""}, raw=True)


def _test_name(nodeid: str) -> str:
    return nodeid.rsplit("::", 1)[-1][:40]
