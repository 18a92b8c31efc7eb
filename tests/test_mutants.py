"""The hidden tests catch classic bugs and accept correct-but-different code.

Every mutant (tests/mutants/a<n>.py) must lose points on the task it breaks and on no other
task except the composite ones it declares (those built from the student's own pieces, which are
not graded for it: they may lose points or not); every alternative implementation must score
full marks. Each corpus names the tasks too slow to grade for every mutant (``SKIPPED``): they
are graded only for mutants of their own. The feedback names the known mistakes
(solutions/<folder>/mistakes.py) listed for the mutant, and no others.
"""

import pytest

from grader import spec
from grader.grade import grade
from mutants import a1, a2, a3, a4, a5  # tests/ is on sys.path (rootdir-relative imports)
from mutants.common import build
from test_mistakes import HINT, LISTED

CORPORA = {"a1": a1, "a2": a2, "a3": a3, "a4": a4, "a5": a5}
MINIMUM = {"a1": 25, "a2": 15, "a3": 20, "a4": 20, "a5": 15}
# Mistakes also named on another mutant, on the hidden inputs where the two bugs give the same
# value and its words are as true: with N = 1, dividing by N is not dividing at all (stride 1
# and stride**2 likewise). mom_flipped keeps its velocity with the opposite sign (v += lr * dw,
# w -= v): its next_w is right and its velocity is exactly what adding the step gives. In A3,
# dW[x] = dout and dW[x] += dout give the same dW; a loss that ignores the mask does not mask
# dx either; with every step counted, the counted steps are N * T; an LSTM step that drops
# dnext_c drops the cell gradient the sequence carries back; and for gradients of norm 1 each,
# the sum of their norms is the sum of their squares.
ALSO_NAMED = {"mse_divided_by_n": {"mse_dx_summed"}, "bce_mean_over_batch_only": {"bce_dx_summed"},
              "avg_pool_backward_divides_by_stride_squared": {"avg_pool_backward_not_divided"},
              "mom_flipped": {"momentum_adds_the_step"},
              "embedding_gradient_overwritten": {"embedding_one_occurrence_per_word"},
              "temporal_softmax_mask_ignored": {"softmax_dx_not_masked"},
              "temporal_softmax_mean_over_the_counted_steps": {"softmax_mean_over_every_step"},
              "lstm_step_dnext_c_ignored": {"lstm_cell_gradient_not_carried"},
              "clip_norm_sums_the_tensor_norms": {"clip_norm_without_sqrt"}}


def named(aid: str, result) -> dict[str, set[str]]:
    """By task, what the listed mistakes that its feedback names say."""
    found: dict[str, set[str]] = {}
    for test in result.tests:
        text = "\n".join(test.feedback_lines())
        found.setdefault(test.task, set()).update(
            m.says for m in LISTED[aid] if HINT + m.says in text)
    return found


def cases(kind: str) -> list:
    return [pytest.param(aid, variant, id=f"{aid}-{variant.name}")
            for aid, corpus in CORPORA.items() for variant in getattr(corpus, kind)]


@pytest.mark.parametrize("aid,mutant", cases("MUTANTS"))
def test_mutant_loses_points_on_its_task_only(aid, mutant, tmp_path):
    corpus, assignment = CORPORA[aid], spec.get(aid)
    # Its dependents may lose points or not, so grading them would prove nothing: left out.
    tasks = [t for t in assignment.tasks if t == mutant.task
             or (t not in corpus.SKIPPED and t not in mutant.dependents)]
    result = grade(build(corpus.REFERENCE, mutant, tmp_path / mutant.name), assignment,
                   tasks=tasks)
    assert result.internal_errors == []
    lost = {t.task for t in result.tests if t.score < t.max_score}
    assert mutant.task in lost, f"{mutant.name} was not caught"
    assert lost - {mutant.task} - set(mutant.dependents) == set(), \
        {t.task: t.feedback_lines() for t in result.tests if t.task in lost}
    own, hints = {m.says for m in LISTED[aid] if m.mutant == mutant.name}, named(aid, result)
    assert own - hints[mutant.task] == set(), "not named"
    also = {m.says for m in LISTED[aid] if m.reproduce.__name__ in ALSO_NAMED.get(mutant.name, ())}
    assert set().union(*hints.values()) - own - also == set(), "named, but not this mutant's"


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
