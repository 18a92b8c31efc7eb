"""Turn what a student handed in into one flat folder of ``.py`` files the worker can import.

Accepted, all graded the same: the student's copy of the assignment folder, a ``.zip`` of it
(with or without a top folder), or the ``.py`` files flat in one folder (as Gradescope delivers
them). The folder holding the assignment's modules is found at the shallowest depth; only its
``.py`` files are copied, so nothing else a submission carries reaches the worker.
"""

from __future__ import annotations

import shutil
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from grader.spec import Assignment, UsageError

MAX_FILE_BYTES = 2 << 20
MAX_ZIP_ENTRIES = 5000
MAX_DEPTH = 4
_SKIP = {"__MACOSX", "__pycache__", ".git", ".venv", "node_modules"}


def stage(path: Path, spec: Assignment, dest: Path) -> list[str]:
    """Copy the submission's ``.py`` files into ``dest``; return their names."""
    path = Path(path)
    if not path.exists():
        raise UsageError(f"submission not found: {path}")
    if path.is_dir():
        files = {p.relative_to(path).as_posix(): p for p in _walk(path)}
        read = lambda name: files[name].read_bytes()  # noqa: E731
        size = lambda name: files[name].stat().st_size  # noqa: E731
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
        read = lambda name: _read_member(path, archive, infos[name])  # noqa: E731
        size = lambda name: infos[name].file_size  # noqa: E731
    else:
        raise UsageError(f"{path}: expected a folder or a .zip file")
    folder = _module_folder(path, list(files), spec)
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


def _module_folder(path: Path, names: list[str], spec: Assignment) -> str:
    wanted = {f"{m}.py" for m in spec.modules}
    folders = sorted({str(PurePosixPath(n).parent) for n in names if PurePosixPath(n).name in wanted},
                     key=lambda f: (_depth(f), f))
    if not folders:
        raise UsageError(f"{path}: no submission files found; expected at least one of "
                         f"{', '.join(sorted(wanted))}")
    shallow = [f for f in folders if _depth(f) == _depth(folders[0])]
    if len(shallow) > 1:
        raise UsageError(f"{path}: ambiguous layout, assignment files in several folders: "
                         f"{', '.join(shallow)}")
    return folders[0]


def clean(dest: Path) -> None:
    shutil.rmtree(dest, ignore_errors=True)
