"""Reports render a hand-built GradingResult: Gradescope JSON, JUnit XML and the console table."""
import io
import json
import os
import re
import xml.etree.ElementTree as ET

import pytest
from rich.console import Console

from grader import export, gradescope, report, results
from grader.results import CaseResult, GradingResult

FEEDBACK_DB = "db has shape (1, 3); expected (3,)"
FEEDBACK_SVM = "not implemented (a1.svm: implement svm_loss)"
NO_NETWORK = {"tasks": [], "other_tasks": True,
              "facts": {"network": {"status": "unavailable", "error": "none allowed"}}}
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
            [CaseResult("", False, 0.0, 1.0, FEEDBACK_SVM, not_started=True)]),
        row("a1.relu", "relu_forward hidden", "t/test_h.py::test_relu", "hidden",
            [CaseResult("", False, 0.0, 0.5, FEEDBACK_INTERNAL, internal_error=True)]),
        row("a1.relu", "relu example", "t/test_a.py::test_relu", "public",
            [CaseResult("", True, 1.0, 1.0)]),
    ]
    return GradingResult(
        "a1", "Neurons", "alice.zip", 1234, tests, protections=[NO_NETWORK],
        execution_time=12.3456, internal_errors=["t/test_h.py::test_relu: KeyError: 'atol'"],
        task_titles={"a1.affine": "Fully connected layer", "a1.relu": "ReLU",
                     "a1.svm": "SVM hinge loss", "a1.softmax": "Softmax"})


def test_result_totals(result):
    assert result.score == 3.5 and result.max_score == 6
    assert result.percent == pytest.approx(100 * 3.5 / 6)
    assert [t.task for t in result.tasks()] == ["a1.affine", "a1.relu", "a1.svm"]
    assert [(t.score, t.max_score) for t in result.tasks()] == [(2.5, 3.5), (1.0, 1.5), (0, 1)]


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
    assert "network: not available (none allowed)" in output


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


def test_gradescope_and_junit_show_a_partly_right_case_with_its_share():
    case = CaseResult("5x7", False, 2 / 3, 1.0, "db has shape (1, 3); expected (3,)")
    test = results.TestResult("a1.affine", "grads", "t::g", "hidden", [case])
    result = GradingResult("a1", "A", "s", 1, [test], task_titles={"a1.affine": "Affine"})
    (row,) = export.to_gradescope(result)["tests"]
    assert (row["score"], row["max_score"], row["status"]) == (0.6667, 1.0, "failed")
    props = {p.get("name"): p.get("value") for p in export.to_junit(result).iter("property")}
    assert props == {"score": "0.666667", "max_score": "1"}


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


def test_plain_console_output_has_no_escape_codes_and_every_failure(result):
    text = render(result, force_terminal=False)
    assert "\x1b" not in text
    assert "Total: 3.5/6 points (58.3 %)" in text
    for test in result.tests:
        assert (test.name in text) == (not test.passed)
        for line in test.feedback_lines():
            assert line in text
    assert f"[5x7] {FEEDBACK_DB}" in text and "[5x7] your code printed: debug print" in text
    assert "Grader error (please report it): t/test_h.py::test_relu: KeyError: 'atol'" in text
    assert "network: not available (none allowed)" in text


def summary_rows(text: str) -> list[list[str]]:
    """The rows of the summary table: task, title, points, status."""
    head = text.index("What lost points") if "What lost points" in text else len(text)
    return [re.split(r"\s{2,}", line.strip()) for line in text[:head].splitlines()
            if re.match(r"^a1\.\w+ ", line)]


def test_summary_comes_first_with_one_row_per_task_in_order(result):
    text = render(result, force_terminal=False)
    assert summary_rows(text) == [["a1.affine", "Fully connected layer", "2.5/3.5", "partial"],
                                  ["a1.relu", "ReLU", "1/1.5", "partial"],
                                  ["a1.svm", "SVM hinge loss", "0/1", "not started"]]
    assert text.index("a1.svm") < text.index("Total:") < text.index("What lost points")
    assert "a1.softmax" not in text


def test_details_list_failed_tests_by_default_every_test_with_all_and_none_with_none(result):
    failed = [t.name for t in result.tests if not t.passed]
    passed = [t.name for t in result.tests if t.passed]
    by_default = render(result, force_terminal=False)
    assert all(n in by_default for n in failed) and not any(n in by_default for n in passed)
    everything = report_text(result, "all")
    assert all(n in everything for n in failed + passed)
    marks = re.findall(r"^\s*([✓✗]) (?:public|hidden)", everything, re.M)
    assert marks.count("✓") == 2 and marks.count("✗") == 3
    nothing = report_text(result, "none")
    assert not any(n in nothing for n in failed + passed) and FEEDBACK_DB not in nothing
    assert summary_rows(nothing) == summary_rows(by_default)
    with pytest.raises(ValueError, match="details must be one of"):
        report_text(result, "some")


def report_text(result, details: str) -> str:
    file = io.StringIO()
    report.render(result, Console(file=file, width=200, force_terminal=False), details=details)
    return file.getvalue()


def failing(task: str, name: str, messages: list[str], *, not_started=False) -> results.TestResult:
    cases = [CaseResult(f"c{i}", False, 0.0, 1.0, m, not_started=not_started)
             for i, m in enumerate(messages)]
    return results.TestResult(task, name, f"t::{name}", "hidden", cases)


def test_identical_messages_of_a_test_collapse_into_one_line_with_the_cases():
    test = failing("a1.mse", "mse", ["dx is wrong", "dx is wrong", "loss is nan", "dx is wrong"])
    assert test.feedback_lines() == ["[c0, c1, c3] (3 cases) dx is wrong", "[c2] loss is nan"]
    many = failing("a1.mse", "mse", ["same"] * 9)
    assert many.feedback_lines() == ["[c0, c1, c2, c3, c4, c5, …] (9 cases) same"]


def test_a_task_whose_failed_tests_all_say_the_same_gets_one_line():
    stub = "not implemented (a1.svm: implement svm_loss)"
    tests = [failing("a1.svm", "svm one", [stub, stub]), failing("a1.svm", "svm two", [stub])]
    text = report_text(GradingResult("a1", "A", "s", 1, tests, task_titles={"a1.svm": "SVM"}),
                       "failed")
    assert f"✗ 2 tests (3 points): {stub}" in text and "svm one" not in text
    assert text.count(stub) == 1


def test_task_status_full_partial_none_and_not_started():
    ok = results.TestResult("t", "ok", "t::ok", "public", [CaseResult("", True, 1.0, 1.0)])
    half = results.TestResult("t", "half", "t::h", "public", [CaseResult("", False, 0.5, 1.0, "x")])
    wrong = failing("t", "wrong", ["dx differs"])
    stub = failing("t", "stub", ["not implemented"], not_started=True)
    status = {names: results.TaskResult("t", "", list(tests)).status
              for names, tests in {"ok": [ok], "ok+half": [ok, half], "half": [half],
                                   "wrong": [wrong], "stub": [stub], "stub+wrong": [stub, wrong],
                                   "ok+stub": [ok, stub]}.items()}
    assert status == {"ok": "full", "ok+half": "partial", "half": "partial", "wrong": "none",
                      "stub": "not started", "stub+wrong": "none", "ok+stub": "partial"}


def test_header_names_the_seed_and_the_versions_and_notes_are_shown(result):
    result.versions = {"Python": "3.11.7", "NumPy": "2.4.6"}
    result.notes = ["affine_forward: found in my_layers.py (expected in layers.py)"]
    text = render(result, force_terminal=False)
    assert "seed 1234" in text and "Python 3.11.7 · NumPy 2.4.6" in text
    assert "affine_forward: found in my_layers.py (expected in layers.py)" in text


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


def test_points_show_two_decimals_rounded_down_so_partial_never_reads_as_full():
    assert [results.points(v) for v in (213, 212.9967, 2 / 3, 0.5, 0)] == [
        "213", "212.99", "0.66", "0.5", "0"]
    almost = results.TestResult("t", "almost", "t::a", "hidden",
                                [CaseResult("", False, 212.9967, 213.0, "x")])
    text = report_text(GradingResult("a1", "A", "s", 1, [almost], task_titles={"t": "T"}), "none")
    assert "212.99/213" in text and "partial" in text and "213/213" not in text


def test_a_task_worth_no_points_whose_tests_pass_is_full():
    free = results.TestResult("t", "free", "t::f", "public", [CaseResult("", True, 0.0, 0.0)])
    assert results.TaskResult("t", "", [free]).status == "full"


# -- notes (record_note) -------------------------------------------------------------------------

SPEED_NOTE = "no loops 1.9 ms, two loops 310 ms: 163x faster (at least 20x needed)"


@pytest.fixture
def noted(result) -> GradingResult:
    """The result, plus a passed speed test with its note and a note on a failed case."""
    result.task_titles["a5.distances_speed"] = "Graded speed"
    result.tests.append(results.TestResult(
        "a5.distances_speed", "no loops 20x faster", "t/test_h.py::test_speed", "hidden",
        [CaseResult("", True, 4.0, 4.0, notes=[SPEED_NOTE])]))
    result.tests[1].cases[1].notes = ["dx off by 3e-2 at most"]
    return result


def test_a_passed_tests_note_shows_in_the_default_report_and_with_details_all(noted):
    text = report_text(noted, "failed")
    assert summary_rows(text)  # the summary is unchanged ...
    assert text.index("Total:") < text.index("Notes on tests that passed:") < text.index(
        "What lost points")  # ... and the notes follow it
    assert f"  a5.distances_speed  {SPEED_NOTE}" in text
    assert "no loops 20x faster" not in text  # a passed test is not listed as a failure
    assert "[5x7] dx off by 3e-2 at most" in text  # a failed case's note under its feedback
    assert text.index(f"[5x7] {FEEDBACK_DB}") < text.index("[5x7] dx off by 3e-2 at most")
    everything = report_text(noted, "all")
    assert "Notes on tests that passed" not in everything  # under each test instead
    assert everything.index("no loops 20x faster") < everything.index(SPEED_NOTE)
    assert SPEED_NOTE not in report_text(noted, "none")


def test_without_notes_the_report_has_no_notes_section(result):
    assert "Notes on tests that passed" not in report_text(result, "failed")


def test_a_passed_tests_note_is_in_the_gradescope_json_and_junit(noted, tmp_path):
    path = tmp_path / "results.json"
    export.write_json(noted, path)
    rows = {t["name"]: t for t in json.loads(path.read_text(encoding="utf-8"))["tests"]}
    speed = rows["a5.distances_speed · no loops 20x faster"]
    assert speed["status"] == "passed" and speed["output"] == f"passed\n{SPEED_NOTE}"
    assert speed["extra_data"] == {"notes": [SPEED_NOTE]}
    assert rows["a1.affine · affine_backward: grads"]["output"].splitlines()[-1] == \
        "[5x7] dx off by 3e-2 at most"
    assert "extra_data" not in rows["a1.affine · affine_forward: out matches"]
    assert gradescope.problems(export.to_gradescope(noted)) == []
    case = export.to_junit(noted).find(".//testcase[@name='no loops 20x faster']")
    assert [p.get("value") for p in case.iter("property") if p.get("name") == "note"] == \
        [SPEED_NOTE]


HOSTILE_NOTES = ["line one\nline two\r\n\ttabbed", "\x1b[31mred\x1b[0m [bold]not markup[/bold]",
                 "bidi \u202eesrever\u202c zero\u200bwidth", "lone \udc80 surrogate",
                 "x" * 10_000, 12.5, ""]


def test_a_note_is_cleaned_to_one_short_printable_line():
    cleaned = results.clean_notes(HOSTILE_NOTES[:4])
    assert cleaned == ["line one line two tabbed", "[31mred [0m [bold]not markup[/bold]",
                       "bidi esrever zero width", "lone surrogate"]
    long = results.clean_note("x" * 10_000)
    assert len(long) == results.NOTE_CHARS and long.endswith("…")
    assert results.clean_note(12.5) == "12.5" and results.clean_notes(["", " \n "]) == []
    many = results.clean_notes([f"n{i}" for i in range(10)])
    assert many == ["n0", "n1", "n2", f"({10 - results.NOTES_PER_CASE + 1} more notes left out)"]


def test_odd_notes_cannot_break_any_report(result, tmp_path):
    notes = results.clean_notes(HOSTILE_NOTES)
    result.tests[0].cases[0].notes = notes
    text = report_text(result, "failed")
    assert "\x1b" not in text and "[bold]not markup[/bold]" in text  # printed, not interpreted
    assert "line one line two tabbed" in text and "\u202e" not in text
    assert max(len(line) for line in text.splitlines()) <= 200  # the console's width
    export.write_json(result, tmp_path / "results.json")  # UTF-8 writes it: no lone surrogate
    export.write_junit(result, tmp_path / "results.xml")
    doc = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert doc["tests"][0]["output"].splitlines()[1:] == notes
    assert ET.parse(tmp_path / "results.xml").getroot() is not None
