"""Time of `layerlab similarity` on a generated class of A1 submissions.

    python bench/bench_similarity.py              # 300 students
    python bench/bench_similarity.py --students 30

The class is the worst case for the comparison: every student is a near-copy, one of the
mutants of tests/mutants/a1.py (the reference with one bug) or an alternative on the stubs, each
disguised apart: every local renamed with a per-student suffix, the top-level definitions
shuffled, the layout redone by ``ast.unparse`` (so no two files are alike), half of them zipped.
Nearly every pair is listed, with most of its functions. Reported: wall and CPU seconds of
reading (staging, parsing, fingerprinting), comparing and writing the CSV and HTML, the pairs and
matching functions found, and the peak memory. Issue 13 asks for 300 students x ~30 functions
in well under a minute.
"""

from __future__ import annotations

import argparse
import ast
import random
import resource
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from grader import similarity, similarity_report, spec  # noqa: E402
from mutants import a1  # noqa: E402
from mutants.common import build  # noqa: E402

A1 = spec.get("a1")
REFERENCE = ROOT / "solutions" / "a1_networks"


def disguise(text: str, rng: random.Random) -> str:
    tree = ast.parse(text)
    for function in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]:
        bound = {n.arg for n in ast.walk(function.args) if isinstance(n, ast.arg)} | {
            n.id for n in ast.walk(function) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Store)}
        new = {name: f"{name}_{rng.randrange(1000)}" for name in bound}
        for node in ast.walk(function):
            if isinstance(node, ast.Name) and node.id in new:
                node.id = new[node.id]
            elif isinstance(node, ast.arg) and node.arg in new:
                node.arg = new[node.arg]
    definitions = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    rng.shuffle(definitions)
    tree.body = [n for n in tree.body if n not in definitions] + definitions
    return ast.unparse(tree)


def generate(root: Path, students: int) -> None:
    variants = a1.MUTANTS + a1.ALTERNATIVES
    for i in range(students):
        variant, rng = variants[i % len(variants)], random.Random(i)
        folder = build(REFERENCE if variant.task else A1.folder, variant, root / f"s{i:03d}")
        (folder / "mistakes.py").unlink(missing_ok=True)
        for path in folder.glob("*.py"):
            path.write_text(disguise(path.read_text(), rng))
        if i % 2:
            with zipfile.ZipFile(root / f"s{i:03d}.zip", "w") as archive:
                for path in folder.glob("*.py"):
                    archive.write(path, f"a1_networks/{path.name}")
            shutil.rmtree(folder)


def timed(label: str, call, *args):
    wall, cpu = time.perf_counter(), time.process_time()
    result = call(*args)
    print(f"{label:<10} {time.perf_counter() - wall:6.1f} s wall  "
          f"{time.process_time() - cpu:6.1f} s CPU")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root, out = Path(tmp) / "class", Path(tmp)
        root.mkdir()
        generate(root, args.students)
        params = similarity.Params()
        submissions, skipped = timed("reading", similarity.read_class, root, A1, params)
        pairs = timed("comparing", similarity.compare, submissions, params)
        report = similarity.Report(A1.id, params, submissions, skipped, pairs)
        timed("csv", similarity_report.write_csv, report, out / "pairs.csv")
        timed("html", similarity_report.write_html, report, out / "pairs.html", 20)
    functions = sum(len(s.functions) for s in submissions.values())
    print(f"{len(submissions)} submissions ({len(skipped)} skipped), {functions} functions, "
          f"{report.compared} pairs compared, {len(pairs)} listed with "
          f"{sum(len(p.matches) for p in pairs)} matching functions; peak memory "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10} MB")


if __name__ == "__main__":
    main()
