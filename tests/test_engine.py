"""End-to-end grading of the reference and the untouched stubs, seeds and the sandbox report."""

from pathlib import Path

import pytest

from grader import spec
from grader.grade import grade
from grader.plugin import case_seed
from grader.protections import describe_protections

A1 = spec.get("a1")
ROOT = spec.ROOT


def copy_reference(dest: Path) -> None:
    for module in A1.modules:
        name = f"{module}.py"
        (dest / name).write_text((ROOT / "solutions" / "a1_networks" / name).read_text())


@pytest.fixture(scope="module")
def reference_result():
    return grade(ROOT / "solutions" / "a1_networks", A1)


def test_reference_solution_scores_full_marks(reference_result):
    assert reference_result.internal_errors == []
    assert reference_result.max_score > 0
    assert reference_result.score == reference_result.max_score
    failed = [c.feedback for t in reference_result.tests for c in t.cases if not c.passed]
    assert failed == []


def test_every_task_has_public_and_hidden_tests(reference_result):
    seen = {(t.task, t.visibility) for t in reference_result.tests}
    for task in A1.tasks:
        assert (task, "public") in seen and (task, "hidden") in seen, task


def test_untouched_stubs_score_zero_and_say_not_implemented():
    result = grade(A1.folder, A1)
    assert result.internal_errors == []
    assert result.score == 0 and result.max_score > 0
    for test in result.tests:
        for case in test.cases:
            assert "not implemented" in case.feedback, (test.name, case.feedback)


def test_report_names_the_active_protections(reference_result):
    keys = set(dict(describe_protections(reference_result.protections)))
    assert {"resource limits", "network", "filesystem", "memory", "system calls", "imports"} <= keys


def test_one_broken_function_costs_only_its_task(tmp_path):
    copy_reference(tmp_path)
    layers = tmp_path / "layers.py"
    layers.write_text(layers.read_text().replace("db = dout.sum(axis=0)", "db = dout[0]"))
    assert "db = dout[0]" in layers.read_text(), "the reference changed; update this mutation"
    result = grade(tmp_path, A1)
    lost = {t.task for t in result.tests if t.score < t.max_score}
    # the network tasks use the student's own layers, so they may lose points too
    assert "a1.affine" in lost and lost <= {"a1.affine", "a1.xor", "a1.fcnet", "a1.training"}
    feedback = " ".join(line for t in result.tests for line in t.feedback_lines())
    assert "db" in feedback


def test_case_seeds_depend_on_run_seed_and_test_id():
    a = case_seed(1234, "x.py::test_a[1]")
    assert a == case_seed(1234, "x.py::test_a[1]")
    assert a != case_seed(1235, "x.py::test_a[1]")
    assert a != case_seed(1234, "x.py::test_a[2]")


def test_same_seed_reproduces_verdicts_and_another_seed_changes_inputs(tmp_path):
    # A submission that is right only for one particular input draws differently per seed.
    copy_reference(tmp_path)
    with open(tmp_path / "activations.py", "a") as f:
        f.write("\n_orig = relu_forward\n"
                "def relu_forward(x):\n"
                "    out, cache = _orig(x)\n"
                "    return (out + 1e-3 if float(x.flat[0]) > 0 else out), cache\n")
    one = [c.passed for t in grade(tmp_path, A1, seed=1).tests for c in t.cases]
    again = [c.passed for t in grade(tmp_path, A1, seed=1).tests for c in t.cases]
    assert one == again
    outcomes = {tuple(c.passed for t in grade(tmp_path, A1, seed=s).tests for c in t.cases)
                for s in range(2, 7)}
    assert len(outcomes | {tuple(one)}) > 1


def test_public_check_only_runs_public_tests():
    result = grade(A1.folder, A1, hidden=False)
    assert result.tests and {t.visibility for t in result.tests} == {"public"}



def test_task_selection_grades_only_those_tasks():
    result = grade(ROOT / "solutions" / "a1_networks", A1, tasks=["a1.relu", "a1.svm"])
    assert {t.task for t in result.tests} == {"a1.relu", "a1.svm"}
    assert result.score == result.max_score > 0


def test_unknown_task_is_a_usage_error():
    with pytest.raises(spec.UsageError, match="unknown task a1.nope"):
        grade(ROOT / "solutions" / "a1_networks", A1, tasks=["a1.nope"])
