"""Per-task import policy: only the tasks an assignment's [imports] table names may import
core_ext in the sandbox; elsewhere the import fails with a message that says why."""

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

from grader.policy import Sessions
from grader.protections import describe_protections
from grader.session import StudentError
from grader.spec import ROOT, Assignment, Limits, UsageError, _load

POOL = {"pool_height": 2, "pool_width": 2, "stride": 2}


def write(folder: Path, name: str, code: str) -> None:
    (folder / name).write_text(textwrap.dedent(code))


@pytest.fixture
def sessions(tmp_path):
    write(tmp_path, "naive.py", """
        def pool_with_fast_kernel(x):
            import core_ext
            return core_ext.max_pool_forward(x, {"pool_height": 2, "pool_width": 2, "stride": 2})[0]

        def steal_reference():
            import solutions
        """)
    write(tmp_path, "fast.py", """
        import numpy as np
        import core_ext

        def pool(x, pool_param):
            return core_ext.max_pool_forward(x, pool_param)[0]

        def read(path):
            return open(path).read()

        def conv_is_compiled():
            x, w = np.ones((2, 3, 5, 5)), np.ones((4, 3, 3, 3))
            out, cache = core_ext.conv_forward(x, w, np.zeros(4), {"stride": 1, "pad": 1})
            core_ext.conv_backward(np.ones_like(out), cache)
            return core_ext.COMPILED, float(out[0, 0, 2, 2])

        def import_scipy():
            import scipy
        """)
    spec = Assignment("t", "policy test", tmp_path, ["naive", "fast"],
                      {"t.naive": "naive layer", "t.fast": "fast model"},
                      Limits(call_timeout=30), {"t.fast": ("core_ext",)})
    pool = Sessions(tmp_path, spec)
    yield pool
    pool.close()


def test_allowed_task_runs_the_fast_kernel(sessions):
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    out = sessions.for_task("t.fast").call("fast", "pool", (x, POOL), {})
    np.testing.assert_array_equal(out, [[[[5.0, 7.0], [13.0, 15.0]]]])
    assert sessions.for_task("t.fast").protections["imports"]["packages"] == ["core_ext"]


def test_allowed_task_gets_the_compiled_convolution_but_not_scipy(sessions):
    """The compiled convolution calls BLAS through SciPy, which the worker loads before it
    locks itself down; SciPy itself stays out of the submission's reach."""
    session = sessions.for_task("t.fast")
    assert session.call("fast", "conv_is_compiled", (), {}) == (True, 27.0)
    with pytest.raises(StudentError, match="import of 'scipy' is not allowed"):
        session.call("fast", "import_scipy", (), {})


def test_other_tasks_refuse_core_ext_and_say_where_it_is_allowed(sessions):
    with pytest.raises(StudentError) as info:
        sessions.for_task("t.naive").call("naive", "pool_with_fast_kernel",
                                          (np.zeros((1, 1, 4, 4)),), {})
    message = str(info.value)
    assert "import of 'core_ext' is not allowed in this task" in message
    assert "own NumPy code" in message and "t.fast" in message


def test_module_importing_core_ext_fails_to_import_where_refused(sessions):
    with pytest.raises(StudentError, match="core_ext"):
        sessions.for_task("t.naive").call("fast", "pool", (np.zeros((1, 1, 4, 4)), POOL), {})


@pytest.mark.parametrize("task", ["t.naive", "t.fast"])
def test_solutions_are_never_importable(sessions, task):
    with pytest.raises(StudentError, match="import of 'solutions' is not allowed"):
        sessions.for_task(task).call("naive", "steal_reference", (), {})


def test_the_fast_worker_sees_core_ext_but_not_the_repository(sessions):
    session = sessions.for_task("t.fast")
    if session.ensure_started()["filesystem"]["status"] != "active":
        pytest.skip("Landlock is not available on this kernel")
    with pytest.raises(StudentError):
        session.call("fast", "read", (str(ROOT / "solutions" / "__init__.py"),), {})


def test_protections_list_each_worker_with_its_tasks(sessions):
    sessions.for_task("t.fast").ensure_started()
    sessions.for_task("t.naive").ensure_started()
    assert [(w["tasks"], w["other_tasks"], w["facts"]["imports"]) for w in sessions.protections] \
        == [(["t.fast"], False, {"status": "active", "packages": ["core_ext"]}),
            ([], True, {"status": "active", "packages": []})]
    assert json.loads(json.dumps(sessions.protections)) == sessions.protections  # plain data


def test_report_shows_each_policy_with_its_tasks(sessions):
    sessions.for_task("t.naive").ensure_started()
    naive = dict(describe_protections(sessions.protections))
    assert "core_ext" not in naive["imports"]
    sessions.for_task("t.fast").ensure_started()
    said = dict(describe_protections(sessions.protections))
    assert said["imports"] == ("only the standard library, numpy and the submission's own files "
                               "(every other task); only the standard library, numpy and the "
                               "submission's own files, core_ext (t.fast)")
    assert said["resource limits"] == naive["resource limits"]  # alike: said once
    if "Landlock" in said["filesystem"]:
        assert said["filesystem"] == naive["filesystem"]  # the same in both
        assert said["readable files"] == (
            "the interpreter, NumPy and the submission (every other task); the interpreter, "
            "NumPy and the submission, a copy of core_ext (with the libraries it loaded) (t.fast)")


def test_one_worker_per_policy_and_cleanup(sessions):
    assert sessions.for_task("t.naive") is sessions.for_task("unlisted.task")
    assert sessions.for_task("t.fast") is not sessions.for_task("t.naive")
    staged = Path(sessions.for_task("t.fast").extra_paths[0])
    assert (staged / "core_ext" / "__init__.py").is_file()
    assert not (staged / "solutions").exists()
    sessions.close()
    assert not staged.exists()


@pytest.mark.parametrize("table,message", [
    ('"t.nope" = ["core_ext"]', "unknown task 't.nope'"),
    ('"t.a" = ["solutions"]', "must list packages among core_ext"),
    ('"t.a" = "core_ext"', "must list packages among core_ext"),
])
def test_bad_imports_table_is_a_usage_error(tmp_path, table, message):
    (tmp_path / "m.py").write_text("")
    toml = tmp_path / "assignment.toml"
    toml.write_text(f'id = "t"\ntitle = "T"\nmodules = ["m"]\n[tasks]\n"t.a" = "A"\n'
                    f"[imports]\n{table}\n")
    with pytest.raises(UsageError, match=message):
        _load(toml)
