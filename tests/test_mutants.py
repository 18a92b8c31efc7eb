"""The hidden tests catch classic bugs and accept correct-but-different code.

Every mutant (tests/mutants/a1.py) must lose points on the task it breaks and on no other
task except the composite ones built from the student's own layers; every alternative
implementation must score full marks.
"""

import pytest

from grader import spec
from grader.grade import grade
from mutants import a1 as corpus  # tests/ is on sys.path (rootdir-relative imports)

A1 = spec.get("a1")
FAST_TASKS = [t for t in A1.tasks if t not in corpus.COMPOSITE]


@pytest.mark.parametrize("mutant", corpus.MUTANTS, ids=lambda m: m.name)
def test_mutant_loses_points_on_its_task_only(mutant, tmp_path):
    tasks = FAST_TASKS + ([mutant.task] if mutant.task in corpus.COMPOSITE else [])
    result = grade(corpus.build(mutant, tmp_path / mutant.name), A1, tasks=tasks)
    assert result.internal_errors == []
    lost = {t.task for t in result.tests if t.score < t.max_score}
    assert mutant.task in lost, f"{mutant.name} was not caught"
    assert lost - {mutant.task} - set(mutant.dependents) == set(), \
        {t.task: t.feedback_lines() for t in result.tests if t.task in lost}


def test_the_corpus_is_large_and_covers_every_fast_task():
    assert len(corpus.MUTANTS) >= 25
    assert set(FAST_TASKS) <= {m.task for m in corpus.MUTANTS}


@pytest.mark.parametrize("alternative", corpus.ALTERNATIVES, ids=lambda m: m.name)
def test_correct_alternative_scores_full_marks(alternative, tmp_path):
    result = grade(corpus.build(alternative, tmp_path / alternative.name), A1)
    assert result.internal_errors == []
    missed = {t.task: t.feedback_lines() for t in result.tests if t.score < t.max_score}
    assert missed == {}
