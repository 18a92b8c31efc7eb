"""RoI max pooling (forward + backward) and NMS: core_ext against the NumPy reference and
torchvision's CPU kernels.

Run: .venv/bin/python bench/bench_detection.py [--repeats 7] [--quick]
                                               [--torchvision-python /work/tvenv/bin/python]

Cases, each in float64 and float32 (2 threads everywhere: timing.THREADS):

- RoI pooling at a Fast R-CNN-like size: x = (2, 256, 50, 50) (an 800x800 image at stride 16,
  spatial_scale 1/16), 128 RoIs of 32-400 pixels inside the image, 7x7 bins; forward, then
  backward of a random dout.
- NMS of 10,000 boxes (clusters around 300 objects, as a detector's proposals), IoU threshold
  0.5.

Contenders:

- core_ext (Cython), and core_ext on its NumPy fallback (``core_ext/_roi_numpy.py``);
- the NumPy reference (``solutions/a5_beyond``, its core_ext hook off). For NMS it builds the
  whole 10,000 x 10,000 IoU matrix (several GB of float64 temporaries), so it is timed with one
  repeat and no warm-up beyond one call;
- torchvision CPU (``torchvision.ops.roi_pool`` + autograd, ``torchvision.ops.nms``) when a
  Python with torchvision is given (``--torchvision-python``): torchvision is not installable
  beside the project's torch 2.13, so it runs in that Python, in a child process of its own
  that stays up and times on request (bench/timing.py's TorchTimer protocol). The child checks
  its results against core_ext's (sent once): printed as "torchvision agrees".

Each row: the median of --repeats timed runs (each contender in one block, after a pause and
at least 0.3 s of warm-up). The targets (issue 14: roi_pool <= 1.0x torchvision, nms <= 1.0x
torchvision) are judged on paired rounds (core_ext, then torchvision, alternating; the median
of the rounds' ratios), as the VM's speed drifts between the table's rows. --quick runs tiny
shapes once (a smoke test; tests/test_bench_detection.py).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROI_SHAPE, ROI_COUNT, ROI_SIZE, ROI_SCALE = (2, 256, 50, 50), 128, (7, 7), 1 / 16
QUICK_ROI_SHAPE, QUICK_ROI_COUNT = (2, 4, 10, 10), 6
NMS_BOXES, QUICK_NMS_BOXES, NMS_THRESHOLD = 10_000, 200, 0.5
TARGETS = {"roi": 1.0, "nms": 1.0}
CASES = {"roi float64": ("roi", np.float64), "roi float32": ("roi", np.float32),
         "nms float64": ("nms", np.float64), "nms float32": ("nms", np.float32)}
THREADS = 2  # timing.THREADS (the child, which can't import timing, needs it too)


# -- inputs (built alike in this process and in torchvision's) -----------------------------------
def roi_inputs(dtype, quick: bool):
    N, C, H, W = QUICK_ROI_SHAPE if quick else ROI_SHAPE
    count = QUICK_ROI_COUNT if quick else ROI_COUNT
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    image_h, image_w = H / ROI_SCALE, W / ROI_SCALE
    corner = rng.uniform(0, [image_w - 32, image_h - 32], (count, 2))
    size = rng.uniform(32, 400, (count, 2))
    far = np.minimum(corner + size, [image_w - 1, image_h - 1])
    rois = np.column_stack([rng.integers(0, N, count), corner, far])
    dout = rng.standard_normal((count, C, *ROI_SIZE)).astype(dtype)
    return x, rois, dout


def nms_inputs(dtype, quick: bool):
    n = QUICK_NMS_BOXES if quick else NMS_BOXES
    rng = np.random.default_rng(1)
    objects = rng.uniform(0, 800, (300, 2))
    extent = rng.uniform(16, 256, (300, 2))
    which = rng.integers(0, 300, n)
    half = extent[which] / 2 * rng.lognormal(0, 0.2, (n, 2))
    centre = objects[which] + rng.normal(0, 0.15, (n, 2)) * extent[which]
    boxes = np.column_stack([centre - half, centre + half]).astype(dtype)
    return boxes, rng.random(n).astype(dtype)


# -- the torchvision child -------------------------------------------------------------------------
def child_median_times(runs, repeats: int, settle: float = 0.5, warm_up: float = 0.3):
    """timing.median_times, for the child (which can't import timing: it imports core_ext)."""
    times = {}
    for name, fn in runs.items():
        time.sleep(settle)
        began = time.perf_counter()
        fn()
        while time.perf_counter() - began < warm_up:
            fn()
        samples = []  # at least timing.MIN_SAMPLED seconds of them, as there
        while len(samples) < repeats or (repeats > 1 and sum(samples) < 0.2):
            start = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - start)
        times[name] = statistics.median(samples)
    return times


def serve_torchvision(case: str, repeats: int, quick: bool, check_file: str) -> None:
    """The child: its results into ``check_file`` (.npz), then one line to say it is ready,
    then for each line read one line of JSON with its median seconds."""
    import torch
    import torchvision
    torch.set_num_threads(THREADS)
    kind, dtype = CASES[case]
    name = f"torchvision {torchvision.__version__} CPU"
    if kind == "roi":
        x, rois, dout = roi_inputs(dtype, quick)
        tx = torch.tensor(x, requires_grad=True)
        trois = torch.tensor(rois, dtype=tx.dtype)  # torchvision wants x's dtype
        tdout = torch.tensor(dout)

        def run():
            tx.grad = None
            out = torchvision.ops.roi_pool(tx, trois, ROI_SIZE, ROI_SCALE)
            out.backward(tdout)
            return out
        out = run()
        check = {"out": out.detach().numpy(), "dx": tx.grad.numpy()}
    else:
        boxes, scores = nms_inputs(dtype, quick)
        tboxes, tscores = torch.tensor(boxes), torch.tensor(scores)

        def run():
            return torchvision.ops.nms(tboxes, tscores, NMS_THRESHOLD)
        check = {"keep": run().numpy()}
    np.savez(check_file, **check)
    print(json.dumps({"ready": name, "torch": torch.__version__}), flush=True)
    for _ in sys.stdin:
        print(json.dumps(child_median_times({name: run}, repeats)), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per contender (median)")
    parser.add_argument("--quick", action="store_true", help="tiny shapes, one repeat (smoke test)")
    parser.add_argument("--torchvision-python", metavar="PATH",
                        help="a Python with torch and torchvision, to time torchvision's CPU "
                             "kernels in a child process")
    parser.add_argument("--torchvision-only", metavar="CASE", help=argparse.SUPPRESS)
    parser.add_argument("--check-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats
    if args.torchvision_only is not None:
        serve_torchvision(args.torchvision_only, repeats, args.quick, args.check_file)
        return
    bench_all(args, repeats)


# -- this process ---------------------------------------------------------------------------------
def bench_all(args, repeats: int) -> None:
    from unittest import mock

    from threadpoolctl import threadpool_limits

    import core_ext
    import timing
    from solutions.a5_beyond import boxes as box_ops
    from solutions.a5_beyond import roi as roi_ops

    os.environ.setdefault("LAYERLAB_THREADS", str(THREADS))
    threadpool_limits(THREADS)
    out = timing.console()
    coretype = os.environ.get("OPENBLAS_CORETYPE", "not set")
    out.print(f"machine: {timing.machine(timing.torch_version())}; OPENBLAS_CORETYPE "
              f"{coretype}; core_ext compiled: {core_ext.COMPILED}; torchvision: "
              f"{args.torchvision_python or 'not given'}\n", soft_wrap=True)

    def fallback(fn):
        def run():
            with mock.patch.multiple(core_ext, _roi=None, _memory=None):
                return fn()
        return run

    def reference(fn):
        def run():
            with mock.patch.object(roi_ops, "_core_ext", None), \
                    mock.patch.object(box_ops, "_core_ext", None):
                return fn()
        return run

    for case, (kind, dtype) in CASES.items():
        if kind == "roi":
            x, rois, dout = roi_inputs(dtype, args.quick)

            def ours(x=x, rois=rois, dout=dout):
                result, cache = core_ext.roi_pool_forward(x, rois, ROI_SIZE, ROI_SCALE)
                return result, core_ext.roi_pool_backward(dout, cache)

            def ref(x=x, rois=rois, dout=dout):
                result, cache = roi_ops.roi_pool_forward(x, rois, ROI_SIZE, ROI_SCALE)
                return result, roi_ops.roi_pool_backward(dout, cache)
            what = (f"RoI pooling forward+backward, x={x.shape} {np.dtype(dtype).name}, "
                    f"{len(rois)} RoIs, {ROI_SIZE[0]}x{ROI_SIZE[1]} bins, spatial_scale 1/16")
        else:
            boxes, scores = nms_inputs(dtype, args.quick)

            def ours(boxes=boxes, scores=scores):
                return core_ext.nms(boxes, scores, NMS_THRESHOLD)

            def ref(boxes=boxes, scores=scores):
                return box_ops.nms(boxes, scores, NMS_THRESHOLD)
            what = (f"NMS of {len(boxes)} boxes {np.dtype(dtype).name}, IoU threshold "
                    f"{NMS_THRESHOLD}")
        mine = ours()
        reference_run = reference(ref)
        wanted = reference_run()
        # a benchmark of a wrong kernel is worthless: core_ext gives the reference's results
        for got, want in zip(*((mine, wanted) if kind == "roi" else ([mine], [wanted])),
                             strict=True):
            np.testing.assert_array_equal(got, want)
        kept = f"; {len(mine)} kept" if kind == "nms" else ""
        with TorchvisionTimer(args.torchvision_python, case, repeats, args.quick) as tv:
            runs = {"core_ext (Cython)": ours, "core_ext NumPy fallback": fallback(ours)}
            times = timing.median_times(runs, repeats)
            big_reference = kind == "nms" and not args.quick
            times |= timing.median_times({"NumPy reference (solutions/a5_beyond)": reference_run},
                                         1 if big_reference else repeats,
                                         warm_up=0.0 if big_reference else 0.3)
            times |= tv.medians()
            theirs = tv.name
            t = timing.table(["contender", "ms", "/ torchvision", "/ core_ext"])
            for name, seconds in times.items():
                t.add_row(name, f"{seconds * 1e3:.3f}", timing.ratio(seconds, times.get(theirs)),
                          timing.ratio(seconds, times["core_ext (Cython)"]))
            out.print(f"{what}{kept}, median of {repeats}"
                      + (" (the NMS reference: one)" if big_reference else ""), soft_wrap=True)
            out.print(t)
            if theirs is not None:
                out.print(f"torchvision agrees: {tv.agrees(kind, mine)}")
                out.print(f"core_ext / torchvision, from the table: "
                          f"{times['core_ext (Cython)'] / times[theirs]:.2f}")
                paired = timing.paired_ratios(timing.timer(ours, repeats), tv.timer(theirs),
                                              1 if args.quick else timing.PAIRED_ROUNDS)
                out.print(timing.paired_line(f"core_ext / torchvision ({case})", paired,
                                             TARGETS[kind]), soft_wrap=True)
            out.print()


class TorchvisionTimer:
    """torchvision's contender of one case, timed on request in a child process run by
    ``python`` (this script with ``--torchvision-only CASE``); nothing without a python."""

    def __init__(self, python: str | None, case: str, repeats: int, quick: bool):
        self.proc, self.name, self.check = None, None, None
        if python:
            with tempfile.TemporaryDirectory() as scratch:
                check_file = os.path.join(scratch, "check.npz")
                command = [python, os.path.abspath(sys.argv[0]), "--torchvision-only", case,
                           "--repeats", str(repeats), "--check-file", check_file]
                self.proc = subprocess.Popen(command + (["--quick"] if quick else []),
                                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                             text=True)
                self.name = json.loads(self._answer())["ready"]
                with np.load(check_file) as check:
                    self.check = {key: check[key] for key in check.files}

    def _answer(self) -> str:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the process timing torchvision ended (exit code "
                               f"{self.proc.wait()}); its error is above")
        return line

    def medians(self) -> dict[str, float]:
        if self.proc is None:
            return {}
        self.proc.stdin.write("*\n")
        self.proc.stdin.flush()
        return json.loads(self._answer())

    def timer(self, name: str):
        return lambda: self.medians()[name]

    def agrees(self, kind: str, mine) -> str:
        if kind == "nms":
            theirs = self.check["keep"]
            if np.array_equal(theirs, mine):
                return "yes (the same kept indices)"
            return f"NO: {len(theirs)} kept against core_ext's {len(mine)}"
        out, dx = mine
        theirs_out, theirs_dx = self.check["out"], self.check["dx"]
        tol = 1e-12 if out.dtype == np.float64 else 1e-5
        same = (np.allclose(out, theirs_out, rtol=tol, atol=tol)
                and np.allclose(dx, theirs_dx, rtol=tol, atol=tol))
        return ("yes (out and dx)" if same else
                f"NO: out differs by up to {np.abs(out - theirs_out).max():.3g}, dx by up to "
                f"{np.abs(dx - theirs_dx).max():.3g}")

    def __enter__(self) -> TorchvisionTimer:
        return self

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            self.proc.stdin.close()
            self.proc.wait()


if __name__ == "__main__":
    main()
