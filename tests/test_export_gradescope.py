"""``layerlab export gradescope``: the zip has Gradescope's layout; its setup.sh installs LayerLab,
hidden tests included, into a fresh venv, and its run_autograder grades an /autograder tree laid
out as Gradescope lays it, leaving a results.json that fits the specification whatever the
submission does."""

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader import cli, gradescope, spec
from grader.grade import grade
from grader.spec import ROOT

A1 = spec.get("a1")
EXAMPLE = ROOT / "examples" / "a1_submission"
NUMBER = (int, float)
TOP = {"score": NUMBER, "execution_time": NUMBER, "output": str, "visibility": str,
       "stdout_visibility": str, "extra_data": dict, "tests": list}
TEST = {"score": NUMBER, "max_score": NUMBER, "name": str, "number": str, "output": str,
        "status": str, "visibility": str, "tags": list, "extra_data": dict}
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}


def validate(doc: dict) -> None:
    """Gradescope's results.json: known keys only, each of its type; score at the top (we always
    give one); a test's status passed or failed; visibilities from the specification's list."""
    assert isinstance(doc, dict) and set(doc) <= set(TOP), sorted(doc)
    assert "score" in doc
    for key, kind in TOP.items():
        if key in doc:
            assert isinstance(doc[key], kind) and not isinstance(doc[key], bool), key
    for key in ("visibility", "stdout_visibility"):
        assert doc.get(key, "visible") in VISIBILITY, key
    for test in doc.get("tests", []):
        assert set(test) <= set(TEST), sorted(test)
        for key, kind in TEST.items():
            if key in test:
                assert isinstance(test[key], kind) and not isinstance(test[key], bool), key
        assert test.get("status", "passed") in {"passed", "failed"}
        assert test.get("visibility", "visible") in VISIBILITY
        assert 0 <= test["score"] <= test["max_score"] + 1e-9


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    return {**env, **extra}


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export") / "autograder.zip"
    assert cli.main(["export", "gradescope", "--assignment", "a1", "--out", str(out)]) == 0
    return out


def lay_out(zip_path: Path, root: Path) -> Path:
    """The /autograder tree as Gradescope builds it: the zip unpacked (modes kept) into source/,
    run_autograder copied to the root, an empty submission/ and results/."""
    source = root / "source"
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            path = Path(zf.extract(info, source))
            path.chmod((info.external_attr >> 16) & 0o777 or 0o644)
    shutil.copy2(source / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    (root / "results").mkdir()
    return root


@pytest.fixture(scope="module")
def autograder(autograder_zip, tmp_path_factory) -> Path:
    """Laid out and set up once for the module: setup.sh's install step (no apt-get) builds
    LayerLab with its Cython kernels into a fresh venv — a minute or two."""
    root = lay_out(autograder_zip, tmp_path_factory.mktemp("gs") / "autograder")
    setup = subprocess.run(["bash", str(root / "source" / "setup.sh")], cwd=root / "source",
                           capture_output=True, text=True, timeout=1500,
                           env=clean_env(LAYERLAB_AUTOGRADER=str(root),
                                         LAYERLAB_PYTHON=sys.executable,
                                         LAYERLAB_SKIP_SYSTEM="1",
                                         # kernels built unoptimised (A1 never calls them): the
                                         # compile is most of this fixture's time
                                         LAYERLAB_CYTHON_DEBUG="1"))
    assert setup.returncode == 0, setup.stdout[-3000:] + setup.stderr[-3000:]
    assert (root / "layerlab-venv" / "bin" / "layerlab").exists()
    return root


def run_autograder(root: Path, files: dict[str, Path | str], **env: str) -> dict:
    """Put ``files`` in submission/, run run_autograder as Gradescope does (from the root) and
    return results.json."""
    for folder in ("submission", "results"):
        shutil.rmtree(root / folder)
        (root / folder).mkdir()
    for name, content in files.items():
        target = root / "submission" / name
        if isinstance(content, Path):
            shutil.copy2(content, target)
        else:
            target.write_text(content)
    proc = subprocess.run([str(root / "run_autograder")], cwd=root, capture_output=True,
                          text=True, timeout=900,
                          env=clean_env(LAYERLAB_AUTOGRADER=str(root), **env))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    doc = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    validate(doc)
    assert gradescope.problems(doc) == []
    return doc


def test_the_zip_has_the_scripts_at_its_root_and_the_source_without_build_products(
        autograder_zip):
    with zipfile.ZipFile(autograder_zip) as zf:
        infos = {i.filename: i for i in zf.infolist()}
        scripts = {n: zf.read(n).decode() for n in ("setup.sh", "run_autograder")}
    for name, text in scripts.items():
        assert (infos[name].external_attr >> 16) & 0o111, f"{name} is not executable"
        assert text.startswith("#!/usr/bin/env bash\n")
        syntax = subprocess.run(["bash", "-n"], input=text, capture_output=True, text=True)
        assert syntax.returncode == 0, f"{name}: {syntax.stderr}"
    assert ("layerlab\" grade \"$root/submission\" --assignment a1 --json \"$results\""
            in scripts["run_autograder"])
    assert "apt-get" in scripts["setup.sh"] and "LAYERLAB_SKIP_SYSTEM" in scripts["setup.sh"]
    names = set(infos)
    assert {"pyproject.toml", "setup.py", "README.md", "grader/cli.py", "grader/grading.ini",
            "core_ext/_conv.pyx", "assignments/a1_networks/assignment.toml",
            "solutions/a1_networks/layers.py", "solutions/a1_networks/mistakes.py"} <= names
    hidden = {p.name for p in A1.hidden_tests.glob("test_*.py")}
    assert hidden and hidden <= {Path(n).name for n in names if "/hidden_tests/" in n}
    assert not [n for n in names if n.endswith((".so", ".pyc", ".o")) or "__pycache__" in n
                or (n.startswith("core_ext/_") and n.endswith(".c"))
                or n.startswith(("tests/", "examples/", "bench/", ".venv/"))]


def test_the_example_submission_gets_its_score_with_the_hidden_tests(autograder):
    doc = run_autograder(autograder, {p.name: p for p in EXAMPLE.glob("*.py")})
    expected = grade(EXAMPLE, A1)
    assert doc["score"] == pytest.approx(expected.score, abs=1e-3)
    assert sum(t["max_score"] for t in doc["tests"]) == pytest.approx(expected.max_score)
    assert 0 < doc["score"] < expected.max_score
    visibilities = {t["visibility"] for t in doc["tests"]}
    assert visibilities == {"visible", "after_published"}  # public and hidden tests both ran
    assert doc["output"].startswith("LayerLab a1 (")


def test_a_submission_without_the_assignment_files_gets_a_score_0_saying_why(autograder):
    doc = run_autograder(autograder, {"notes.txt": "I ran out of time\n"})
    assert doc["score"] == 0 and doc["tests"] == []
    assert doc["output"].startswith("LayerLab could not grade this submission: ")
    assert all(f"{m}.py" in doc["output"] for m in A1.modules), doc["output"]


def test_without_layerlab_installed_run_autograder_still_writes_a_score_0(autograder_zip,
                                                                          tmp_path):
    root = lay_out(autograder_zip, tmp_path / "autograder")
    doc = run_autograder(root, {p.name: p for p in EXAMPLE.glob("*.py")},
                         LAYERLAB_VENV=str(tmp_path / "no-venv"))
    assert doc["score"] == 0 and "not installed" in doc["output"]


def test_ensure_keeps_a_grade_and_replaces_what_is_not_one(tmp_path):
    results = tmp_path / "results.json"
    good = {"score": 3.5, "output": "ok", "tests": [{"name": "t", "score": 3.5, "max_score": 4,
                                                     "status": "failed"}]}
    results.write_text(json.dumps(good))
    assert gradescope.ensure(results, "a1", 0) is True
    assert json.loads(results.read_text()) == good
    results.write_text("{not json")
    log = "Traceback (most recent call last):\nRuntimeError: boom\n"
    assert gradescope.ensure(results, "a1", 3, log) is False
    doc = json.loads(results.read_text())
    validate(doc)
    assert doc["score"] == 0 and "exit code 3" in doc["output"] and "RuntimeError: boom" in doc[
        "output"]


def test_the_validator_names_what_breaks_the_specification():
    assert gradescope.problems({"score": 1, "tests": []}) == []
    assert gradescope.problems([]) == ["results.json must be an object, not list"]
    found = gradescope.problems({"score": "10", "visibility": "public", "tests": [
        {"name": "t", "score": 1, "max_score": 1, "status": "ok", "number": 1}, "x"]})
    assert found == ["score must be int or float, got str",
                     "visibility is 'public'; expected one of ('hidden', 'after_due_date', "
                     "'after_published', 'visible')",
                     "tests[0].number must be str, got int",
                     "tests[0].status is 'ok'; expected one of ('passed', 'failed')",
                     "tests[1] must be an object"]
    assert gradescope.problems({"tests": [{"name": "t"}]}) == [
        "'score' is required unless every test has one"]


def test_usage_errors_exit_2_and_write_nothing(tmp_path, capsys):
    taken = tmp_path / "autograder.zip"
    taken.write_text("mine")
    assert cli.main(["export", "gradescope", "-a", "a1", "--out", str(taken)]) == 2
    assert "exists (--force replaces it)" in capsys.readouterr().err
    assert taken.read_text() == "mine"
    assert cli.main(["export", "gradescope", "-a", "a1", "--out", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err
    assert cli.main(["export", "gradescope", "-a", "zz9", "--out", str(tmp_path / "x.zip")]) == 2
    assert "unknown assignment 'zz9'" in capsys.readouterr().err
    assert cli.main(["export", "gradescope", "-a", "a1", "--out",
                     str(tmp_path / "no" / "x.zip")]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["autograder.zip"]
    assert cli.main(["export", "gradescope", "-a", "a1", "--out", str(taken), "--force"]) == 0
    assert zipfile.is_zipfile(taken)


@pytest.mark.parametrize("argv", [["export"], ["export", "gradescope"],
                                  ["export", "github-classroom"]])
def test_help_has_examples_and_a_missing_argument_exits_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main([*argv, "--help"])
    assert exit_.value.code == 0
    said = capsys.readouterr().out
    assert "layerlab export gradescope --assignment a1 --out autograder.zip" in said
    assert "layerlab export github-classroom" in said
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    assert exit_.value.code == 2
