"""``layerlab similarity``: copies are found however disguised, independent work and the stubs
are not, unreadable submissions are reported, and the CSV and HTML say the same as the table.

The class: the reference solution of A1; a copy with every local renamed, the functions in
reverse order and the layout redone by ``ast.unparse``; a zipped copy with batchnorm_forward
moved to a file of its own (and a ``<script>`` in it); the independently written alternatives
of tests/mutants/a1.py on top of the stubs; the stubs as handed out and reformatted; and four
submissions that cannot be read.
"""
import ast
import csv
import re
import shutil
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import pytest

from grader import cli, similarity, spec, winnowing
from grader.similarity import HELPERS, Params
from grader.spec import ROOT
from mutants import a1 as mutants  # tests/ is on sys.path (rootdir-relative imports)
from mutants.common import build

A1 = spec.get("a1")
REFERENCE = ROOT / "solutions" / "a1_networks"
COPIES = {"reference", "renamed", "moved"}
ALTERNATIVES = {alt.name for alt in mutants.ALTERNATIVES}
UNREADABLE = {"notes.txt": "notes.txt is not a folder or a .zip",  # student id: its name
              "broken": "expected a folder or a .zip file",
              "empty": "no submission files found",
              "syntax": "syntax error on line"}
SCRIPT = '    note = "<script>alert(1)</script>"'


def _copy_modules(source, dest, transform=lambda text: text):
    dest.mkdir(parents=True)
    for module in A1.modules:
        (dest / f"{module}.py").write_text(transform((source / f"{module}.py").read_text()))
    return dest


def _renamed_and_reordered(text: str) -> str:
    """Every name a function binds and every private helper renamed, the top-level definitions
    in reverse order, the layout and comments redone by ``ast.unparse``."""
    tree = ast.parse(text)
    helpers = {n.name: f"_helper{i}" for i, n in enumerate(tree.body)
               if isinstance(n, ast.FunctionDef) and n.name.startswith("_")}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name in helpers:
            node.name = helpers[node.name]
        elif isinstance(node, ast.Name) and node.id in helpers:
            node.id = helpers[node.id]
    for function in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]:
        bound = sorted({n.arg for n in ast.walk(function.args) if isinstance(n, ast.arg)}
                       | {n.id for n in ast.walk(function)
                          if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)})
        new = {name: f"v{i}_{len(name)}" for i, name in enumerate(bound)}
        for node in ast.walk(function):
            if isinstance(node, ast.Name) and node.id in new:
                node.id = new[node.id]
            elif isinstance(node, ast.arg) and node.arg in new:
                node.arg = new[node.arg]
    definitions = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    tree.body = [n for n in tree.body if n not in definitions] + definitions[::-1]
    return ast.unparse(tree)


def _moved(folder, zip_path):
    """The reference with batchnorm_forward cut from normalization.py into extras.py."""
    source = _copy_modules(REFERENCE, folder)
    lines = (source / "normalization.py").read_text().split("\n")
    node = next(n for n in ast.parse("\n".join(lines)).body
                if getattr(n, "name", "") == "batchnorm_forward")
    body = lines[node.lineno - 1:node.end_lineno]
    body.insert(node.body[1].lineno - node.lineno, SCRIPT)
    (source / "normalization.py").write_text(
        "\n".join(lines[:node.lineno - 1] + lines[node.end_lineno:]))
    (source / "extras.py").write_text("import numpy as np\n\n\n" + "\n".join(body) + "\n")
    with zipfile.ZipFile(zip_path, "w") as archive:
        for path in source.glob("*.py"):
            archive.write(path, f"a1_networks/{path.name}")
    shutil.rmtree(source)


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    _copy_modules(REFERENCE, root / "reference")
    _copy_modules(REFERENCE, root / "renamed", _renamed_and_reordered)
    _moved(tmp_path_factory.mktemp("work") / "moved", root / "moved.zip")
    for alt in mutants.ALTERNATIVES:
        build(A1.folder, alt, root / alt.name)
    _copy_modules(A1.folder, root / "stubs")
    _copy_modules(A1.folder, root / "stubs_reformatted", lambda t: ast.unparse(ast.parse(t)))
    (root / "notes.txt").write_text("my answers are in the zip\n")
    (root / "broken.zip").write_text("not a zip\n")
    (root / "empty").mkdir()
    _copy_modules(REFERENCE, root / "syntax", lambda t: t.replace("def relu_forward(x):",
                                                                   "def relu_forward(x)"))
    return root


@pytest.fixture(scope="module")
def report(klass):
    return similarity.similarity(klass, A1)


def _pair(report, a, b):
    return next(p for p in report.pairs if {p.a, p.b} == {a, b})


def _scored(report, student):
    """The functions of a submission long enough to be scored."""
    return {name for name, f in report.submissions[student].functions.items()
            if len(f.fingerprints) >= report.params.min_fingerprints}


def test_renamed_reordered_copy_matches_in_every_function(report):
    pair = _pair(report, "reference", "renamed")
    assert {m.name for m in pair.matches} == _scored(report, "reference")
    assert {"batchnorm_forward", "FullyConnectedNet.loss", "adam", HELPERS} <= _scored(
        report, "reference")
    assert pair.score == pytest.approx(1.0)
    assert all(m.score == pytest.approx(1.0) for m in pair.matches)
    helpers = report.submissions["renamed"].functions[HELPERS].segments
    assert len(helpers) >= 2 and all(s.source.startswith("def _helper") for s in helpers)


def test_a_function_moved_to_another_file_is_still_found(report):
    for other in ("reference", "renamed"):
        pair = _pair(report, "moved", other)
        scores = {m.name: m.score for m in pair.matches}
        assert scores["batchnorm_forward"] >= 0.9  # one statement added to it
        assert report.submissions["moved"].functions["batchnorm_forward"].segments[0].file \
            == "extras.py"


def test_only_the_copies_are_flagged(report):
    assert {frozenset((p.a, p.b)) for p in report.pairs} == {
        frozenset(("reference", "renamed")), frozenset(("reference", "moved")),
        frozenset(("renamed", "moved"))}


def test_independent_solutions_score_under_the_threshold(report):
    """Every pair of the reference and the alternatives, on every function both wrote."""
    everything = similarity.compare(report.submissions, Params(threshold=1e-9))
    independent = [m.score for p in everything for m in p.matches
                   if {p.a, p.b} <= ALTERNATIVES | {"reference"}]
    assert independent, "the alternatives share nothing at all with the reference"
    assert max(independent) < Params().threshold


def test_the_stub_skeleton_alone_gives_no_fingerprints(report):
    for student in ("stubs", "stubs_reformatted"):
        functions = report.submissions[student].functions
        assert functions and all(len(f.fingerprints) == 0 for f in functions.values())
    rewritten = report.submissions["dict_caches"].functions
    assert len(rewritten["affine_backward"].fingerprints) > 0
    assert len(rewritten["adam"].fingerprints) == 0  # left as the stub


def test_names_and_literals_are_normalised_but_free_names_are_not():
    def of(source):
        return winnowing.tokens(ast.parse(source).body[0])[0]
    one = of('def f(x, w):\n    """Doc."""\n    out = np.sum(x * w, axis=0)  # note\n'
             '    return out + 1.5, {"k": out}\n')
    two = of("def f(a, b):\n    total = np.sum(a * b,\n                   axis=0)\n"
             "    return total + 2, {'other': total}\n")
    assert one == two
    assert "ID" in one and "np" in one and ".sum" in one and "STR" in one
    assert one != of("def f(x, w):\n    out = np.mean(x * w, axis=0)\n"
                     "    return out + 1.5, {'k': out}\n")


def test_a_shared_run_of_w_plus_k_minus_1_tokens_always_shares_a_fingerprint():
    rng = np.random.default_rng(0)
    k, w = Params().k, Params().w
    run = [f"t{i}" for i in rng.integers(0, 50, w + k - 1)]
    for _ in range(20):
        left = [f"a{i}" for i in rng.integers(0, 50, rng.integers(0, 30))]
        right = [f"b{i}" for i in rng.integers(0, 50, rng.integers(0, 30))]
        one, two = (winnowing.kgram_hashes(tokens, k) for tokens in
                    (left + run, run + right))
        assert set(one[winnowing.winnow(one, w)]) & set(two[winnowing.winnow(two, w)])


def test_unreadable_submissions_are_reported_and_the_rest_compared(report):
    reasons = {s.student: s.reason for s in report.skipped}
    assert set(reasons) == set(UNREADABLE)
    for student, reason in UNREADABLE.items():
        assert reason in reasons[student]
    assert "activations.py" in reasons["syntax"]
    assert set(report.submissions) == COPIES | ALTERNATIVES | {"stubs", "stubs_reformatted"}


def _cli(capsys, *args):
    code = cli.main(["similarity", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_table_csv_and_html(klass, report, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    csv_path, html_path = tmp_path / "pairs.csv", tmp_path / "pairs.html"
    code, out, _ = _cli(capsys, klass, "-a", "a1", "--csv", csv_path, "--html", html_path)
    assert code == 0
    assert "3 with a function scoring 0.8 or more" in out
    scored = len(_scored(report, "reference"))
    assert re.search(rf"reference ~ renamed +1\.00 +{scored}/{scored} +\(helpers\) 1\.00", out)
    for student in UNREADABLE:
        assert f"skipped {student}:" in out

    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert {(r["student_a"], r["student_b"]) for r in rows} == {
        ("reference", "renamed"), ("moved", "reference"), ("moved", "renamed")}
    moved = next(r for r in rows if r["student_a"] == "moved"
                 and r["student_b"] == "reference" and r["function"] == "batchnorm_forward")
    assert moved["file_a"] == "extras.py" and moved["file_b"] == "normalization.py"
    assert float(moved["score"]) >= 0.9 and int(moved["shared"]) > 0

    page = html_path.read_text()
    ET.fromstring(page.removeprefix("<!DOCTYPE html>"))  # well formed
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'class="line hit"' in page and "extras.py" in page


def test_cli_top_limits_the_table(klass, capsys):
    code, out, _ = _cli(capsys, klass, "-a", "a1", "--top", "1", "--threshold", "0.9")
    assert code == 0
    assert "showing the best 1 of 3 pairs" in out


@pytest.mark.parametrize("args", [
    ["-a", "a9"],                                   # unknown assignment
    ["-a", "a1", "--csv", "/nonexistent/dir/x.csv"],
])
def test_cli_usage_errors_exit_2(klass, capsys, args):
    code, _, err = _cli(capsys, klass, *args)
    assert code == 2 and "layerlab: error:" in err


def test_cli_argument_errors_exit_2(klass, tmp_path, capsys):
    assert _cli(capsys, tmp_path / "missing", "-a", "a1")[0] == 2
    for bad in (["--threshold", "1.5"], ["--threshold", "x"], ["--top", "0"]):
        with pytest.raises(SystemExit) as exit_:
            cli.main(["similarity", str(klass), "-a", "a1", *bad])
        assert exit_.value.code == 2


def test_cli_help_has_examples(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["similarity", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "--threshold" in out and "--html" in out
