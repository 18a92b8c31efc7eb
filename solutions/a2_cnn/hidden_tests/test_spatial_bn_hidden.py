"""Hidden tests: spatial batch normalisation against the reference, every output and gradient,
and the running statistics it keeps in bn_param.

Statistics are per channel over N, H and W: the shapes have N >= 2 and H * W >= 2 (so that
normalising over N only, over H and W only, or per pixel all differ), a batch of one (H and W
still give a variance) and 1x1 images (plain batch normalisation).
"""

import copy

import pytest

from grader.compare import (Mismatch, check_array, check_backward, check_forward, expect_tuple,
                            outputs)

pytestmark = pytest.mark.task("a2.spatial_bn")

# (x shape, extra bn_param entries)
CASES = [((2, 3, 4, 5), {}), ((1, 4, 3, 3), {"eps": 1e-2}), ((5, 2, 1, 1), {}),
         ((3, 5, 2, 7), {"eps": 1e-3})]
GRADS = ("dx", "dgamma", "dbeta")


def case_id(case):
    shape, extra = case
    return "x".join(map(str, shape)) + "".join(f"-{k}{v:g}" for k, v in extra.items())


def inputs(rng, shape):
    """Channels with their own offsets and scales, so that the mean and variance matter."""
    C = shape[1]
    x = (rng.standard_normal(shape) * rng.uniform(0.5, 3.0, (1, C, 1, 1))
         + rng.uniform(-4.0, 4.0, (1, C, 1, 1)))
    gamma = rng.uniform(0.5, 2.0, C) * rng.choice([-1.0, 1.0], C)
    return x, gamma, rng.standard_normal(C)


def stat(bn_param, key, after):
    __tracebackhide__ = True
    if not isinstance(bn_param, dict) or key not in bn_param:
        raise Mismatch(f"bn_param has no '{key}' {after}: store the running statistics in it")
    return bn_param[key]


@pytest.mark.points(3)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_spatial_batchnorm_forward_train(student, ref, rng, case):
    """spatial_batchnorm_forward (train): out matches the reference (statistics over N, H, W)"""
    shape, extra = case
    check_forward(student, ref, "spatial_batchnorm", *inputs(rng, shape),
                  {"mode": "train", **extra})


@pytest.mark.points(5)
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_spatial_batchnorm_backward(student, ref, rng, case):
    """spatial_batchnorm_backward: dx, dgamma and dbeta match the reference (train mode)"""
    shape, extra = case
    check_backward(student, ref, "spatial_batchnorm",
                   (*inputs(rng, shape), {"mode": "train", **extra}), GRADS,
                   rng.standard_normal(shape))


@pytest.mark.points(3)
@pytest.mark.parametrize("shape,extra", [((4, 3, 3, 2), {}), ((2, 2, 5, 3), {"momentum": 0.6})],
                         ids=["defaults", "momentum0.6-given-stats"])
def test_spatial_batchnorm_running_stats(student, ref, rng, shape, extra):
    """spatial_batchnorm_forward: train steps update running_mean/var; test mode uses them"""
    C = shape[1]
    x, gamma, beta = inputs(rng, shape)
    bn_param = {"mode": "train", **extra}
    if extra:  # this case starts from given statistics instead of the defaults
        bn_param.update(running_mean=rng.standard_normal(C), running_var=rng.uniform(0.5, 2.0, C))
    with outputs() as checks:  # running_mean, running_var and the test-mode out
        ref_param = copy.deepcopy(bn_param)
        for step in range(1, 4):
            x = x + rng.standard_normal(shape)
            result, args = student.with_args("spatial_batchnorm_forward", x, gamma, beta, bn_param)
            expect_tuple(result, ("out", "cache"), "spatial_batchnorm_forward")
            bn_param = args[3]
            ref.spatial_batchnorm_forward(x, gamma, beta, ref_param)
            for key in ("running_mean", "running_var"):
                with checks.part(key):
                    check_array(f"bn_param['{key}'] after train step {step}",
                                stat(bn_param, key, f"after train step {step}"), ref_param[key])
        bn_param["mode"] = ref_param["mode"] = "test"
        expected = {k: ref_param[k].copy() for k in ("running_mean", "running_var")}
        x = rng.standard_normal(shape)
        result, args = student.with_args("spatial_batchnorm_forward", x, gamma, beta, bn_param)
        bn_param = args[3]
        out, _ = expect_tuple(result, ("out", "cache"), "spatial_batchnorm_forward")
        with checks.part("out"):
            check_array("out (test mode)", out,
                        ref.spatial_batchnorm_forward(x, gamma, beta, ref_param)[0])
        for key, value in expected.items():
            with checks.part(key):
                check_array(f"bn_param['{key}'] after a test-mode call (must not change)",
                            stat(bn_param, key, "after a test-mode call"), value)


@pytest.mark.points(2)
@pytest.mark.parametrize("shape", [(1, 3, 2, 2), (4, 2, 3, 5)], ids=["1x3x2x2", "4x2x3x5"])
def test_spatial_batchnorm_forward_test(student, ref, rng, shape):
    """spatial_batchnorm_forward (test): out uses the given running statistics, per channel"""
    C = shape[1]
    bn_param = {"mode": "test", "running_mean": rng.standard_normal(C),
                "running_var": rng.uniform(0.2, 3.0, C)}
    check_forward(student, ref, "spatial_batchnorm", *inputs(rng, shape), bn_param)
