"""Submission layouts: a copy of the assignment folder, a zip (with or without a top folder) and
flat files are graded the same; anything else is a one-line UsageError naming the problem."""
import shutil
import textwrap
import zipfile
from pathlib import Path

import pytest

from grader import spec, submission
from grader.grade import grade
from grader.spec import ROOT, UsageError

EXAMPLE = ROOT / "examples" / "a1_submission"
STUBS = ROOT / "assignments" / "a1_networks"
MODULES = sorted(f"{m}.py" for m in spec.get("a1").modules)
EXAMPLE_FILES = sorted(p.name for p in EXAMPLE.glob("*.py"))  # the example lacks some


@pytest.fixture(scope="module")
def a1():
    return spec.get("a1")


def scores(result) -> dict:
    """Every case's verdict and points, keyed by test id and case id."""
    return {(t.test_id, c.case): (c.passed, c.score, c.max_score, c.feedback)
            for t in result.tests for c in t.cases}


def student_copy(dest: Path) -> Path:
    """The student's copy of the assignment folder, with the example's answers filled in."""
    folder = dest / "a1_networks"
    shutil.copytree(STUBS, folder, ignore=shutil.ignore_patterns("__pycache__"))
    for name in MODULES:
        (folder / name).unlink()  # the example leaves some modules out altogether
    for name in EXAMPLE_FILES:
        shutil.copy(EXAMPLE / name, folder / name)
    return folder


def zip_folder(folder: Path, target: Path, *, top: str | None) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                rel = path.relative_to(folder).as_posix()
                zf.write(path, f"{top}/{rel}" if top else rel)
    return target


def make_zip(target: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(target, "w") as zf:
        for name, data in entries.items():
            zf.writestr(zipfile.ZipInfo(name), data)
    return target


@pytest.fixture(scope="module")
def baseline(a1):
    """The example graded from its flat folder, as Gradescope delivers it."""
    return grade(EXAMPLE, a1)


@pytest.fixture(scope="module")
def layouts(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("layouts")
    folder = student_copy(tmp / "copy")
    flat = tmp / "flat"
    flat.mkdir()
    for name in EXAMPLE_FILES:
        shutil.copy(EXAMPLE / name, flat / name)
    return {
        "assignment folder copy": folder,
        "zip with top folder": zip_folder(folder, tmp / "top.zip", top="a1_networks"),
        "zip without top folder": zip_folder(folder, tmp / "flat.zip", top=None),
        "flat .py files": flat,
    }


def test_baseline_has_passes_and_failures(baseline):
    verdicts = [passed for passed, *_ in scores(baseline).values()]
    assert any(verdicts) and not all(verdicts)
    assert not baseline.internal_errors


@pytest.mark.parametrize("layout", ["assignment folder copy", "zip with top folder",
                                    "zip without top folder", "flat .py files"])
def test_every_layout_is_graded_the_same(layout, layouts, baseline, a1):
    result = grade(layouts[layout], a1)
    assert not result.internal_errors
    assert scores(result) == scores(baseline)
    assert result.score == baseline.score and result.max_score == baseline.max_score


@pytest.mark.parametrize("layout", ["assignment folder copy", "zip with top folder",
                                    "zip without top folder"])
def test_only_the_module_folders_python_files_are_staged(layout, layouts, a1, tmp_path):
    names = submission.stage(layouts[layout], a1, tmp_path / "staged")
    assert set(EXAMPLE_FILES) <= set(names)
    assert "test_public.py" not in names
    assert sorted(p.name for p in (tmp_path / "staged").iterdir()) == names
    for name in EXAMPLE_FILES:
        assert (tmp_path / "staged" / name).read_bytes() == (EXAMPLE / name).read_bytes()


def test_macosx_entries_are_ignored(a1, tmp_path):
    entries = {f"a1_networks/{n}": (EXAMPLE / n).read_bytes() for n in EXAMPLE_FILES}
    # Finder's resource forks: same names, same depth; they would make the layout ambiguous
    entries.update({f"__MACOSX/{n}": b"\x00\x05\x16\x07junk" for n in EXAMPLE_FILES})
    entries.update({f"__MACOSX/a1_networks/._{n}": b"\x00\x05\x16\x07junk" for n in EXAMPLE_FILES})
    archive = make_zip(tmp_path / "mac.zip", entries)
    names = submission.stage(archive, a1, tmp_path / "staged")
    assert names == sorted(EXAMPLE_FILES)
    for name in EXAMPLE_FILES:
        assert (tmp_path / "staged" / name).read_bytes() == (EXAMPLE / name).read_bytes()


# -- errors --------------------------------------------------------------------------------------

def usage_error(path, a1) -> str:
    with pytest.raises(UsageError) as info:
        grade(path, a1)
    text = str(info.value)
    assert text and "\n" not in text, f"not one line: {text!r}"
    return text


def test_nonexistent_path(a1, tmp_path):
    missing = tmp_path / "nowhere"
    text = usage_error(missing, a1)
    assert "not found" in text and str(missing) in text


def test_plain_file_that_is_not_a_zip(a1, tmp_path):
    path = tmp_path / "layers.txt"
    path.write_text("def affine_forward(x, w, b): ...\n")
    text = usage_error(path, a1)
    assert str(path) in text and "folder or a .zip" in text


def test_zip_without_assignment_files(a1, tmp_path):
    path = make_zip(tmp_path / "other.zip", {"hw/notes.py": b"x = 1\n", "README.md": b"hi"})
    text = usage_error(path, a1)
    assert "no submission files" in text
    assert all(name in text for name in MODULES)


def test_zip_with_files_in_two_folders_at_the_same_depth(a1, tmp_path):
    path = make_zip(tmp_path / "two.zip", {
        "first/layers.py": (EXAMPLE / "layers.py").read_bytes(),
        "second/losses.py": (EXAMPLE / "losses.py").read_bytes(),
    })
    text = usage_error(path, a1)
    assert "ambiguous" in text and "first" in text and "second" in text


def test_files_at_a_shallower_depth_win(a1, tmp_path):
    path = make_zip(tmp_path / "nested.zip", {
        "a1/layers.py": (EXAMPLE / "layers.py").read_bytes(),
        "a1/old/layers.py": b"raise SystemExit\n",
        "a1/old/losses.py": b"raise SystemExit\n",
    })
    assert submission.stage(path, a1, tmp_path / "staged") == ["layers.py"]
    assert (tmp_path / "staged" / "layers.py").read_bytes() == (EXAMPLE / "layers.py").read_bytes()


@pytest.mark.parametrize("name", ["../x.py", "a1_networks/../../layers.py", "/etc/layers.py"])
def test_zip_with_an_unsafe_path(a1, tmp_path, name):
    entries = {f"a1_networks/{n}": (EXAMPLE / n).read_bytes() for n in EXAMPLE_FILES}
    entries[name] = b"print('escaped')\n"
    text = usage_error(make_zip(tmp_path / "unsafe.zip", entries), a1)
    assert "unsafe path" in text and name in text
    assert not (tmp_path.parent / "x.py").exists()


def good_zip_bytes(tmp_path: Path, compression: int) -> bytes:
    target = tmp_path / "good.zip"
    with zipfile.ZipFile(target, "w", compression) as zf:
        for name in EXAMPLE_FILES:
            zf.write(EXAMPLE / name, name)
    return target.read_bytes()


def corrupt_data(data: bytes) -> bytes:
    """Flip bytes inside the first member's contents (after its 30-byte local header + name)."""
    name_len = int.from_bytes(data[26:28], "little")
    start = 30 + name_len + int.from_bytes(data[28:30], "little")
    out = bytearray(data)
    for i in range(start + 5, start + 15):
        out[i] ^= 0xFF
    return bytes(out)


def corrupt_directory(data: bytes) -> bytes:
    out = bytearray(data)
    i = out.find(b"PK\x01\x02")
    out[i + 3] = 9  # break the central directory's signature
    return bytes(out)


@pytest.mark.parametrize("damage", ["truncated", "stored data", "deflated data", "directory"])
def test_corrupt_zip(a1, tmp_path, damage):
    if damage == "truncated":
        data = good_zip_bytes(tmp_path, zipfile.ZIP_DEFLATED)[:200]
    elif damage == "directory":
        data = corrupt_directory(good_zip_bytes(tmp_path, zipfile.ZIP_DEFLATED))
    else:
        compression = zipfile.ZIP_STORED if damage == "stored data" else zipfile.ZIP_DEFLATED
        data = corrupt_data(good_zip_bytes(tmp_path, compression))
    path = tmp_path / "broken.zip"
    path.write_bytes(data)
    text = usage_error(path, a1)
    assert str(path) in text


# -- folders found by what they define -----------------------------------------------------------

def test_a_lone_layers_py_is_a_whole_a2_submission(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "layers.py").write_text("def affine_forward(x, w, b):\n    pass\n")
    assert submission.stage(tmp_path / "sub", spec.get("a2"), tmp_path / "staged") == ["layers.py"]


def test_a_folder_is_found_by_the_functions_its_files_define(a1, tmp_path):
    path = make_zip(tmp_path / "cs231n.zip", {
        "hw/cs231n_layers.py": b"def affine_forward(x, w, b):\n    pass\n",
        "hw/notes.py": b"x = 1\n",
        "hw/test_cs231n_layers.py": b"def rel_error(x, y):\n    pass\n",
        "other/scratch.py": b"import layers\n",  # imports define nothing
    })
    assert submission.stage(path, a1, tmp_path / "staged") == [
        "cs231n_layers.py", "notes.py", "test_cs231n_layers.py"]


def test_files_named_as_the_modules_win_over_files_defining_functions(a1, tmp_path):
    path = make_zip(tmp_path / "both.zip", {
        "mine.py": b"def affine_forward(x, w, b):\n    pass\n",
        "deep/er/layers.py": b"def affine_forward(x, w, b):\n    pass\n",
    })
    assert submission.stage(path, a1, tmp_path / "staged") == ["layers.py"]


def test_folders_defining_functions_at_the_same_depth_are_ambiguous(a1, tmp_path):
    path = make_zip(tmp_path / "two.zip", {"first/mine.py": b"def relu_forward(x):\n    pass\n",
                                           "second/ours.py": b"def sgd(w, dw):\n    pass\n"})
    text = usage_error(path, a1)
    assert "ambiguous" in text and "first" in text and "second" in text


def test_nothing_that_defines_a_function_is_a_usage_error(a1, tmp_path):
    path = make_zip(tmp_path / "none.zip", {"hw/broken.py": b"def affine_forward(:\n",
                                            "hw/test_mine.py": b"def rel_error(x, y): pass\n"})
    text = usage_error(path, a1)
    assert "no submission files" in text and "define the assignment's functions" in text


# -- locate: each function found by name, whatever module holds it --------------------------------

def staged(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def real(name: str, args: str = "x") -> str:
    return f"def {name}({args}):\n    return {args.split(',')[0]}\n"


def stub(name: str, args: str = "x") -> str:
    return (f'def {name}({args}):\n    """Docs."""\n'
            f'    raise NotImplementedError("implement {name}")\n')


@pytest.mark.parametrize("folder", ["solution", "folder"])
@pytest.mark.parametrize("aid", ["a1", "a2", "a4", "a5"])
def test_reference_and_stubs_are_found_where_the_assignment_puts_them(aid, folder):
    assignment = spec.get(aid)
    layout = submission.locate(getattr(assignment, folder), assignment)
    assert layout == submission.Layout(assignment.functions(), [], {})


def test_a_function_in_a_module_of_the_students_own_is_called_there(a1, tmp_path):
    layout = submission.locate(staged(tmp_path / "s", {
        "layers.py": real("affine_forward", "x, w, b"),
        "my_layers.py": real("dropout_forward", "x, p") + real("dropout_backward", "d, c"),
    }), a1)
    assert layout.modules["dropout_forward"] == layout.modules["dropout_backward"] == "my_layers"
    assert layout.modules["affine_forward"] == "layers"
    assert layout.notes == ["dropout_forward, dropout_backward: found in my_layers.py "
                            "(expected in layers.py)"]
    assert layout.duplicates == {}


def test_a_function_defined_nowhere_stays_in_its_expected_module(a1, tmp_path):
    layout = submission.locate(staged(tmp_path / "s", {"helpers.py": "x = 1\n"}), a1)
    assert layout == submission.Layout(a1.functions(), [], {})


def test_a_function_defined_in_two_modules_is_a_duplicate_naming_both(a1, tmp_path):
    layout = submission.locate(staged(tmp_path / "s", {
        "layers.py": real("affine_forward", "x, w, b") + real("affine_backward", "d, c"),
        "net.py": "import numpy as np\n\n\n" + real("affine_forward", "x, w, b"),
    }), a1)
    assert layout.duplicates == {"affine_forward": "affine_forward is defined in both layers.py "
                                                   "(line 1) and net.py (line 4); keep one"}
    assert layout.modules["affine_forward"] == layout.modules["affine_backward"] == "layers"
    assert layout.notes == []


def test_three_definitions_are_all_named(a1, tmp_path):
    layout = submission.locate(staged(tmp_path / "s", {
        f"{m}.py": real("sgd", "w, dw") for m in ("optim", "a", "b")}), a1)
    assert layout.duplicates["sgd"] == ("sgd is defined in a.py (line 1), b.py (line 1) and "
                                        "optim.py (line 1); keep one")


def test_redefining_a_function_in_the_same_module_is_no_duplicate(a1, tmp_path):
    layout = submission.locate(staged(tmp_path / "s", {
        "optim.py": stub("sgd", "w, dw") + real("sgd", "w, dw"),
        "mine.py": stub("sgd", "w, dw"),
    }), a1)
    assert layout.modules["sgd"] == "optim" and layout.duplicates == {} and layout.notes == []


def test_an_untouched_stub_gives_way_to_a_real_definition_elsewhere(tmp_path):
    a2 = spec.get("a2")
    shutil.copytree(a2.folder, tmp_path / "s", ignore=shutil.ignore_patterns("tests", "*.md",
                                                                             "*.toml"))
    with open(tmp_path / "s" / "layers.py", "a") as layers:
        layers.write("\n" + real("conv_relu_forward", "x, w, b, conv_param"))
    layout = submission.locate(tmp_path / "s", a2)
    assert layout.modules["conv_relu_forward"] == "layers"
    assert layout.modules["conv_relu_backward"] == "layer_utils"  # only its stub, at home
    assert layout.notes == ["conv_relu_forward: found in layers.py (expected in layer_utils.py, "
                            "whose untouched stub was ignored)"]
    assert layout.duplicates == {}


def test_a_class_is_found_and_an_untouched_stub_class_gives_way(a1, tmp_path):
    stub_class = ('class FullyConnectedNet:\n    """Docs."""\n\n'
                  + "".join("    " + line + "\n" for line in stub("loss", "self, X").splitlines()))
    layout = submission.locate(staged(tmp_path / "s", {
        "fc_net.py": stub_class + stub("train", "model"),
        "model.py": "class FullyConnectedNet:\n    def loss(self, X):\n        return 0.0\n",
        "loop.py": stub("train", "model"),
    }), a1)
    assert layout.modules["FullyConnectedNet"] == "model"
    assert layout.modules["train"] == "fc_net"  # stubs only: the expected module's
    assert layout.notes == ["FullyConnectedNet: found in model.py (expected in fc_net.py, "
                            "whose untouched stub was ignored)"]


def test_a_stub_in_another_module_only_is_called_there(a1, tmp_path):
    layout = submission.locate(staged(tmp_path / "s", {"mine.py": stub("sgd", "w, dw")}), a1)
    assert layout.modules["sgd"] == "mine"
    assert layout.notes == ["sgd: found in mine.py (expected in optim.py)"]


def test_imports_and_aliases_define_nothing(a1, tmp_path):
    layout = submission.locate(staged(tmp_path / "s", {
        "layers.py": real("affine_forward", "x, w, b") + real("affine_backward", "d, c"),
        "layer_utils.py": ("from layers import *\nfrom layers import affine_forward\n"
                           "import layers as affine_backward\n"
                           "import layers\nrelu_forward = layers.relu_forward\n"),
        "mine.py": real("sgd", "w, dw"),  # found, so this is no finder that finds nothing
    }), a1)
    assert layout.modules == {**a1.functions(), "sgd": "mine"}
    assert layout.duplicates == {}


def test_definitions_inside_top_level_if_and_try_and_assignments_count(a1, tmp_path):
    layout = submission.locate(staged(tmp_path / "s", {"mine.py": (
        "try:\n    import scipy\nexcept ImportError:\n" + textwrap.indent(real("sgd", "w"), "    ")
        + "if True:\n    pass\nelse:\n" + textwrap.indent(real("adam", "w"), "    ")
        + "rmsprop = sgd\nsgd_momentum: object = sgd\nrelu_forward, relu_backward = sgd, sgd\n"
        + "def helper():\n" + textwrap.indent(real("tanh_forward"), "    ")
        + "class Helper:\n" + textwrap.indent(real("tanh_backward"), "    ")
    )}), a1)
    found = {name for name, module in layout.modules.items() if module == "mine"}
    assert found == {"sgd", "adam", "rmsprop", "sgd_momentum"}


@pytest.mark.parametrize("source", [b"def affine_forward(x, w, b):\n    return (\n",
                                    b"def affine_forward(x, w, b): pass\n\x00",
                                    b"# -*- coding: no-such-codec -*-\ndef affine_forward(): 0\n",
                                    b"def affine_forward(): pass\nx = " + b"-" * 200_000 + b"1\n"],
                         ids=["syntax error", "null byte", "unknown encoding", "parser gives up"])
def test_a_module_that_does_not_parse_defines_nothing(a1, tmp_path, source):
    folder = staged(tmp_path / "s", {"layers.py": real("affine_forward", "x, w, b"),
                                     "mine.py": real("sgd", "w, dw")})
    (folder / "broken.py").write_bytes(source)
    assert submission.locate(folder, a1).modules == {**a1.functions(), "sgd": "mine"}
    (folder / "mine.py").unlink()
    assert submission.locate(folder, a1) == submission.Layout(a1.functions(), [], {})
    (folder / "layers.py").write_bytes(source)  # the worker reports why it does not import
    assert submission.locate(folder, a1) == submission.Layout(a1.functions(), [], {})


@pytest.mark.parametrize("name", ["test_mine.py", "mine_test.py", "conftest.py", "__init__.py",
                                  "my-layers.py"])
def test_test_files_and_files_that_cannot_be_imported_define_nothing(a1, tmp_path, name):
    folder = staged(tmp_path / "s", {"gradient_check.py": real("rel_error", "x, y"),
                                     name: real("rel_error", "x, y") + real("sgd", "w")})
    assert submission.locate(folder, a1) == submission.Layout(a1.functions(), [], {})


def test_a_thousand_elifs_do_not_exhaust_the_stack(a1, tmp_path):
    chain = "if x == 0:\n    pass\n" + "".join(f"elif x == {i}:\n    pass\n"
                                                for i in range(1, 1200))
    folder = staged(tmp_path / "s", {"scratch.py": "x = 0\n" + chain + "else:\n"
                                     + textwrap.indent(real("sgd", "w"), "    ")})
    assert submission.locate(folder, a1).modules["sgd"] == "scratch"


def test_a_module_named_as_the_standard_library_defines_nothing(a1, tmp_path):
    # the worker's `import copy` finds the library's copy, never the student's copy.py
    folder = staged(tmp_path / "s", {"copy.py": real("sgd", "w, dw")})
    assert submission.locate(folder, a1).modules["sgd"] == "optim"


def test_given_modules_are_what_the_stubs_import_and_not_stubs_or_scripts():
    a3 = spec.get("a3")
    given = submission.given_modules(a3)
    assert "model_utils" in given and "reversal" in given
    assert not set(given) & set(a3.modules)
    assert not [g for g in given if g.startswith(("train_", "test_"))]
    assert submission.given_modules(spec.get("a1")) == []


def test_a_submission_without_its_given_modules_gets_the_assignments_copy(tmp_path):
    a3 = spec.get("a3")
    reference = ROOT / "solutions" / "a3_rnn"
    folder = tmp_path / "mine"
    folder.mkdir()
    for module in a3.modules:  # the student's own modules only, no model_utils.py
        shutil.copy(reference / f"{module}.py", folder / f"{module}.py")
    result = grade(folder, a3, tasks=["a3.classifier"])
    assert result.score == result.max_score > 0
    assert "model_utils.py is not in the submission: the assignment's given copy was used" \
        in result.notes


def test_a_submissions_own_copy_of_a_given_module_is_used(tmp_path):
    a3 = spec.get("a3")
    folder = tmp_path / "mine"
    folder.mkdir()
    for module in a3.modules:
        shutil.copy(ROOT / "solutions" / "a3_rnn" / f"{module}.py", folder / f"{module}.py")
    given = (a3.folder / "model_utils.py").read_text()
    (folder / "model_utils.py").write_text(given.replace(
        "def cell_forward(cell, x, state, params, suffix=\"\"):",
        "def cell_forward(cell, x, state, params, suffix=\"\"):\n    x = 0 * x", 1))
    result = grade(folder, a3, tasks=["a3.classifier"])
    assert result.score < result.max_score
    assert not [n for n in result.notes if n.startswith("model_utils.py")]
