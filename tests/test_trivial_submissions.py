"""Trivial code earns nothing: a submission whose every function returns zeros, ones, or its own
input (the identity; backwards return dout) of the right shapes scores 0, public and hidden.

Each submission is the reference solution with every public function and class of every module
wrapped: the wrapper runs the reference on a copy of the arguments (so that no argument is
updated, as a function that returns zeros updates nothing), keeps the cache a forward returns
and replaces every array and number in what is left of the result. A class keeps the
reference's __init__ and set_params but its params start trivial and its other methods (loss,
sample) are wrapped too; the training loops run the reference loop on that trivial model and
trivial update rules.
"""

import pytest

from grader import spec
from grader.grade import grade
from mutants.common import ROOT, Variant, build  # tests/ is on sys.path

# Appended to each reference module (after the definitions it wraps); {kind} is filled in.
TRIVIAL = '''
import copy as _copy
import functools as _functools
import inspect as _inspect

import numpy as _np

_KIND = "{kind}"


def _trivial(value, like=None):
    """value with every array and number replaced; ``like`` is the identity's candidate."""
    if isinstance(value, _np.ndarray):
        if _KIND == "ones":
            return _np.ones_like(value)
        if _KIND == "identity" and isinstance(like, _np.ndarray) and like.shape == value.shape:
            return like.astype(value.dtype, copy=True)
        return _np.zeros_like(value)
    if isinstance(value, (bool, _np.bool_)):
        return value
    if isinstance(value, (int, float, _np.integer, _np.floating)):
        return type(value)(1 if _KIND == "ones" else 0)
    if isinstance(value, tuple):
        return tuple(_trivial(v, like) for v in value)
    if isinstance(value, list):
        return [_trivial(v, like) for v in value]
    if isinstance(value, dict):
        return {{k: _trivial(v, like) for k, v in value.items()}}
    return value


def _trivial_function(name, fn):
    @_functools.wraps(fn)
    def wrapper(*args, **kwargs):
        result = fn(*_copy.deepcopy(args), **_copy.deepcopy(kwargs))
        like = args[0] if args else None
        if name.endswith("_forward") and isinstance(result, tuple) and len(result) == 2:
            out, cache = result
            return _trivial(out, like), cache
        return _trivial(result, like)
    return wrapper


def _trivial_method(method):
    @_functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        return _trivial(method(self, *args, **kwargs))
    return wrapper


def _trivial_class(cls):
    init = cls.__init__

    @_functools.wraps(init)
    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.params = _trivial(self.params)

    cls.__init__ = __init__
    for _name, _method in list(vars(cls).items()):  # loss, sample, ...: all but set_params
        if _inspect.isfunction(_method) and not _name.startswith("_") and _name != "set_params":
            setattr(cls, _name, _trivial_method(_method))
    return cls


for _name, _obj in list(globals().items()):
    if _name.startswith("_") or getattr(_obj, "__module__", None) != __name__:
        continue
    if _inspect.isclass(_obj):
        _trivial_class(_obj)
    elif _inspect.isfunction(_obj):
        globals()[_name] = _trivial_function(_name, _obj)
'''

KINDS = ["zeros", "ones", "identity"]
FOLDERS = {"a1": "a1_networks", "a2": "a2_cnn", "a3": "a3_rnn", "a4": "a4_attention",
           "a5": "a5_beyond"}


def trivial_variant(aid: str, kind: str) -> Variant:
    reference = ROOT / "solutions" / FOLDERS[aid]
    code = TRIVIAL.format(kind=kind).strip("\n")
    return Variant(f"{aid}-{kind}", tuple((m, code) for m in spec.get(aid).modules)), reference


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("aid", list(FOLDERS))
def test_trivial_submission_scores_nothing(aid, kind, tmp_path):
    variant, reference = trivial_variant(aid, kind)
    result = grade(build(reference, variant, tmp_path / variant.name), spec.get(aid))
    assert result.internal_errors == []
    assert result.max_score > 0 and {t.visibility for t in result.tests} == {"public", "hidden"}
    earned = {f"{t.visibility} {t.test_id}": t.score for t in result.tests if t.score > 0}
    assert earned == {}
    assert result.score == 0
