"""Public checks for inverted dropout (a1.dropout): a worked example of both modes and the
numerical gradient of your own forward (on inputs drawn from the run's --seed). Run them with
`layerlab check a1`; the grade also uses hidden tests on large inputs and several keep
probabilities.
"""

import numpy as np
import pytest

from grader.compare import Mismatch, check_array
from grader.numeric import check_against_numerical_gradients, forward_first

pytestmark = pytest.mark.task("a1.dropout")


def check_dropout_example(student):
    __tracebackhide__ = True
    x = np.linspace(1.0, 2.0, 10000).reshape(100, 100)
    out, _ = student.forward("dropout_forward", x, {"p": 0.75, "mode": "test"})
    check_array("out (test mode)", out, x)
    out, _ = student.forward("dropout_forward", x, {"p": 0.75, "mode": "train", "seed": 0})
    kept = out != 0 if isinstance(out, np.ndarray) and out.shape == x.shape else True
    check_array("out (train mode)", out, np.where(kept, x / 0.75, 0.0))
    if abs(kept.mean() - 0.75) > 0.03:
        raise Mismatch(f"kept a fraction {kept.mean():.3f} of the units with p = 0.75; "
                       "p is the probability of KEEPING a unit")


@pytest.mark.points(1)
def test_dropout_modes(student):
    """dropout_forward: test mode returns x; train mode keeps ~p of the units, divided by p"""
    check_dropout_example(student)


@pytest.mark.points(1)
def test_dropout_backward_numerical(student, rng):
    """dropout_backward: dx agrees with numerical gradients of your forward (fixed seed)"""
    with forward_first("dropout_forward on the worked example"):
        check_dropout_example(student)
    x, dout = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    param = {"p": 0.6, "mode": "train", "seed": int(rng.integers(2**31))}
    check_against_numerical_gradients(student, "dropout_forward", "dropout_backward",
                                      (x, param), ("dx",), dout)
