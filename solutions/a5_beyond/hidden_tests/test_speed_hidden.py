"""Hidden test: graded speed. The no-loop distances must be at least 20 times faster than the
student's own two-loop form on the same input, both timed one after the other in the same
worker (a ratio within one process, so the machine's speed does not matter).

The clock is the grader's: student.timed measures time.perf_counter() around each call's round
trip in the trusted process (code in the worker can patch its own clock). Each form is timed
REPEATS times, alternately, and the fastest of each counts (a busy machine only slows a run).
At 100 x 500 rows of 64 features the reference's two loops take 0.3 to 0.6 s and its no-loop
form 1 ms alone, 3 to 8 ms with the round trip on a loaded machine: measured ratios 68 to 168
(one loop over the test rows: 27 to 32; the two loops again: about 1). Passed or failed, the
report shows both times and the ratio (record_note).
"""

import numpy as np
import pytest

from grader.compare import Mismatch, check_array

SHAPE = (100, 500, 64)  # num_test, num_train, D: the handout's size
GOAL = 20.0
REPEATS = 3


def speed_ratio(student, rng, shape, repeats):
    """(ratio, two-loop seconds, no-loop seconds): the fastest of `repeats` alternate runs of
    each form on the same input, both checked against the exact distances first."""
    num_test, num_train, d = shape
    X_test, X_train = rng.random((num_test, d)), rng.random((num_train, d))
    X_test[0] = X_train[3]  # a distance of exactly 0
    expected = np.sqrt(((X_test[:, None] - X_train[None]) ** 2).sum(axis=2))
    forms = ("compute_distances_two_loops", "compute_distances_no_loops")
    seconds = {form: [] for form in forms}
    for form in forms:  # imports the module: the timed calls below do not
        check_array(f"{form} (small input)", getattr(student, form)(X_test[:2], X_train[:3]),
                    expected[:2, :3], atol=1e-6)
    with student.timeout(60):
        for _ in range(repeats):
            for form in forms:
                dists, took = student.timed(form, X_test, X_train)
                check_array(f"{form} ({num_test} x {num_train} rows)", dists, expected,
                            atol=1e-6)
                seconds[form].append(took)
    two, none = (min(seconds[form]) for form in forms)
    return two / none, two, none


@pytest.mark.task("a5.distances_speed")
@pytest.mark.points(4)
@pytest.mark.timeout(300)
def test_no_loops_is_20_times_faster_than_two_loops(student, rng, record_note):
    """compute_distances_no_loops: at least 20x faster than your two loops (100 x 500 x 64)"""
    ratio, two, none = speed_ratio(student, rng, SHAPE, REPEATS)
    record_note(speed_note(ratio, two, none))
    if ratio < GOAL:
        raise Mismatch(f"compute_distances_no_loops is only {ratio:.3g}x faster than your "
                       f"compute_distances_two_loops on {SHAPE[0]} x {SHAPE[1]} rows of "
                       f"{SHAPE[2]} features (the fastest of {REPEATS} runs each); expected at "
                       f"least {GOAL:g}x (the reference: 70x to 170x; one loop over the test "
                       "rows gives about 30x)")


def speed_note(ratio: float, two: float, none: float) -> str:
    """The report's line, passed or failed: both times (the grader's clock) and the ratio."""
    return (f"no loops {none * 1e3:.1f} ms, two loops {two * 1e3:.0f} ms: {ratio:.3g}x faster "
            f"(at least {GOAL:g}x needed)")
