"""bench/bench_attention.py runs (--quick: tiny shapes, one repeat) and prints its tables, with
the PyTorch rows where PyTorch is installed and cleanly without them where it is not. No
assertion on time: the script checks that the reference agrees with itself without the kernels
before timing."""

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HAS_TORCH = importlib.util.find_spec("torch") is not None
# the script with its pauses and warm-ups gone and, unless asked for, PyTorch treated as absent
QUICK = """
import runpy, sys, time
sys.path.insert(0, "bench")
import timing
time.sleep = lambda seconds: None
timing.median_times.__defaults__ = (0.0, 0.0)  # settle, warm_up
if "--torch-only" not in sys.argv and "--with-torch" not in sys.argv:
    timing.torch_version = lambda: None
sys.argv = ["bench/bench_attention.py", "--quick",
            *(a for a in sys.argv[1:] if a != "--with-torch")]
runpy.run_path(sys.argv[0], run_name="__main__")
"""
CONTENDERS = ["reference (core_ext kernels)", "reference (NumPy only)",
              "GEMM bound (BLAS on 2 threads)", "GEMM bound (batch halves on 2 threads)"]
TORCH = ["PyTorch CPU float64", "PyTorch CPU float32"]
ROW = re.compile(r"│ (?P<name>\S.*?) +│ +(?P<ms>\d+\.\d\d) │ +(?P<torch>-|\d+\.\d\dx) │ "
                 r"+(?P<bound>\d+\.\d\dx) │ +(?P<ours>\d+\.\d\dx) │")
TITLES = ["multi-head self-attention N=2 T=5 D=8 heads=2",
          "encoder block (post-norm, FFN 4D ReLU, dropout 0) N=2 T=5 D=8 heads=2"]


def run_quick(*args: str, stdin: str | None = None) -> str:
    proc = subprocess.run([sys.executable, "-c", QUICK, *args], input=stdin, capture_output=True,
                          text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def sections(out: str) -> dict[str, str]:
    parts = re.split(r"^(.+ N=\d+ T=\d+ D=\d+ heads=\d+), forward\+backward float64, "
                     r"median of 1$", out, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_bench_attention_without_pytorch_prints_both_tables_and_no_torch_rows():
    out = run_quick()
    assert out.startswith("machine: ") and "OPENBLAS_CORETYPE=" in out
    found = sections(out)
    assert list(found) == TITLES, out
    for title, section in found.items():
        rows = {m["name"]: m for m in map(ROW.search, section.splitlines()) if m}
        assert list(rows) == CONTENDERS, f"{title}:\n{section}"
        assert all(row["torch"] == "-" for row in rows.values())
        assert rows["reference (core_ext kernels)"]["ours"] == "1.00x"
        assert "1.00x" in {rows[name]["bound"] for name in CONTENDERS[2:]}
        assert "PyTorch" not in section
        assert re.search(r"reference / GEMM bound .*, median of 1 paired rounds: \d+\.\d\d "
                         r"\(no target\)", section), section


@pytest.mark.skipif(not HAS_TORCH, reason="PyTorch is not installed")
def test_bench_attention_with_pytorch_judges_each_target():
    found = sections(run_quick("--with-torch"))
    assert list(found) == TITLES
    for section, target in zip(found.values(), ("0.8", "1"), strict=True):
        rows = {m["name"]: m for m in map(ROW.search, section.splitlines()) if m}
        assert list(rows) == CONTENDERS + TORCH
        assert rows["PyTorch CPU float64"]["torch"] == "1.00x"
        assert re.search(r"reference / PyTorch float64, median of 1 paired rounds: \d+\.\d\d "
                         rf"\(target <= {re.escape(target)}: (met|NOT met)\)", section), section


@pytest.mark.skipif(not HAS_TORCH, reason="PyTorch is not installed")
@pytest.mark.parametrize("kind", ["attention", "encoder"])
def test_bench_attention_times_pytorch_in_a_child_process(kind):
    ready, medians, *rest = run_quick("--torch-only", kind, stdin="*\n").splitlines()
    times = json.loads(medians)
    assert (ready, rest) == ("ready", [])
    assert set(times) == set(TORCH)
    assert all(isinstance(t, float) and t > 0 for t in times.values())
