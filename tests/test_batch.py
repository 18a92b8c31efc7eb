"""``layerlab batch``: a class graded into a gradebook. Layouts of LMS exports are recognised;
each row equals grading that submission alone with the student's seed; a bad submission gets its
row and never stops the batch; reruns skip what is unchanged; Ctrl-C keeps finished rows; a Dask
cluster gives the local pool's gradebook."""

import csv
import io
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from grader import batch, cli, spec
from grader.grade import DEFAULT_SEED, grade
from grader.spec import ROOT

A1 = spec.get("a1")
REFERENCE = ROOT / "solutions" / "a1_networks"
# the fastest tasks to grade: the class tests below grade only these
TASKS = ["a1.relu", "a1.sigmoid", "a1.svm"]


def copy_reference(dest: Path) -> Path:
    dest.mkdir(parents=True)
    for module in A1.modules:
        shutil.copy(REFERENCE / f"{module}.py", dest / f"{module}.py")
    return dest


def copy_stubs(dest: Path) -> Path:
    shutil.copytree(A1.folder, dest, ignore=shutil.ignore_patterns("tests", "__pycache__"))
    return dest


def zip_folder(folder: Path, archive: Path) -> Path:
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*.py")):
            zf.write(path, path.relative_to(folder.parent).as_posix())
    return archive


def read_gradebook(out: Path) -> list[dict]:
    with open(out / batch.GRADEBOOK, newline="") as f:
        return list(csv.DictReader(f))


# -- layouts -----------------------------------------------------------------------------------

def test_generic_layout_folders_and_zips_and_a_stray_file(tmp_path):
    root = tmp_path / "class"
    copy_reference(root / "alice")
    zip_folder(copy_reference(tmp_path / "b" / "a1_networks"), root / "bob.zip")
    (root / "README.txt").write_text("not a submission")
    (root / "__MACOSX").mkdir()
    entries = batch.discover(root, tmp_path / "scratch")
    assert [(e.student, e.label, bool(e.problem)) for e in entries] == [
        ("README.txt", "README.txt", True), ("alice", "alice", False), ("bob", "bob.zip", False)]


def test_gradescope_export_as_a_zip_with_its_metadata(tmp_path):
    export = tmp_path / "export"
    copy_reference(export / "assignment_1_export" / "submission_111")
    copy_reference(export / "assignment_1_export" / "submission_222")
    (export / "assignment_1_export" / "submission_metadata.yml").write_text(
        "submission_111:\n  :submitters:\n  - :name: Ada Lovelace\n    :sid: 'S1'\n"
        "    :email: ada@example.edu\n  :created_at: 2026-11-30\n"
        "submission_222:\n  :submitters:\n  - :name: Pair One\n    :email: one@example.edu\n"
        "  - :name: Pair Two\n    :sid: '7'\n")
    archive = tmp_path / "gradescope.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(export.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(export).as_posix())
    entries = batch.discover(archive, tmp_path / "scratch")
    assert [(e.student, e.name, e.label) for e in entries] == [
        ("S1", "Ada Lovelace", "submission_111"),
        ("one@example.edu+7", "Pair One + Pair Two", "submission_222")]


def test_canvas_download_groups_each_students_files(tmp_path):
    root = tmp_path / "canvas"
    root.mkdir()
    for module in ("layers", "activations"):
        shutil.copy(REFERENCE / f"{module}.py", root / f"doejane_1001_5001_{module}.py")
    shutil.copy(REFERENCE / "losses.py", root / "doejane_late_1001_5002_losses-1.py")
    zip_folder(copy_reference(tmp_path / "x" / "a1_networks"), root / "roejohn_1002_5003_a1.zip")
    entries = batch.discover(root, tmp_path / "scratch")
    jane, john = entries
    assert (jane.student, jane.name, john.student) == ("doejane_1001", "doejane", "roejohn_1002")
    assert sorted(name for name, _ in jane.files) == ["activations.py", "layers.py", "losses.py"]
    assert john.path == root / "roejohn_1002_5003_a1.zip" and not john.files
    packed = zipfile.ZipFile(io.BytesIO(batch.pack(jane)))
    assert sorted(packed.namelist()) == ["activations.py", "layers.py", "losses.py"]


def test_classroom_clones_lose_their_common_prefix(tmp_path):
    root = tmp_path / "clones"
    for user in ("octocat", "mona-lisa"):
        copy_stubs(root / f"a1-networks-{user}")
    assert [e.student for e in batch.discover(root, tmp_path / "s")] == ["mona-lisa", "octocat"]


def test_unusable_inputs_are_usage_errors(tmp_path, capsys):
    out = tmp_path / "out"
    assert cli.main(["batch", str(tmp_path / "missing"), "-a", "a1", "--out", str(out)]) == 2
    assert "submissions not found" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert cli.main(["batch", str(tmp_path / "empty"), "-a", "a1", "--out", str(out)]) == 2
    assert "holds no submissions" in capsys.readouterr().err
    (tmp_path / "bad.zip").write_text("no zip")
    assert cli.main(["batch", str(tmp_path / "bad.zip"), "-a", "a1", "--out", str(out)]) == 2
    assert "neither a folder of submissions nor a .zip" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["batch", str(tmp_path), "-a", "a1", "--out", str(out), "--jobs", "0"])


def test_seeds_come_from_the_student_alone():
    seeds = {batch.student_seed(DEFAULT_SEED, s) for s in ("alice", "bob", "carol")}
    assert len(seeds) == 3 and all(0 <= s < 2**31 for s in seeds)
    assert batch.student_seed(DEFAULT_SEED, "alice") == batch.student_seed(DEFAULT_SEED, "alice")
    assert batch.student_seed(7, "alice") != batch.student_seed(DEFAULT_SEED, "alice")


# -- a small class, end to end -----------------------------------------------------------------

@pytest.fixture(scope="module")
def klass(tmp_path_factory) -> Path:
    """Perfect, alternative layout (one zip), stubs, a wrong relu, an infinite loop, a crash,
    a broken zip and an empty folder."""
    root = tmp_path_factory.mktemp("klass") / "submissions"
    copy_reference(root / "perfect")
    zip_folder(copy_reference(root.parent / "z" / "a1_networks"), root / "zipped.zip")
    copy_stubs(root / "stubs")
    wrong = copy_reference(root / "wrong")
    with open(wrong / "activations.py", "a") as f:
        f.write("\n\ndef relu_forward(x):\n    return x.copy(), x\n")
    hangs = copy_reference(root / "hangs")
    with open(hangs / "activations.py", "a") as f:
        f.write("\n\ndef sigmoid_forward(x):\n    while True:\n        pass\n")
    crash = copy_reference(root / "crash")
    with open(crash / "losses.py", "a") as f:
        f.write("\n\ndef svm_loss(x, y):\n    import os\n    os._exit(3)\n")
    (root / "broken.zip").write_bytes(b"PK\x03\x04 truncated")
    (root / "empty").mkdir()
    return root


@pytest.fixture(scope="module")
def graded(klass, tmp_path_factory):
    out = tmp_path_factory.mktemp("grades")
    started = time.monotonic()
    code = cli.main(["batch", str(klass), "-a", "a1", "--out", str(out), "--jobs", "2",
                     *[f"--task={t}" for t in TASKS]])
    return out, code, time.monotonic() - started


def test_every_submission_gets_a_row_with_its_verdict(graded):
    out, code, _ = graded
    assert code == cli.EXIT_OK
    rows = {r["student"]: r for r in read_gradebook(out)}
    assert sorted(rows) == ["broken", "crash", "empty", "hangs", "perfect", "stubs", "wrong",
                            "zipped"]
    assert list(read_gradebook(out)[0]) == batch.gradebook_columns(A1)
    full = sum(float(rows["perfect"][t]) for t in TASKS)
    assert rows["perfect"]["status"] == "graded" and rows["perfect"]["percent"] == "100.00"
    assert rows["zipped"]["total"] == rows["perfect"]["total"] == f"{full:g}"
    assert rows["stubs"]["total"] == "0" and rows["stubs"]["status"] == "graded"
    assert float(rows["wrong"]["a1.relu"]) < float(rows["perfect"]["a1.relu"])
    assert rows["wrong"]["a1.sigmoid"] == rows["perfect"]["a1.sigmoid"]
    assert float(rows["hangs"]["a1.sigmoid"]) == 0 and rows["hangs"]["a1.relu"] != "0"
    assert float(rows["crash"]["a1.svm"]) == 0 and rows["crash"]["a1.relu"] != "0"
    assert rows["broken"]["status"] == "not graded"
    assert "broken.zip is not a valid .zip file" in rows["broken"]["message"]
    assert rows["empty"]["status"] == "not graded"
    assert "no submission files" in rows["empty"]["message"]
    assert "network" in rows["perfect"]["protections"]
    assert "a1.sigmoid" in (out / "feedback" / "hangs.txt").read_text()


def test_a_hanging_function_costs_its_timeout_once(graded):
    """Each test of sigmoid calls the hanging function: only the first waits for the timeout."""
    rows = {r["student"]: r for r in read_gradebook(graded[0])}
    assert float(rows["hangs"]["seconds"]) < 2 * A1.limits.call_timeout + 15, rows["hangs"]


def test_each_row_equals_grading_that_submission_alone(klass, graded):
    out = graded[0]
    rows = {r["student"]: r for r in read_gradebook(out)}
    for student in ("wrong", "hangs"):
        alone = grade(klass / student, A1, seed=batch.student_seed(DEFAULT_SEED, student),
                      tasks=TASKS)
        for task in alone.tasks():
            assert float(rows[student][task.task]) == pytest.approx(task.score, abs=1e-4)
        kept = (out / "results" / f"{student}.json").read_text()
        assert f'"score": {round(alone.score, 4)}' in kept


def test_a_rerun_grades_only_what_changed(klass, graded, tmp_path, capsys):
    out = tmp_path / "grades"
    shutil.copytree(graded[0], out)
    before = read_gradebook(out)
    args = ["batch", str(klass), "-a", "a1", "--out", str(out), *[f"--task={t}" for t in TASKS]]
    assert cli.main(args) == cli.EXIT_OK
    assert "7 unchanged since the last run" in capsys.readouterr().out  # all but the broken zip
    assert read_gradebook(out) == before

    changed = tmp_path / "changed"
    shutil.copytree(klass, changed)
    shutil.copy(REFERENCE / "activations.py", changed / "wrong" / "activations.py")
    assert cli.main([*args[:1], str(changed), *args[2:]]) == cli.EXIT_OK
    assert "6 unchanged since the last run" in capsys.readouterr().out
    rows = {r["student"]: r for r in read_gradebook(out)}
    assert rows["wrong"]["total"] == rows["perfect"]["total"]
    assert cli.main([*args[:1], str(changed), *args[2:], "--task=a1.relu"]) == cli.EXIT_OK
    assert "0 unchanged" in capsys.readouterr().out  # other tasks: another verdict


def default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
def test_ctrl_c_keeps_the_finished_rows_and_a_rerun_finishes(tmp_path):
    root = tmp_path / "class"
    students = 20  # a one-task grading takes well under a second: room for Ctrl-C mid-batch
    for i in range(students):
        copy_reference(root / f"student{i}")
    out = tmp_path / "grades"
    command = [sys.executable, "-m", "grader", "batch", str(root), "-a", "a1", "--out", str(out),
               "--jobs", "1", "--task", "a1.relu"]
    scratch = tmp_path / "tmp"  # the batch's staging and its workers' folders live here
    scratch.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(scratch)}
    # Ctrl-C's own handling, even when the suite runs where SIGINT is ignored (a background job
    # of a non-interactive shell: the batch would inherit SIG_IGN and never see the signal).
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT, env=env, preexec_fn=default_sigint)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if (out / batch.GRADEBOOK).is_file() and len(read_gradebook(out)) >= 2:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == cli.EXIT_INTERRUPTED, err
    assert "run the same command again to grade the rest" in err
    kept = read_gradebook(out)
    assert 2 <= len(kept) < students and all(r["status"] == "graded" for r in kept)
    rerun = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300,
                           env=env)
    assert rerun.returncode == cli.EXIT_OK, rerun.stderr
    assert f"{len(kept)} unchanged since the last run" in rerun.stdout
    assert len(read_gradebook(out)) == students
    left = subprocess.run(["pgrep", "-f", str(scratch)], capture_output=True, text=True).stdout
    assert left == "", "workers of the interrupted batch are still running"
    assert list(scratch.iterdir()) == [], "the interrupted batch left its staging behind"


@pytest.mark.slow
def test_a_dask_cluster_gives_the_local_pools_gradebook(klass, graded, tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    out = tmp_path / "grades"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        code = cli.main(["batch", str(klass), "-a", "a1", "--out", str(out),
                         "--cluster", cluster.scheduler_address, *[f"--task={t}" for t in TASKS]])
    assert code == cli.EXIT_OK

    def without_timing(folder):
        rows = read_gradebook(folder)
        for row in rows:
            row.pop("seconds")
        return rows

    assert without_timing(out) == without_timing(graded[0])


def test_an_unreachable_cluster_is_a_usage_error(tmp_path, capsys):
    pytest.importorskip("dask.distributed")
    root = tmp_path / "class"
    copy_stubs(root / "alice")
    code = cli.main(["batch", str(root), "-a", "a1", "--out", str(tmp_path / "o"),
                     "--cluster", "tcp://127.0.0.1:9"])
    assert code == cli.EXIT_USAGE
    assert "cannot reach the Dask scheduler" in capsys.readouterr().err
