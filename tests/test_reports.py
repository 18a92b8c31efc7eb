"""Reports render a hand-built GradingResult: Gradescope JSON, JUnit XML and the console table."""
import io
import json
import os
import re
import xml.etree.ElementTree as ET

import pytest
from rich.console import Console

from grader import export, report, results
from grader.results import CaseResult, GradingResult

FEEDBACK_DB = "db has shape (1, 3); expected (3,)"
FEEDBACK_SVM = "not implemented (a1.svm: implement svm_loss)"
FEEDBACK_INTERNAL = "grader error (not your fault; reported to the instructor): KeyError: 'atol'"


@pytest.fixture
def result() -> GradingResult:
    """3.5 of 6 points: affine 2.5/3.5, relu 1/1.5 (one grader error), svm 0/1, softmax untested."""
    row = results.TestResult
    tests = [
        row("a1.affine", "affine_forward: out matches", "t/test_a.py::test_fwd", "public",
            [CaseResult("", True, 1.5, 1.5)]),
        row("a1.affine", "affine_backward: grads", "t/test_h.py::test_bwd", "hidden",
            [CaseResult("1x3", True, 1.0, 1.0),
             CaseResult("5x7", False, 0.0, 1.0, FEEDBACK_DB, output="debug print\n")]),
        row("a1.svm", "svm_loss example", "t/test_a.py::test_svm", "public",
            [CaseResult("", False, 0.0, 1.0, FEEDBACK_SVM)]),
        row("a1.relu", "relu_forward hidden", "t/test_h.py::test_relu", "hidden",
            [CaseResult("", False, 0.0, 0.5, FEEDBACK_INTERNAL, internal_error=True)]),
        row("a1.relu", "relu example", "t/test_a.py::test_relu", "public",
            [CaseResult("", True, 1.0, 1.0)]),
    ]
    return GradingResult(
        "a1", "Neurons", "alice.zip", 1234, tests, protections={"network": "none allowed"},
        execution_time=12.3456, internal_errors=["t/test_h.py::test_relu: KeyError: 'atol'"],
        task_titles={"a1.affine": "Fully connected layer", "a1.relu": "ReLU",
                     "a1.svm": "SVM hinge loss", "a1.softmax": "Softmax"})


def test_result_totals(result):
    assert result.score == 3.5 and result.max_score == 6
    assert result.percent == pytest.approx(100 * 3.5 / 6)
    assert list(result.by_task()) == ["a1.affine", "a1.relu", "a1.svm"]


# -- Gradescope ----------------------------------------------------------------------------------

def test_gradescope_scores_sum_over_tests_and_cases(result):
    data = export.to_gradescope(result)
    assert data["score"] == 3.5
    assert [t["score"] for t in data["tests"]] == [1.5, 1.0, 0.0, 0.0, 1.0]
    assert [t["max_score"] for t in data["tests"]] == [1.5, 2.0, 1.0, 0.5, 1.0]
    assert data["score"] == sum(t["score"] for t in data["tests"])
    assert data["execution_time"] == pytest.approx(12.3456, abs=1e-3)
    json.dumps(data, allow_nan=False)


def test_gradescope_visibility_status_and_numbering(result):
    data = export.to_gradescope(result)
    assert [t["visibility"] for t in data["tests"]] == [
        "visible", "after_published", "visible", "after_published", "visible"]
    assert [t["status"] for t in data["tests"]] == [
        "passed", "failed", "failed", "failed", "passed"]
    assert [t["number"] for t in data["tests"]] == ["1", "2", "3", "4", "5"]
    assert all("a1." in t["name"] for t in data["tests"])


def test_gradescope_output_carries_feedback_and_printed_text(result):
    tests = export.to_gradescope(result)["tests"]
    assert tests[1]["output"].splitlines() == [f"[5x7] {FEEDBACK_DB}",
                                               "[5x7] your code printed: debug print"]
    assert tests[2]["output"] == FEEDBACK_SVM
    assert tests[3]["output"] == FEEDBACK_INTERNAL


def test_gradescope_summary_names_score_and_grader_errors(result):
    output = export.to_gradescope(result)["output"]
    assert "3.5/6" in output and "58.3 %" in output and "seed 1234" in output
    assert "1 grader error" in output
    assert "network: none allowed" in output


def test_written_json_is_the_gradescope_document(result, tmp_path):
    path = tmp_path / "results.json"
    export.write_json(result, path)
    assert json.loads(path.read_text(encoding="utf-8")) == export.to_gradescope(result)


# -- JUnit ---------------------------------------------------------------------------------------

def test_junit_counts_cases_failures_and_errors(result, tmp_path):
    path = tmp_path / "results.xml"
    export.write_junit(result, path)
    root = ET.parse(path).getroot()
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("6", "2", "1")
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == ["a1.affine", "a1.relu", "a1.svm"]
    counts = {name: (s.get("tests"), s.get("failures"), s.get("errors"))
              for name, s in suites.items()}
    assert counts == {"a1.affine": ("3", "1", "0"), "a1.relu": ("2", "0", "1"),
                      "a1.svm": ("1", "1", "0")}
    for suite in suites.values():
        assert len(suite.findall("testcase")) == int(suite.get("tests"))
        assert len(suite.findall("testcase/failure")) == int(suite.get("failures"))
        assert len(suite.findall("testcase/error")) == int(suite.get("errors"))


def test_junit_failure_carries_the_feedback_and_output(result):
    root = export.to_junit(result)
    case = root.find(".//testcase[@name='affine_backward: grads [5x7]']")
    assert case is not None and case.get("classname") == "t/test_h.py::test_bwd"
    assert case.find("failure").text == FEEDBACK_DB
    assert case.find("system-out").text == "debug print\n"
    props = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert props == {"score": "0", "max_score": "1"}
    passed = root.find(".//testcase[@name='affine_backward: grads [1x3]']")
    assert passed.find("failure") is None and passed.find("error") is None


# -- console -------------------------------------------------------------------------------------

def render(result, **console_kwargs) -> str:
    file = io.StringIO()
    report.render(result, Console(file=file, width=200, **console_kwargs))
    return file.getvalue()


def test_plain_console_output_has_no_escape_codes_and_every_line(result):
    text = render(result, force_terminal=False)
    assert "\x1b" not in text
    assert "Total: 3.5/6 points (58.3 %)" in text
    for test in result.tests:
        assert test.name in text
        for line in test.feedback_lines():
            assert line in text
    assert f"[5x7] {FEEDBACK_DB}" in text and "[5x7] your code printed: debug print" in text
    assert "Grader error (please report it): t/test_h.py::test_relu: KeyError: 'atol'" in text
    assert "network: none allowed" in text


def test_console_sections_follow_the_task_order_with_task_scores(result):
    text = render(result, force_terminal=False)
    headers = [text.index(f"{task}  {title}") for task, title in
               [("a1.affine", "Fully connected layer"), ("a1.relu", "ReLU"),
                ("a1.svm", "SVM hinge loss")]]
    assert headers == sorted(headers)
    assert "a1.softmax" not in text
    assert "2.5/3.5" in text and "1/1.5" in text and "0/1" in text
    marks = re.findall(r"^\s*([✓✗])", text, re.M)
    assert marks.count("✓") == 2 and marks.count("✗") == 3


def test_no_color_removes_colours_on_a_terminal(result, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    text = render(result, force_terminal=True)
    colours = [p for m in re.findall(r"\x1b\[([0-9;]*)m", text) for p in m.split(";")
               if p and (30 <= int(p) <= 38 or 90 <= int(p) <= 97)]
    assert colours == []
    assert "Total: 3.5/6 points (58.3 %)" in text


# -- atomic writes -------------------------------------------------------------------------------

@pytest.mark.parametrize("writer", [export.write_json, export.write_junit],
                         ids=["json", "junit"])
def test_atomic_write_replaces_the_file_and_leaves_no_temporary_files(result, tmp_path, writer):
    path = tmp_path / "out"
    path.write_text("old contents")
    writer(result, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert path.read_text(encoding="utf-8") != "old contents"


@pytest.mark.parametrize("writer", [export.write_json, export.write_junit],
                         ids=["json", "junit"])
def test_failed_write_keeps_the_old_file_and_leaves_no_temporary_files(result, tmp_path,
                                                                       monkeypatch, writer):
    path = tmp_path / "out"
    path.write_text("old contents")

    def fail(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        writer(result, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert path.read_text() == "old contents"
