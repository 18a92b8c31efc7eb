"""What the kernel benchmarks (bench_conv.py, bench_pool.py) share: the median of timed
repeats after a warm-up, paired rounds for the target ratios, PyTorch timed in a child process,
the NumPy-fallback contender, the machine line and the table."""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import statistics
import time
from collections.abc import Callable
from unittest import mock

import numpy as np
from rich.console import Console
from rich.table import Table
from threadpoolctl import threadpool_limits

import core_ext

THREADS = 2  # the setting: this machine's two cores, for every contender
PAIRED_ROUNDS = 7  # alternating rounds of core_ext and a contender, for a target ratio
# a median is of at least this many seconds of samples (when repeats > 1): the median of 7
# calls of 1.4 ms (an N=1 GRU) spans 10 ms, which one slow moment of this VM can take whole
# (its rounds ran 0.83-1.79x the same call); 0.2 s of them is about 140
MIN_SAMPLED = 0.2


def median_times(runs: dict[str, Callable[[], object]], repeats: int,
                 settle: float = 0.5, warm_up: float = 0.3) -> dict[str, float]:
    """Median wall time in seconds of each callable over ``repeats`` calls (more for a short
    call: see MIN_SAMPLED), after a warm-up.

    Each contender runs its repeats in one block, after a ``settle`` pause: BLAS and OpenMP
    worker threads keep spinning for a while after their last call, and interleaving the
    contenders would charge that spinning to whichever one ran next. The pause has a cost of
    its own on this VM: for the first ~50 ms of work after idling, the virtual CPUs ran the
    same call up to 1.8x slower (a 4 ms call took 8 ms six times in a row, then 4.5 ms). So
    the warm-up calls each contender for at least ``warm_up`` seconds (and at least once)
    before timing: every contender is timed at the machine's steady speed.
    """
    times = {}
    for name, fn in runs.items():
        time.sleep(settle)
        began = time.perf_counter()
        fn()
        while time.perf_counter() - began < warm_up:
            fn()
        samples = []
        while more_samples(samples, repeats):
            start = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - start)
        times[name] = statistics.median(samples)
    return times


def more_samples(samples: list[float], repeats: int) -> bool:
    """Whether to take another timed call: ``repeats`` at least, and (for more than one) until
    they add up to MIN_SAMPLED seconds."""
    return len(samples) < repeats or (repeats > 1 and sum(samples) < MIN_SAMPLED)


def after_matmul_timer(fn: Callable[[], object], repeats: int, rows: int, inner: int,
                       cols: int = 1000) -> Callable[[], float]:
    """A timer of ``fn`` called right after a NumPy matmul (rows, inner) @ (inner, cols), as
    in a training loop after an affine layer: only ``fn`` is timed, the median of
    ``repeats``, after the pause and warm-up of :func:`median_times` (the warm-up alternates
    the two). OpenBLAS's own threads keep spinning for about 0.1 s after a call, so without
    core_ext's pool (core_ext._blaspool) ``fn`` shares the cores with them."""
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((rows, inner)), rng.standard_normal((inner, cols))
    c = np.empty((rows, cols))

    def timed() -> float:
        time.sleep(0.5)
        began = time.perf_counter()
        while time.perf_counter() - began < 0.3:
            np.matmul(a, b, out=c)
            fn()
        samples = []
        while more_samples(samples, repeats):
            np.matmul(a, b, out=c)
            start = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - start)
        return statistics.median(samples)
    return timed


def paired_ratios(a: Callable[[], float], b: Callable[[], float], rounds: int) -> list[float]:
    """``a()`` over ``b()`` in ``rounds`` alternating rounds, where each returns a median time
    (see :func:`timer` and :meth:`TorchTimer.timer`); returns the ratio of each round, sorted.

    The speed of this VM drifts by up to 2x over seconds (other guests on the host), and the
    table's contenders are timed one after another, so a ratio of two table rows can mix a
    fast moment with a slow one. Pairing each time of ``a`` with one of ``b`` taken right after
    it cancels the drift the two share.
    """
    ratios = []
    for _ in range(rounds):
        ratios.append(a() / b())
    return sorted(ratios)


def timer(fn: Callable[[], object], repeats: int) -> Callable[[], float]:
    """A function that times ``fn`` as :func:`median_times` does, for :func:`paired_ratios`."""
    return lambda: median_times({"fn": fn}, repeats)["fn"]


def paired_line(what: str, ratios: list[float], target: float) -> str:
    """The line that reports a target judged on paired rounds."""
    return (f"{what}, median of {len(ratios)} paired rounds: "
            f"{verdict(ratios[len(ratios) // 2], target)}; rounds "
            + ", ".join(f"{r:.2f}" for r in ratios))


def numpy_fallback(fn: Callable[[], object]) -> Callable[[], object]:
    """``fn`` run on core_ext's NumPy fallback: no kernels and no recycling memory handler,
    as an import without the compiled extension would set it up."""
    def run():
        with mock.patch.multiple(core_ext, _conv=None, _memory=None, _pool=None):
            return fn()
    return run


def time_contenders(runs: dict[str, tuple[Callable[[], object], int]], torch_timer: TorchTimer,
                    repeats: int) -> dict[str, float]:
    """Seconds per contender: the median of ``runs`` (name -> (callable, multiplier applied
    to its time)) timed here, then PyTorch's from ``torch_timer``."""
    medians = median_times({name: fn for name, (fn, _) in runs.items()}, repeats)
    medians |= torch_timer.medians()
    return {name: seconds * runs.get(name, (None, 1))[1] for name, seconds in medians.items()}


def report_vs_torch(out: Console, times: dict[str, float], ours: Callable[[], object],
                    torch_timer: TorchTimer, repeats: int, rounds: int,
                    target: float | None) -> None:
    """The core_ext / PyTorch float64 lines: the table's ratio, and where there is a target
    the median of paired rounds that judges it. Nothing without PyTorch."""
    torch64 = times.get("PyTorch CPU float64")
    if torch64 is None:
        return
    out.print(f"core_ext / PyTorch float64, from the table: "
              f"{times['core_ext (Cython)'] / torch64:.2f}" + ("" if target else " (no target)"))
    if target:
        paired = paired_ratios(timer(ours, repeats), torch_timer.timer("PyTorch CPU float64"),
                               rounds)
        out.print(paired_line("core_ext / PyTorch float64", paired, target), soft_wrap=True)


def load_torch():
    """PyTorch limited to THREADS threads (only the child process of :class:`TorchTimer`,
    started where PyTorch is installed, loads it)."""
    import torch
    torch.set_num_threads(THREADS)
    return torch


def machine(torch_release: str | None) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    return (f"{cpu}, {os.cpu_count()} CPUs; Python {platform.python_version()}, NumPy "
            f"{np.__version__} ({blas.get('name')} {blas.get('version')}); "
            f"PyTorch {torch_release or 'not installed'}; "
            f"LAYERLAB_THREADS={os.environ.get('LAYERLAB_THREADS', 'unset (all CPUs)')}, "
            f"torch threads {THREADS if torch_release else '-'} (timed in a child process)")


def table(columns: list[str]) -> Table:
    """A table whose first column names the contender and whose other columns are numbers."""
    t = Table()
    t.add_column(columns[0], no_wrap=True)
    for name in columns[1:]:
        t.add_column(name, justify="right", no_wrap=True)
    return t


def console() -> Console:
    # wide enough for the tables when stdout is a pipe (rich would assume 80 columns)
    return Console(width=None if os.isatty(1) else 140, highlight=False)


def ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or b is None else f"{a / b:.2f}x"


def verdict(value: float, target: float) -> str:
    return f"{value:.2f} (target <= {target:g}: {'met' if value <= target else 'NOT met'})"


def start(doc: str):
    """Parse the kernel benchmarks' common options; returns (repeats, quick, torch_only).

    ``torch_only`` is set in the child process that times PyTorch (see :class:`TorchTimer`);
    otherwise the machine line is printed here.
    """
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per contender (median)")
    parser.add_argument("--quick", action="store_true", help="tiny shapes, one repeat (smoke test)")
    parser.add_argument("--torch-only", metavar="CASE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    # THREADS for everyone: core_ext (unless LAYERLAB_THREADS says otherwise) and BLAS here;
    # PyTorch in load_torch
    os.environ.setdefault("LAYERLAB_THREADS", str(THREADS))
    threadpool_limits(THREADS)
    if args.torch_only is None:
        console().print(f"machine: {machine(torch_version())}; core_ext compiled: "
                        f"{core_ext.COMPILED}\n", soft_wrap=True)
    return (1 if args.quick else args.repeats), args.quick, args.torch_only


def torch_version() -> str | None:
    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return None


class TorchTimer:
    """The PyTorch contenders of one benchmark case, timed on request by this same script in
    a child process (``--torch-only CASE``; see :func:`serve_torch_medians`). Without PyTorch
    it times nothing: :meth:`medians` returns {}.

    Loading PyTorch (its OpenMP runtime and allocator hooks) slowed the NumPy-based
    contenders in the same process by up to 30 % here, so it gets a process of its own. The
    process stays up, so that a PyTorch time can be paired with one of ours taken just before.
    """

    def __init__(self, case: str, repeats: int, quick: bool):
        self.proc = None
        if torch_version() is not None:
            command = [sys.executable, sys.argv[0], "--torch-only", case, "--repeats", str(repeats)]
            self.proc = subprocess.Popen(command + (["--quick"] if quick else []),
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            # wait until it has loaded PyTorch and built its inputs: that took a core for a
            # second or two, and the first contenders timed meanwhile here ran up to 2x slower
            self._answer()

    def _answer(self) -> str:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the process timing PyTorch ended (exit code {self.proc.wait()}); "
                               "its error is above")
        return line

    def medians(self, name: str = "*") -> dict[str, float]:
        """Median seconds of the contender ``name``, or of all of them ("*")."""
        if self.proc is None:
            return {}
        self.proc.stdin.write(name + "\n")
        self.proc.stdin.flush()
        return json.loads(self._answer())

    def timer(self, name: str) -> Callable[[], float]:
        """A function that times contender ``name`` in the child, for :func:`paired_ratios`."""
        return lambda: self.medians(name)[name]

    def __enter__(self) -> TorchTimer:
        return self

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            self.proc.stdin.close()
            self.proc.wait()


def serve_torch_medians(runs: dict[str, Callable[[], object]], repeats: int) -> None:
    """The child's side of :class:`TorchTimer`: for each line read ("*" or a contender's name),
    one line of JSON with the median seconds of those contenders; first, one line to say it
    is ready."""
    print("ready", flush=True)
    for line in sys.stdin:
        name = line.strip()
        chosen = runs if name == "*" else {name: runs[name]}
        print(json.dumps(median_times(chosen, repeats)), flush=True)
