"""The sentences the report says about the sandbox, phrased from the facts the workers report."""

import pytest

from grader.protections import describe_protections

ACTIVE = {
    "resource limits": {"status": "active", "limits": ["cpu", "fsize", "nofile"]},
    "network": {"status": "active", "namespaces": ["user", "network"]},
    "filesystem": {"status": "active", "landlock_abi": 6, "net": ["bind_tcp", "connect_tcp"],
                   "scoped": ["abstract_unix_socket", "signal"]},
    "readable files": {"status": "active", "copies": []},
    "memory": {"status": "active", "address_space_mb": 4096},
    "system calls": {"status": "active"},
    "imports": {"status": "active", "packages": []},
}


def worker(facts, tasks=(), other_tasks=True):
    return {"tasks": list(tasks), "other_tasks": other_tasks, "facts": facts}


def test_every_active_protection_in_words_in_the_order_reported():
    assert describe_protections([worker(ACTIVE)]) == [
        ("resource limits", "limits on cpu, fsize, nofile"),
        ("network", "private user and network namespace (no network)"),
        ("filesystem", "Landlock ABI 6: reads only the readable files; writes only its temp "
                       "directory; no TCP bind/connect; no signals to processes outside the "
                       "sandbox"),
        ("readable files", "the interpreter, NumPy and the submission"),
        ("memory", "4096 MiB address space"),
        ("system calls", "seccomp: no new processes, programs, sockets, limit changes or signals "
                         "to others"),
        ("imports", "only the standard library, numpy and the submission's own files"),
    ]


def test_an_older_landlock_says_only_what_it_denies():
    facts = {"filesystem": {"status": "active", "landlock_abi": 3, "net": [], "scoped": []}}
    assert describe_protections([worker(facts)]) == [
        ("filesystem", "Landlock ABI 3: reads only the readable files; writes only its temp "
                       "directory")]


@pytest.mark.parametrize("label,fact,sentence", [
    ("network", {"status": "unsupported"}, "not available on this OS"),
    ("system calls", {"status": "unsupported"}, "not available on this OS/architecture"),
    ("filesystem", {"status": "unavailable", "error": "kernel without Landlock"},
     "not available (kernel without Landlock)"),
    ("memory", {"status": "failed", "error": "Invalid argument"}, "not applied (Invalid argument)"),
])
def test_a_protection_not_in_force_says_why(label, fact, sentence):
    assert describe_protections([worker({label: fact})]) == [(label, sentence)]


def test_workers_that_differ_name_the_tasks_of_each_version():
    naive = worker(ACTIVE, tasks=["a2.naive"])
    fast = worker({**ACTIVE, "imports": {"status": "active", "packages": ["core_ext"]},
                   "readable files": {"status": "active", "copies": ["core_ext"]}},
                  tasks=["a2.training", "a2.cnn"], other_tasks=False)
    said = dict(describe_protections([naive, fast]))
    assert said["memory"] == "4096 MiB address space"  # alike: said once
    assert said["imports"] == (
        "only the standard library, numpy and the submission's own files (a2.naive and every "
        "other task); only the standard library, numpy and the submission's own files, core_ext "
        "(a2.cnn, a2.training)")
    assert said["readable files"].endswith(
        "; the interpreter, NumPy and the submission, a copy of core_ext (with the libraries it "
        "loaded) (a2.cnn, a2.training)")


def test_a_protection_only_some_workers_report_names_their_tasks():
    landlocked = worker(ACTIVE, tasks=["t.a"], other_tasks=False)
    plain = worker({"memory": {"status": "active", "address_space_mb": 1024}})
    said = dict(describe_protections([landlocked, plain]))
    assert said["readable files"] == "the interpreter, NumPy and the submission"
    assert said["memory"] == ("4096 MiB address space (t.a); 1024 MiB address space "
                              "(every other task)")


@pytest.mark.parametrize("nothing", [[], {}], ids=["no worker", "default result"])
def test_no_worker_started_says_nothing(nothing):
    assert describe_protections(nothing) == []
