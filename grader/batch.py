"""``layerlab batch``: grade a whole class, one sandboxed grading per submission, into a gradebook.

SUBMISSIONS is a folder (or a .zip of one, as an LMS exports it) holding one submission per
student, in any of these layouts:

- one folder or .zip per student, named by the student (the generic layout);
- Gradescope's "Export Submissions": ``submission_<id>/`` folders and ``submission_metadata.yml``
  naming each one's submitters (the gradebook uses their SID, else e-mail, and their name);
- Canvas's download: files named ``<name>[_late]_<user id>_<submission id>_<file name>``, one
  .zip or several .py files per student (Canvas's ``-1`` suffixes on repeated names undone);
- a folder of GitHub Classroom clones, ``<assignment>-<username>/`` (the common prefix dropped).

Every submission is packed (its files, as a zip in memory) and graded by :func:`grade_job` in a
pool of processes (``--jobs``) or on a Dask cluster (``--cluster``): the same function, so both
give the same verdicts. A submission that cannot be graded (empty, not a zip, no assignment
files) gets a row that says why and never stops the batch. Each student's seed is derived from
the batch seed and the student's id alone, so a verdict does not depend on the order or the
machine. Results are kept as they arrive (``results/<student>.json``, ``feedback/<student>.txt``
and the gradebook, rewritten atomically); a rerun skips the submissions whose files, assignment
and grader are unchanged, so an interrupted batch resumes where it stopped.
"""

from __future__ import annotations

import collections
import concurrent.futures as futures
import csv
import hashlib
import io
import base64
import json
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from rich.console import Console

from grader import export, report
from grader.protections import describe_protections
from grader.spec import ROOT, Assignment, UsageError

MAX_SUBMISSION_BYTES = 64 << 20  # one student's files, packed
MAX_EXPORT_ENTRIES = 200_000
_SKIP = {"__MACOSX", "__pycache__", ".git", ".venv", "node_modules", ".ipynb_checkpoints"}
_CANVAS = re.compile(r"^(?P<name>[^_]+)(?:_late)?_(?P<uid>\d+)_(?P<sid>\d+)_(?P<file>.+)$",
                     re.IGNORECASE)
_CANVAS_COPY = re.compile(r"^(?P<stem>.+?)-\d+(?P<ext>\.[A-Za-z0-9]+)$")
GRADEBOOK = "gradebook.csv"


@dataclass
class Entry:
    """One student's submission: its id in the gradebook, a display name, and its files (a
    folder, a .zip, or a list of loose files to be packed together)."""

    student: str
    path: Path | None = None
    files: list[tuple[str, Path]] = field(default_factory=list)
    name: str = ""
    problem: str = ""  # why it cannot be graded, found while discovering
    label: str = ""  # where it is, relative to SUBMISSIONS


# -- discovering submissions -------------------------------------------------------------------

def discover(root: Path, scratch: Path) -> list[Entry]:
    """The submissions in ``root`` (a folder, or a .zip extracted under ``scratch``)."""
    root = Path(root)
    if not root.exists():
        raise UsageError(f"submissions not found: {root}")
    if root.is_file():
        if not zipfile.is_zipfile(root):
            raise UsageError(f"{root} is neither a folder of submissions nor a .zip of one")
        root = _extract(root, scratch / "export")
    children = _children(root)
    while len(children) == 1 and children[0].is_dir() and not _holds_python(children[0]):
        root, children = children[0], _children(children[0])  # an export's single top folder
    if not children:
        raise UsageError(f"{root} holds no submissions")
    if (root / "submission_metadata.yml").is_file():
        entries = _gradescope(root, children)
    elif any(_CANVAS.match(c.name) for c in children if c.is_file()):
        entries = _canvas(children)
    else:
        entries = _generic(children)
    for entry in entries:
        where = entry.path if entry.path is not None else entry.files[0][1]
        entry.label = where.relative_to(root).as_posix() if where.is_relative_to(root) \
            else where.name
        if entry.files:
            entry.label += f" (+{len(entry.files) - 1} files)" if len(entry.files) > 1 else ""
    return _unique(sorted(entries, key=lambda e: e.student))


def _children(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir()
                  if p.name not in _SKIP and not p.name.startswith(".") and not p.is_symlink())


def _holds_python(folder: Path) -> bool:
    return any(p.suffix == ".py" for p in folder.iterdir())


def _generic(children: list[Path]) -> list[Entry]:
    entries = []
    folders = [c for c in children if c.is_dir()]
    prefix = _classroom_prefix([c.name for c in folders])
    for child in children:
        if child.is_dir():
            entries.append(Entry(child.name[len(prefix):] or child.name, child))
        elif child.suffix.lower() == ".zip":
            entries.append(Entry(child.stem, child))
        elif child.name != GRADEBOOK:
            entries.append(Entry(child.name, child, problem=f"{child.name} is not a folder or a "
                                 ".zip: one folder or .zip per student is expected"))
    return entries


def _classroom_prefix(names: list[str]) -> str:
    """GitHub Classroom names clones ``<assignment>-<username>``: the prefix, up to and with
    its last '-', that every folder shares (only with two folders or more)."""
    if len(names) < 2:
        return ""
    prefix = os.path.commonprefix(names)
    return prefix[:prefix.rfind("-") + 1] if "-" in prefix else ""


def _gradescope(root: Path, children: list[Path]) -> list[Entry]:
    people = _gradescope_metadata((root / "submission_metadata.yml").read_text(errors="replace"))
    entries = []
    for child in children:
        if child.name == "submission_metadata.yml":
            continue
        submitters = people.get(child.name, [])
        ids = [s.get("sid") or s.get("email") or s.get("name") or "" for s in submitters]
        student = "+".join(i for i in ids if i) or child.name
        name = " + ".join(s.get("name", "") for s in submitters if s.get("name"))
        entries.append(Entry(student, child, name=name))
    return entries


def _gradescope_metadata(text: str) -> dict[str, list[dict[str, str]]]:
    """The submitters of each ``submission_<id>`` in Gradescope's metadata file: read line by
    line (its keys are ``:submitters:`` lists of ``:name:``, ``:sid:``, ``:email:``), so no YAML
    library is needed."""
    found: dict[str, list[dict[str, str]]] = {}
    current: list[dict[str, str]] | None = None
    for line in text.splitlines():
        top = re.match(r"^(submission_\S+):\s*$", line)
        if top:
            current = found.setdefault(top.group(1), [])
            continue
        item = re.match(r"^\s*(-\s+)?:(name|sid|email):\s*(.*?)\s*$", line)
        if item and current is not None:
            if item.group(1) or not current:
                current.append({})
            current[-1][item.group(2)] = item.group(3).strip("'\"")
    return found


def _canvas(children: list[Path]) -> list[Entry]:
    grouped: dict[str, Entry] = {}
    entries = []
    for child in children:
        match = _CANVAS.match(child.name) if child.is_file() else None
        if not match:
            if child.is_dir() or child.suffix.lower() == ".zip":
                entries += _generic([child])
            continue
        key = f"{match['name']}_{match['uid']}"
        entry = grouped.setdefault(key, Entry(key, name=match["name"]))
        original = match["file"]
        copy = _CANVAS_COPY.match(original)
        if copy and copy["ext"] == ".py":
            original = copy["stem"] + copy["ext"]
        entry.files.append((original, child))
    for entry in grouped.values():
        zips = [p for name, p in entry.files if name.lower().endswith(".zip")]
        if len(zips) == 1 and len(entry.files) == 1:
            entry.path, entry.files = zips[0], []
    return entries + list(grouped.values())


def _unique(entries: list[Entry]) -> list[Entry]:
    """File-safe, distinct student ids (``a/b`` → ``a_b``; a repeat gets ``~2``)."""
    seen: dict[str, int] = {}
    for entry in entries:
        safe = re.sub(r"[^\w.@+-]", "_", entry.student).strip("._") or "student"
        seen[safe] = seen.get(safe, 0) + 1
        entry.student = safe if seen[safe] == 1 else f"{safe}~{seen[safe]}"
    return entries


def _extract(archive: Path, dest: Path) -> Path:
    """Extract an export .zip, refusing paths that leave ``dest`` and oversized ones."""
    dest.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_EXPORT_ENTRIES:
                raise UsageError(f"{archive}: {len(infos)} entries; at most "
                                 f"{MAX_EXPORT_ENTRIES} are read")
            for info in infos:
                name = PurePosixPath(info.filename.replace("\\", "/"))
                if name.is_absolute() or ".." in name.parts or info.is_dir():
                    continue
                target = dest.joinpath(*name.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UsageError(f"{archive}: cannot read the export ({exc})") from None
    return dest


# -- packing, fingerprints, seeds --------------------------------------------------------------

def pack(entry: Entry) -> bytes:
    """The entry's files as one zip, in a fixed order (its bytes are its fingerprint's input).
    A .zip submission is passed on as it is: grading reports what is wrong with it."""
    if entry.path is not None and entry.path.is_file():
        if entry.path.stat().st_size > MAX_SUBMISSION_BYTES:
            raise ValueError(f"{entry.path.name} is larger than "
                             f"{MAX_SUBMISSION_BYTES >> 20} MiB")
        if not zipfile.is_zipfile(entry.path):
            raise ValueError(f"{entry.path.name} is not a valid .zip file")
        return entry.path.read_bytes()
    files = entry.files or [(p.relative_to(entry.path).as_posix(), p) for p in _walk(entry.path)]
    buffer, total = io.BytesIO(), 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, path in sorted(files):
            total += path.stat().st_size
            if total > MAX_SUBMISSION_BYTES:
                raise ValueError(f"more than {MAX_SUBMISSION_BYTES >> 20} MiB of files")
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            zf.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def _walk(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).parts
        if path.is_file() and not path.is_symlink() and not set(rel) & _SKIP \
                and not any(part.startswith(".") for part in rel):
            yield path


def student_seed(base: int, student: str) -> int:
    """The seed of one student's hidden inputs: from the batch seed and the id alone."""
    return int.from_bytes(hashlib.sha256(f"{base}/{student}".encode()).digest()[:4], "big") >> 1


def grader_version(spec: Assignment) -> str:
    """A digest of everything that decides a verdict besides the submission: the grader, the
    assignment's tests, references and settings."""
    digest = hashlib.sha256()
    folders = [ROOT / "grader", spec.folder, spec.solution]
    for folder in folders:
        if folder.is_dir():
            for path in _walk(folder):
                if path.suffix in (".py", ".toml", ".ini"):
                    digest.update(path.relative_to(ROOT).as_posix().encode())
                    digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


# -- grading one job (in a pool process or on a Dask worker) -----------------------------------

def grade_job(job: dict) -> dict:
    """Grade one packed submission; returns plain data (the row, Gradescope's results.json and
    the feedback text). Runs in a process of the pool or on a Dask worker: only the grader's own
    code runs here, the student's runs in the sandboxed workers that grade() starts."""
    from grader import spec as specs
    from grader.grade import grade

    started = time.monotonic()
    spec = specs.get(job["assignment"])
    with tempfile.TemporaryDirectory(prefix="layerlab-batch-") as tmp:
        archive = Path(tmp) / "submission.zip"
        archive.write_bytes(job["archive"])
        try:
            result = grade(archive, spec, seed=job["seed"], tasks=job.get("tasks"))
        except UsageError as exc:
            outcome = _not_graded(str(exc).replace(str(archive), job["label"]))
            return {**outcome, "seconds": time.monotonic() - started}
    result.submission = job["label"]
    console = Console(file=io.StringIO(), width=100, no_color=True, highlight=False,
                             emoji=False, force_terminal=False)
    report.render(result, console, details="failed")
    status = "graded"
    if result.internal_errors:
        status = "grader error"
    elif result.interrupted:
        status = "interrupted"
    return {
        "status": status,
        "message": "; ".join(e.strip().splitlines()[-1] for e in result.internal_errors)[:300],
        "seconds": time.monotonic() - started,
        "tasks": {t.task: [t.score, t.max_score] for t in result.tasks()},
        "score": result.score, "max_score": result.max_score, "percent": result.percent,
        "protections": " | ".join(f"{label}: {what}" for label, what in
                                  describe_protections(result.protections)),
        "results": export.to_gradescope(result),
        "feedback": console.file.getvalue(),
    }


class _JobServer:
    """A grading process of our own, kept for the jobs of one Dask worker process: Dask runs
    tasks in threads of daemonic processes, and grading wants a main thread (pytest's timeouts
    and signals) and worker processes of its own. Jobs go in and outcomes come back as lines of
    JSON on its pipes, written by the grader's own code; a fresh Python per job would pay its
    start-up (a second or so) every time."""

    _lock = threading.Lock()
    _proc: subprocess.Popen | None = None

    @classmethod
    def grade(cls, job: dict, timeout: float) -> dict:
        with cls._lock:
            if cls._proc is None or cls._proc.poll() is not None:
                cls._proc = subprocess.Popen([sys.executable, "-m", "grader.batch", "--serve"],
                                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                             text=True, bufsize=1)
            proc = cls._proc
            line = json.dumps({**job, "archive": base64.b64encode(job["archive"]).decode()})
            timer = threading.Timer(timeout, proc.kill)
            timer.start()
            try:
                proc.stdin.write(line + "\n")
                proc.stdin.flush()
                reply = proc.stdout.readline()
            except (BrokenPipeError, OSError):
                reply = ""
            finally:
                timer.cancel()
            if not reply:
                proc.kill()
                cls._proc = None
                return _grader_error(f"the grading process stopped (exit code {proc.wait()})")
            return json.loads(reply)


def grade_job_in_child(job: dict, timeout: float = 3600) -> dict:
    """:func:`grade_job` in the grading process of this Dask worker (see :class:`_JobServer`)."""
    return _JobServer.grade(job, timeout)


def _serve() -> None:
    """``python -m grader.batch --serve``: grade each job line from stdin, one outcome line to
    stdout each; everything else anything prints goes to stderr."""
    replies = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for line in sys.stdin:
        job = json.loads(line)
        job["archive"] = base64.b64decode(job["archive"])
        try:
            outcome = grade_job(job)
        except Exception as exc:  # noqa: BLE001 - the job's row says so; the server goes on
            outcome = _grader_error(f"{type(exc).__name__}: {exc}")
        replies.write(json.dumps(outcome) + "\n")


# -- the batch ---------------------------------------------------------------------------------

@dataclass
class Row:
    student: str
    name: str
    submission: str
    fingerprint: str
    outcome: dict


@dataclass
class Summary:
    rows: list[Row]
    graded: int = 0  # graded in this run
    reused: int = 0  # unchanged since an earlier run
    failed: int = 0  # not graded, or a grader error
    interrupted: bool = False
    pending: int = 0


def run(submissions: Path, spec: Assignment, out: Path, *, jobs: int | None = None,
        seed: int = 1234, force: bool = False, tasks: list[str] | None = None,
        cluster: str | None = None,
        progress: Callable[[int, int, int], None] | None = None) -> Summary:
    """Grade every submission in ``submissions`` into ``out``; see the module docstring.
    ``progress(done, total, failed)`` is called as rows arrive."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a folder")
    if tasks:
        unknown = sorted(set(tasks) - set(spec.tasks))
        if unknown:
            raise UsageError(f"unknown task {', '.join(unknown)} for {spec.id}")
    for sub in ("results", "feedback"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    version = grader_version(spec)
    with tempfile.TemporaryDirectory(prefix="layerlab-batch-") as scratch:
        entries = discover(Path(submissions), Path(scratch))
        rows: dict[str, Row] = {}
        todo: list[tuple[Entry, dict]] = []
        summary = Summary([])
        for entry in entries:
            row, job = _prepare(entry, spec, version, seed, tasks, out, force)
            if job is None:
                rows[entry.student] = row
                if row.outcome.get("reused"):
                    summary.reused += 1
                else:
                    _keep(out, row)
                    summary.failed += 1
            else:
                todo.append((entry, job))
                rows[entry.student] = row
        done = lambda: len(entries) - len(todo) + summary.graded  # noqa: E731
        failed_so_far = summary.failed
        if progress:
            progress(done(), len(entries), failed_so_far)
        finished: set[str] = {s for s, r in rows.items() if r.outcome}
        _write_gradebook(out, spec, [rows[s] for s in sorted(finished)])
        try:
            for student, outcome in _execute(todo, jobs, cluster):
                if outcome["status"] == "interrupted":  # not a verdict: graded again next run
                    continue
                row = rows[student]
                row.outcome = outcome
                _keep(out, row)
                finished.add(student)
                summary.graded += 1
                if outcome["status"] != "graded":
                    summary.failed += 1
                _write_gradebook(out, spec, [rows[s] for s in sorted(finished)])
                if progress:
                    progress(done(), len(entries), summary.failed)
        except KeyboardInterrupt:
            summary.interrupted = True
        summary.pending = len(entries) - len(finished)
        summary.rows = [rows[s] for s in sorted(finished)]
        _write_gradebook(out, spec, summary.rows)
    return summary


def _prepare(entry: Entry, spec, version, seed, tasks, out, force) -> tuple[Row, dict | None]:
    """The entry's row if it needs no grading (a problem, or unchanged), else its job."""
    row = Row(entry.student, entry.name, entry.label, "", {})
    if entry.problem:
        row.outcome = _not_graded(entry.problem)
        return row, None
    try:
        archive = pack(entry)
    except (OSError, ValueError) as exc:
        row.outcome = _not_graded(f"cannot read the submission: {exc}")
        return row, None
    key = hashlib.sha256()
    for part in (archive, spec.id.encode(), version.encode(), str(seed).encode(),
                 ",".join(sorted(tasks or [])).encode()):
        key.update(hashlib.sha256(part).digest())
    row.fingerprint = key.hexdigest()[:24]
    kept = out / "results" / f"{entry.student}.json"
    if not force and kept.is_file():
        try:
            earlier = json.loads(kept.read_text())["layerlab"]
        except (OSError, ValueError, KeyError, TypeError):
            earlier = None
        if earlier and earlier.get("fingerprint") == row.fingerprint \
                and earlier.get("outcome", {}).get("status") in ("graded", "not graded"):
            row.outcome = {**earlier["outcome"], "reused": True}
            return row, None
    job = {"student": entry.student, "assignment": spec.id, "fingerprint": row.fingerprint,
           "seed": student_seed(seed, entry.student), "tasks": tasks, "label": entry.label}
    return row, job  # packed again when sent: a class's archives are never all in memory


def _not_graded(message: str) -> dict:
    return {"status": "not graded", "message": message, "seconds": 0.0, "tasks": {},
            "results": None, "feedback": f"Not graded: {message}\n"}


def _execute(todo: list[tuple[Entry, dict]], jobs: int | None,
             cluster: str | None) -> Iterator[tuple[str, dict]]:
    """Grade the jobs; yield (student, outcome) as each finishes. At most two jobs per
    process are in flight, each packed as it is sent. A job whose grading process died is
    sent once more, to a new pool (the death may have been another job's doing); a second
    death is its row's grader error."""
    if not todo:
        return
    if cluster is not None:
        yield from _on_cluster(todo, cluster)
        return
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(todo)))
    context = multiprocessing.get_context("forkserver")
    queue, deaths = collections.deque(todo), collections.Counter()
    while queue:
        pool = futures.ProcessPoolExecutor(jobs, mp_context=context, max_tasks_per_child=25,
                                           initializer=_ignore_interrupts)
        inflight: dict[futures.Future, tuple[Entry, dict]] = {}
        try:
            while queue or inflight:
                while queue and len(inflight) < 2 * jobs:
                    entry, job = queue.popleft()
                    try:
                        packed = {**job, "archive": pack(entry)}
                    except (OSError, ValueError) as exc:
                        yield entry.student, _not_graded(f"cannot read the submission: {exc}")
                        continue
                    inflight[pool.submit(grade_job, packed)] = (entry, job)
                done, _ = futures.wait(inflight, return_when=futures.FIRST_COMPLETED)
                broken = []
                for future in done:
                    entry, job = inflight.pop(future)
                    try:
                        yield entry.student, future.result()
                    except futures.process.BrokenProcessPool:
                        broken.append((entry, job))
                    except Exception as exc:  # noqa: BLE001 - one row's error, not the batch's
                        yield entry.student, _grader_error(f"{type(exc).__name__}: {exc}")
                if broken:  # a process died (killed from outside, out of memory)
                    for entry, job in [*broken, *inflight.values()]:
                        deaths[entry.student] += 1
                        if deaths[entry.student] > 1:
                            yield entry.student, _grader_error("the grading process died")
                        else:
                            queue.appendleft((entry, job))
                    inflight.clear()
                    break
        except BaseException:
            _terminate(pool)
            raise
        pool.shutdown(wait=True, cancel_futures=True)


def _ignore_interrupts() -> None:
    """In a pool process: Ctrl-C is the batch's to handle (it stops the pool itself, with
    SIGTERM). SIGTERM raises KeyboardInterrupt wherever the process is, so a job stopped while
    it unpacks or stages its submission still removes its folders on the way out (grade()
    handles it the same way while it grades)."""
    from grader.grade import raise_interrupt

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, raise_interrupt)


def _terminate(pool: futures.ProcessPoolExecutor) -> None:
    """Stop a pool now: cancel what has not started; SIGTERM the processes grading (grade()
    then closes its sandboxed workers), SIGKILL what is still there after a grace period."""
    processes = list(getattr(pool, "_processes", {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    deadline = time.monotonic() + 5
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()


def _grader_error(message: str) -> dict:
    return {"status": "grader error", "message": message, "seconds": 0.0, "tasks": {},
            "results": None, "feedback": f"Grader error: {message}\n"}


def _on_cluster(todo: list[tuple[Entry, dict]], address: str) -> Iterator[tuple[str, dict]]:
    try:
        from dask.distributed import Client, as_completed
    except ImportError:
        raise UsageError("--cluster needs dask.distributed: pip install -e '.[cluster]'") from None
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    try:
        window = 2 * max(1, sum(client.nthreads().values()))
        queue, inflight, running = collections.deque(todo), {}, as_completed()

        def send() -> Iterator[tuple[str, dict]]:
            while queue and len(inflight) < window:
                entry, job = queue.popleft()
                try:
                    packed = {**job, "archive": pack(entry)}
                except (OSError, ValueError) as exc:
                    yield entry.student, _not_graded(f"cannot read the submission: {exc}")
                    continue
                future = client.submit(grade_job_in_child, packed, pure=False,
                                       key=f"layerlab-{job['student']}-{job['fingerprint']}")
                inflight[future] = entry
                running.add(future)

        yield from send()
        for future in running:
            entry = inflight.pop(future)
            try:
                yield entry.student, future.result()
            except Exception as exc:  # noqa: BLE001 - one row's error, not the batch's
                yield entry.student, _grader_error(f"on the cluster: {type(exc).__name__}: {exc}")
            yield from send()
    finally:
        client.close()


# -- output ------------------------------------------------------------------------------------

def _keep(out: Path, row: Row) -> None:
    """One student's results JSON (Gradescope's results.json with our own record under
    ``layerlab``) and feedback text, written atomically."""
    outcome = {k: v for k, v in row.outcome.items() if k not in ("results", "feedback", "reused")}
    document = dict(row.outcome.get("results") or {})
    document["layerlab"] = {"student": row.student, "name": row.name,
                            "submission": row.submission, "fingerprint": row.fingerprint,
                            "outcome": outcome}
    export._atomic_write(out / "results" / f"{row.student}.json",
                         json.dumps(document, indent=2, ensure_ascii=False))
    export._atomic_write(out / "feedback" / f"{row.student}.txt",
                         row.outcome.get("feedback", "").rstrip("\n"))


def gradebook_columns(spec: Assignment) -> list[str]:
    return ["student", "name", *spec.tasks, "total", "max", "percent", "status", "seconds",
            "protections", "message", "submission"]


def _write_gradebook(out: Path, spec: Assignment, rows: list[Row]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(gradebook_columns(spec))
    for row in rows:
        o = row.outcome
        tasks = o.get("tasks", {})
        cells = [row.student, row.name]
        cells += [_number(tasks[t][0]) if t in tasks else "" for t in spec.tasks]
        graded = "score" in o
        cells += [_number(o["score"]) if graded else "", _number(o["max_score"]) if graded else "",
                  f"{o['percent']:.2f}" if graded else "", o["status"], f"{o['seconds']:.1f}",
                  o.get("protections", ""), o.get("message", ""), row.submission]
        writer.writerow(cells)
    export._atomic_write(out / GRADEBOOK, buffer.getvalue().rstrip("\n"))


def _number(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".")


if __name__ == "__main__":
    _serve()
