"""``layerlab release``: the student bundle carries the stubs, handouts, public checks, grader and
kernel sources, and nothing of the instructor's; it installs on its own and runs the public
checks; a mismatched or filled-in stub, or a secret in the bundle, refuses the release."""

import os
import subprocess
import sys
import textwrap
import types
import zipfile
from pathlib import Path

import pytest

from grader import cli, release, spec
from grader.spec import ROOT, Assignment, Limits

ALL = list(spec.all_assignments().values())


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("release") / "student"
    assert cli.main(["release", "--out", str(out)]) == cli.EXIT_OK
    return out


def bundle_files(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_bytes().decode("utf-8", "replace")
            for p in root.rglob("*") if p.is_file()}


def test_the_bundle_has_every_stub_handout_and_public_check_and_no_instructor_file(bundle):
    files = bundle_files(bundle)
    for assignment in ALL:
        folder = f"assignments/{assignment.folder.name}"
        for module in assignment.modules:
            stub = (assignment.folder / f"{module}.py").read_text()
            assert files[f"{folder}/{module}.py"] == stub
        assert f"{folder}/README.md" in files and f"{folder}/assignment.toml" in files
        public = {p.name for p in assignment.public_tests.glob("test_*.py")}
        assert public
        assert public <= {Path(f).name for f in files if f.startswith(f"{folder}/tests/")}
    assert {"setup.py", "pyproject.toml", "README.md", "grader/cli.py",
            "core_ext/_conv.pyx"} <= set(files)
    assert not [f for f in files if f.startswith(("solutions/", "tests/", "examples/", "bench/"))
                or "hidden_tests" in f or f.endswith((".so", ".pyc"))]
    assert "solutions" not in files["pyproject.toml"]
    assert "hidden_tests" not in files["pyproject.toml"]
    assert release.leaks(files, release.secret_lines(ALL)) == []


def test_no_line_of_a_hidden_test_or_a_solution_body_is_in_the_bundle(bundle):
    """Independently of the release's own scanner: the test functions of every hidden test and
    the distinctive lines of every solution module appear nowhere in the bundle."""
    text = "\n".join(bundle_files(bundle).values())
    for assignment in ALL:
        for hidden in sorted(assignment.hidden_tests.glob("test_*.py")):
            for line in hidden.read_text().splitlines():
                if line.startswith("def test_"):
                    assert line not in text, f"{hidden.name}: {line}"
        for module in assignment.modules:
            stub = (assignment.folder / f"{module}.py").read_text()
            solution = (assignment.solution / f"{module}.py").read_text()
            for line in solution.splitlines():
                if len(line.strip()) > 40 and line not in stub and "return" in line:
                    assert line not in text, f"{assignment.solution.name}/{module}.py: {line}"


def test_the_bundle_readme_opens_with_the_students_command(bundle):
    readme = (bundle / "README.md").read_text()
    first_block = readme.split("```bash\n", 1)[1].split("\n```", 1)[0]
    assert first_block == ("python3 -m venv .venv && .venv/bin/pip install -e . && "
                           ".venv/bin/layerlab check a1")
    for assignment in ALL:
        assert f"assignments/{assignment.folder.name}/README.md" in readme


def test_a_chosen_assignment_only(tmp_path, capsys):
    out = tmp_path / "week1"
    assert cli.main(["release", "--out", str(out), "-a", "a1"]) == cli.EXIT_OK
    assert sorted(p.name for p in (out / "assignments").iterdir() if p.is_dir()) == ["a1_networks"]
    said = capsys.readouterr().out
    assert "released a1" in said and "layerlab check a1" in said


def test_usage_errors_write_nothing(tmp_path, capsys):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine")
    assert cli.main(["release", "--out", str(taken)]) == cli.EXIT_USAGE
    assert "not empty (--force replaces it)" in capsys.readouterr().err
    assert [p.name for p in taken.iterdir()] == ["notes.txt"]
    assert cli.main(["release", "--out", str(tmp_path / "x"), "-a", "a9"]) == cli.EXIT_USAGE
    assert "unknown assignment a9" in capsys.readouterr().err
    assert cli.main(["release", "--out", str(ROOT)]) == cli.EXIT_USAGE
    assert "would overwrite the repository" in capsys.readouterr().err
    a_file = tmp_path / "file"
    a_file.write_text("")
    assert cli.main(["release", "--out", str(a_file)]) == cli.EXIT_USAGE
    assert not (tmp_path / "x").exists()


def test_force_replaces_an_earlier_release(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "stale.py").write_text("old")
    assert cli.main(["release", "--out", str(out), "-a", "a2", "--force"]) == cli.EXIT_OK
    assert not (out / "stale.py").exists() and (out / "assignments" / "a2_cnn").is_dir()


def test_a_refused_release_names_each_problem_and_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(release, "parity_problems",
                        lambda a: [f"{a.folder.name}/layers.py: relu: the stub's docstring is "
                                   "not the solution's"] if a.id == "a1" else [])
    out = tmp_path / "out"
    assert cli.main(["release", "--out", str(out)]) == cli.EXIT_FAIL_UNDER
    err = capsys.readouterr().err
    assert "release refused, 1 problem(s); nothing was written" in err
    assert "a1_networks/layers.py: relu: the stub's docstring is not the solution's" in err
    assert not out.exists() and not list(tmp_path.iterdir())


def module(name: str, source: str) -> types.ModuleType:
    mod = types.ModuleType(name)
    exec(textwrap.dedent(source), mod.__dict__)
    for value in mod.__dict__.values():
        if isinstance(value, (types.FunctionType, type)):
            value.__module__ = name
    return mod


def test_module_parity_names_every_difference():
    ref = module("ref", '''
        def relu(x):
            """max(0, x)"""
        def affine(x, w, b):
            """x @ w + b"""
        class Net:
            """A net."""
            def loss(self, X, y=None):
                """scores or (loss, grads)"""
        ''')
    stub = module("stub", '''
        def relu(x, alpha=0.0):
            """max(0, x)"""
        def extra():
            """not in the solution"""
        class Net:
            """A net."""
            def loss(self, X, y=None):
                """scores, or loss and grads"""
        ''')
    problems = release.module_parity(stub, ref, "a1_networks/layers.py")
    assert problems == [
        "a1_networks/layers.py: affine is in the solution but not in the stub",
        "a1_networks/layers.py: extra is in the stub but not in the solution",
        "a1_networks/layers.py: Net.loss: the stub's docstring is not the solution's",
        "a1_networks/layers.py: relu: the stub's signature (x, alpha=0.0) is not the "
        "solution's (x)",
    ]
    assert release.module_parity(ref, ref, "same") == []


def test_a_filled_in_stub_is_found_without_running_it(tmp_path):
    (tmp_path / "layers.py").write_text(textwrap.dedent('''
        def relu(x):
            """max(0, x)"""
            raise NotImplementedError("a1.relu: implement relu")

        def affine(x, w, b):
            """x @ w + b"""
            return x @ w + b

        class Net:
            def __init__(self):
                raise NotImplementedError
            def loss(self, X):
                import os; os.system("echo never run")

        def _given(x):
            return x
        '''))
    fake = Assignment("z1", "fake", tmp_path, ["layers"], {}, Limits())
    problems = release.unfilled_problems(fake)
    assert [p.split(": ", 1)[1] for p in problems] == [
        "affine is not a stub (its body must only raise NotImplementedError)",
        "Net.loss is not a stub (its body must only raise NotImplementedError)"]
    assert problems[0].startswith(f"{tmp_path.name}/layers.py:6")


def test_the_scanner_finds_a_copied_hidden_test_or_solution_and_not_common_lines():
    secrets = release.secret_lines(ALL)
    a2 = spec.get("a2")
    hidden_path = next(a2.hidden_tests.glob("test_*.py"))
    hidden = hidden_path.read_text()
    solution = (a2.solution / "layers.py").read_text()
    found = release.leaks({"assignments/a2_cnn/notes.py": hidden, "grader/util.py": solution,
                           "solutions/x.txt": "", "assignments/a1_networks/hidden_tests/t.py": "",
                           "grader/common.py": "import numpy as np\nfor key, value in "
                           "expected.items():\n    with outputs() as checks:\n"},
                          secrets)
    assert sorted({f.split(":")[0] for f in found}) == [
        "assignments/a1_networks/hidden_tests/t.py", "assignments/a2_cnn/notes.py",
        "grader/util.py", "solutions/x.txt"]
    assert f"lines of {hidden_path.relative_to(ROOT)}" in " ".join(found)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_bundle_builds_a_clean_wheel_that_installs_and_runs_the_public_checks(bundle,
                                                                                  tmp_path):
    """From the bundle alone: build the wheel (its files scanned as the bundle's), install it
    into a fresh venv, and run `layerlab check a1` there, where no `solutions` can be imported."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["LAYERLAB_CYTHON_DEBUG"] = "1"  # kernels unoptimised (A1 never calls them): a faster build
    wheels = tmp_path / "wheels"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
                            "-w", str(wheels), str(bundle)],
                           capture_output=True, text=True, env=env, timeout=600)
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = wheels.glob("layerlab_student-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        contents = {n: zf.read(n).decode("utf-8", "replace") for n in names
                    if n.endswith((".py", ".toml", ".md", ".ini", ".pyx", "RECORD", "METADATA"))}
    assert not [n for n in names if n.startswith(("solutions/", "tests/")) or "hidden_tests" in n]
    assert any(n.startswith("core_ext/_conv.") and n.endswith(".so") for n in names)
    assert release.leaks(contents, release.secret_lines(ALL)) == []

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python, layerlab = venv / "bin" / "python", venv / "bin" / "layerlab"
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(wheel)],
                             capture_output=True, text=True, env=env, timeout=600)
    assert install.returncode == 0, install.stderr[-3000:]
    elsewhere = tmp_path / "elsewhere"  # not the repository: nothing of it on sys.path
    elsewhere.mkdir()
    probe = subprocess.run([str(python), "-c", "import importlib.util as u; "
                            "print(u.find_spec('solutions'), u.find_spec('grader').origin)"],
                           capture_output=True, text=True, cwd=elsewhere, env=env, timeout=60)
    missing, origin = probe.stdout.split()
    assert missing == "None" and origin.startswith(str(venv)), probe.stdout + probe.stderr
    check = subprocess.run([str(layerlab), "check", "a1", "--details", "none"],
                           capture_output=True, text=True, cwd=elsewhere, env=env, timeout=600)
    assert check.returncode == 0, check.stdout[-2000:] + check.stderr[-2000:]
    assert "a1.affine" in check.stdout and "not started" in check.stdout
    assert "internal error" not in check.stdout + check.stderr
