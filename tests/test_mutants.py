"""The hidden tests catch classic bugs and accept correct-but-different code.

Every mutant (tests/mutants/a<n>.py) must lose points on the task it breaks and on no other
task except the composite ones it declares (those built from the student's own pieces); every
alternative implementation must score full marks. Each corpus names the tasks too slow to grade
for every mutant (``SKIPPED``): they are graded only for mutants of their own.
"""

import pytest

from grader import spec
from grader.grade import grade
from mutants import a1, a2  # tests/ is on sys.path (rootdir-relative imports)
from mutants.common import build

CORPORA = {"a1": a1, "a2": a2}
MINIMUM = {"a1": 25, "a2": 15}


def cases(kind: str) -> list:
    return [pytest.param(aid, variant, id=f"{aid}-{variant.name}")
            for aid, corpus in CORPORA.items() for variant in getattr(corpus, kind)]


@pytest.mark.parametrize("aid,mutant", cases("MUTANTS"))
def test_mutant_loses_points_on_its_task_only(aid, mutant, tmp_path):
    corpus, assignment = CORPORA[aid], spec.get(aid)
    tasks = [t for t in assignment.tasks if t not in corpus.SKIPPED or t == mutant.task]
    result = grade(build(corpus.REFERENCE, mutant, tmp_path / mutant.name), assignment,
                   tasks=tasks)
    assert result.internal_errors == []
    lost = {t.task for t in result.tests if t.score < t.max_score}
    assert mutant.task in lost, f"{mutant.name} was not caught"
    assert lost - {mutant.task} - set(mutant.dependents) == set(), \
        {t.task: t.feedback_lines() for t in result.tests if t.task in lost}


@pytest.mark.parametrize("aid", CORPORA)
def test_the_corpus_is_large_and_covers_every_task(aid):
    corpus, tasks = CORPORA[aid], spec.get(aid).tasks
    assert len(corpus.MUTANTS) >= MINIMUM[aid]
    assert len({m.name for m in corpus.MUTANTS}) == len(corpus.MUTANTS)
    assert {m.task for m in corpus.MUTANTS} <= set(tasks)
    assert {t for t in tasks if t not in corpus.SKIPPED} <= {m.task for m in corpus.MUTANTS}


@pytest.mark.parametrize("aid,alternative", cases("ALTERNATIVES"))
def test_correct_alternative_scores_full_marks(aid, alternative, tmp_path):
    result = grade(build(CORPORA[aid].REFERENCE, alternative, tmp_path / alternative.name),
                   spec.get(aid))
    assert result.internal_errors == []
    missed = {t.task: t.feedback_lines() for t in result.tests if t.score < t.max_score}
    assert missed == {}
