"""``layerlab export github-classroom``: the template is the student release (no solutions, no
hidden tests) plus a workflow with Classroom's steps; the workflow's grading step turns a real
grade into the base64 ``result`` Classroom's reporter reads, one test per task with its points."""

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader import classroom, cli, export, release, spec
from grader.grade import grade, plan
from grader.results import FULL, points
from grader.spec import ROOT

A1 = spec.get("a1")
EXAMPLE = ROOT / "examples" / "a1_submission"
VENV_BIN = Path(sys.executable).parent
HIDDEN = "https://github.com/prof/layerlab-full.git"


@pytest.fixture(scope="module")
def public(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("classroom") / "a1-template"
    assert cli.main(["export", "github-classroom", "-a", "a1", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def hidden(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("classroom") / "a1-template-hidden"
    assert cli.main(["export", "github-classroom", "-a", "a1", "--out", str(out),
                     "--hidden-from", HIDDEN]) == 0
    return out


def files_of(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_bytes().decode("utf-8", "replace")
            for p in root.rglob("*") if p.is_file()}


def steps(workflow: str) -> list[dict[str, str]]:
    """The job's steps without a YAML parser: each step's keys, a nested block (``run: |``,
    ``with:``, ``env:``) as its lines dedented."""
    body = workflow.split("\n    steps:\n", 1)[1]
    found = []
    for chunk in re.split(r"(?m)^      - ", body)[1:]:
        step, key = {}, None
        for i, line in enumerate(chunk.rstrip("\n").splitlines()):
            match = re.match(r"^([a-z-]+):\s?(.*)$", line if i == 0 else line.removeprefix(" " * 8))
            if match and (i == 0 or not line.startswith(" " * 9)):
                key = match[1]
                step[key] = match[2]
            else:
                step[key] = "\n".join(filter(None, [step[key], line.removeprefix(" " * 10)]))
        found.append(step)
    return found


def block(text: str) -> dict[str, str]:
    """A nested ``key: value`` block as a dict."""
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


def decode(output_file: Path) -> dict:
    (line,) = [ln for ln in output_file.read_text().splitlines() if ln.startswith("result=")]
    return json.loads(base64.b64decode(line.removeprefix("result="), validate=True))


def test_the_template_is_the_release_with_a_workflow_and_nothing_of_the_instructor(public,
                                                                                     hidden):
    secrets = release.secret_lines(spec.all_assignments().values())
    for template in (public, hidden):
        files = files_of(template)
        assert classroom.WORKFLOW in files and "pyproject.toml" in files
        for module in A1.modules:
            stub = (A1.folder / f"{module}.py").read_text()
            assert files[f"assignments/{A1.folder.name}/{module}.py"] == stub
        assert not [f for f in files if f.startswith(("solutions/", "tests/", "examples/"))
                    or "hidden_tests" in f or f.endswith((".so", ".pyc"))]
        assert not [f for f in files if f.endswith("/mistakes.py") and f != "grader/mistakes.py"]
        assert "solutions" not in files["pyproject.toml"]
        assert release.leaks(files, secrets) == []
        for test in A1.hidden_tests.glob("test_*.py"):
            assert test.name not in "\n".join(files.values())


def test_the_workflow_has_classrooms_steps_public_checks_only(public):
    text = (public / classroom.WORKFLOW).read_text()
    assert "\nname: Autograding Tests\n" in text and '\n"on":\n  - push\n' in text
    assert "\n  run-autograding-tests:\n" in text
    assert "if: github.actor != 'github-classroom[bot]'" in text
    assert "secrets." not in text and classroom.INSTRUCTOR_DIR not in text
    found = steps(text)
    assert [s["name"] for s in found] == ["Checkout code", "Set up Python",
                                          "Install LayerLab (public checks only)", "Grade a1",
                                          "Autograding Reporter"]
    assert found[2]["run"] == "python -m pip install ."
    grading, reporter = found[3], found[4]
    assert grading["id"] == "layerlab"
    assert "layerlab grade assignments/a1_networks --assignment a1 --json" in grading["run"]
    assert "--assignment a1 --public-only" in grading["run"]
    assert reporter["uses"] == "classroom-resources/autograding-grading-reporter@v1"
    assert block(reporter["env"]) == {"LAYERLAB_RESULTS": '"${{ steps.layerlab.outputs.result }}"'}
    assert block(reporter["with"]) == {"runners": "layerlab"}
    readme = (public / "README.md").read_text()
    assert readme.startswith("# LayerLab — your assignments")
    assert "## Grading (GitHub Classroom)" in readme and "public checks only" in readme
    assert "**Nothing secret is here.**" in readme


def test_the_hidden_workflow_checks_out_the_instructors_repository_with_the_secret(hidden):
    text = (hidden / classroom.WORKFLOW).read_text()
    found = {s["name"]: s for s in steps(text)}
    check = found["Check that the hidden tests can be fetched"]
    assert block(check["env"]) == {"TOKEN": "${{ secrets.LAYERLAB_HIDDEN_TOKEN }}"}
    assert 'if [ -z "$TOKEN" ]; then' in check["run"] and "exit 1" in check["run"]
    checkout = found["Check out the instructor's LayerLab (hidden tests)"]
    assert checkout["uses"] == "actions/checkout@v4"
    assert block(checkout["with"]) == {"repository": "prof/layerlab-full",
                                       "token": "${{ secrets.LAYERLAB_HIDDEN_TOKEN }}",
                                       "path": ".layerlab-instructor",
                                       "persist-credentials": "false"}
    assert found["Install the instructor's LayerLab"]["run"] == (
        "python -m pip install ./.layerlab-instructor")
    assert "--public-only" not in found["Grade a1"]["run"]
    assert list(found).index("Install the instructor's LayerLab") < list(found).index("Grade a1")
    readme = (hidden / "README.md").read_text()
    assert "**The hidden tests are only as secret as the token.**" in readme
    assert "prof/layerlab-full" in readme and "LAYERLAB_HIDDEN_TOKEN" in readme


@pytest.mark.parametrize("which", ["public", "hidden"])
def test_the_workflow_parses_as_yaml(which, request):
    yaml = pytest.importorskip("yaml")  # PyYAML is not a dependency: only this check needs it
    template = request.getfixturevalue(which)
    data = yaml.safe_load((template / classroom.WORKFLOW).read_text())
    assert data["name"] == "Autograding Tests"
    assert data["on"] == ["push", "workflow_dispatch", "repository_dispatch"]
    assert data["permissions"] == {"checks": "write", "actions": "read", "contents": "read"}
    job = data["jobs"]["run-autograding-tests"]
    assert job["runs-on"] == "ubuntu-latest"
    parsed = job["steps"]
    assert [s["name"] for s in parsed] == [s["name"] for s in
                                           steps((template / classroom.WORKFLOW).read_text())]
    grading = next(s for s in parsed if s.get("id") == "layerlab")
    assert grading["env"] == {"RESULTS": "${{ runner.temp }}/layerlab-results.json"}
    reporter = parsed[-1]
    assert reporter["env"] == {"LAYERLAB_RESULTS": "${{ steps.layerlab.outputs.result }}"}
    assert reporter["with"] == {"runners": "layerlab"}
    if which == "hidden":
        checkout = next(s for s in parsed if s.get("with", {}).get("path"))
        assert checkout["with"]["repository"] == "prof/layerlab-full"
        assert checkout["with"]["persist-credentials"] is False


def test_the_converter_turns_a_public_grade_into_one_test_per_task(tmp_path):
    result = grade(EXAMPLE, A1, hidden=False)
    export.write_json(result, tmp_path / "results.json")
    output = tmp_path / "github_output"
    proc = subprocess.run([sys.executable, "-I", "-m", "grader.classroom",
                           str(tmp_path / "results.json"), "--assignment", "a1", "--public-only"],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "GITHUB_OUTPUT": str(output)})
    assert proc.returncode == 0, proc.stderr
    got = decode(output)
    assert set(got) == {"version", "status", "max_score", "message", "tests"}
    assert got["version"] == 1 and got["status"] == "fail"
    assert got["max_score"] == pytest.approx(result.max_score)
    assert classroom.PUBLIC_ONLY in got["message"]
    tasks = result.tasks()
    assert [t["name"] for t in got["tests"]] == [f"{t.task} · {t.title}" for t in tasks]
    for entry, task in zip(got["tests"], tasks, strict=True):
        assert set(entry) == {"name", "status", "score", "max_score", "message"}
        assert entry["score"] == pytest.approx(task.score, abs=1e-4)
        assert entry["max_score"] == pytest.approx(task.max_score)
        assert entry["status"] == ("pass" if task.status == FULL else "fail")
        assert entry["message"].startswith(f"{points(task.score)}/{points(task.max_score)} points")
    assert sum(t["score"] for t in got["tests"]) == pytest.approx(result.score, abs=1e-3)
    assert "LayerLab: " in proc.stdout and "a1.affine · Fully connected layer" in proc.stdout


def test_a_passed_tests_note_is_in_its_tasks_message():
    from grader.results import CaseResult, GradingResult, TestResult

    note = "no loops 1.9 ms, two loops 310 ms: 163x faster (at least 20x needed)"
    tests = [TestResult("a1.affine", "fast", "t::f", "hidden", [CaseResult("", True, 4, 4,
                                                                          notes=[note])]),
             TestResult("a1.relu", "slow", "t::s", "hidden", [CaseResult("", False, 0, 1, "x",
                                                                        notes=["2x"])])]
    doc = export.to_gradescope(GradingResult("a1", "A", "s", 1, tests))
    affine, relu = classroom.to_classroom(doc, A1)["tests"]
    assert affine["status"] == "pass" and affine["message"] == \
        f"4/4 points; all 1 tests passed\n{note}"
    assert relu["message"].splitlines()[-2:] == ["slow: x", "2x"]
    doc["tests"][0]["extra_data"] = {"notes": "not a list"}  # an edited results.json
    assert classroom.to_classroom(doc, A1)["tests"][0]["message"].count("\n") == 0


def test_the_grading_step_runs_as_the_workflow_runs_it(public, tmp_path):
    """The grading step's own script and env, in a copy of the template whose stubs a student
    filled (the example's files), with this venv's layerlab on the PATH; its grade includes the
    hidden tests (this install has them), which the conversion carries like any others."""
    repo = tmp_path / "student-repo"
    shutil.copytree(public, repo)
    for path in EXAMPLE.glob("*.py"):
        shutil.copy2(path, repo / "assignments" / A1.folder.name / path.name)
    grading = next(s for s in steps((public / classroom.WORKFLOW).read_text())
                   if s.get("id") == "layerlab")
    env = {k: v.replace("${{ runner.temp }}", str(tmp_path)) for k, v in
           block(grading["env"]).items()}
    output = tmp_path / "github_output"
    proc = subprocess.run(["bash", "-e", "-c", grading["run"].removeprefix("|\n")], cwd=repo,
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, **env, "GITHUB_OUTPUT": str(output),
                               "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    graded = json.loads((tmp_path / "layerlab-results.json").read_text(encoding="utf-8"))
    got = decode(output)
    assert got["max_score"] == pytest.approx(sum(t["max_score"] for t in graded["tests"]))
    assert sum(t["score"] for t in got["tests"]) == pytest.approx(graded["score"], abs=1e-3)
    assert 0 < graded["score"] < got["max_score"]
    assert {t["visibility"] for t in graded["tests"]} == {"visible", "after_published"}
    assert {t["name"].split(" · ")[0] for t in got["tests"]} == {
        t["name"].split(" · ")[0] for t in graded["tests"]}


def test_no_results_is_an_error_worth_0_of_the_assignments_points(tmp_path):
    output = tmp_path / "github_output"
    assert classroom.main([str(tmp_path / "missing.json"), "-a", "a1", "--public-only",
                           "--output", str(output)]) == 0
    got = decode(output)
    public_total = sum(t.max_score for t in plan(A1).tests if t.visibility == "public")
    assert got["status"] == "error" and got["max_score"] == pytest.approx(public_total)
    (entry,) = got["tests"]
    assert entry["status"] == "error" and entry["score"] == 0
    assert "could not grade" in entry["message"] and "missing.json" in entry["message"]


def test_hidden_from_takes_a_github_repository_or_its_url():
    for source in ("prof/layerlab-full", "https://github.com/prof/layerlab-full",
                   "https://github.com/prof/layerlab-full.git",
                   "git@github.com:prof/layerlab-full.git"):
        assert classroom.hidden_repository(source) == "prof/layerlab-full"
    for source in ("layerlab-full", "https://gitlab.com/prof/full", "gitlab.com/prof",
                   "prof/full; rm -rf /"):
        with pytest.raises(spec.UsageError, match="--hidden-from expects a GitHub repository"):
            classroom.hidden_repository(source)


def test_usage_errors_exit_2_and_a_refused_release_1_and_nothing_is_written(tmp_path, capsys,
                                                                            monkeypatch):
    out = tmp_path / "t"
    assert cli.main(["export", "github-classroom", "-a", "a1", "--out", str(out),
                     "--hidden-from", "gitlab.com/x/y"]) == 2
    assert "--hidden-from expects a GitHub repository" in capsys.readouterr().err
    assert cli.main(["export", "github-classroom", "-a", "a1", "--out", str(out),
                     "--hidden-from", "prof/full", "--hidden-secret", "GITHUB_TOKEN"]) == 2
    assert "--hidden-secret must be a secret's name" in capsys.readouterr().err
    assert cli.main(["export", "github-classroom", "-a", "zz9", "--out", str(out)]) == 2
    assert not out.exists()
    monkeypatch.setattr(release, "parity_problems",
                        lambda a: ["a1_networks/layers.py: relu: the stub's docstring is not the "
                                   "solution's"])
    assert cli.main(["export", "github-classroom", "-a", "a1", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "export refused" in err and "relu: the stub's docstring" in err
    assert not out.exists() and not list(tmp_path.iterdir())
