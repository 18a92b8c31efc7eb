"""Hidden tests: scaled dot-product attention (unmasked, then with masks), the causal mask,
additive attention and multi-head attention against the reference, every output and every
gradient.

Shapes have Tq != Tk both ways, d != dv, N = 1 and a query of one position; one case per test
draws its shape from the run's seed. The masked cases hold random masks (every query keeps
one key), padding masks (keys past each sample's length), shared (Tq, Tk) masks, the causal
mask, and rows with every key masked (their output and gradients must be exactly 0, not NaN);
one case has scores of size 1e3 (a softmax that is not shifted overflows). Multi-head attention
runs with one head and many (down to d_k = 1), as self-attention and as cross-attention over a
memory of another width, with and without masks.
"""

import numpy as np
import pytest

from grader.compare import check_array, check_forward, expect_tuple
from solutions.a4_attention.hidden_tests.checks import (attention_params, check_backward,
                                                        check_outputs, weight)

# (N, Tq, Tk, d, dv); "seed" draws one from the run's seed
ATTENTION = [(1, 1, 4, 3, 2), (2, 3, 5, 4, 6), (3, 5, 2, 6, 3), (2, 4, 4, 2, 5), "seed"]
# (N, Tq, Tk, d, dv, kind) of the masked cases
MASKED = [(2, 3, 5, 4, 3, "random"), (3, 4, 6, 3, 2, "padding"), (2, 5, 5, 4, 4, "causal"),
          (1, 4, 3, 2, 5, "shared"), (3, 4, 5, 3, 2, "empty rows"), (2, 6, 6, 3, 4, "causal-N")]
# (N, T, Hs, He, A) for additive attention
# (T = 1 would give the softmax nothing to weigh: every gradient but dh 0)
ADDITIVE = [(1, 2, 2, 3, 4), (2, 5, 3, 4, 6), (3, 4, 4, 2, 3), (4, 7, 5, 5, 4)]
# (N, Tq, Tk, D, Dm, heads, mask): self-attention when Tq == Tk and D == Dm and mask != "cross"
MULTIHEAD = [(2, 4, 4, 6, 6, 1, None), (2, 5, 5, 8, 8, 4, None), (1, 3, 3, 6, 6, 6, None),
             (2, 3, 5, 8, 6, 2, None), (3, 4, 2, 6, 4, 3, None), (2, 5, 5, 8, 8, 2, "causal"),
             (3, 3, 4, 4, 6, 2, "padding")]


def case_id(case) -> str:
    return case if isinstance(case, str) else "-".join(str(v) for v in case)


def attention_shape(rng, case):
    """A listed (N, Tq, Tk, d, dv), or one drawn from the seed with Tq != Tk and d != dv."""
    if case != "seed":
        return case
    tq, tk = rng.choice(np.arange(1, 7), 2, replace=False)
    d, dv = rng.choice(np.arange(1, 7), 2, replace=False)
    return int(rng.integers(1, 4)), int(tq), int(tk), int(d), int(dv)


def qkv(rng, n, tq, tk, d, dv, scale=1.0):
    return (scale * rng.standard_normal((n, tq, d)), scale * rng.standard_normal((n, tk, d)),
            rng.standard_normal((n, tk, dv)))


def attention_mask(rng, n, tq, tk, kind):
    """A boolean mask of the kind named, True where a query may attend to a key."""
    if kind in ("causal", "causal-N"):
        causal = np.tril(np.ones((tq, tk), dtype=bool))
        return causal if kind == "causal" else np.broadcast_to(causal, (n, tq, tk)).copy()
    if kind == "padding":  # keys past each sample's length, the same for all its queries
        lengths = rng.integers(1, tk + 1, n)
        lengths[0] = tk - 1
        return np.broadcast_to((np.arange(tk) < lengths[:, None])[:, None, :], (n, tq, tk)).copy()
    keep = rng.random((n, tq, tk) if kind != "shared" else (tq, tk)) < 0.5
    keep[..., 0] = True  # every query keeps a key
    if kind == "empty rows":
        keep[0, 1] = False
        keep[-1, -1] = False
    return keep


def masked_inputs(rng, case):
    n, tq, tk, d, dv, kind = case
    return (*qkv(rng, n, tq, tk, d, dv), attention_mask(rng, n, tq, tk, kind))


# -- a4.attention -----------------------------------------------------------------------------
@pytest.mark.task("a4.attention")
@pytest.mark.points(3)
@pytest.mark.parametrize("case", ATTENTION, ids=case_id)
def test_attention_forward(student, ref, rng, case):
    """scaled_dot_product_attention_forward: out matches the reference (no mask)"""
    check_forward(student, ref, "scaled_dot_product_attention",
                  *qkv(rng, *attention_shape(rng, case)))


@pytest.mark.task("a4.attention")
@pytest.mark.points(1)
def test_attention_forward_large_scores(student, ref, rng):
    """scaled_dot_product_attention_forward with scores of size 1e3: a stable softmax"""
    check_forward(student, ref, "scaled_dot_product_attention", *qkv(rng, 2, 3, 4, 4, 3, 40.0))


@pytest.mark.task("a4.attention")
@pytest.mark.points(5)
@pytest.mark.parametrize("case", ATTENTION, ids=case_id)
def test_attention_backward(student, ref, rng, case):
    """scaled_dot_product_attention_backward: dq, dk and dv match the reference (no mask)"""
    check_backward(student, ref, "scaled_dot_product_attention",
                   qkv(rng, *attention_shape(rng, case)), ("dq", "dk", "dv"), rng)


# -- a4.masking -------------------------------------------------------------------------------
@pytest.mark.task("a4.masking")
@pytest.mark.points(1)
@pytest.mark.parametrize("T", [2, 5, 8])
def test_causal_mask(student, ref, T):
    """causal_mask: (T, T) booleans, True on and below the diagonal"""
    check_array("mask", student.causal_mask(T), ref.causal_mask(T))


@pytest.mark.task("a4.masking")
@pytest.mark.points(3)
@pytest.mark.parametrize("case", MASKED, ids=case_id)
def test_masked_attention_forward(student, ref, rng, case):
    """scaled_dot_product_attention_forward with a mask: out matches the reference"""
    check_forward(student, ref, "scaled_dot_product_attention", *masked_inputs(rng, case))


@pytest.mark.task("a4.masking")
@pytest.mark.points(4)
@pytest.mark.parametrize("case", MASKED, ids=case_id)
def test_masked_attention_backward(student, ref, rng, case):
    """scaled_dot_product_attention_backward with a mask: dq, dk and dv match the reference"""
    check_backward(student, ref, "scaled_dot_product_attention", masked_inputs(rng, case),
                   ("dq", "dk", "dv"), rng)


@pytest.mark.task("a4.masking")
@pytest.mark.points(2)
def test_fully_masked_queries_and_keys_get_exact_zeros(student, ref, rng):
    """a query with every key masked outputs exactly 0 and a key no query sees gets dk = dv = 0,
    without NaN; everything else matches the reference"""
    q, k, v = qkv(rng, 2, 4, 5, 3, 2)
    mask = rng.random((2, 4, 5)) < 0.6
    mask[:, :, 0] = True
    mask[1, 2] = False  # query 2 of sample 1 sees nothing
    mask[0, :, 3] = False  # no query of sample 0 sees key 3
    ref_out, ref_cache = ref.scaled_dot_product_attention_forward(q, k, v, mask)
    out, cache = student.forward("scaled_dot_product_attention_forward", q, k, v, mask)
    check_array("out", out, ref_out)
    check_array("out[1, 2] (every key masked)", out[1, 2], np.zeros(2), rtol=0.0, atol=0.0)
    dout = rng.standard_normal(ref_out.shape)
    got = expect_tuple(student.scaled_dot_product_attention_backward(dout, cache),
                       ("dq", "dk", "dv"), "scaled_dot_product_attention_backward")
    for name, g, e in zip(("dq", "dk", "dv"), got,
                          ref.scaled_dot_product_attention_backward(dout, ref_cache), strict=True):
        check_array(name, g, e)
    dq, dk, dv = got
    check_array("dq[1, 2] (every key masked)", dq[1, 2], np.zeros(3), rtol=0.0, atol=0.0)
    check_array("dk[0, 3] (a key no query attends to)", dk[0, 3], np.zeros(3), rtol=0.0,
                atol=0.0)
    check_array("dv[0, 3] (a key no query attends to)", dv[0, 3], np.zeros(2), rtol=0.0,
                atol=0.0)


# -- a4.additive ------------------------------------------------------------------------------
def additive_inputs(rng, case):
    n, t, hs, he, a = case
    params = {"W_s": weight(rng, (hs, a)), "W_h": weight(rng, (he, a)),
              "b": 0.3 * rng.standard_normal(a), "v": rng.standard_normal(a)}
    return rng.standard_normal((n, hs)), rng.standard_normal((n, t, he)), params


@pytest.mark.task("a4.additive")
@pytest.mark.points(3)
@pytest.mark.parametrize("case", ADDITIVE, ids=case_id)
def test_additive_attention_forward(student, ref, rng, case):
    """additive_attention_forward: the context matches the reference"""
    check_forward(student, ref, "additive_attention", *additive_inputs(rng, case))


@pytest.mark.task("a4.additive")
@pytest.mark.points(5)
@pytest.mark.parametrize("case", ADDITIVE, ids=case_id)
def test_additive_attention_backward(student, ref, rng, case):
    """additive_attention_backward: ds, dh and every parameter's gradient match the reference"""
    check_backward(student, ref, "additive_attention", additive_inputs(rng, case),
                   ("ds", "dh", "grads"), rng)


# (N, T, Hs, He, A, kind) of the masked cases: "random" masks with one sample's every step
# masked, "padding" masks of variable-length sources (each sample's first lengths[n] steps)
ADDITIVE_MASKED = [(3, 5, 3, 4, 6, "random"), (4, 6, 4, 3, 5, "padding"),
                   (2, 4, 2, 5, 3, "random"), (3, 7, 5, 4, 4, "padding")]


def additive_mask(rng, n, t, kind):
    if kind == "padding":
        lengths = rng.integers(1, t + 1, size=n)
        lengths[0] = t  # one full-length source, one of a single step
        lengths[-1] = 1
        return np.arange(t)[None, :] < lengths[:, None]
    mask = rng.random((n, t)) < 0.6
    mask[:, 0] = True
    mask[:, -1] = True  # (with the last step masked a W_s gradient taken there is 0, as is the
    # W_s gradient without tanh's derivative: the softmax's gradient sums to 0 over t)
    mask[-1] = False  # the last sample may attend to nothing
    return mask


def additive_masked_inputs(rng, case):
    *shape, kind = case
    s, h, params = additive_inputs(rng, tuple(shape))
    return s, h, params, additive_mask(rng, shape[0], shape[1], kind)


@pytest.mark.task("a4.additive")
@pytest.mark.points(2)
@pytest.mark.parametrize("case", ADDITIVE_MASKED, ids=case_id)
def test_masked_additive_attention_forward(student, ref, rng, case):
    """additive_attention_forward with a mask (N, T): the context matches the reference"""
    check_forward(student, ref, "additive_attention", *additive_masked_inputs(rng, case))


@pytest.mark.task("a4.additive")
@pytest.mark.points(3)
@pytest.mark.parametrize("case", ADDITIVE_MASKED, ids=case_id)
def test_masked_additive_attention_backward(student, ref, rng, case):
    """additive_attention_backward after a masked forward: ds, dh and every parameter's
    gradient match the reference"""
    check_backward(student, ref, "additive_attention", additive_masked_inputs(rng, case),
                   ("ds", "dh", "grads"), rng)


@pytest.mark.task("a4.additive")
@pytest.mark.points(2)
def test_masked_additive_steps_get_exact_zeros(student, ref, rng):
    """a masked encoder step gets dh = 0 exactly, a sample with every step masked a zero
    context and ds = 0, without NaN; everything else matches the reference"""
    s, h, params = additive_inputs(rng, (3, 5, 3, 4, 6))
    mask = np.ones((3, 5), dtype=bool)
    mask[0, 3:] = False  # a shorter source: steps 3 and 4 are padding
    mask[2] = False  # every step masked
    ref_context, ref_cache = ref.additive_attention_forward(s, h, params, mask)
    context, cache = student.forward("additive_attention_forward", s, h, params, mask)
    check_array("context", context, ref_context)
    check_array("context[2] (every step masked)", context[2], np.zeros(4), rtol=0.0, atol=0.0)
    dcontext = rng.standard_normal(ref_context.shape)
    got = expect_tuple(student.additive_attention_backward(dcontext, cache),
                       ("ds", "dh", "grads"), "additive_attention_backward")
    check_outputs(got, ref.additive_attention_backward(dcontext, ref_cache),
                  ("ds", "dh", "grads"), "additive_attention_backward")
    ds, dh, _ = got
    check_array("dh[0, 3:] (padding)", dh[0, 3:], np.zeros((2, 4)), rtol=0.0, atol=0.0)
    check_array("dh[2] (every step masked)", dh[2], np.zeros((5, 4)), rtol=0.0, atol=0.0)
    check_array("ds[2] (every step masked)", ds[2], np.zeros(3), rtol=0.0, atol=0.0)


# -- a4.multihead -----------------------------------------------------------------------------
def multihead_inputs(rng, case):
    n, tq, tk, d, dm, heads, kind = case
    x_q = rng.standard_normal((n, tq, d))
    self_attention = tq == tk and d == dm and kind != "padding"
    x_kv = x_q if self_attention else rng.standard_normal((n, tk, dm))
    mask = None if kind is None else attention_mask(rng, n, tq, tk, kind)
    return x_q, x_kv, attention_params(rng, d, dm), heads, mask


@pytest.mark.task("a4.multihead")
@pytest.mark.points(3)
@pytest.mark.parametrize("case", MULTIHEAD, ids=case_id)
def test_multihead_attention_forward(student, ref, rng, case):
    """multihead_attention_forward: out matches the reference (one head and many, self and
    cross, masked)"""
    check_forward(student, ref, "multihead_attention", *multihead_inputs(rng, case))


@pytest.mark.task("a4.multihead")
@pytest.mark.points(6)
@pytest.mark.parametrize("case", MULTIHEAD, ids=case_id)
def test_multihead_attention_backward(student, ref, rng, case):
    """multihead_attention_backward: dx_q, dx_kv and the eight parameter gradients match the
    reference"""
    check_backward(student, ref, "multihead_attention", multihead_inputs(rng, case),
                   ("dx_q", "dx_kv", "grads"), rng)
