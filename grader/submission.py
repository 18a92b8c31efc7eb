"""Turn what a student handed in into one flat folder of ``.py`` files the worker can import.

Accepted, all graded the same: the student's copy of the assignment folder, a ``.zip`` of it
(with or without a top folder), or the ``.py`` files flat in one folder (as Gradescope delivers
them). The folder holding the assignment's modules is found at the shallowest depth (failing
that, the folder of ``.py`` files that define the assignment's functions under other names);
only its ``.py`` files are copied, so nothing else a submission carries reaches the worker.

:func:`locate` then finds each function by name among the staged modules, whatever file the
student wrote it in, by reading their syntax trees (no student code runs here).
"""

from __future__ import annotations

import ast
import shutil
import sys
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from grader.spec import Assignment, UsageError

MAX_FILE_BYTES = 2 << 20
MAX_ZIP_ENTRIES = 5000
MAX_DEPTH = 4
MAX_SCANNED = 200  # .py files read, shallowest first, to find a folder by what it defines
_SKIP = {"__MACOSX", "__pycache__", ".git", ".venv", "node_modules"}


def stage(path: Path, spec: Assignment, dest: Path) -> list[str]:
    """Copy the submission's ``.py`` files into ``dest``; return their names."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"submission not found: {path}")
    if path.is_dir():
        files = {p.relative_to(path).as_posix(): p for p in _walk(path)}

        def read(name: str) -> bytes:
            return files[name].read_bytes()

        def size(name: str) -> int:
            return files[name].stat().st_size
    elif zipfile.is_zipfile(path):
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise UsageError(f"{path}: not a readable zip file ({exc})") from None
        infos = {i.filename: i for i in archive.infolist() if not i.is_dir()}
        if len(infos) > MAX_ZIP_ENTRIES:
            raise UsageError(f"{path}: the zip holds {len(infos)} files (limit {MAX_ZIP_ENTRIES})")
        for name in infos:
            if name.startswith("/") or ".." in PurePosixPath(name).parts:
                raise UsageError(f"{path}: unsafe path in zip: {name}")
        files = {n: None for n in infos if not set(PurePosixPath(n).parts) & _SKIP}

        def read(name: str) -> bytes:
            return _read_member(path, archive, infos[name])

        def size(name: str) -> int:
            return infos[name].file_size
    else:
        raise UsageError(f"{path}: expected a folder or a .zip file")
    folder = _module_folder(path, list(files), spec, read, size)
    dest.mkdir(parents=True, exist_ok=True)
    copied = []
    for name in files:
        p = PurePosixPath(name)
        if str(p.parent) == folder and p.suffix == ".py":
            if size(name) > MAX_FILE_BYTES:
                raise UsageError(f"{path}: {name} is larger than {MAX_FILE_BYTES >> 20} MiB")
            (dest / p.name).write_bytes(read(name))
            copied.append(p.name)
    return sorted(copied)


def given_modules(spec: Assignment) -> list[str]:
    """The assignment's given modules: the files of its folder that its stub modules import
    (directly or through each other), such as A3's model_utils.py, which are not stubs."""
    folder, found = spec.folder, set()
    todo = list(spec.modules)
    while todo:
        path = folder / f"{todo.pop()}.py"
        try:
            tree = ast.parse(path.read_text())
        except (OSError, SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name.partition(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module.partition(".")[0]] if node.module else \
                    [a.name for a in node.names]
            for name in names:
                if name not in found and name not in spec.modules \
                        and (folder / f"{name}.py").is_file():
                    found.add(name)
                    todo.append(name)
    return sorted(found)


def supply_given(spec: Assignment, dest: Path, staged: list[str]) -> list[str]:
    """Copy into ``dest`` each given module the submission left out (students need not hand
    in code they were given); the notes saying so."""
    notes = []
    for name in given_modules(spec):
        if f"{name}.py" not in staged:
            shutil.copy(spec.folder / f"{name}.py", dest / f"{name}.py")
            notes.append(f"{name}.py is not in the submission: the assignment's given copy "
                         "was used")
    return notes


def _read_member(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, zlib.error, OSError, NotImplementedError) as exc:
        raise UsageError(f"{path}: {info.filename} is corrupt in the zip ({exc})") from None


def _walk(root: Path):
    stack = [(root, 0)]
    while stack:
        folder, depth = stack.pop()
        for entry in folder.iterdir():
            if entry.name in _SKIP or entry.name.startswith(".") or entry.is_symlink():
                continue  # a link could point at anything on the grading machine
            if entry.is_dir() and depth < MAX_DEPTH:
                stack.append((entry, depth + 1))
            elif entry.is_file() and entry.suffix == ".py":
                yield entry


def _depth(folder: str) -> int:
    return 0 if folder == "." else folder.count("/") + 1


def _module_folder(path: Path, names: list[str], spec: Assignment,
                   read: Callable[[str], bytes], size: Callable[[str], int]) -> str:
    """The shallowest folder holding the assignment's modules or, if no file has one of their
    names, .py files that define the assignment's functions (e.g. a lone cs231n_layers.py)."""
    wanted = {f"{m}.py" for m in spec.modules}
    hits = ([n for n in names if PurePosixPath(n).name in wanted]
            or _defining_files(names, set(spec.functions()), read, size))
    folders = sorted({str(PurePosixPath(n).parent) for n in hits}, key=lambda f: (_depth(f), f))
    if not folders:
        example = next(iter(spec.functions()))
        raise UsageError(f"{path}: no submission files found; expected at least one of "
                         f"{', '.join(sorted(wanted))}, or .py files that define the "
                         f"assignment's functions (such as {example})")
    shallow = [f for f in folders if _depth(f) == _depth(folders[0])]
    if len(shallow) > 1:
        raise UsageError(f"{path}: ambiguous layout, assignment files in several folders: "
                         f"{', '.join(shallow)}")
    return folders[0]


def _defining_files(names: list[str], functions: set[str], read: Callable[[str], bytes],
                    size: Callable[[str], int]) -> list[str]:
    """The .py files among ``names`` that define one of ``functions`` (the shallowest
    ``MAX_SCANNED`` files are read)."""
    scripts = sorted((n for n in names if PurePosixPath(n).suffix == ".py"
                      and _is_module(PurePosixPath(n).name) and size(n) <= MAX_FILE_BYTES),
                     key=lambda n: (_depth(str(PurePosixPath(n).parent)), n))
    return [n for n in scripts[:MAX_SCANNED] if _defined_names(read(n)) & functions]


def _defined_names(source: bytes) -> set[str]:
    tree = _parse(source)
    return {name for name, _ in _top_level(tree.body)} if tree else set()


def clean(dest: Path) -> None:
    shutil.rmtree(dest, ignore_errors=True)


# -- where each function is defined -----------------------------------------------------------

@dataclass(frozen=True)
class Layout:
    """Where the staged submission defines each of the assignment's functions and classes.

    ``modules`` maps every name of ``Assignment.functions()`` to the module to call it from
    (without ``.py``); ``notes`` says, one line per pair of modules, which names were found
    outside the module the assignment puts them in; ``duplicates`` maps each name defined in
    several modules to the error its calls fail with (``modules`` keeps its expected module).
    """

    modules: dict[str, str]
    notes: list[str]
    duplicates: dict[str, str]


@dataclass(frozen=True)
class _Definition:
    module: str
    line: int
    stub: bool  # still the untouched stub: a docstring and ``raise NotImplementedError``


def locate(staged: Path, spec: Assignment) -> Layout:
    """Find each of the assignment's names among the staged modules, by reading their source.

    Trusted side: nothing is imported or run. A top-level ``def``, ``class`` or ``name = ...``
    (also inside a top-level ``if`` or ``try``) defines a name; an import does not. A name
    defined in one module is called from there, wherever the assignment expects it; an
    untouched stub gives way to a real definition elsewhere; two real definitions are a
    duplicate. A name defined nowhere (or in a module that does not parse) stays in its expected
    module, where the worker reports what is wrong with it.
    """
    expected = spec.functions()
    found = _definitions(staged, set(expected))
    modules, duplicates = {}, {}
    moved: dict[tuple[str, str, bool], list[str]] = {}
    for name, home in expected.items():
        defs = found.get(name, [])
        real = [d for d in defs if not d.stub]
        if len(real) > 1:
            duplicates[name] = _defined_twice(name, real)
            modules[name] = home
            continue
        modules[name] = real[0].module if real else _stub_module(defs, home)
        if modules[name] != home:
            stub_at_home = any(d.module == home for d in defs)
            moved.setdefault((modules[name], home, stub_at_home), []).append(name)
    notes = [_moved_note(names, *key) for key, names in moved.items()]
    return Layout(modules, notes, duplicates)


def _definitions(staged: Path, names: set[str]) -> dict[str, list[_Definition]]:
    """Each name's definitions, one per module (the last one there, as Python would keep)."""
    found: dict[str, list[_Definition]] = {}
    for path in sorted(staged.glob("*.py")):
        tree = _parse(path.read_bytes()) if _is_module(path.name) else None
        last = {n: _Definition(path.stem, node.lineno, is_stub(node))
                for n, node in _top_level(tree.body if tree else []) if n in names}
        for name, definition in last.items():
            found.setdefault(name, []).append(definition)
    return found


def _is_module(filename: str) -> bool:
    """An importable module of the student's, not a package marker or a test file of theirs."""
    stem = filename.removesuffix(".py")
    return (stem.isidentifier() and stem != "__init__" and stem != "conftest"
            and not stem.startswith("test_") and not stem.endswith("_test")
            and stem not in sys.stdlib_module_names)  # the worker imports the library's own


def _parse(source: bytes) -> ast.Module | None:
    """The module's syntax tree, or None if it does not parse (the worker then says why)."""
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None


def _top_level(body: list[ast.stmt]) -> Iterator[tuple[str, ast.stmt]]:
    """(name, node) for each definition in ``body`` and its top-level ``if``/``try`` blocks, in
    source order. A loop, not recursion: a file of a thousand ``elif``s nests that deep."""
    pending = list(reversed(body))
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield node.name, node
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            yield from ((t.id, node) for t in targets
                        if isinstance(t, ast.Name) and not _alias(t.id, node.value))
        elif isinstance(node, ast.If):
            pending += reversed(node.body + node.orelse)
        elif isinstance(node, (ast.Try, ast.TryStar)):
            handlers = [stmt for handler in node.handlers for stmt in handler.body]
            pending += reversed(node.body + handlers + node.orelse + node.finalbody)


def _alias(name: str, value: ast.expr) -> bool:
    """``name = layers.name`` (or ``= name``) re-exports a definition made elsewhere."""
    return (isinstance(value, ast.Attribute) and value.attr == name) or \
        (isinstance(value, ast.Name) and value.id == name)


def is_stub(node: ast.stmt) -> bool:
    """A function whose body is a docstring and ``raise NotImplementedError(...)``, or a class
    made of such methods."""
    if isinstance(node, ast.ClassDef):
        body = _without_docstring(node.body)
        return bool(body) and all(is_stub(stmt) for stmt in body)
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    body = _without_docstring(node.body)
    if len(body) != 1 or not isinstance(body[0], ast.Raise) or body[0].exc is None:
        return False
    exc = body[0].exc.func if isinstance(body[0].exc, ast.Call) else body[0].exc
    return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"


def _without_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    first = body[0] if body else None
    is_doc = (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
              and isinstance(first.value.value, str))
    return body[1:] if is_doc else body


def _stub_module(stubs: list[_Definition], home: str) -> str:
    """Where to call a name with no real definition: its expected module unless only another
    module has (a stub of) it."""
    if not stubs or any(d.module == home for d in stubs):
        return home
    return stubs[0].module


def _defined_twice(name: str, defs: list[_Definition]) -> str:
    places = [f"{d.module}.py (line {d.line})" for d in defs]
    listed = ", ".join(places[:-1]) + " and " + places[-1]
    return f"{name} is defined in {'both ' if len(defs) == 2 else ''}{listed}; keep one"


def _moved_note(names: list[str], found: str, home: str, stub_at_home: bool) -> str:
    where = f"{', '.join(names)}: found in {found}.py (expected in {home}.py"
    if stub_at_home:
        where += f", whose untouched stub{' was' if len(names) == 1 else 's were'} ignored"
    return where + ")"
