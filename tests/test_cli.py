"""The ``layerlab`` command line, run as a subprocess without a terminal and with NO_COLOR."""
import ast
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from functools import partial
from pathlib import Path

import pytest

from grader import cli, spec
from grader.results import points
from grader.grade import grade
from grader.spec import ROOT, Assignment, UsageError

EXAMPLE = ROOT / "examples" / "a1_submission"
A1 = ROOT / "assignments" / "a1_networks"
TOTAL = re.compile(r"Total: (\S+)/(\S+) points \((\d+\.\d) %\)")
ROW = re.compile(r"^\s*([✓✗]) (public|hidden)\s+\S+/\S+\s", re.M)  # a test, with --details all
VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}
CONSOLE_SCRIPT = Path(sys.executable).with_name("layerlab")


def run(*args: str, program: list[str] | None = None,
        columns: str | None = "200") -> subprocess.CompletedProcess:
    """Run the CLI as CI would: no terminal, NO_COLOR; a wide report unless ``columns`` is None."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("FORCE_COLOR", "TTY_COMPATIBLE", "COLUMNS", "LINES")}
    env["NO_COLOR"] = "1"
    if columns:
        env["COLUMNS"] = columns
    return subprocess.run([*(program or [sys.executable, "-m", "grader"]), *map(str, args)],
                          cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                          encoding="utf-8", timeout=120)


def total(stdout: str) -> tuple[float, float, float]:
    found = TOTAL.findall(stdout)
    assert len(found) == 1, f"expected one total line in:\n{stdout}"
    return tuple(float(x) for x in found[0])


def rows(stdout: str) -> list[tuple[str, str]]:
    """(mark, kind) of every test row of the report."""
    return ROW.findall(stdout)


@pytest.fixture(scope="module")
def outdir(tmp_path_factory):
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def solution_run(outdir):
    proc = run("grade", "solutions/a1_networks", "-a", "a1", "--json", outdir / "solution.json",
               "--details", "all")
    return proc, json.loads((outdir / "solution.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def stub_run(outdir):
    proc = run("grade", "assignments/a1_networks", "-a", "a1", "--json", outdir / "stubs.json",
               "--details", "all")
    return proc, json.loads((outdir / "stubs.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def example_run(outdir):
    proc = run("grade", "examples/a1_submission", "--assignment", "a1", "--details", "all",
               "--json", outdir / "example.json", "--junit", outdir / "example.xml")
    return (proc, json.loads((outdir / "example.json").read_text(encoding="utf-8")),
            ET.parse(outdir / "example.xml").getroot())


# -- grading -------------------------------------------------------------------------------------

def test_reference_solution_scores_100_percent(solution_run):
    proc, _ = solution_run
    assert proc.returncode == 0, proc.stderr
    score, possible, percent = total(proc.stdout)
    assert percent == 100.0 and score == possible > 0
    assert {mark for mark, _ in rows(proc.stdout)} == {"✓"}


def test_untouched_stubs_score_zero_and_every_test_says_not_implemented(stub_run):
    proc, data = stub_run
    assert proc.returncode == 0, proc.stderr
    assert total(proc.stdout)[0] == 0 and total(proc.stdout)[2] == 0.0
    assert {mark for mark, _ in rows(proc.stdout)} == {"✗"}
    assert data["tests"] and data["score"] == 0
    for test in data["tests"]:
        assert test["score"] == 0 and test["status"] == "failed"
        lines = test["output"].splitlines()
        assert lines and all("not implemented" in line for line in lines), test


def test_example_scores_between_0_and_100_with_passes_and_failures(example_run):
    proc, data, _ = example_run
    assert proc.returncode == 0, proc.stderr
    score, possible, percent = total(proc.stdout)
    assert 0 < percent < 100
    assert score == float(points(data["score"]))  # the console shows 2 decimals, rounded down
    marks = {mark for mark, _ in rows(proc.stdout)}
    assert marks == {"✓", "✗"}
    assert {kind for _, kind in rows(proc.stdout)} == {"public", "hidden"}


def test_example_summary_fits_on_one_screen_above_the_details():
    proc = run("grade", "examples/a1_submission", "--assignment", "a1", columns="80")
    assert proc.returncode == 0, proc.stderr
    above, _, details = proc.stdout.partition("What lost points:")
    assert details, proc.stdout
    assert len(above.splitlines()) <= 40, above
    assert all(task in above for task in spec.get("a1").tasks)
    assert "seed 1234" in above and "NumPy " in above and "Python " in above
    # a task whose tests all fail alike is one line; the partial ones list their failed tests
    missing = "activations.py defines no function 'leaky_relu_forward'"
    assert f"✗ 4 tests (7 points): {missing}" in details
    assert "affine_backward: dx, dw and db match the reference" in details
    assert "affine_forward: out matches the reference" not in details  # it passed


def test_output_without_a_terminal_has_no_escape_codes(example_run, stub_run):
    for proc in (example_run[0], stub_run[0]):
        assert "\x1b" not in proc.stdout and "\x1b" not in proc.stderr


def test_gradescope_json_follows_the_official_schema(example_run):
    _, data, _ = example_run
    assert set(data) <= {"score", "execution_time", "output", "visibility", "stdout_visibility",
                         "tests", "extra_data", "output_format", "leaderboard"}
    assert {"score", "execution_time", "output", "tests"} <= set(data)
    assert type(data["score"]) in (int, float) and type(data["execution_time"]) in (int, float)
    assert data["execution_time"] >= 0
    assert isinstance(data["output"], str)
    assert data["visibility"] in VISIBILITIES and data["stdout_visibility"] in VISIBILITIES
    assert isinstance(data["tests"], list) and data["tests"]
    numbers = []
    for test in data["tests"]:
        assert set(test) == {"name", "number", "score", "max_score", "status", "output",
                             "visibility"}, test
        assert isinstance(test["name"], str) and test["name"]
        assert isinstance(test["number"], str)
        assert type(test["score"]) in (int, float) and type(test["max_score"]) in (int, float)
        assert 0 <= test["score"] <= test["max_score"]
        assert test["status"] in {"passed", "failed"}
        assert (test["status"] == "passed") == (test["score"] == test["max_score"])
        assert isinstance(test["output"], str)
        assert test["visibility"] in VISIBILITIES
        numbers.append(test["number"])
    assert len(set(numbers)) == len(numbers)
    assert data["score"] == pytest.approx(sum(t["score"] for t in data["tests"]), abs=1e-3)


def test_gradescope_json_score_matches_the_console_total(example_run):
    proc, data, _ = example_run
    score, possible, _ = total(proc.stdout)
    assert sum(t["max_score"] for t in data["tests"]) == pytest.approx(possible)
    assert points(data["score"]) == points(score)  # the console's 2 decimals, rounded down


@pytest.fixture(scope="module")
def example_result():
    """The same grading done in this process, to count the cases independently of the XML."""
    return grade(EXAMPLE, spec.get("a1"))


def test_junit_xml_has_one_testcase_per_graded_case(example_run, example_result):
    _, _, root = example_run
    cases = [(t, c) for t in example_result.tests for c in t.cases]
    testcases = root.findall(".//testcase")
    assert root.tag == "testsuites"
    assert len(testcases) == len(cases) == int(root.get("tests"))
    failed = [tc for tc in testcases if tc.find("failure") is not None]
    assert len(failed) == sum(not c.passed for _, c in cases) == int(root.get("failures")) > 0
    assert all(tc.find("error") is None for tc in testcases)
    for tc in failed:
        assert tc.find("failure").get("message")
    for suite in root.findall("testsuite"):
        assert int(suite.get("tests")) == len(suite.findall("testcase"))
        assert int(suite.get("failures")) == len(suite.findall("testcase/failure"))


def test_junit_suites_are_the_tasks_and_match_the_json_scores(example_run):
    _, data, root = example_run
    tasks = tomllib.loads((A1 / "assignment.toml").read_text())["tasks"]
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == set(tasks)
    for task, suite in suites.items():
        xml_score = sum(float(p.get("value")) for p in suite.iter("property")
                        if p.get("name") == "score")
        json_score = sum(t["score"] for t in data["tests"] if t["name"].startswith(task + " "))
        assert xml_score == pytest.approx(json_score, abs=1e-3)


@pytest.mark.parametrize("threshold,code", [("99", 1), ("1", 0)])
def test_fail_under(threshold, code):
    proc = run("grade", EXAMPLE, "-a", "a1", "--fail-under", threshold)
    assert proc.returncode == code, proc.stderr
    assert TOTAL.search(proc.stdout), "the report is printed either way"
    if code:
        assert "fail-under" in proc.stderr and "Traceback" not in proc.stderr


# -- usage errors --------------------------------------------------------------------------------

@pytest.mark.parametrize("args,expect,from_argparse", [
    (["grade", "no/such/submission", "-a", "a1"], "no/such/submission", False),
    (["grade", "examples/a1_submission", "-a", "zz9"], "zz9", False),
    (["grade", "examples/a1_submission", "-a", "a1", "--json", "no/such/dir/r.json"],
     "no/such/dir", False),
    (["grade", "examples/a1_submission", "-a", "a1", "--junit", "no/such/dir/r.xml"],
     "no/such/dir", False),
    (["grade", "examples/a1_submission", "-a", "a1", "--fail-under", "lots"], "lots", True),
    (["grade", "examples/a1_submission", "-a", "a1", "--fail-under", "150"], "150", True),
    (["check", "zz9"], "zz9", False),
    ([], "required", True),
    (["grade", "submissions/of/a/student/with/a/rather/long/name/" + "x" * 60 + ".zip", "-a", "a1"],
     "x" * 60 + ".zip", False),
], ids=["missing submission", "unknown assignment", "json folder", "junit folder",
        "fail-under text", "fail-under range", "check unknown assignment", "no arguments",
        "long missing path"])
def test_usage_errors_exit_2_with_one_line(args, expect, from_argparse):
    proc = run(*args, columns=None)  # the default width of a CI log
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    lines = proc.stderr.strip().splitlines()
    errors = [line for line in lines if "error:" in line]
    assert len(errors) == 1 and errors[0] == lines[-1], proc.stderr
    assert expect in errors[0]
    if not from_argparse:  # argparse adds its usage lines; our own errors are one line only
        assert lines == errors
    assert not TOTAL.search(proc.stdout)


# -- list, check, help ---------------------------------------------------------------------------

def table_rows(stdout: str) -> dict[str, list[str]]:
    found = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in re.split(r"[│|┃]", line)]
        if len(cells) >= 6:
            found[cells[1]] = cells[2:5]
    return found


def test_list_shows_every_task_with_its_public_and_hidden_points(solution_run):
    proc = run("list")
    assert proc.returncode == 0, proc.stderr
    toml = tomllib.loads((A1 / "assignment.toml").read_text())
    assert toml["id"] in proc.stdout and toml["title"] in proc.stdout
    table = table_rows(proc.stdout)
    graded = solution_run[1]["tests"]
    for task, title in toml["tasks"].items():
        assert task in table, f"{task} missing from:\n{proc.stdout}"
        shown_title, public, hidden = table[task]
        assert shown_title == title
        want = {vis: sum(t["max_score"] for t in graded
                         if t["name"].startswith(task + " ") and t["visibility"] == vis)
                for vis in ("visible", "after_published")}
        assert float(public) == pytest.approx(want["visible"]) and float(public) > 0
        assert float(hidden) == pytest.approx(want["after_published"]) and float(hidden) > 0


def test_check_runs_only_the_public_tests():
    proc = run("check", "a1", "--path", "examples/a1_submission", "--details", "all")
    assert proc.returncode == 0, proc.stderr
    public = [n for path in sorted((A1 / "tests").glob("test_*.py"))
              for n in ast.parse(path.read_text()).body
              if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]
    kinds = [kind for _, kind in rows(proc.stdout)]
    assert kinds == ["public"] * len(public)
    score, possible, _ = total(proc.stdout)
    assert 0 < score < possible


@pytest.mark.parametrize("command", ["grade", "check", "list"])
def test_help_of_each_command_has_an_example(command):
    proc = run(command, "--help")
    assert proc.returncode == 0 and not proc.stderr
    assert "example" in proc.stdout
    assert re.search(rf"^\s+layerlab {command}\b", proc.stdout, re.M), proc.stdout


def test_top_level_help_names_every_command():
    proc = run("--help")
    assert proc.returncode == 0
    assert all(command in proc.stdout for command in ("grade", "check", "list"))


@pytest.mark.skipif(not CONSOLE_SCRIPT.exists(), reason="no layerlab console script installed")
def test_console_script_behaves_like_python_m_grader(example_run):
    proc = run("grade", EXAMPLE, "-a", "a1", program=[str(CONSOLE_SCRIPT)])
    assert proc.returncode == 0, proc.stderr
    assert total(proc.stdout) == total(example_run[0].stdout)
    assert run("--help", program=[str(CONSOLE_SCRIPT)]).returncode == 0


# -- malformed configuration ---------------------------------------------------------------------

@pytest.fixture
def assignments_copy(tmp_path):
    """A copy of the repository's assignments tree, safe to break."""
    shutil.copytree(ROOT / "assignments", tmp_path / "assignments",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


@pytest.mark.parametrize("edit,expect", [
    (lambda text: text + "\nthis line is not toml\n", "not valid TOML"),
    (lambda text: text.replace('id = "a1"', "id = 1"), "'id'"),
    (lambda text: text.replace("modules = [", 'modules = ["no_such_module", '), "no_such_module"),
    (lambda text: text.replace("call_timeout = 10", "call_timeout = 10\nwall = 3"), "wall"),
], ids=["syntax", "id not a string", "module without stub", "unknown limit"])
def test_malformed_assignment_toml_is_a_usage_error_naming_the_file(assignments_copy, edit,
                                                                    expect):
    toml = assignments_copy / "assignments" / "a1_networks" / "assignment.toml"
    toml.write_text(edit(toml.read_text()))
    with pytest.raises(UsageError) as info:
        spec.all_assignments(assignments_copy)
    text = str(info.value)
    assert "assignment.toml" in text and expect in text and "\n" not in text
    assert spec.all_assignments()["a1"].folder == A1, "the repository's tree is untouched"


@pytest.mark.parametrize("argv", [["list"], ["grade", str(EXAMPLE), "-a", "a1"], ["check", "a1"]])
def test_malformed_assignment_toml_makes_the_cli_exit_2(assignments_copy, monkeypatch, capsys,
                                                        argv):
    monkeypatch.delenv("COLUMNS", raising=False)
    toml = assignments_copy / "assignments" / "a1_networks" / "assignment.toml"
    toml.write_text("[tasks\n")
    monkeypatch.setattr(spec, "all_assignments", partial(spec.all_assignments, assignments_copy))
    assert cli.main(argv) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "assignment.toml" in err and "Traceback" not in err


# -- grader errors -------------------------------------------------------------------------------

BROKEN_HIDDEN_TEST = '''
import numpy as np
import pytest

from grader.compare import check_forward


@pytest.mark.task("a1.relu")
@pytest.mark.points(2)
def test_relu_with_a_grader_bug(student, ref):
    """relu_forward: a hidden test whose own (trusted) code has a bug"""
    tolerances = {"rtol": 1e-6}
    check_forward(student, ref, "relu", np.ones((2, 3)), rtol=tolerances["atol"])
'''


@dataclasses.dataclass
class WithHiddenTests(Assignment):
    """An assignment whose hidden tests live in a folder of the test's choosing."""

    hidden_dir: Path | None = None

    @property
    def hidden_tests(self) -> Path | None:
        return self.hidden_dir


@pytest.fixture(scope="module")
def broken_result(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("broken")
    folder = tmp / "a1_networks"
    shutil.copytree(A1, folder, ignore=shutil.ignore_patterns("__pycache__"))
    hidden = tmp / "hidden_tests"
    hidden.mkdir()
    (hidden / "test_broken_hidden.py").write_text(BROKEN_HIDDEN_TEST)
    a1 = spec.get("a1")
    fake = WithHiddenTests(**{f.name: getattr(a1, f.name) for f in dataclasses.fields(a1)},
                           hidden_dir=hidden)
    fake = dataclasses.replace(fake, folder=folder)
    return grade(EXAMPLE, fake)


def test_crash_in_trusted_test_code_is_an_internal_error(broken_result):
    assert len(broken_result.internal_errors) == 1
    assert "KeyError" in broken_result.internal_errors[0]
    assert "test_relu_with_a_grader_bug" in broken_result.internal_errors[0]
    broken = [t for t in broken_result.tests if t.name.startswith("relu_forward: a hidden test")]
    assert len(broken) == 1 and broken[0].visibility == "hidden"
    (case,) = broken[0].cases
    assert case.internal_error and not case.passed
    assert case.feedback.startswith("grader error")
    others = [c for t in broken_result.tests if t is not broken[0] for c in t.cases]
    assert others and not any(c.internal_error for c in others)


def test_cli_exits_3_on_internal_errors_and_still_reports(broken_result, monkeypatch, capsys,
                                                         tmp_path):
    monkeypatch.setattr(cli, "grade", lambda *args, **kwargs: broken_result)
    out = tmp_path / "results.json"
    code = cli.main(["grade", str(EXAMPLE), "-a", "a1", "--json", str(out)])
    assert code == cli.EXIT_INTERNAL == 3
    stdout = capsys.readouterr().out
    assert TOTAL.search(stdout) and "Grader error" in stdout
    data = json.loads(out.read_text(encoding="utf-8"))
    assert "grader error" in data["output"]


def test_fail_under_does_not_hide_an_internal_error(broken_result, monkeypatch):
    monkeypatch.setattr(cli, "grade", lambda *args, **kwargs: broken_result)
    assert cli.main(["grade", str(EXAMPLE), "-a", "a1", "--fail-under", "100"]) == 3
