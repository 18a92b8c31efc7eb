"""What the kernel benchmarks (bench_conv.py, bench_pool.py) share: the median of timed
repeats after a warm-up, the machine line printed above each table, PyTorch when
installed, and the table itself."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import statistics
import time
from collections.abc import Callable

import numpy as np
from rich.console import Console
from rich.table import Table

THREADS = 2  # the setting: this machine's two cores, for every contender


def median_times(runs: dict[str, Callable[[], object]], repeats: int,
                 settle: float = 0.5, warm_up: float = 0.3) -> dict[str, float]:
    """Median wall time in seconds of each callable over ``repeats`` calls, after a warm-up.

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
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - start)
        times[name] = statistics.median(samples)
    return times


def paired_ratios(a: Callable[[], object], b: Callable[[], object], rounds: int,
                  repeats: int) -> list[float]:
    """Time ``a`` over ``b`` in ``rounds`` alternating rounds, each timing both as
    :func:`median_times` does; returns the ratio of each round, sorted.

    The speed of this VM drifts by up to 2x over seconds (other guests on the host), and the
    table's contenders are timed one after another, so a ratio of two table rows can mix a
    fast moment with a slow one. Pairing each time of ``a`` with one of ``b`` taken right after
    it cancels the drift the two share.
    """
    ratios = []
    for _ in range(rounds):
        times = median_times({"a": a, "b": b}, repeats)
        ratios.append(times["a"] / times["b"])
    return sorted(ratios)


def load_torch():
    """PyTorch limited to THREADS threads, or None when it is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(THREADS)
    return torch


def machine(torch_version: str | None) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    return (f"{cpu}, {os.cpu_count()} CPUs; Python {platform.python_version()}, NumPy "
            f"{np.__version__} ({blas.get('name')} {blas.get('version')}); "
            f"PyTorch {torch_version or 'not installed'}; "
            f"LAYERLAB_THREADS={os.environ.get('LAYERLAB_THREADS', 'unset (all CPUs)')}, "
            f"torch threads {THREADS if torch_version else '-'} (timed in a child process)")


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

    ``torch_only`` is set in the child process that times PyTorch (see :func:`torch_medians`);
    otherwise the machine line is printed here.
    """
    import argparse

    import core_ext
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per contender (median)")
    parser.add_argument("--quick", action="store_true", help="tiny shapes, one repeat (smoke test)")
    parser.add_argument("--torch-only", metavar="CASE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.torch_only is None:
        console().print(f"machine: {machine(torch_version())}; core_ext compiled: "
                        f"{core_ext.COMPILED}\n", soft_wrap=True)
    return (1 if args.quick else args.repeats), args.quick, args.torch_only


def torch_version() -> str | None:
    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return None


def torch_medians(case: str, repeats: int, quick: bool) -> dict[str, float]:
    """Median seconds of the PyTorch contenders for ``case``, timed by this same script in a
    child process (``--torch-only CASE``), or {} without PyTorch.

    Loading PyTorch (its OpenMP runtime and allocator hooks) slowed the NumPy-based
    contenders in the same process by up to 30 % here, so it gets a process of its own.
    """
    if torch_version() is None:
        return {}
    command = [sys.executable, sys.argv[0], "--torch-only", case, "--repeats", str(repeats)]
    done = subprocess.run(command + (["--quick"] if quick else []), capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def print_torch_medians(runs: dict[str, Callable[[], object]], repeats: int) -> None:
    """The child's side of :func:`torch_medians`."""
    print(json.dumps(median_times(runs, repeats)))
