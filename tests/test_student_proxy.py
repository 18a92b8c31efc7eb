"""The student proxy: objects kept in the worker, arguments updated in place, per-block timeouts."""

import numpy as np
import pytest

from grader.student import Student
from grader.session import StudentError, WorkerSession
from grader.wire import Handle

SOURCE = '''
import time
import numpy as np

class Net:
    def __init__(self, hidden, seed=0):
        self.params = {"W": np.random.default_rng(seed).standard_normal((2, hidden))}
        self.steps = 0

    def train(self, X, seconds):
        time.sleep(seconds)
        self.steps += 1
        return float(X.sum())

def square_forward(x, seconds=0.0):
    time.sleep(seconds)
    print("called")
    return x ** 2, {"x": x, "big": np.zeros(10)}

def frozen_clock_square(x, seconds):
    # a submission that stops its own clocks to look fast
    time.perf_counter = time.monotonic = time.time = lambda: 0.0
    time.sleep(seconds)
    return x ** 2

def batchnorm_forward(x, bn_param):
    bn_param["running_mean"] = 0.9 * bn_param.get("running_mean", 0.0) + 0.1 * x.mean(axis=0)
    return x - x.mean(axis=0), None
'''


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sub")
    (folder / "model.py").write_text(SOURCE)
    session = WorkerSession(folder)
    session.limits.call_timeout = 1.0
    yield Student(session, {"Net": "model", "batchnorm_forward": "model",
                            "square_forward": "model", "frozen_clock_square": "model"})
    session.close()


def test_objects_stay_in_the_worker_and_answer_methods_and_attributes(student):
    net = student.new("Net", 3, seed=1)
    assert isinstance(net, Handle)
    params = student.attr(net, "params")
    np.testing.assert_array_equal(params["W"], np.random.default_rng(1).standard_normal((2, 3)))
    assert student.method(net, "train", np.ones((2, 2)), 0.0) == 4.0
    assert student.attr(net, "steps") == 1


def test_missing_method_and_attribute_are_explained(student):
    net = student.new("Net", 2)
    with pytest.raises(StudentError, match="Net has no method 'fit'"):
        student.method(net, "fit")
    with pytest.raises(StudentError, match=r"reading \.weights of Net failed"):
        student.attr(net, "weights")


def test_with_args_returns_parameter_dicts_as_the_call_left_them(student):
    x = np.arange(6.0).reshape(3, 2)
    (out, _), (x_after, bn_param) = student.with_args("batchnorm_forward", x, {"mode": "train"})
    np.testing.assert_allclose(bn_param["running_mean"], 0.1 * x.mean(axis=0))
    assert bn_param["mode"] == "train"
    np.testing.assert_array_equal(x_after, x)


def test_timed_measures_the_round_trip_in_the_grader_whatever_the_worker_does_to_its_clock(
        student):
    student.frozen_clock_square(np.ones(2), 0.0)  # imported and the worker's clocks stopped
    value, seconds = student.timed("frozen_clock_square", np.arange(3.0), 0.3)
    np.testing.assert_array_equal(value, [0.0, 1.0, 4.0])
    assert 0.3 <= seconds < 0.9
    _, quick = student.timed("frozen_clock_square", np.ones(2), 0.0)
    assert 0 < quick < 0.2


def test_timeout_block_allows_longer_calls_then_restores_the_limit(student):
    net = student.new("Net", 2)
    with student.timeout(5.0):
        assert student.method(net, "train", np.ones(1), 1.5) == 1.0
    with pytest.raises(StudentError, match="timed out after 1 s"):
        student.method(student.new("Net", 2), "train", np.ones(1), 1.5)


def test_many_calls_go_in_requests_of_a_chunk_each_and_pick_their_output(student):
    session = student._session
    before = len(session.calls)
    points = [(np.array([float(i), 2.0]),) for i in range(5)]
    values = student.many("square_forward", points, pick=0, chunk=2)
    assert [v.tolist() for v in values] == [[float(i) ** 2, 4.0] for i in range(5)]
    assert len(session.calls) - before == 3  # 5 calls in requests of 2, 2 and 1
    assert session.calls[-1].output == "called\n"
    whole = student.many("square_forward", points[:1])
    assert isinstance(whole[0], tuple) and whole[0][1]["big"].shape == (10,)


def test_a_hanging_call_among_many_times_out_once(student):
    calls = [(np.ones(2), 0.0), (np.ones(2), 5.0)]
    with pytest.raises(StudentError, match="timed out"):
        student.many("square_forward", calls, pick=0)
    with pytest.raises(StudentError, match="in an earlier test; not run again"):
        student.square_forward(np.ones(2))
