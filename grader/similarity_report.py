"""``layerlab similarity``: the pairs that share code, as a console table, a CSV and an HTML page.

Rendering only; the scores come from :mod:`grader.similarity`. The table lists the best pairs
(``--top``) with their matching functions; the CSV has every listed pair, one row per matching
function; the HTML page shows each matching function of the best pairs side by side, the lines
the two share highlighted. Student code only ever reaches the page escaped.
"""

from __future__ import annotations

import argparse
import csv
import html
from functools import partial
from pathlib import Path

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader.progress import progress
from grader.similarity import (Function, Match, Pair, Params, Report, Segment, compare,
                               matched_lines, read_class)
from grader.spec import Assignment, UsageError

CSV_FIELDS = ("student_a", "student_b", "pair_score", "function", "score", "shared",
              "fingerprints_a", "fingerprints_b", "file_a", "file_b")
NAMES_IN_TABLE = 4  # matching functions named per row; the rest are counted
EPILOG = """\
examples:
  layerlab similarity submissions/ --assignment a1
  layerlab similarity submissions/ -a a1 --csv pairs.csv --html pairs.html
  layerlab similarity submissions/ -a a1 --threshold 0.6 --top 50   # cast a wider net

SUBMISSIONS holds one folder or .zip per student, or an LMS export, as for `layerlab batch`
(the same student ids). Every pair is compared function by function, wherever each student
defined it: variable names, literals, docstrings, comments and layout do not count, nor does
the stub's own code. A function's score is the share of the smaller fingerprint set found in
the other; a pair is listed when one of its functions scores T or more. A submission that
cannot be read is reported and skipped. Exit codes: 0 compared (whatever was found), 2 usage
error."""


def fraction(text: str) -> float:
    """An argparse type: a number above 0 and at most 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got '{text}'") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number above 0 and at most 1, got {text}")
    return value


def run(console: Console, errors: Console, folder: Path, spec: Assignment, *,
        threshold: float, csv_path: Path | None, html_path: Path | None, top: int) -> int:
    """Compare the class in ``folder``, print the best pairs, write the files; return 0."""
    for target in (csv_path, html_path):
        if target is not None and not target.resolve().parent.is_dir():
            raise UsageError(f"cannot write {target}: folder {target.parent} does not exist")
    params = Params(threshold=threshold)
    with progress(errors, "reading") as on_progress:
        submissions, skipped = read_class(folder, spec, params, on_progress)
    with progress(errors, "comparing") as on_progress:
        pairs = compare(submissions, params, on_progress)
    report = Report(spec.id, params, submissions, skipped, pairs)
    render(report, console, top)
    for path, write in ((csv_path, write_csv), (html_path, partial(write_html, top=top))):
        if path is not None:
            try:
                write(report, path)
            except OSError as exc:
                raise UsageError(f"cannot write {path}: {exc.strerror}") from None
            console.print(f"wrote {path}", markup=False)
    return 0


def render(report: Report, console: Console, top: int) -> None:
    """The summary line, the best ``top`` pairs, and the submissions that were skipped."""
    p = report.params
    console.print(Text(f"LayerLab · similarity · {report.assignment}", style="bold"))
    console.print(f"{len(report.submissions)} submissions, {report.compared} pairs compared; "
                  f"{len(report.pairs)} with a function scoring {p.threshold:g} or more "
                  f"(k={p.k}, w={p.w}, functions of {p.min_fingerprints}+ fingerprints)",
                  markup=False)
    if report.pairs:
        console.print(_table(report.pairs[:top]))
        if len(report.pairs) > top:
            console.print(f"showing the best {top} of {len(report.pairs)} pairs; --csv lists "
                          "them all", markup=False)
    for skipped in report.skipped:
        console.print(Text(f"skipped {skipped.student}: {skipped.reason}", style="yellow"))


def _table(pairs: list[Pair]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("pair", no_wrap=True)
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("matched", justify="right", no_wrap=True)
    table.add_column("functions matched (best first)")
    for rank, pair in enumerate(pairs, start=1):
        shown = ", ".join(f"{m.name} {m.score:.2f}" for m in pair.matches[:NAMES_IN_TABLE])
        more = len(pair.matches) - NAMES_IN_TABLE
        table.add_row(str(rank), Text(f"{pair.a} ~ {pair.b}"), f"{pair.score:.2f}",
                      f"{len(pair.matches)}/{pair.compared}",
                      Text(shown + (f", +{more} more" if more > 0 else "")))  # names: no markup
    return table


def write_csv(report: Report, path: Path) -> None:
    """Every listed pair, one row per matching function."""
    files = {(student, name): ";".join(dict.fromkeys(s.file for s in function.segments))
             for student, submission in report.submissions.items()
             for name, function in submission.functions.items()}
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_FIELDS)
        for pair in report.pairs:
            score = f"{pair.score:.3f}"
            writer.writerows([pair.a, pair.b, score, m.name, f"{m.score:.3f}", m.shared, m.size_a,
                              m.size_b, files[pair.a, m.name], files[pair.b, m.name]]
                             for m in pair.matches)


def _function(report: Report, student: str, name: str) -> Function:
    return report.submissions[student].functions[name]


# -- the HTML page ------------------------------------------------------------------------------

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table.pairs { border-collapse: collapse; }
table.pairs td, table.pairs th { padding: 0.2em 0.8em; border-bottom: 1px solid #ddd;
  text-align: left; vertical-align: top; }
td.num { text-align: right; }
.sbs { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; margin-bottom: 1.5em; }
.side { overflow-x: auto; border: 1px solid #ccc; }
.where { background: #f3f3f3; padding: 0.3em 0.6em; font-weight: bold; }
pre { margin: 0; padding: 0.3em 0; font-size: 0.85em; }
.line { display: block; padding: 0 0.6em; }
.hit { background: #ffe08a; }
.ln { display: inline-block; width: 3.5em; color: #888; user-select: none; }
"""


def write_html(report: Report, path: Path, top: int) -> None:
    """A page a person can read: the best ``top`` pairs, each matching function side by side."""
    p = report.params
    pairs = report.pairs[:top]
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8"/>',
             f"<title>LayerLab similarity · {_e(report.assignment)}</title>",
             f"<style>{_STYLE}</style></head><body>",
             f"<h1>Similarity · {_e(report.assignment)}</h1>",
             f"<p>{len(report.submissions)} submissions, {report.compared} pairs compared; "
             f"{len(report.pairs)} with a function scoring {p.threshold:g} or more, the best "
             f"{len(pairs)} shown. A function's score is the share of the smaller fingerprint "
             f"set found in the other (k={p.k} tokens, window w={p.w}, variable names and "
             "literals normalised, the stub's own code excluded). Highlighted lines share code "
             "with the other side.</p>"]
    if report.skipped:
        parts.append("<h2>Skipped</h2><ul>")
        parts += [f"<li>{_e(s.student)}: {_e(s.reason)}</li>" for s in report.skipped]
        parts.append("</ul>")
    if pairs:
        parts.append('<table class="pairs"><tr><th>#</th><th>pair</th><th>score</th>'
                     "<th>matched</th><th>functions matched (best first)</th></tr>")
        for rank, pair in enumerate(pairs, start=1):
            names = ", ".join(f"{_e(m.name)} {m.score:.2f}" for m in pair.matches)
            parts.append(f'<tr><td class="num">{rank}</td><td><a href="#pair-{rank}">'
                         f"{_e(pair.a)} ~ {_e(pair.b)}</a></td>"
                         f'<td class="num">{pair.score:.2f}</td>'
                         f'<td class="num">{len(pair.matches)}/{pair.compared}</td>'
                         f"<td>{names}</td></tr>")
        parts.append("</table>")
    for rank, pair in enumerate(pairs, start=1):
        parts.append(f'<h2 id="pair-{rank}">{rank}. {_e(pair.a)} ~ {_e(pair.b)} · '
                     f"{pair.score:.2f}</h2>")
        for match in pair.matches:
            parts += _side_by_side(report, pair, match)
    parts.append("</body></html>")
    Path(path).write_text("\n".join(parts) + "\n", encoding="utf-8")


def _side_by_side(report: Report, pair: Pair, match: Match) -> list[str]:
    a, b = _function(report, pair.a, match.name), _function(report, pair.b, match.name)
    k = report.params.k
    head = (f"<h3>{_e(match.name)} · {match.score:.2f} ({match.shared} of "
            f"{min(match.size_a, match.size_b)} fingerprints)</h3>")
    return [head, '<div class="sbs">', *_side(pair.a, a, b, k), *_side(pair.b, b, a, k),
            "</div>"]


def _side(student: str, function: Function, other: Function, k: int) -> list[str]:
    parts = ['<div class="side">']
    for segment in function.segments:
        parts.append(f'<div class="where">{_e(student)} · {_e(segment.file)} line '
                     f"{segment.first_line}</div>")
        parts.append(f"<pre>{_lines(segment, matched_lines(segment, other, k))}</pre>")
    parts.append("</div>")
    return parts


def _lines(segment: Segment, hits: set[int]) -> str:
    rows = []
    for number, line in enumerate(segment.source.split("\n"), start=segment.first_line):
        style = "line hit" if number in hits else "line"
        rows.append(f'<span class="{style}"><span class="ln">{number}</span>{_e(line)}</span>')
    return "".join(rows)


def _e(text: str) -> str:
    return html.escape(text, quote=True)
