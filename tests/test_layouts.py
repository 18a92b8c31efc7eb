"""Functions are graded wherever the student wrote them: a CS231n-style single layers.py, helpers
in modules of the student's own, and a function defined twice (only its own tests fail)."""

import ast
import re
from pathlib import Path

from grader import spec
from grader.grade import grade, plan

A1, A2 = spec.get("a1"), spec.get("a2")
MOVED_ACTIVATIONS = [name for name, module in A1.functions().items()
                     if module == "activations" and not name.startswith("relu_")]
# how the A2 references import each other, inside the package or flat in the sandbox
PACKAGE_IMPORT = re.compile(
    r"try:  # inside the package.*?\nexcept ImportError:\n    import [\w, ]+(?:  #[^\n]*)?\n",
    re.DOTALL)
OPTIONAL_CORE_EXT = """try:  # the naive layers' tasks run where core_ext cannot be imported
    import core_ext
except ImportError:
    core_ext = None
"""


def top_level_names(source: str) -> list[str]:
    return [node.name for node in ast.parse(source).body
            if isinstance(node, (ast.FunctionDef, ast.ClassDef))]


def line_of(path: Path, name: str) -> int:
    return next(node.lineno for node in ast.parse(path.read_text()).body
                if isinstance(node, ast.FunctionDef) and node.name == name)


def one_layers_py(dest: Path) -> Path:
    """The A2 references in one layers.py: ``layers.f`` and ``layer_utils.f`` become ``f``."""
    calls = re.compile(rf"\b(?:layers|layer_utils)\.({'|'.join(A2.functions())})\b")
    parts = []
    for module in A2.modules:
        text = (A2.solution / f"{module}.py").read_text()
        text, imports = PACKAGE_IMPORT.subn("", text)
        assert imports == (module != "layers"), f"the reference {module}.py changed its imports"
        parts.append(calls.sub(r"\1", text.replace("import core_ext\n", OPTIONAL_CORE_EXT)))
    source = "\n\n".join(parts)
    names = top_level_names(source)
    assert len(names) == len(set(names)), "the references share a name; concatenating loses one"
    left = re.findall(r"\b(?:layers|layer_utils)\.(?!items\()\w+\(", source)
    assert not left, f"calls through a module are left: {left}"
    dest.mkdir()
    (dest / "layers.py").write_text(source)
    return dest


def a1_reference(dest: Path) -> Path:
    dest.mkdir()
    for module in A1.modules:
        (dest / f"{module}.py").write_text((A1.solution / f"{module}.py").read_text())
    return dest


def split(source: str, names: list[str]) -> tuple[str, str]:
    """``source`` without the top-level functions ``names``, and those functions."""
    lines = source.splitlines(keepends=True)
    spans = [(node.lineno - 1, node.end_lineno) for node in ast.parse(source).body
             if isinstance(node, ast.FunctionDef) and node.name in names]
    assert len(spans) == len(names), f"the reference no longer defines all of {names}"
    taken = {i for start, end in spans for i in range(start, end)}
    kept = "".join(line for i, line in enumerate(lines) if i not in taken)
    return kept, "\n\n".join("".join(lines[start:end]) for start, end in spans)


def moved(names: list[str], found: str, expected: str) -> str:
    return f"{', '.join(names)}: found in {found} (expected in {expected})"


def by_task(result) -> dict[str, tuple[float, float]]:
    return {task.task: (task.score, task.max_score) for task in result.tasks()}


def failures(result) -> dict[str, list[str]]:
    return {t.test_id: t.feedback_lines() for t in result.tests if not t.passed}


def test_a_single_layers_py_holding_all_of_a2_scores_full_marks(tmp_path):
    result = grade(one_layers_py(tmp_path / "cs231n"), A2)
    assert result.internal_errors == []
    assert failures(result) == {}
    assert set(by_task(result)) == set(A2.tasks)
    assert all(score == points > 0 for score, points in by_task(result).values()), by_task(result)
    blocks = [n for n, m in A2.functions().items() if m == "layer_utils"]
    network = [n for n, m in A2.functions().items() if m == "cnn"]
    assert sorted(result.notes) == sorted([moved(blocks, "layers.py", "layer_utils.py"),
                                           moved(network, "layers.py", "cnn.py")])


def test_a1_helpers_in_modules_of_the_students_own_score_full_marks(tmp_path):
    """Ten activations in my_activations.py, which no module imports, and gradient_check.py
    renamed to numerics.py; fc_net.py still imports activations.py for ReLU."""
    dest = a1_reference(tmp_path / "mine")
    (dest / "gradient_check.py").rename(dest / "numerics.py")
    kept, mine = split((dest / "activations.py").read_text(), MOVED_ACTIVATIONS)
    (dest / "activations.py").write_text(kept)
    (dest / "my_activations.py").write_text("import numpy as np\n\n\n" + mine)
    result = grade(dest, A1)
    assert result.internal_errors == []
    assert failures(result) == {}
    assert result.score == result.max_score == plan(A1).max_score
    gradient_check = [n for n, m in A1.functions().items() if m == "gradient_check"]
    assert sorted(result.notes) == sorted([
        moved(gradient_check, "numerics.py", "gradient_check.py"),
        moved(MOVED_ACTIVATIONS, "my_activations.py", "activations.py")])


def test_a_function_defined_twice_fails_only_its_own_tests_naming_both_files(tmp_path):
    dest = a1_reference(tmp_path / "twice")
    _, backward = split((A1.solution / "layers.py").read_text(), ["affine_backward"])
    (dest / "extra.py").write_text("import numpy as np\n\n\n" + backward)
    result = grade(dest, A1, tasks=["a1.affine", "a1.relu"])
    assert result.internal_errors == []
    message = (f"affine_backward is defined in both extra.py (line "
               f"{line_of(dest / 'extra.py', 'affine_backward')}) and layers.py (line "
               f"{line_of(dest / 'layers.py', 'affine_backward')}); keep one")
    failed = failures(result)
    assert failed and all(message in line for lines in failed.values() for line in lines), failed
    assert all("affine_backward" in test_id for test_id in failed), list(failed)
    score, points = by_task(result)["a1.affine"]
    assert 0 < score < points
    assert by_task(result)["a1.relu"][0] == by_task(result)["a1.relu"][1]
    assert not any("found in" in note for note in result.notes)
