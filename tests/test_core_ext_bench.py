"""The kernel benchmarks run (--quick: tiny shapes, one repeat) and print their tables. No
assertion on time: the scripts check that their contenders agree before timing them."""

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
HAS_TORCH = importlib.util.find_spec("torch") is not None
TORCH_ROWS = ["PyTorch CPU float64", "PyTorch CPU float32",
              "core_ext / PyTorch float64, from the table:",
              "core_ext / PyTorch float64, median of 1 paired rounds:"]


def run_quick(script: str) -> str:
    proc = subprocess.run([sys.executable, str(BENCH / script), "--quick"], capture_output=True,
                          text=True, cwd=BENCH.parent, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("script,expected", [
    ("bench_conv.py", ["conv x=(4, 3, 8, 8) w=(4, 3, 3, 3) stride 1 pad 1", "conv x=(5, 2, 9, 7)",
                       "contender", "GFLOP/s", "/ torch f64", "/ GEMM same shapes", "/ GEMM peak",
                       "core_ext (Cython)", "core_ext float32",
                       "core_ext after a NumPy matmul", "core_ext NumPy fallback",
                       "naive loops (N=1 x4, extrapolated)", "vectorised NumPy",
                       "GEMM bound (same shapes)", "GEMM peak (one",
                       "core_ext / GEMM bound (same shapes), from the table:",
                       "core_ext / GEMM bound (same shapes), median of 1 paired rounds:",
                       "(target <= 1.5", "conv x=(1, 3, 40, 40)",
                       "core_ext after a NumPy matmul / alone, median of 1 paired rounds:",
                       "(target <= 1.2",
                       "peak memory of one forward+backward / im2col matrix", "(target <= 3",
                       "the per-thread scratch"]),
    ("bench_pool.py", ["max pooling 2x2 stride 2 on x=(2, 3, 8, 8)", "avg pooling 2x2 stride 2",
                       "/ copy bound", "core_ext (Cython)", "core_ext NumPy fallback",
                       "naive loops (N=1 x2, extrapolated)", "vectorised NumPy",
                       "copy bound (x copied twice)"]),
])
def test_bench_script_prints_its_table(script, expected):
    out = run_quick(script)
    assert out.startswith("machine: ")
    for text in expected + (TORCH_ROWS if HAS_TORCH else []):
        assert text in out, f"{script} --quick did not print {text!r}:\n{out}"
    if HAS_TORCH and script == "bench_pool.py":
        assert "(target <= 0.35" in out
    if HAS_TORCH and script == "bench_conv.py":
        assert "(target <= 0.7" in out and "(target <= 1:" in out  # N=64 and N=1
        assert "core_ext float32 / PyTorch float32, median of 1 paired rounds:" in out


# bench_rnn.py --quick as it stands takes a minute and a half here (a 0.5 s pause and 0.3 s of
# warm-up before each of its ~60 timings, and a PyTorch child process per case), so its smoke
# test runs the same script with the pauses and warm-ups gone and PyTorch out of the table;
# the PyTorch child is driven on its own below
QUICK_TIMING = """
import runpy, sys, time
sys.path.insert(0, "bench")
import timing
time.sleep = lambda seconds: None
timing.median_times.__defaults__ = (0.0, 0.0)  # settle, warm_up
if "--torch-only" not in sys.argv:
    timing.torch_version = lambda: None
sys.argv = ["bench/bench_rnn.py", "--quick", *sys.argv[1:]]
runpy.run_path(sys.argv[0], run_name="__main__")
"""
RNN_QUICK_CASES = [(4, 5, 6, 8), (1, 7, 3, 4)]  # bench_rnn.QUICK_CASES: (N, T, D, H)
RNN_CONTENDERS = ["core_ext (Cython)", "core_ext float32", "core_ext after a NumPy matmul",
                  "step-by-step NumPy (core_ext fallback)", "step-by-step NumPy (solution)",
                  "GEMM bound (BLAS on 2 threads)", "GEMM bound (batch halves on 2 threads)"]
ROW = re.compile(r"│ (?P<name>\S.*?) +│ +(?P<ms>\d+\.\d\d) │ +(?P<torch>-|\d+\.\d\dx) │ "
                 r"+(?P<bound>\d+\.\d\dx) │ +(?P<ours>\d+\.\d\dx) │")
PAIRED = re.compile(r"^(?P<what>.+), median of 1 paired rounds: (?P<ratio>\d+\.\d\d) "
                    r"\(target <= [\d.]+: (?:met|NOT met)\); rounds (?P<round>\d+\.\d\d)$")


def run_rnn_quick(*args: str, stdin: str | None = None) -> str:
    proc = subprocess.run([sys.executable, "-c", QUICK_TIMING, *args], input=stdin,
                          capture_output=True, text=True, cwd=BENCH.parent, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def within_rounding(ratio: float, a: float, b: float) -> bool:
    """Whether ``ratio`` (printed to 2 decimals) can be a / b for a and b printed to 2."""
    low = max(a - 0.005, 0.0) / (b + 0.005) - 0.005
    return low <= ratio and (b <= 0.005 or ratio <= (a + 0.005) / (b - 0.005) + 0.005)


def test_bench_rnn_prints_a_table_of_parsable_numbers_per_layer_and_case():
    out = run_rnn_quick()
    assert out.startswith("machine: ")
    sections = re.split(r"^(\w+ N=\d+ T=\d+ D=\d+ H=\d+), forward\+backward, median of 1$",
                        out, flags=re.M)
    titles = [f"{kind} N={N} T={T} D={D} H={H}" for kind in ("rnn", "lstm", "gru")
              for N, T, D, H in RNN_QUICK_CASES]
    assert sections[1::2] == titles, out
    for title, section in zip(titles, sections[2::2], strict=True):
        rows = {m["name"]: m for m in map(ROW.search, section.splitlines()) if m}
        assert list(rows) == RNN_CONTENDERS, f"{title}:\n{section}"
        assert all(row["torch"] == "-" for row in rows.values())  # no PyTorch: no ratio to it
        assert rows["core_ext (Cython)"]["ours"] == "1.00x"
        bounds = [rows[name] for name in RNN_CONTENDERS[-2:]]
        assert "1.00x" in {row["bound"] for row in bounds}  # over the faster of the two
        ours = float(rows["core_ext (Cython)"]["ms"])
        for name, row in rows.items():  # each ratio is its row's time over core_ext's
            assert within_rounding(float(row["ours"][:-1]), float(row["ms"]), ours), name
        paired = [m for m in map(PAIRED.match, section.splitlines()) if m]
        assert paired and paired[-1]["what"] == "core_ext after a NumPy matmul / alone", section
        assert all(m["ratio"] == m["round"] for m in paired)  # one round: its ratio


@pytest.mark.skipif(not HAS_TORCH, reason="PyTorch is not installed")
def test_bench_rnn_times_pytorch_in_a_child_process():
    ready, medians, *rest = run_rnn_quick("--torch-only", "lstm:1", stdin="*\n").splitlines()
    times = json.loads(medians)
    assert (ready, rest) == ("ready", [])
    assert set(times) == {"PyTorch CPU float64", "PyTorch CPU float32"}
    assert all(isinstance(t, float) and t > 0 for t in times.values())
