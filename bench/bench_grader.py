"""Grader throughput: the cost of the worker boundary and of grading one A1 submission.

Run: .venv/bin/python bench/bench_grader.py [--calls 2000] [--repeats 5]

Prints, from one run: the median round trip of a (64, 128) float64 array through the sandbox
worker (student function `echo`), next to two baselines measured in the same process — a
direct Python call and an in-process encode+decode with the same wire format (the part of the
cost that is serialisation, not the process boundary) — and the wall time to grade all of
A1 (public + hidden tests, worker start included) for the reference solution,
the untouched stubs and the example submission.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from grader import spec, wire
from grader.grade import grade
from grader.session import WorkerSession


def timed(fn, n: int) -> list[float]:
    samples = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return samples


def boundary(calls: int) -> None:
    x = np.random.default_rng(0).standard_normal((64, 128))
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "echo.py").write_text("def echo(x):\n    return x\n")
        session = WorkerSession(Path(tmp))
        start = time.perf_counter()
        session.ensure_started()
        startup = time.perf_counter() - start
        for _ in range(50):
            session.call("echo", "echo", (x,), {})
        rt = timed(lambda: session.call("echo", "echo", (x,), {}), calls)
        session.close()

    def echo(v):
        return v
    direct = timed(lambda: echo(x), calls)
    codec = timed(lambda: wire.decode(wire.encode({"ok": True, "value": wire.decode(
        wire.encode({"op": "call", "args": [x]}))["args"][0]})), calls)
    med = statistics.median
    print(f"worker start (sandbox applied): {startup * 1e3:.1f} ms")
    print(f"{'(64,128) float64 round trip':34} {'median':>10} {'p90':>10} {'ratio':>8}")
    p90 = lambda s: sorted(s)[int(0.9 * len(s))]  # noqa: E731
    for name, s in (("through the worker", rt), ("in-process encode+decode", codec),
                    ("direct call", direct)):
        print(f"{name:34} {med(s) * 1e3:8.3f}ms {p90(s) * 1e3:8.3f}ms "
              f"{med(rt) / med(s):7.1f}x")


def grading(repeats: int) -> None:
    a1 = spec.get("a1")
    print(f"\n{'grading A1 (public + hidden)':40} {'median':>8} {'min':>8} {'score':>10}")
    for name, path in (("reference solution", spec.ROOT / "solutions/a1_networks"),
                       ("untouched stubs", a1.folder),
                       ("example submission", spec.ROOT / "examples/a1_submission")):
        times, result = [], None
        for _ in range(repeats):
            t = time.perf_counter()
            result = grade(path, a1)
            times.append(time.perf_counter() - t)
        print(f"{name:40} {statistics.median(times):7.2f}s {min(times):7.2f}s "
              f"{result.score:>4g}/{result.max_score:g}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    boundary(args.calls)
    grading(args.repeats)
