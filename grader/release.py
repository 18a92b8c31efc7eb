"""``layerlab release``: the bundle students get — stubs, handouts, public checks, the grader and
the kernels' sources — and never the reference solutions, the hidden tests or the known-mistake
lists.

Before anything is written, every stub is checked against its solution: the same public names,
signatures and docstrings, and every public stub function still a stub (its body only raises
``NotImplementedError``: a filled-in stub would hand out the answer). The bundle is then scanned
for secrets: no path under ``solutions/`` or named ``hidden_tests``, and no line of the
instructor-only files (solutions, hidden tests, mistakes) that the assignment's public files do
not share. Any problem refuses the release, each named; nothing is left half-written.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from grader.spec import ROOT, Assignment, UsageError, all_assignments
from grader.submission import is_stub

PACKAGES = ("grader", "core_ext")  # copied whole (but for build products), with assignments/
TOP_FILES = ("setup.py",)
_SKIP_DIRS = {"__pycache__", "build", ".pytest_cache", ".ipynb_checkpoints"}
_SKIP_FILES = re.compile(r".*\.(so|pyd|o|pyc|egg-info)$|core_ext/_[^/]*\.c$")
_SECRET_DIRS = {"solutions", "hidden_tests"}
MIN_SECRET_LINE = 25  # shorter lines ("return out, cache") are common to any code
LEAK_LINES, LEAK_SHARE = 5, 0.3


class ReleaseRefused(Exception):
    """The repository is not fit to release: ``problems`` says why, one line each."""

    def __init__(self, problems: list[str]):
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


# -- stubs against solutions -------------------------------------------------------------------

def public_members(module) -> dict:
    """Public functions and classes defined in ``module`` and the public methods (and
    ``__init__``) of its classes, as ``name`` or ``Class.method``."""
    found = {}
    for name, obj in vars(module).items():
        if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(obj) or inspect.isclass(obj):
            found[name] = obj
        if inspect.isclass(obj):
            for meth, fn in vars(obj).items():
                if inspect.isfunction(fn) and (not meth.startswith("_") or meth == "__init__"):
                    found[f"{name}.{meth}"] = fn
    return found


def parity_problems(assignment: Assignment) -> list[str]:
    """How the assignment's stubs differ from its solutions in names, signatures and
    docstrings (empty when they agree)."""
    problems = []
    for module in assignment.modules:
        where = f"{assignment.folder.name}/{module}.py"
        try:
            stub = importlib.import_module(f"assignments.{assignment.folder.name}.{module}")
            ref = importlib.import_module(assignment.reference_module(module))
        except Exception as exc:  # noqa: BLE001 - any failure to import is a problem to name
            problems.append(f"{where}: cannot import the stub or its solution "
                            f"({type(exc).__name__}: {exc})")
            continue
        problems += module_parity(stub, ref, where)
    return problems


def module_parity(stub_module, ref_module, where: str) -> list[str]:
    """How the public members of a stub module differ from its solution's."""
    problems = []
    stubs, refs = public_members(stub_module), public_members(ref_module)
    for name in sorted(set(refs) - set(stubs)):
        problems.append(f"{where}: {name} is in the solution but not in the stub")
    for name in sorted(set(stubs) - set(refs)):
        problems.append(f"{where}: {name} is in the stub but not in the solution")
    for name in sorted(set(stubs) & set(refs)):
        stub, ref = stubs[name], refs[name]
        if inspect.isfunction(ref) and inspect.isfunction(stub) \
                and inspect.signature(stub) != inspect.signature(ref):
            problems.append(f"{where}: {name}: the stub's signature {inspect.signature(stub)} "
                            f"is not the solution's {inspect.signature(ref)}")
        if inspect.getdoc(stub) != inspect.getdoc(ref):
            problems.append(f"{where}: {name}: the stub's docstring is not the solution's")
        if not inspect.getdoc(ref):
            problems.append(f"{where}: {name} has no docstring")
    return problems


def unfilled_problems(assignment: Assignment) -> list[str]:
    """Public stub functions whose body does more than raise NotImplementedError (after its
    docstring): read from the syntax tree, nothing runs."""
    problems = []
    for module in assignment.modules:
        path = assignment.folder / f"{module}.py"
        tree = ast.parse(path.read_text(), filename=str(path))
        for node, name in _public_functions(tree):
            if not is_stub(node):
                problems.append(f"{assignment.folder.name}/{module}.py:{node.lineno}: {name} is "
                                "not a stub (its body must only raise NotImplementedError)")
    return problems


def _public_functions(tree: ast.Module) -> Iterator[tuple[ast.FunctionDef, str]]:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            yield node, node.name
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            for item in node.body:
                public = not item.name.startswith("_") or item.name == "__init__" \
                    if isinstance(item, ast.FunctionDef) else False
                if public:
                    yield item, f"{node.name}.{item.name}"


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) \
        and isinstance(node.value.value, str)


# -- secrets -----------------------------------------------------------------------------------

def _lines(text: str) -> set[str]:
    return {line.strip() for line in text.splitlines() if len(line.strip()) >= MIN_SECRET_LINE}


def secret_lines(assignments: Iterable[Assignment]) -> dict[str, str]:
    """Code lines of the instructor-only files (every file under ``solutions/<folder>/``), each
    mapped to the file it comes from: what must appear nowhere in a release. Left out are
    docstrings (the stubs restate the solutions' and the report shows the tests') and the lines
    the assignment's own public folder shares (given code)."""
    secrets: dict[str, str] = {}
    for assignment in assignments:
        public: set[str] = set()
        for path in _walk(assignment.folder):
            public |= _lines(_read(path))
        if not assignment.solution.is_dir():
            continue
        for path in _walk(assignment.solution):
            origin = path.relative_to(ROOT).as_posix()
            for line in _lines(_code(path)) - public:
                secrets.setdefault(line, origin)
    return secrets


def _code(path: Path) -> str:
    """The file's text, for a Python file without its docstrings."""
    text = _read(path)
    if path.suffix != ".py":
        return text
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return text
    lines = text.splitlines()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and _is_docstring(body[0]):
            for i in range(body[0].lineno - 1, body[0].end_lineno):
                lines[i] = ""
    return "\n".join(lines)


def leaks(files: dict[str, str], secrets: dict[str, str]) -> list[str]:
    """What in ``files`` (path in the bundle -> text) gives a secret away: a path under a
    secret folder, or a file sharing with one instructor-only file at least LEAK_LINES of its
    lines (or LEAK_SHARE of them, at least 3): a few common lines of code are no leak."""
    problems = []
    for name, text in sorted(files.items()):
        parts = set(PurePosixPath(name).parts)
        if parts & _SECRET_DIRS:
            problems.append(f"{name}: an instructor-only path")
            continue
        lines = _lines(text)
        shared: dict[str, list[str]] = {}
        for line in lines:
            if line in secrets:
                shared.setdefault(secrets[line], []).append(line)
        for origin, found in sorted(shared.items()):
            if len(found) >= LEAK_LINES or (len(found) >= 3
                                            and len(found) >= LEAK_SHARE * len(lines)):
                problems.append(f"{name}: {len(found)} of its lines are lines of {origin}, "
                                f"e.g. {min(found, key=len)!r}")
    return problems


def _read(path: Path) -> str:
    return path.read_bytes().decode("utf-8", errors="replace")


def _walk(folder: Path) -> Iterator[Path]:
    """The files under ``folder`` that a release may carry, build products and caches left out."""
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder.parent).as_posix()
        if path.is_file() and not set(path.parts) & _SKIP_DIRS and not _SKIP_FILES.match(rel) \
                and not path.is_symlink():
            yield path


# -- the bundle --------------------------------------------------------------------------------

@dataclass
class Release:
    """What was written: the folder, its files (relative paths) and the assignments in it."""

    out: Path
    files: list[str]
    assignments: list[Assignment]


def release(out: Path, ids: list[str] | None = None, *, force: bool = False) -> Release:
    """Check the repository, then write the student bundle for ``ids`` (default: every
    assignment) to ``out``. Raises UsageError for a bad request, ReleaseRefused for a repository
    that would leak or hand out mismatched stubs."""
    known = all_assignments()
    unknown = [i for i in ids or [] if i not in known]
    if unknown:
        raise UsageError(f"unknown assignment {', '.join(unknown)} (known: {', '.join(known)})")
    chosen = [known[i] for i in (ids or known)]
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a folder")
    if out.resolve() == ROOT or ROOT.is_relative_to(out.resolve()):
        raise UsageError(f"--out {out} would overwrite the repository itself")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise UsageError(f"--out {out} is not empty (--force replaces it)")

    problems = [p for a in chosen for p in parity_problems(a) + unfilled_problems(a)]
    if problems:
        raise ReleaseRefused(problems)
    files = _contents(chosen)
    problems = leaks({name: _read(path) if path else text for name, (path, text) in files.items()},
                     secret_lines(known.values()))
    if problems:
        raise ReleaseRefused(problems)

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".release-", dir=out.parent))
    try:
        for name, (path, text) in files.items():
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if path is not None:
                shutil.copy2(path, target)
            else:
                target.write_text(text)
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)  # all at once: no half-written bundle is ever left at --out
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return Release(out, sorted(files), chosen)


def _contents(chosen: list[Assignment]) -> dict[str, tuple[Path | None, str]]:
    """Bundle path -> (file to copy, None) or (None, generated text)."""
    files: dict[str, tuple[Path | None, str]] = {}
    for package in PACKAGES:
        for path in _walk(ROOT / package):
            files[path.relative_to(ROOT).as_posix()] = (path, "")
    assignments = ROOT / "assignments"
    for path in assignments.iterdir():
        if path.is_file() and not _SKIP_FILES.match(path.name):  # shared given code
            files[f"assignments/{path.name}"] = (path, "")
    for assignment in chosen:
        for path in _walk(assignment.folder):
            files[path.relative_to(ROOT).as_posix()] = (path, "")
    for name in TOP_FILES:
        files[name] = (ROOT / name, "")
    files["pyproject.toml"] = (None, _pyproject())
    files["README.md"] = (None, _readme(chosen))
    files[".gitignore"] = (None, ".venv/\n__pycache__/\n*.egg-info/\nbuild/\n*.so\n"
                                 "core_ext/*.c\n.pytest_cache/\nresults.json\n")
    return files


def _pyproject() -> str:
    """The repository's pyproject.toml without the instructor-only packages and files."""
    text = (ROOT / "pyproject.toml").read_text()
    text = text.replace(', "solutions*"', "").replace(', "hidden_tests/*.py"', "")
    text = re.sub(r'(?m)^name = "layerlab"$', 'name = "layerlab-student"', text)
    # the linter's and the test suite's settings are the repository's, not the students'
    text = re.sub(r"(?ms)^\[tool\.(ruff|pytest).*?(?=^\[(?!tool\.(ruff|pytest))|\Z)", "",
                  text).rstrip() + "\n"
    if "solutions" in text or "hidden_tests" in text:
        raise ReleaseRefused(["pyproject.toml: the release's project file still names "
                              "solutions or hidden_tests; update grader/release.py"])
    return text


def _readme(chosen: list[Assignment]) -> str:
    first = chosen[0].id if chosen else "a1"
    rows = "\n".join(f"| `{a.id}` | {a.title} | `assignments/{a.folder.name}/README.md` |"
                     for a in chosen)
    return f"""# LayerLab — your assignments

Install and run the public checks of the first assignment:

```bash
python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/layerlab check {first}
```

You need Python 3.11+ and a C compiler (pip builds the fast layers of `core_ext/`).

| assignment | title | handout |
|---|---|---|
{rows}

Open an assignment's handout, fill in the stubs of its folder (each raises
`NotImplementedError` until you do), and run `layerlab check <id>` as you go
(`--task <task id>` for one task, `--details all` for every check). In Jupyter:
`from grader import check; check("{first}")`.

The public checks here are a sanity check, not your grade: the grade also runs hidden tests on
random inputs of many shapes and compares every output and gradient with a reference, so a
submission that passes every public check can still lose points. `layerlab list` shows the
tasks and their points.

Hand in the assignment's folder (or a .zip of it) as your instructor asks.
"""
