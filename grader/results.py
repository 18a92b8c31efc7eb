"""The result model: what grading produced, as plain data. Reports only render it."""

from __future__ import annotations

import math
import unicodedata
from dataclasses import asdict, dataclass, field

# A task's status in the summary: every point, some, none, or nothing written yet.
FULL, PARTIAL, NONE, NOT_STARTED = "full", "partial", "none", "not started"
NOTE_CHARS = 240  # a note's length in every view, cut with "…"
NOTES_PER_CASE = 4  # more are dropped, with a last note saying how many


def clean_note(text: object) -> str:
    """A test's note as every view shows it: one line of printable text, at most NOTE_CHARS
    characters. Line breaks, tabs, escape sequences' ESC, other control or format characters
    (bidirectional overrides, zero-width spaces) and lone surrogates (which UTF-8 cannot
    write) become spaces, runs of spaces one."""
    text = text if isinstance(text, str) else repr(text)
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp") else ch
                   for ch in text[:NOTE_CHARS * 4])
    text = " ".join(text.split())
    return text if len(text) <= NOTE_CHARS else text[:NOTE_CHARS - 1].rstrip() + "…"


def clean_notes(texts: list) -> list[str]:
    """A case's notes as they are kept: each cleaned (:func:`clean_note`), at most
    NOTES_PER_CASE, the last saying how many more were left out."""
    notes = [clean_note(t) for t in texts[:NOTES_PER_CASE]]
    if len(texts) > NOTES_PER_CASE:
        notes[-1] = f"({len(texts) - NOTES_PER_CASE + 1} more notes left out)"
    return [n for n in notes if n]


def points(value: float) -> str:
    """Points as every view shows them: at most two decimals, rounded down, so a partial score
    never reads as full marks (212.97, not 213)."""
    return f"{math.floor(value * 100 + 1e-6) / 100:.2f}".rstrip("0").rstrip(".")


@dataclass
class CaseResult:
    """One collected pytest item: a test, or one parametrised case of it.

    A case that checks several outputs (dx, dw, db) earns the share of each output that is
    right, so ``score`` may lie strictly between 0 and ``max_score``.
    """

    case: str
    passed: bool
    score: float
    max_score: float
    feedback: str = ""
    output: str = ""
    internal_error: bool = False
    not_started: bool = False  # the function is a stub or missing
    notes: list[str] = field(default_factory=list)  # what the test measured (record_note)


@dataclass
class TestResult:
    """One test function with its cases; its score is the sum over the cases."""

    task: str
    name: str
    test_id: str
    visibility: str  # "public" or "hidden"
    cases: list[CaseResult] = field(default_factory=list)

    @property
    def score(self) -> float:
        return sum(c.score for c in self.cases)

    @property
    def max_score(self) -> float:
        return sum(c.max_score for c in self.cases)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.cases)

    def feedback_lines(self) -> list[str]:
        """What went wrong, one line per distinct message: cases that failed alike are
        collapsed into one line naming them (``[1x4, 5x7] (2 cases) db has shape …``)."""
        groups: dict[str, list[str]] = {}
        for c in self.cases:
            if c.passed:
                continue
            for message in c.feedback.splitlines() or [""]:  # a line per wrong output
                groups.setdefault(message, []).append(c.case)
            if c.output:
                groups.setdefault(f"your code printed: {c.output.strip()[:500]}", []).append(c.case)
        return [_prefix(cases) + message for message, cases in groups.items()]

    def note_lines(self) -> list[str]:
        """The notes of every case, passed or not, identical ones collapsed as feedback is."""
        groups: dict[str, list[str]] = {}
        for c in self.cases:
            for note in c.notes:
                groups.setdefault(note, []).append(c.case)
        return [_prefix(cases) + note for note, cases in groups.items()]


def _prefix(cases: list[str]) -> str:
    named = [c for c in cases if c]
    if not named:
        return ""
    if len(named) == 1:
        return f"[{named[0]}] "
    shown = ", ".join(named[:6]) + (", …" if len(named) > 6 else "")
    return f"[{shown}] ({len(named)} cases) "


@dataclass
class TaskResult:
    """One task's tests, with the sums every view of a task shows."""

    task: str
    title: str
    tests: list[TestResult]

    @property
    def score(self) -> float:
        return sum(t.score for t in self.tests)

    @property
    def max_score(self) -> float:
        return sum(t.max_score for t in self.tests)

    def max_score_of(self, visibility: str) -> float:
        """Points of the task's ``public`` or ``hidden`` tests."""
        return sum(t.max_score for t in self.tests if t.visibility == visibility)

    @property
    def cases(self) -> list[CaseResult]:
        return [c for t in self.tests for c in t.cases]

    @property
    def status(self) -> str:
        if self.score >= self.max_score - 1e-9 and all(c.passed for c in self.cases):
            return FULL
        if self.score > 1e-9:
            return PARTIAL
        failed = [c for c in self.cases if not c.passed]
        return NOT_STARTED if failed and all(c.not_started for c in failed) else NONE


@dataclass
class GradingResult:
    """Everything one grading run produced."""

    assignment: str
    title: str
    submission: str
    seed: int
    tests: list[TestResult] = field(default_factory=list)
    protections: list[dict] = field(default_factory=list)  # per worker: see grader.protections
    execution_time: float = 0.0
    internal_errors: list[str] = field(default_factory=list)
    interrupted: bool = False
    task_titles: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # e.g. where a function was found
    versions: dict[str, str] = field(default_factory=dict)  # python, numpy

    @property
    def score(self) -> float:
        return sum(t.score for t in self.tests)

    @property
    def max_score(self) -> float:
        return sum(t.max_score for t in self.tests)

    @property
    def percent(self) -> float:
        return 100.0 * self.score / self.max_score if self.max_score else 0.0

    def tasks(self) -> list[TaskResult]:
        """The tasks that have tests, in the assignment's order (unknown tasks last)."""
        groups: dict[str, list[TestResult]] = {task: [] for task in self.task_titles}
        for test in self.tests:
            groups.setdefault(test.task, []).append(test)
        return [TaskResult(task, self.task_titles.get(task, ""), tests)
                for task, tests in groups.items() if tests]

    def __repr__(self) -> str:
        """One line: ``check(...)`` ending a notebook cell must not print the whole model."""
        return (f"<GradingResult {self.assignment}: {self.score:.4g}/{self.max_score:g} points, "
                f"{len(self.tests)} tests>")

    def to_dict(self) -> dict:
        data = asdict(self)
        data.update(score=self.score, max_score=self.max_score, percent=self.percent)
        return data
