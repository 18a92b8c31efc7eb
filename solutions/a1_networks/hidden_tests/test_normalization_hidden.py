"""Hidden tests: batch and layer normalisation against the reference, every output and gradient,
and the running statistics batch normalisation keeps in bn_param."""

import copy

import pytest

from grader.compare import (Mismatch, check_array, check_backward, check_forward, expect_tuple,
                            outputs)

# (N, D, extra params); batch norm needs N >= 2 in train mode (one sample has no variance)
BN_CASES = [(2, 3, {}), (5, 4, {"eps": 1e-2}), (16, 7, {}), (3, 1, {"eps": 1e-3})]
LN_CASES = [(1, 6, {}), (4, 7, {"eps": 1e-2}), (8, 13, {}), (2, 40, {"eps": 1e-3})]
GRADS = ("dx", "dgamma", "dbeta")


def case_id(case):
    n, d, extra = case
    return f"{n}x{d}" + "".join(f"-{k}{v:g}" for k, v in extra.items())


def inputs(rng, n, d):
    """Features with their own offsets and scales, so that the mean and variance matter."""
    x = rng.standard_normal((n, d)) * rng.uniform(0.5, 3.0, d) + rng.uniform(-4.0, 4.0, d)
    gamma = rng.uniform(0.5, 2.0, d) * rng.choice([-1.0, 1.0], d)
    return x, gamma, rng.standard_normal(d)


def stat(bn_param, key, after):
    __tracebackhide__ = True
    if not isinstance(bn_param, dict) or key not in bn_param:
        raise Mismatch(f"bn_param has no '{key}' {after}: store the running statistics in it")
    return bn_param[key]


@pytest.mark.task("a1.batchnorm")
@pytest.mark.points(3)
@pytest.mark.parametrize("case", BN_CASES, ids=case_id)
def test_batchnorm_forward_train(student, ref, rng, case):
    """batchnorm_forward (train): out matches the reference (batch mean, biased variance)"""
    n, d, extra = case
    check_forward(student, ref, "batchnorm", *inputs(rng, n, d), {"mode": "train", **extra})


@pytest.mark.task("a1.batchnorm")
@pytest.mark.points(5)
@pytest.mark.parametrize("case", BN_CASES, ids=case_id)
def test_batchnorm_backward(student, ref, rng, case):
    """batchnorm_backward: dx, dgamma and dbeta match the reference (train mode)"""
    n, d, extra = case
    check_backward(student, ref, "batchnorm", (*inputs(rng, n, d), {"mode": "train", **extra}),
                   GRADS, rng.standard_normal((n, d)))


@pytest.mark.task("a1.batchnorm")
@pytest.mark.points(4)
@pytest.mark.parametrize("n,d,extra", [(6, 5, {}), (9, 3, {"momentum": 0.6})],
                         ids=["defaults", "momentum0.6-given-stats"])
def test_batchnorm_running_stats(student, ref, rng, n, d, extra):
    """batchnorm_forward: train steps update running_mean/var in bn_param; test mode uses them"""
    x, gamma, beta = inputs(rng, n, d)
    bn_param = {"mode": "train", **extra}
    if extra:  # this case starts from given statistics instead of zeros
        bn_param.update(running_mean=rng.standard_normal(d), running_var=rng.uniform(0.5, 2.0, d))
    with outputs() as checks:  # running_mean, running_var and the test-mode out
        ref_param = copy.deepcopy(bn_param)
        for step in range(1, 4):
            x = x + rng.standard_normal((n, d))
            result, args = student.with_args("batchnorm_forward", x, gamma, beta, bn_param)
            expect_tuple(result, ("out", "cache"), "batchnorm_forward")
            bn_param = args[3]
            ref.batchnorm_forward(x, gamma, beta, ref_param)
            for key in ("running_mean", "running_var"):
                with checks.part(key):
                    check_array(f"bn_param['{key}'] after train step {step}",
                                stat(bn_param, key, f"after train step {step}"), ref_param[key])
        bn_param["mode"] = ref_param["mode"] = "test"
        expected = {k: ref_param[k].copy() for k in ("running_mean", "running_var")}
        x = rng.standard_normal((n, d))
        result, args = student.with_args("batchnorm_forward", x, gamma, beta, bn_param)
        bn_param = args[3]
        out, _ = expect_tuple(result, ("out", "cache"), "batchnorm_forward")
        with checks.part("out"):
            check_array("out (test mode)", out, ref.batchnorm_forward(x, gamma, beta, ref_param)[0])
        for key, value in expected.items():
            with checks.part(key):
                check_array(f"bn_param['{key}'] after a test-mode call (must not change)",
                            stat(bn_param, key, "after a test-mode call"), value)


@pytest.mark.task("a1.batchnorm")
@pytest.mark.points(2)
@pytest.mark.parametrize("n,d", [(1, 4), (5, 3), (12, 6)], ids=["1x4", "5x3", "12x6"])
def test_batchnorm_forward_test(student, ref, rng, n, d):
    """batchnorm_forward (test): out uses the given running statistics, not the batch's"""
    bn_param = {"mode": "test", "running_mean": rng.standard_normal(d),
                "running_var": rng.uniform(0.2, 3.0, d)}
    check_forward(student, ref, "batchnorm", *inputs(rng, n, d), bn_param)


@pytest.mark.task("a1.layernorm")
@pytest.mark.points(3)
@pytest.mark.parametrize("case", LN_CASES, ids=case_id)
def test_layernorm_forward(student, ref, rng, case):
    """layernorm_forward: out matches the reference (each sample over its features)"""
    n, d, extra = case
    check_forward(student, ref, "layernorm", *inputs(rng, n, d), dict(extra))


@pytest.mark.task("a1.layernorm")
@pytest.mark.points(5)
@pytest.mark.parametrize("case", LN_CASES, ids=case_id)
def test_layernorm_backward(student, ref, rng, case):
    """layernorm_backward: dx, dgamma and dbeta match the reference"""
    n, d, extra = case
    check_backward(student, ref, "layernorm", (*inputs(rng, n, d), dict(extra)), GRADS,
                   rng.standard_normal((n, d)))
