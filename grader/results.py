"""The result model: what grading produced, as plain data. Reports only render it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class CaseResult:
    """One collected pytest item: a test, or one parametrised case of it."""

    case: str
    passed: bool
    score: float
    max_score: float
    feedback: str = ""
    output: str = ""
    internal_error: bool = False


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
        lines = []
        for c in self.cases:
            if c.passed:
                continue
            prefix = f"[{c.case}] " if c.case else ""
            lines.append(prefix + c.feedback)
            if c.output:
                lines.append(f"{prefix}your code printed: {c.output.strip()[:500]}")
        return lines


@dataclass
class GradingResult:
    """Everything one grading run produced."""

    assignment: str
    title: str
    submission: str
    seed: int
    tests: list[TestResult] = field(default_factory=list)
    protections: dict[str, str] = field(default_factory=dict)
    execution_time: float = 0.0
    internal_errors: list[str] = field(default_factory=list)
    interrupted: bool = False
    task_titles: dict[str, str] = field(default_factory=dict)

    @property
    def score(self) -> float:
        return sum(t.score for t in self.tests)

    @property
    def max_score(self) -> float:
        return sum(t.max_score for t in self.tests)

    @property
    def percent(self) -> float:
        return 100.0 * self.score / self.max_score if self.max_score else 0.0

    def by_task(self) -> dict[str, list[TestResult]]:
        groups: dict[str, list[TestResult]] = {}
        for task in self.task_titles:
            groups[task] = []
        for test in self.tests:
            groups.setdefault(test.task, []).append(test)
        return {k: v for k, v in groups.items() if v}

    def to_dict(self) -> dict:
        data = asdict(self)
        data.update(score=self.score, max_score=self.max_score, percent=self.percent)
        return data
