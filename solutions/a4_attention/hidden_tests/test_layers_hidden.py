"""Hidden tests: the positional encodings, layer norm over the last axis, GELU and the
position-wise FFN (ReLU and GELU) against the reference, and dropout by what every correct mask
satisfies.

The sinusoidal encoding is checked up to position 63 with odd D too; learned embeddings use
fewer positions than the table holds (the unused rows get zero gradient). Layer norm runs on
(N, T, D) and (N, D) inputs, away from zero mean and unit variance, with the default eps and
another. GELU is compared where the tanh approximation differs from the exact erf form by more
than the tolerance (|x| around 2 and 3) and far out (|x| = 8, where erf saturates).
"""

import numpy as np
import pytest

from grader.compare import Mismatch, check_array, check_forward, expect_tuple
from solutions.a4_attention.hidden_tests.checks import check_backward, weight

SINUSOIDS = [(4, 6), (9, 5), (64, 16), (3, 1)]
# (N, T, T_max, D)
EMBEDDINGS = [(2, 3, 5, 4), (1, 4, 4, 3), (3, 2, 7, 2)]
# x's shape and ln_param
LAYERNORMS = [((2, 3, 4), {}), ((1, 5, 6), {}), ((4, 2, 3), {"eps": 1e-3}), ((5, 7), {})]
GELUS = [(3, 4), (2, 3, 5)]
# (N, T, D, F)
FFNS = [(2, 3, 4, 8), (1, 4, 3, 5), (3, 2, 5, 7)]
ACTIVATIONS = ["relu", "gelu"]
# (shape of x, p = probability of keeping); p != 0.5 so that p and 1 - p are told apart
DROPOUTS = [((4, 50, 100), 0.9), ((200, 10, 16), 0.7), ((1, 64, 300), 0.35)]
SIGMAS = 5


def case_id(case) -> str:
    """E.g. 2x3x4 for a shape, 2x3x4-eps for a layer norm's own eps, 4x50x100-p0.9."""
    if all(isinstance(v, int) for v in case):
        return "x".join(map(str, case))
    shape, extra = case
    return "x".join(map(str, shape)) + ("" if extra == {} else "-eps" if isinstance(extra, dict)
                                        else f"-p{extra}")


# -- a4.positional ----------------------------------------------------------------------------
@pytest.mark.task("a4.positional")
@pytest.mark.points(3)
@pytest.mark.parametrize("case", SINUSOIDS, ids=case_id)
def test_sinusoidal_positional_encoding(student, ref, case):
    """sinusoidal_positional_encoding: P matches the reference (sines even, cosines odd)"""
    check_array("P", student.sinusoidal_positional_encoding(*case),
                ref.sinusoidal_positional_encoding(*case))


def embedding_inputs(rng, case):
    n, t, t_max, d = case
    return rng.standard_normal((n, t, d)), rng.standard_normal((t_max, d))


@pytest.mark.task("a4.positional")
@pytest.mark.points(1)
@pytest.mark.parametrize("case", EMBEDDINGS, ids=case_id)
def test_position_embedding_forward(student, ref, rng, case):
    """position_embedding_forward: out matches the reference"""
    check_forward(student, ref, "position_embedding", *embedding_inputs(rng, case))


@pytest.mark.task("a4.positional")
@pytest.mark.points(2)
@pytest.mark.parametrize("case", EMBEDDINGS, ids=case_id)
def test_position_embedding_backward(student, ref, rng, case):
    """position_embedding_backward: dx and dW_pos (summed over the batch, 0 for unused rows)"""
    args = embedding_inputs(rng, case)
    dout = rng.standard_normal(args[0].shape)
    _, cache = student.forward("position_embedding_forward", *args)
    dx, dW_pos = expect_tuple(student.position_embedding_backward(dout, cache), ("dx", "dW_pos"),
                              "position_embedding_backward")
    expected = ref.position_embedding_backward(dout, ref.position_embedding_forward(*args)[1])
    # one verdict for both: dx = dout is also what a backward that returns its input gives
    check_array("dW_pos", dW_pos, expected[1])
    check_array("dx", dx, expected[0])


# -- a4.layernorm -----------------------------------------------------------------------------
def layernorm_inputs(rng, case):
    shape, ln_param = case
    d = shape[-1]
    x = 3.0 * rng.standard_normal(shape) + rng.standard_normal(d)
    return x, 1.0 + 0.5 * rng.standard_normal(d), rng.standard_normal(d), dict(ln_param)


@pytest.mark.task("a4.layernorm")
@pytest.mark.points(2)
@pytest.mark.parametrize("case", LAYERNORMS, ids=case_id)
def test_layernorm_forward(student, ref, rng, case):
    """layernorm_forward: out matches the reference (over the last axis)"""
    check_forward(student, ref, "layernorm", *layernorm_inputs(rng, case))


@pytest.mark.task("a4.layernorm")
@pytest.mark.points(4)
@pytest.mark.parametrize("case", LAYERNORMS, ids=case_id)
def test_layernorm_backward(student, ref, rng, case):
    """layernorm_backward: dx, dgamma and dbeta match the reference"""
    check_backward(student, ref, "layernorm", layernorm_inputs(rng, case),
                   ("dx", "dgamma", "dbeta"), rng)


# -- a4.ffn -----------------------------------------------------------------------------------
def gelu_input(rng, shape):
    """Values where the tanh approximation is off (|x| ~ 2, 3), far out (8) and near 0."""
    x = rng.standard_normal(shape)
    x.flat[:6] = [2.0, -2.2, 3.0, -3.1, 8.0, -8.0]
    return x


@pytest.mark.task("a4.ffn")
@pytest.mark.points(2)
@pytest.mark.parametrize("shape", GELUS, ids=lambda s: "x".join(map(str, s)))
def test_gelu_forward(student, ref, rng, shape):
    """gelu_forward: out matches the reference (the exact erf form)"""
    check_forward(student, ref, "gelu", gelu_input(rng, shape))


@pytest.mark.task("a4.ffn")
@pytest.mark.points(2)
@pytest.mark.parametrize("shape", GELUS, ids=lambda s: "x".join(map(str, s)))
def test_gelu_backward(student, ref, rng, shape):
    """gelu_backward: dx matches the reference"""
    check_backward(student, ref, "gelu", (gelu_input(rng, shape),), ("dx",), rng)


def ffn_inputs(rng, case, activation):
    n, t, d, f = case
    return (rng.standard_normal((n, t, d)), weight(rng, (d, f)), 0.3 * rng.standard_normal(f),
            weight(rng, (f, d)), 0.3 * rng.standard_normal(d), activation)


@pytest.mark.task("a4.ffn")
@pytest.mark.points(2)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("case", FFNS, ids=case_id)
def test_ffn_forward(student, ref, rng, case, activation):
    """ffn_forward: out matches the reference, ReLU and GELU"""
    check_forward(student, ref, "ffn", *ffn_inputs(rng, case, activation))


@pytest.mark.task("a4.ffn")
@pytest.mark.points(4)
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("case", FFNS, ids=case_id)
def test_ffn_backward(student, ref, rng, case, activation):
    """ffn_backward: dx, dW1, db1, dW2 and db2 match the reference, ReLU and GELU"""
    check_backward(student, ref, "ffn", ffn_inputs(rng, case, activation),
                   ("dx", "dW1", "db1", "dW2", "db2"), rng)


# -- a4.dropout: any generator is accepted, so the mask itself is never compared --------------
def nonzero_inputs(rng, shape):
    """Values with |x| in [0.5, 2]: an output of 0 can only come from the mask."""
    return rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def kept_units(out, x, p):
    """The mask the student's forward applied; every output must be 0 or exactly x / p."""
    __tracebackhide__ = True
    if not isinstance(out, np.ndarray) or out.shape != x.shape:
        check_array("out", out, x)  # explains the wrong type or shape
    kept = out != 0
    wrong = kept & ~np.isclose(out, x / p, rtol=1e-12, atol=0.0)
    if wrong.any():
        i = tuple(int(k) for k in np.argwhere(wrong)[0])
        raise Mismatch(f"out{list(i)} = {out[i]:.6g} is neither 0 nor x / p = {x[i] / p:.6g} "
                       f"(x = {x[i]:.6g}, p = {p}): kept units must be divided by p")
    return kept


@pytest.mark.task("a4.dropout")
@pytest.mark.points(2)
@pytest.mark.parametrize("case", DROPOUTS, ids=case_id)
def test_dropout_forward_and_backward(student, rng, case):
    """dropout (train): each output 0 or x / p, a fraction ~p kept, dx = dout * mask / p; the
    same seed gives the same mask; test mode is the identity"""
    shape, p = case
    x, dout = nonzero_inputs(rng, shape), rng.standard_normal(shape)
    seed = int(rng.integers(2**31))
    out, cache = student.forward("dropout_forward", x, {"p": p, "mode": "train", "seed": seed})
    kept = kept_units(out, x, p)
    sigma = np.sqrt(p * (1 - p) / kept.size)
    if abs(kept.mean() - p) > SIGMAS * sigma:
        raise Mismatch(f"kept a fraction {kept.mean():.4f} of {kept.size} units with p = {p}; "
                       f"expected {p} ± {SIGMAS * sigma:.4f} (p is the probability of KEEPING)")
    check_array("dx", student.dropout_backward(dout, cache), dout * kept / p, rtol=1e-12)
    again, _ = student.forward("dropout_forward", x, {"p": p, "mode": "train", "seed": seed})
    check_array("out (a second call with the same seed)", again, out, rtol=0.0, atol=0.0)
    other, _ = student.forward("dropout_forward", x, {"p": p, "mode": "train", "seed": seed + 1})
    if np.array_equal(kept_units(other, x, p), kept):
        raise Mismatch(f"seeds {seed} and {seed + 1} gave the same mask; the seed must drive it")
    out, cache = student.forward("dropout_forward", x, {"p": p, "mode": "test"})
    check_array("out (test mode)", out, x, rtol=0.0, atol=0.0)
    check_array("dx (test mode)", student.dropout_backward(dout, cache), dout, rtol=0.0,
                atol=0.0)
