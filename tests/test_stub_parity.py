"""Student stubs of A1 match the reference solutions in names, signatures and docstrings."""
import importlib
import inspect

import pytest

MODULES = ["layers", "losses", "gradient_check"]

TASK_IDS = {
    "affine_forward": "a1.affine",
    "affine_backward": "a1.affine",
    "relu_forward": "a1.relu",
    "relu_backward": "a1.relu",
    "softmax_loss": "a1.softmax",
    "svm_loss": "a1.svm",
    "eval_numerical_gradient": "a1.gradcheck",
    "eval_numerical_gradient_array": "a1.gradcheck",
    "rel_error": "a1.gradcheck",
}


def public_functions(package, module):
    mod = importlib.import_module(f"{package}.a1_networks.{module}")
    return {
        name: obj
        for name, obj in inspect.getmembers(mod, inspect.isfunction)
        if not name.startswith("_") and obj.__module__ == mod.__name__
    }


def stub_cases():
    return [
        pytest.param(name, func, id=f"{module}.{name}")
        for module in MODULES
        for name, func in sorted(public_functions("assignments", module).items())
    ]


@pytest.mark.parametrize("module", MODULES)
def test_same_functions_signatures_and_docstrings(module):
    stubs = public_functions("assignments", module)
    refs = public_functions("solutions", module)
    assert set(stubs) == set(refs)
    for name in refs:
        assert inspect.signature(stubs[name]) == inspect.signature(refs[name]), name
        assert inspect.getdoc(stubs[name]) == inspect.getdoc(refs[name]), name
        assert inspect.getdoc(refs[name]), f"{name} has no docstring"


def test_every_function_has_a_task_id():
    names = {name for module in MODULES for name in public_functions("solutions", module)}
    assert names == set(TASK_IDS)


@pytest.mark.parametrize("name, stub", stub_cases())
def test_stub_raises_not_implemented_with_task_id(name, stub):
    required = [
        p for p in inspect.signature(stub).parameters.values() if p.default is inspect.Parameter.empty
    ]
    with pytest.raises(NotImplementedError) as info:
        stub(*[None] * len(required))
    assert str(info.value) == f"{TASK_IDS[name]}: implement {name}"
