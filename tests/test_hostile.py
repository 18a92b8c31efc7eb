"""Hostile submissions: grading survives them, the hostile task alone loses points, and says why.

The corpus is the table in ``tests/hostile/corpus.py``: the reference solution with ONE function
(or one module's import-time code) replaced by something hostile. For each submission:

- grading completes without an internal error;
- the task(s) of the hostile code lose points, with feedback that says what happened in words;
- every other task keeps full marks;
- nothing outside the worker's temporary directory changed (the repository tree, the real home,
  ``/tmp/layerlab-pwned*``, a canary file's mode) and no process of the worker is left behind.

Grading uses a copy of the A1 spec with a 2 s call timeout, to keep the hangs short.
"""

from __future__ import annotations

import builtins
import dataclasses
import json
import os
import shutil
import signal
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from grader import spec
from grader.grade import grade
from grader.protections import describe_protections
from grader.results import GradingResult
from grader.spec import UsageError
from hostile import corpus  # tests/ is on sys.path (rootdir-relative imports)

ROOT = spec.ROOT
A1 = spec.get("a1")
FAST = dataclasses.replace(A1, limits=dataclasses.replace(A1.limits, call_timeout=2))
# The corpus attacks the sandbox through the modules of the first slice; grading their tasks
# (not the whole assignment, with its training runs) keeps each case short (bench/README.md).
TASKS = sorted({task for tasks in corpus.TASKS.values() for task in tasks})
SEED = 1234
PWNED = f"/tmp/layerlab-pwned-{os.getpid()}-"
HOME_TARGET = Path.home() / ".layerlab-pwned"
SKIP_DIRS = {".git", ".venv", "__pycache__", ".pytest_cache", "build", "layerlab.egg-info"}
ISINSTANCE, ALLCLOSE = builtins.isinstance, np.allclose




# -- watching for changes outside the worker ----------------------------------------------------
def snapshot(root: Path = ROOT) -> dict[str, tuple[int, int, int]]:
    """(size, mtime, mode) of every file in the repository, caches and the venv aside."""
    found = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS]
        for name in files:
            path = os.path.join(folder, name)
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                continue
            found[os.path.relpath(path, root)] = (st.st_size, st.st_mtime_ns, st.st_mode)
    return found


def live_children() -> list[int]:
    """Processes (not zombies) whose parent is this test process, but for multiprocessing's own
    helpers (the forkserver and resource tracker that a batch test in this session may have
    started: they serve this process, not a submission)."""
    pids = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        state, ppid = stat.rpartition(")")[2].split()[:2]
        if int(ppid) == os.getpid() and state not in "ZX" and not _multiprocessing_helper(entry):
            pids.append(int(entry))
    return pids


def repo_changes(before: dict) -> set[str]:
    after = snapshot()
    return {f"{'created' if p not in before else 'deleted' if p not in after else 'changed'}: "
            f"{ROOT / p}" for p in set(before) | set(after) if before.get(p) != after.get(p)}


def intrusions(canary: Path, canary_mode: int) -> list[str]:
    """What the submission's known targets show; undoes each change so that reruns start clean."""
    found = []
    for path in [*Path("/tmp").glob("layerlab-pwned*"), ROOT / "pwned.txt", HOME_TARGET]:
        if path.exists() or path.is_symlink():
            found.append(f"exists: {path}")
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    mode = canary.stat().st_mode
    if mode != canary_mode:
        found.append(f"chmod: {canary} is now {oct(mode)}")
        canary.chmod(canary_mode)
    for pid in live_children():
        found.append(f"process left running: {pid}")
        os.kill(pid, signal.SIGKILL)
    return found


def _multiprocessing_helper(pid: str) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return False
    return b"from multiprocessing.forkserver import main" in command \
        or b"from multiprocessing.resource_tracker import main" in command


# -- grading each hostile submission once ---------------------------------------------------------
@dataclasses.dataclass
class Run:
    case: object
    result: GradingResult
    elapsed: float
    pattern: object
    intrusions: list[str]

    def tasks(self) -> dict[str, tuple[float, float]]:
        totals: dict[str, tuple[float, float]] = {}
        for test in self.result.tests:
            score, top = totals.get(test.task, (0.0, 0.0))
            totals[test.task] = (score + test.score, top + test.max_score)
        return totals

    def lost_feedback(self, tasks) -> list[str]:
        return [c.feedback for t in self.result.tests if t.task in tasks
                for c in t.cases if not c.passed]


_RUNS: dict[str, Run] = {}


@pytest.fixture(scope="session")
def hostile_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("hostile")


def run(name: str, base: Path) -> Run:
    if name in _RUNS:
        return _RUNS[name]
    case = corpus.BY_NAME[name]
    canary = base / f"{name}.canary"
    canary.write_text("chmod me\n")
    canary.chmod(0o600)
    marks = {"@ROOT@": str(ROOT), "@HOME@": str(Path.home()), "@PWNED@": PWNED,
             "@CANARY@": str(canary)}
    submission = corpus.build(case, base / name, marks)
    canary_mode = canary.stat().st_mode

    spec = FAST if case.call_timeout is None else dataclasses.replace(
        FAST, limits=dataclasses.replace(FAST.limits, call_timeout=case.call_timeout))

    def graded():
        before = snapshot()
        started = time.monotonic()
        try:
            result = grade(submission, spec, seed=SEED, tasks=TASKS)
        finally:
            elapsed = time.monotonic() - started
            found = intrusions(canary, canary_mode)
        return result, elapsed, found, repo_changes(before)

    result, elapsed, found, changed = graded()
    if changed:
        # Other people may be editing the repository meanwhile: a change is the submission's
        # doing only if grading the submission again changes the same file again.
        changed &= graded()[3]
    pattern = corpus.expected_feedback(case, submission, marks)
    _RUNS[name] = Run(case, result, elapsed, pattern, found + sorted(changed))
    return _RUNS[name]


# -- the tests -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def reference() -> GradingResult:
    return grade(ROOT / "solutions" / "a1_networks", FAST, seed=SEED, tasks=TASKS)


def test_reference_scores_full_marks_with_the_short_timeout(reference):
    """The premise of 'every other task keeps full marks'."""
    assert reference.internal_errors == []
    assert {t.task for t in reference.tests} == set(TASKS)
    assert reference.score == reference.max_score > 0


@pytest.mark.parametrize("name", [
    pytest.param(c.name, id=c.name, marks=[pytest.mark.slow] if c.slow else [])
    for c in corpus.CORPUS])
def test_hostile_submission_costs_only_its_own_task(name, hostile_dir):
    r = run(name, hostile_dir)
    case = r.case
    assert r.intrusions == [], "the submission changed things outside its worker"
    assert r.result.internal_errors == []
    assert not r.result.interrupted
    assert [c for t in r.result.tests for c in t.cases if c.internal_error] == []

    tasks = r.tasks()
    assert set(tasks) == set(TASKS), "every task is graded"
    lost = {task for task, (score, top) in tasks.items() if score < top}
    feedback = {task: r.lost_feedback([task]) for task in lost}
    assert lost - set(case.may_hit) == set(case.hits), feedback
    if r.pattern is not None:
        said = r.lost_feedback(case.hits)
        assert any(r.pattern.search(f) for f in said), (r.pattern.pattern, said)
    # Whatever the submission patched, it patched in the worker, not here.
    assert builtins.isinstance is ISINSTANCE and np.allclose is ALLCLOSE


@pytest.mark.slow
def test_hung_function_is_reported_once_then_not_run_again(hostile_dir):
    r = run("loop_relu_forward", hostile_dir)
    said = r.lost_feedback(["a1.relu"])
    first = [f for f in said if "not run again" not in f]
    assert len(first) == 1 and "timed out after 2 s" in first[0], said
    again = [f for f in said if "relu_forward timed out after 2 s" in f and "not run again" in f]
    assert len(again) == len(said) - 1 >= 1, said
    assert r.elapsed < 60, "bounded: one call timeout, not one per test"


@pytest.mark.slow
def test_hung_import_is_reported_once_then_not_run_again(hostile_dir):
    r = run("loop_at_import_gradient_check", hostile_dir)
    said = r.lost_feedback(["a1.gradcheck"])
    assert len(said) == sum(len(t.cases) for t in r.result.tests if t.task == "a1.gradcheck")
    first = [f for f in said if "not run again" not in f]
    assert len(first) == 1, f"only the first call timed out; the others were not run: {said}"
    assert "timed out after 2 s" in first[0] and "importing gradient_check.py" in first[0], said
    assert r.elapsed < 60


def test_printing_is_captured_and_capped(hostile_dir):
    r = run("print_100mb_softmax_loss", hostile_dir)
    softmax = [c for t in r.result.tests if t.task == "a1.softmax" for c in t.cases]
    assert softmax and all(c.passed for c in softmax)
    assert all(c.output.startswith("xxxx") and len(c.output) <= 2000 for c in softmax)
    assert len(json.dumps(r.result.to_dict())) < 1 << 20


def test_symlink_out_of_the_submission_is_not_followed(tmp_path):
    """A submission file that links to the hidden tests must not carry them into the worker."""
    hidden = ROOT / "solutions" / "a1_networks" / "hidden_tests" / "test_layers_hidden.py"
    case = corpus.Hostile("symlink_to_hidden_tests_relu_forward", "activations", textwrap.dedent("""
        import os
        _relu_forward = relu_forward
        def relu_forward(x):
            print(open(os.path.join(os.path.dirname(__file__), "stolen.py")).read())
            return _relu_forward(x)
        """), ("a1.relu",), None)
    submission = corpus.build(case, tmp_path / case.name, {})
    (submission / "stolen.py").symlink_to(hidden)
    try:
        result = grade(submission, FAST, seed=SEED, tasks=TASKS)
    except UsageError as exc:  # refusing the submission outright is fine too
        assert "stolen.py" in str(exc) or "link" in str(exc), exc
        return
    assert result.internal_errors == []
    secret = hidden.read_text().splitlines()[0]
    shown = [c.output + c.feedback for t in result.tests for c in t.cases]
    assert not any(secret in text for text in shown), "the hidden tests reached the student"
    lost = {t.task for t in result.tests if t.score < t.max_score}
    assert lost == {"a1.relu"}


def test_report_names_the_protections(reference):
    said = dict(describe_protections(reference.protections))
    assert {"resource limits", "filesystem", "network", "system calls"} <= set(said)


@pytest.mark.skipif(sys.platform != "linux", reason="Landlock, seccomp and network namespaces "
                    "exist only on Linux")
def test_linux_protections_are_active(reference):
    (worker,) = reference.protections  # A1 has one import policy: one worker
    assert {f["status"] for f in worker["facts"].values()} == {"active"}, worker
    prot = dict(describe_protections(reference.protections))
    assert prot["filesystem"].startswith("Landlock ABI"), prot
    assert prot["readable files"] == "the interpreter, NumPy and the submission", prot
    assert prot["system calls"].startswith("seccomp:"), prot
    assert "network namespace" in prot["network"] and not prot["network"].startswith("not"), prot
    assert "fsize" in prot["resource limits"] and "MiB address space" in prot["memory"], prot
