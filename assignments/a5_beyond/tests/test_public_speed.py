"""Public check for A5's graded speed (task a5.distances_speed): your no-loop distances at least
20 times faster than your own two-loop form, on random data drawn from the run's --seed, both
timed by the grader one after the other in the same worker. Run it with
`layerlab check a5 --task a5.distances_speed`. The grade times the same at the same size.
"""

import numpy as np
import pytest

from grader.compare import Mismatch, check_array

SHAPE = (100, 500, 64)
GOAL = 20.0


@pytest.mark.task("a5.distances_speed")
@pytest.mark.points(1)
@pytest.mark.timeout(300)
def test_no_loops_is_fast(student, rng, record_note):
    """compute_distances_no_loops: correct, and at least 20x faster than your two loops"""
    num_test, num_train, d = SHAPE
    X_test, X_train = rng.random((num_test, d)), rng.random((num_train, d))
    expected = np.sqrt(((X_test[:, None] - X_train[None]) ** 2).sum(axis=2))
    student.compute_distances_no_loops(X_test[:1], X_train[:1])  # the module imported
    seconds = {}
    with student.timeout(60):
        for form in ("compute_distances_two_loops", "compute_distances_no_loops"):
            runs = []
            for _ in range(2):
                dists, took = student.timed(form, X_test, X_train)
                check_array(form, dists, expected, atol=1e-6)
                runs.append(took)
            seconds[form] = min(runs)
    ratio = seconds["compute_distances_two_loops"] / seconds["compute_distances_no_loops"]
    record_note(f"no loops {seconds['compute_distances_no_loops'] * 1e3:.1f} ms, two loops "
                f"{seconds['compute_distances_two_loops'] * 1e3:.0f} ms: {ratio:.3g}x faster "
                f"(at least {GOAL:g}x needed)")
    if ratio < GOAL:
        raise Mismatch(f"your no-loop distances are {ratio:.1f}x faster than your two loops "
                       f"({seconds['compute_distances_no_loops'] * 1e3:.1f} ms against "
                       f"{seconds['compute_distances_two_loops'] * 1e3:.0f} ms); expected at "
                       f"least {GOAL:g}x")
