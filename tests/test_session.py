"""The session's side of the conversation: requests the worker cannot serve, replies over the
size limit, calls over the deadline, each turned into the error the student sees."""

import numpy as np
import pytest

from grader.session import StudentError, WorkerSession
from grader.spec import Limits

SOURCE = '''
import time
import numpy as np

def echo(x):
    return x

def megabytes(n):
    return np.zeros(n << 17)  # n MiB of float64

def nap(seconds):
    time.sleep(seconds)
'''


@pytest.fixture
def session(tmp_path):
    (tmp_path / "m.py").write_text(SOURCE)
    session = WorkerSession(tmp_path, Limits(call_timeout=1.0, max_reply_mb=1))
    yield session
    session.close()


def test_unknown_op_gets_a_protocol_error_and_the_worker_keeps_serving(session):
    session.ensure_started()
    generation = session.generation
    with pytest.raises(StudentError, match="bad request: unknown op 'ping'") as info:
        session._request({"op": "ping"}, "pinging")
    assert info.value.kind == "protocol"
    assert session.call("m", "echo", (3,), {}) == 3
    assert session.generation == generation, "the same worker answered"


def test_reply_over_the_size_limit_is_a_protocol_error_and_restarts_the_worker(session):
    assert session.call("m", "megabytes", (0,), {}).size == 0
    generation = session.generation
    with pytest.raises(StudentError, match="the reply while calling megabytes was 2 MiB, "
                       "over the 1 MiB limit") as info:
        session.call("m", "megabytes", (2,), {})
    assert info.value.kind == "protocol"
    np.testing.assert_array_equal(session.call("m", "echo", (np.ones(2),), {}), np.ones(2))
    assert session.generation == generation + 1


def test_call_over_the_deadline_times_out_and_is_not_run_again(session):
    with pytest.raises(StudentError, match=r"^timed out after 1 s$") as info:
        session.call("m", "nap", (5,), {})
    assert info.value.kind == "timeout"
    with pytest.raises(StudentError, match="nap timed out after 1 s in an earlier test"):
        session.call("m", "nap", (0,), {})
    with session.timeout(3):
        assert session.call("m", "echo", (1,), {}) == 1
    assert session.limits.call_timeout == 1.0

