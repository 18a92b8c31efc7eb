"""The grading plugin, driven through pytester as pytest-timeout tests itself: points, tasks,
per-output credit, fixtures and how failures become feedback."""

import pytest

from grader import spec
from grader.plugin import GradingPlugin
from grader.policy import Sessions

A1 = spec.get("a1")
REFERENCE = spec.ROOT / "solutions" / "a1_networks"
STUBS = A1.folder


@pytest.fixture
def graded(pytester):
    """Run test source through pytest with the grading plugin against a submission folder;
    returns (pytest's run result, the GradingResult)."""
    def run(source: str, submission=REFERENCE, seed: int = 1):
        pytester.makepyfile(test_graded=source)
        sessions = Sessions(submission, A1)
        plugin = GradingPlugin(A1, sessions, seed)
        try:
            outcome = pytester.runpytest_inprocess("-p", "no:cacheprovider", plugins=[plugin])
        finally:
            sessions.close()
        return outcome, plugin.finish(0.0)
    return run


def cases(result) -> dict[str, tuple[bool, float, float, str]]:
    return {f"{t.name}[{c.case}]": (c.passed, round(c.score, 6), c.max_score, c.feedback)
            for t in result.tests for c in t.cases}


def test_points_are_split_over_a_tests_cases_and_grouped_by_task(graded):
    outcome, result = graded('''
import pytest

@pytest.mark.task("a1.relu")
@pytest.mark.points(3)
@pytest.mark.parametrize("n", [1, 2, 3])
def test_three(n):
    """three cases"""
    assert n != 2, "two is wrong"

def test_unmarked():
    """no markers"""
''')
    outcome.assert_outcomes(passed=3, failed=1)
    assert cases(result) == {"three cases[1]": (True, 1.0, 1.0, ""),
                             "three cases[2]": (False, 0.0, 1.0, "two is wrong"),
                             "three cases[3]": (True, 1.0, 1.0, ""),
                             "no markers[]": (True, 1.0, 1.0, "")}
    assert [(t.task, t.score, t.max_score) for t in result.tasks()] == [
        ("a1.relu", 2.0, 3.0), ("unassigned", 1.0, 1.0)]


def test_a_case_earns_the_share_of_its_outputs_that_are_right(graded):
    outcome, result = graded('''
import numpy as np
import pytest
from grader.compare import check_array, outputs

@pytest.mark.task("a1.affine")
@pytest.mark.points(6)
def test_grads():
    """three outputs, one wrong"""
    with outputs() as checks:
        for name, got in (("dx", np.ones(2)), ("dw", np.ones((1, 2))), ("db", np.ones(2))):
            with checks.part(name):
                check_array(name, got, np.ones(2))
''')
    outcome.assert_outcomes(failed=1)
    ((passed, score, possible, feedback),) = cases(result).values()
    assert (passed, score, possible) == (False, 4.0, 6.0)
    assert feedback == "dw has shape (1, 2); expected (2,)"
    assert result.tasks()[0].status == "partial"


def test_student_calls_run_in_the_worker_and_stubs_say_not_implemented(graded):
    source = '''
import numpy as np
import pytest
from grader.compare import check_array

@pytest.mark.task("a1.relu")
def test_relu(student):
    """relu in the sandbox"""
    out, _ = student.forward("relu_forward", np.array([-1.0, 2.0]))
    check_array("out", out, np.array([0.0, 2.0]))
'''
    _, solved = graded(source)
    _, stubbed = graded(source, submission=STUBS)
    assert cases(solved)["relu in the sandbox[]"][:2] == (True, 1.0)
    (case,) = stubbed.tests[0].cases
    assert not case.passed and case.not_started and case.feedback.startswith("not implemented")
    assert stubbed.tasks()[0].status == "not started"
    assert solved.protections and stubbed.protections  # each run reports its worker's sandbox


def test_rng_is_seeded_from_the_run_seed_and_the_test_id(graded):
    source = '''
def test_draw(rng):
    """draw"""
    assert False, f"drew {rng.integers(1 << 62)}"
'''
    draws = [cases(graded(source, seed=seed)[1])["draw[]"][3] for seed in (1, 1, 2)]
    assert draws[0] == draws[1] != draws[2]


def test_a_grader_bug_is_an_internal_error_not_the_students_fault(graded):
    outcome, result = graded('''
def test_broken():
    """broken test"""
    {}["missing"]
''')
    outcome.assert_outcomes(failed=1)
    (case,) = result.tests[0].cases
    assert case.internal_error and case.score == 0
    assert case.feedback == ("grader error (not your fault; reported to the instructor): "
                             "KeyError: 'missing'")
    assert len(result.internal_errors) == 1 and "test_broken" in result.internal_errors[0]


def test_a_test_file_that_does_not_import_is_a_grader_error(graded):
    outcome, result = graded("import no_such_module_anywhere\n")
    assert outcome.ret == pytest.ExitCode.INTERRUPTED  # pytest stops on collection errors
    assert result.tests == []
    assert any("no_such_module_anywhere" in e for e in result.internal_errors)


def test_ref_gives_the_reference_functions_in_the_trusted_process(graded):
    outcome, result = graded('''
import numpy as np

def test_ref(ref):
    """ref"""
    out, _ = ref.relu_forward(np.array([-1.0, 3.0]))
    assert out.tolist() == [0.0, 3.0]
    assert ref.affine_forward.__module__ == "solutions.a1_networks.layers"
''')
    outcome.assert_outcomes(passed=1)
    assert result.score == result.max_score == 1


def test_a_missing_file_reads_as_not_started_on_every_call(graded, tmp_path):
    (tmp_path / "layers.py").write_text((REFERENCE / "layers.py").read_text())
    _, result = graded('''
import numpy as np
import pytest

@pytest.mark.task("a1.sigmoid")
@pytest.mark.parametrize("n", [1, 2])
def test_sigmoid(student, n):
    """sigmoid from a file the submission lacks"""
    student.forward("sigmoid_forward", np.zeros(n))
''', submission=tmp_path)
    assert [(c.not_started, c.feedback) for c in result.tests[0].cases] == [
        (True, "the submission has no activations.py")] * 2
    assert result.tasks()[0].status == "not started"


def test_every_output_wrong_earns_nothing_and_says_each_on_its_own_line(graded):
    _, result = graded('''
import numpy as np
from grader.compare import check_array, outputs

def test_grads():
    """two outputs, both wrong"""
    with outputs() as checks:
        for name in ("dx", "db"):
            with checks.part(name):
                check_array(name, np.zeros(2), np.ones(2))
''')
    (test,) = result.tests
    assert (test.score, test.max_score) == (0.0, 1.0)
    lines = test.feedback_lines()
    assert len(lines) == 2 and lines[0].startswith("dx differs") and lines[1].startswith("db ")


def test_a_failure_while_setting_up_a_test_is_recorded_with_no_points(graded):
    _, result = graded('''
import pytest

@pytest.fixture
def broken():
    raise RuntimeError("fixture broke")

@pytest.mark.points(2)
def test_uses_it(broken):
    """needs a broken fixture"""
''')
    (case,) = result.tests[0].cases
    assert (case.passed, case.score, case.max_score, case.internal_error) == (False, 0, 2, True)
    assert "RuntimeError: fixture broke" in case.feedback


def test_record_note_attaches_a_cleaned_line_to_a_passed_or_failed_case(graded):
    _, result = graded('''
import pytest

@pytest.mark.parametrize("n", [1, 2])
def test_measured(record_note, n):
    """measures"""
    record_note(f"took {n} ms\\nsecond line")
    assert n == 1, "too slow"

def test_quiet():
    """records nothing"""
''')
    (measured, case_2), quiet = result.tests[0].cases, result.tests[1].cases[0]
    assert (measured.passed, measured.notes) == (True, ["took 1 ms second line"])
    assert (case_2.passed, case_2.feedback, case_2.notes) == (False, "too slow",
                                                              ["took 2 ms second line"])
    assert quiet.notes == []
    assert result.tests[0].note_lines() == ["[1] took 1 ms second line",
                                            "[2] took 2 ms second line"]
