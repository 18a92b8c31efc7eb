"""Student stubs match the reference solutions in names, signatures and docstrings, every stub
fails loudly with a task id that the assignment declares, and what A2 restates from A1 (task
a2.carryover) is restated unchanged."""
import importlib
import inspect

import pytest

from grader import release, spec

ASSIGNMENTS = list(spec.all_assignments().values())
MODULES = [(a, m) for a in ASSIGNMENTS for m in a.modules]


def members(package: str, assignment, module: str) -> dict:
    """Public functions and classes defined in the module, and public methods of its classes."""
    return release.public_members(
        importlib.import_module(f"{package}.{assignment.folder.name}.{module}"))


def stub_cases():
    return [pytest.param(a, name, fn, id=f"{a.id}.{module}.{name}")
            for a, module in MODULES
            for name, fn in sorted(members("assignments", a, module).items())
            if inspect.isfunction(fn)]


@pytest.mark.parametrize("assignment,module", MODULES, ids=[f"{a.id}.{m}" for a, m in MODULES])
def test_same_names_signatures_and_docstrings(assignment, module):
    stub = importlib.import_module(f"assignments.{assignment.folder.name}.{module}")
    ref = importlib.import_module(assignment.reference_module(module))
    assert release.public_members(ref), f"{module} defines nothing"
    assert release.module_parity(stub, ref, module) == []


@pytest.mark.parametrize("assignment,name,stub", stub_cases())
def test_stub_raises_not_implemented_with_a_declared_task_id(assignment, name, stub):
    params = list(inspect.signature(stub).parameters.values())
    required = [p for p in params if p.default is inspect.Parameter.empty
                and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if "." in name:  # a method: call it on a bare instance
        cls_name = name.split(".")[0]
        cls = getattr(inspect.getmodule(stub), cls_name)
        instance = object.__new__(cls)
        call = lambda *a: stub(instance, *a)  # noqa: E731
        required = required[1:]
    else:
        call = stub
    with pytest.raises(NotImplementedError) as info:
        call(*[None] * len(required))
    task, _, rest = str(info.value).partition(": ")
    assert task in assignment.tasks, f"{name}: task id {task!r} is not in assignment.toml"
    assert rest.startswith("implement ") and name.split(".")[-1].strip("_") in rest


A1, A2 = spec.get("a1"), spec.get("a2")
# Functions of A2 that share a name with one of A1 but are A2's own: its training loop has its
# own update rules and defaults (task a2.training).
A2_OWN = {"train"}


def module_functions(package: str, assignment) -> dict:
    """The public module-level functions of all the assignment's modules, by name."""
    return {name: fn for module in assignment.modules
            for name, fn in members(package, assignment, module).items()
            if "." not in name and inspect.isfunction(fn)}


def stub_task(stub) -> str:
    """The task id the stub's NotImplementedError names."""
    required = [p for p in inspect.signature(stub).parameters.values()
                if p.default is inspect.Parameter.empty
                and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    with pytest.raises(NotImplementedError) as info:
        stub(*[None] * len(required))
    return str(info.value).partition(": ")[0]


def test_a2_carryover_is_exactly_what_a2_shares_with_a1():
    a2_stubs = module_functions("assignments", A2)
    carried = {name for name, stub in a2_stubs.items() if stub_task(stub) == "a2.carryover"}
    shared = set(module_functions("assignments", A1)) & set(a2_stubs)
    assert carried, "no A2 stub raises for a2.carryover"
    assert carried == shared - A2_OWN


@pytest.mark.parametrize("package", ["assignments", "solutions"])
def test_a2_restates_a1_functions_with_the_same_signature_and_docstring(package):
    a1, a2 = module_functions(package, A1), module_functions(package, A2)
    shared = sorted(set(a1) & set(a2) - A2_OWN)
    assert shared
    for name in shared:
        assert inspect.signature(a2[name]) == inspect.signature(a1[name]), name
        assert inspect.getdoc(a2[name]) == inspect.getdoc(a1[name]), name
