"""``from grader import check``: the public checks from Python, and inline in a real notebook."""

import io
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console

from grader import check, cli, report, spec
from grader.results import GradingResult
from grader.spec import ROOT, UsageError

SOLUTION = ROOT / "solutions" / "a1_networks"


@pytest.fixture(scope="module")
def solution_copy(tmp_path_factory) -> Path:
    """A student's own folder holding the reference (so every public check passes)."""
    target = tmp_path_factory.mktemp("student") / "a1_networks"
    shutil.copytree(SOLUTION, target, ignore=shutil.ignore_patterns("hidden_tests", "__pycache__"))
    return target


def recorder() -> Console:
    return Console(file=io.StringIO(), record=True, width=200, color_system=None)


def rendered(result: GradingResult) -> str:
    console = recorder()
    report.render(result, console)
    return console.export_text()


def test_check_grades_the_given_tasks_of_the_given_folder_and_renders_the_report(solution_copy):
    console = recorder()
    result = check("a1", ["a1.relu", "a1.affine"], path=str(solution_copy), seed=7,
                   console=console)
    assert isinstance(result, GradingResult)
    assert {t.task for t in result.tests} == {"a1.relu", "a1.affine"}
    assert {t.visibility for t in result.tests} == {"public"}
    assert result.max_score > 0 and result.score == result.max_score
    assert (result.submission, result.seed) == (str(solution_copy), 7)
    text = console.export_text()
    assert "a1.relu" in text and "a1.affine" in text and "a1.softmax" not in text
    assert text == rendered(result)  # the CLI's report, whatever it looks like


def test_check_defaults_to_the_repository_copy_and_prints_to_stdout(capsys):
    result = check("a1", task="a1.relu")
    assert result.submission == str(spec.get("a1").folder)
    assert [t.task for t in result.tests] == ["a1.relu"] and result.score == 0  # the stub
    out = capsys.readouterr().out
    assert "a1.relu" in out and "not implemented" in out and "Total: 0/" in out


def test_the_result_shows_as_one_line_under_its_report(solution_copy):
    result = check("a1", "a1.relu", path=solution_copy, console=recorder())
    assert repr(result) == "<GradingResult a1: 1/1 points, 1 tests>"


def test_on_a_terminal_a_progress_bar_counts_the_tests_before_the_report(solution_copy):
    terminal = Console(file=io.StringIO(), record=True, width=200, force_terminal=True)
    result = check("a1", "a1.relu", path=solution_copy, console=terminal)
    shown = terminal.export_text()  # every frame of the bar, then the report
    assert "checking" in shown and "1/1" in shown.split("LayerLab")[0]
    assert shown.endswith(rendered(result))


@pytest.mark.parametrize("kwargs,argv", [
    ({"assignment": "zz9"}, ["check", "zz9"]),
    ({"assignment": "a1", "path": "no/such/folder"}, ["check", "a1", "--path", "no/such/folder"]),
    ({"assignment": "a1", "task": ["a1.relu", "a1.nope"]},
     ["check", "a1", "--task", "a1.relu", "--task", "a1.nope"]),
], ids=["unknown assignment", "bad path", "unknown task"])
def test_bad_input_raises_the_clis_usage_error(capsys, kwargs, argv):
    console = recorder()
    with pytest.raises(UsageError) as raised:
        check(**kwargs, console=console)
    assert console.export_text() == ""  # nothing graded, nothing rendered
    assert cli.main(argv) == cli.EXIT_USAGE
    assert capsys.readouterr().err.strip() == f"layerlab: error: {raised.value}"


def test_an_empty_task_list_is_a_usage_error():
    with pytest.raises(UsageError, match="names no task"):
        check("a1", task=[], console=recorder())


# -- in a notebook ---------------------------------------------------------------------------

def write_kernelspec(jupyter_path: Path) -> str:
    """A kernel running this interpreter, known only to processes given this JUPYTER_PATH."""
    name = "layerlab-test"
    folder = jupyter_path / "kernels" / name
    folder.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (folder / "kernel.json").write_text(json.dumps(
        {"argv": argv, "display_name": "LayerLab test", "language": "python"}))
    return name


def outputs_text(cell, mime: str) -> str:
    """Everything a cell showed as ``mime`` (display data, results and streams)."""
    parts = []
    for output in cell.outputs:
        if output.output_type == "stream":
            parts.append(output.text if mime == "text/plain" else "")
        else:
            parts.append(output.get("data", {}).get(mime, ""))
    return "".join(parts)


def test_check_renders_its_report_inline_in_a_notebook(tmp_path, monkeypatch, solution_copy):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    for variable, folder in (("JUPYTER_PATH", "jupyter"), ("JUPYTER_RUNTIME_DIR", "runtime"),
                             ("IPYTHONDIR", "ipython"), ("JUPYTER_CONFIG_DIR", "config")):
        monkeypatch.setenv(variable, str(tmp_path / folder))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    kernel = write_kernelspec(tmp_path / "jupyter")
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("from grader import check"),
        nbformat.v4.new_code_cell(f'r = check("a1", task="a1.relu", path={str(solution_copy)!r})'),
        nbformat.v4.new_code_cell("print(r.score, r.max_score)"),
        nbformat.v4.new_code_cell("r"),
    ])
    started = time.monotonic()
    nbclient.NotebookClient(notebook, kernel_name=kernel, timeout=120,
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    print(f"notebook ran in {time.monotonic() - started:.1f} s")
    _, graded, printed, shown = notebook.cells
    html, text = outputs_text(graded, "text/html"), outputs_text(graded, "text/plain")
    assert "<pre" in html and "a1.relu" in html and re.search(r"\b1/1\b", html)
    assert "a1.relu" in text and re.search(r"\b1/1\b", text)
    assert "checking" not in outputs_text(graded, "text/plain")  # the progress line is emptied
    assert printed.outputs[0].text == "1.0 1.0\n"
    assert outputs_text(shown, "text/plain") == "<GradingResult a1: 1/1 points, 1 tests>"
