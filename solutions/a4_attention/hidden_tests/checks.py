"""What the A4 hidden tests share: weights drawn as every test draws them, and the comparison
of a backward pass whose gradients include a dict of parameter gradients (multi-head
attention, additive attention, the blocks) with the reference's, each array earning its share
(but a gradient that is 0, which returning zeros would earn).
"""

import numpy as np

from grader.compare import check_array, check_params, expect_tuple, outputs


def weight(rng, shape):
    """Weights scaled by 1/sqrt(fan-in): attention scores and activations of order one."""
    return rng.standard_normal(shape) / np.sqrt(shape[0])


def attention_params(rng, D, Dm=None):
    """multihead_attention_forward's params for model width D and memory width Dm."""
    Dm = D if Dm is None else Dm
    params = {}
    for name, fan_in in (("Q", D), ("K", Dm), ("V", Dm), ("O", D)):
        params[f"W_{name}"] = weight(rng, (fan_in, D))
        params[f"b_{name}"] = 0.3 * rng.standard_normal(D)
    return params


def check_outputs(got, expected: tuple, names: tuple[str, ...], func: str) -> None:
    """``got`` (the student's tuple) against the reference's ``expected``: an array output
    earns its share, a dict output one share per key (its keys and shapes must be right)."""
    __tracebackhide__ = True
    got = expect_tuple(got, names, func)
    expected = expect_tuple(expected, names, f"reference {func}")
    for name, g, e in zip(names, got, expected, strict=True):
        if isinstance(e, dict):
            check_params(g, e, name)
    compared = [(label, gv, ev) for name, g, e in zip(names, got, expected, strict=True)
                for label, gv, ev in (((f"{name}['{k}']", g[k], v) for k, v in e.items())
                                      if isinstance(e, dict) else ((name, g, e),))]
    for label, gv, ev in compared:  # a gradient that is 0 (b_K's: the softmax ignores what
        if not np.any(np.abs(ev) > 1e-12):  # adds the same to a row) must be, but earns nothing
            check_array(label, gv, ev)
    with outputs() as checks:
        for label, gv, ev in compared:
            if np.any(np.abs(ev) > 1e-12):
                with checks.part(label):
                    check_array(label, gv, ev)


def check_backward(student, ref, layer: str, args: tuple, names: tuple[str, ...], rng,
                   dout=None) -> None:
    """``<layer>_backward`` against the reference for an upstream gradient ``dout`` (drawn from
    rng, standard normal, when None), with the cache of the student's own forward."""
    __tracebackhide__ = True
    forward, backward = f"{layer}_forward", f"{layer}_backward"
    ref_out, ref_cache = getattr(ref, forward)(*args)
    if dout is None:
        dout = rng.standard_normal(np.shape(ref_out))
    _, cache = student.forward(forward, *args)
    check_outputs(getattr(student, backward)(dout, cache), getattr(ref, backward)(dout, ref_cache),
                  names, backward)
