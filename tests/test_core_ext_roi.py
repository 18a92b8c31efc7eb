"""core_ext RoI pooling and NMS (``_roi.pyx``): the compiled kernels and their NumPy fallback give
the NumPy reference's results (solutions/a5_beyond, run with its core_ext hook off) exactly,
bit for bit; on one thread and several alike; where threads can't start; in a child forked
after OpenMP ran; built without OpenMP (setup.py's choice where the compiler has none); and
LAYERLAB_REQUIRE_EXT is honoured as for the other kernels.

torch's ops as the definition are in test_core_ext_roi_torch.py."""

import os
import runpy
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest
from setuptools.errors import CompileError, LinkError

import core_ext
from grader.spec import ROOT
from gradients import assert_grad  # tests/gradients.py
from solutions.a5_beyond import boxes as box_ops
from solutions.a5_beyond import roi as roi_ops

DTYPES = [np.float64, np.float32]
# (N, C, H, W, R, output_size, spatial_scale)
POOL_CASES = [(1, 1, 5, 6, 7, (1, 1), 1.0), (2, 3, 7, 9, 9, (2, 3), 0.5),
              (3, 2, 12, 10, 12, (7, 7), 0.25), (2, 4, 6, 13, 8, (3, 2), 1.0),
              (1, 2, 9, 4, 6, 4, 0.5), (2, 1, 1, 7, 5, (2, 2), 1.0)]


def case_id(case):
    n, c, h, w, r, size, s = case
    return f"N{n}-C{c}-{h}x{w}-R{r}-{size}-s{s:g}"


@pytest.fixture(params=["compiled", "fallback"])
def roi_kernels(request, monkeypatch):
    """The test once on the Cython kernels, once on the NumPy fallback."""
    if request.param == "compiled":
        if core_ext._roi is None:
            pytest.fail("the Cython extension is not built (pip install -e .)")
        assert core_ext._kernels("roi") is core_ext._roi
    else:
        monkeypatch.setattr(core_ext, "_roi", None)
        assert core_ext._kernels("roi") is core_ext._roi_numpy
    return request.param


@pytest.fixture
def reference(monkeypatch):
    """The reference's own NumPy code (its core_ext hook off)."""
    monkeypatch.setattr(roi_ops, "_core_ext", None)
    monkeypatch.setattr(box_ops, "_core_ext", None)
    return roi_ops, box_ops


def rois_for(rng, case):
    """Random RoIs inside the image, then in turn: on the border, larger than the map, partly
    off it, wholly off it, malformed (x2 < x1), a point (zero size), one at exact halves of a
    cell (C's round away from zero), one that is the whole image."""
    n, _, h, w, r, _, s = case
    height, width = h / s, w / s
    special = [[0, 0, width - 1, height - 1], [-3, -5, width + 4, height + 6],
               [width / 2, -2 / s, width + 3 / s, height / 2], [width + 2 / s, 1, width + 5 / s, 3],
               [5, 4, 2, 6], [1, 1, 1, 1], [0.5 / s, 1.5 / s, 2.5 / s, 0.5 / s + 3],
               [0, 0, width, height]]
    rows = []
    for k in range(r):
        if k % 2 and special:
            box = special.pop(0)
        else:
            x1, y1 = rng.uniform(0, width - 1), rng.uniform(0, height - 1)
            box = [x1, y1, rng.uniform(x1, width), rng.uniform(y1, height)]
        rows.append([rng.integers(0, n), *box])
    return np.array(rows, dtype=np.float64)


def pool_inputs(case, dtype, seed=0, integers=False):
    n, c, h, w, _, size, s = case
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 3, (n, c, h, w)) if integers else rng.standard_normal((n, c, h, w))
    return x.astype(dtype), rois_for(rng, case), size, s


def assert_same_pooling(args, dout_seed=1, dout_dtype=None):
    """core_ext and the reference give equal out, cache and dx (bit for bit)."""
    x, rois, size, s = args
    out, cache = core_ext.roi_pool_forward(x, rois, size, s)
    ref_out, ref_cache = roi_ops.roi_pool_forward(x, rois, size, s)
    assert out.dtype == ref_out.dtype == x.dtype and out.shape == ref_out.shape
    np.testing.assert_array_equal(out, ref_out)
    assert cache[0] == ref_cache[0]
    np.testing.assert_array_equal(cache[1], ref_cache[1])
    assert cache[2].dtype == ref_cache[2].dtype == np.int64
    np.testing.assert_array_equal(cache[2], ref_cache[2])
    dout = np.random.default_rng(dout_seed).standard_normal(out.shape).astype(
        dout_dtype or x.dtype)
    dx, ref_dx = core_ext.roi_pool_backward(dout, cache), roi_ops.roi_pool_backward(dout, ref_cache)
    assert dx.dtype == ref_dx.dtype == dout.dtype and dx.shape == x.shape
    np.testing.assert_array_equal(dx, ref_dx)
    return out, cache, dx


# -- RoI pooling against the reference -----------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", POOL_CASES, ids=case_id)
def test_roi_pool_matches_the_reference(roi_kernels, reference, case, dtype):
    out, cache, _ = assert_same_pooling(pool_inputs(case, dtype))
    assert np.all(out[cache[2] < 0] == 0)  # empty bins give 0


@pytest.mark.parametrize("case", POOL_CASES, ids=case_id)
def test_roi_pool_ties_go_to_the_first_maximum_as_in_the_reference(roi_kernels, reference, case):
    """x in three values: most bins hold several maxima."""
    assert_same_pooling(pool_inputs(case, np.float64, seed=2, integers=True))


def test_roi_pool_has_empty_bins_shared_cells_and_both_batch_images(roi_kernels, reference):
    case = POOL_CASES[2]
    out, cache, dx = assert_same_pooling(pool_inputs(case, np.float64))
    argmax = cache[2]
    assert (argmax == -1).any(), "the off-map RoI should leave empty bins"
    assert set(cache[1]) == {0, 1, 2}
    # a RoI smaller than the 7x7 grid sends several bins to one cell
    r = 11  # the one-cell RoI [1, 1, 1, 1]
    assert len(set(argmax[r, 0].ravel())) < argmax[r, 0].size


def test_roi_pool_dout_of_another_dtype_gives_dx_of_its_dtype(roi_kernels, reference):
    assert_same_pooling(pool_inputs(POOL_CASES[1], np.float64), dout_dtype=np.float32)
    assert_same_pooling(pool_inputs(POOL_CASES[1], np.float32), dout_dtype=np.float64)


def test_roi_pool_propagates_nan_like_the_reference(roi_kernels, reference):
    x, rois, size, s = pool_inputs(POOL_CASES[1], np.float64)
    x[0, 1, 2:4, 3] = np.nan
    x[1, 0, 5, 1:6] = np.nan
    out, _, _ = assert_same_pooling((x, rois, size, s))
    assert np.isnan(out).any()


def test_roi_pool_no_rois_and_one_pixel_maps(roi_kernels, reference):
    x = np.random.default_rng(3).standard_normal((2, 3, 4, 5))
    out, cache, dx = assert_same_pooling((x, np.zeros((0, 5)), (2, 2), 1.0))
    assert out.shape == (0, 3, 2, 2) and not dx.any()
    assert_same_pooling((x[:, :, :1, :1].copy(), np.array([[1, 0, 0, 3, 3.0]]), (2, 3), 1.0))


def test_roi_pool_accepts_strided_input_and_lists(roi_kernels, reference):
    x, rois, size, s = pool_inputs(POOL_CASES[1], np.float64)
    strided = np.asfortranarray(x)[:, ::-1][:, ::-1]
    out, _ = core_ext.roi_pool_forward(strided, rois.tolist(), list(size), s)
    np.testing.assert_array_equal(out, roi_ops.roi_pool_forward(x, rois, size, s)[0])


def test_roi_pool_gradient_is_numerically_right(roi_kernels):
    rng = np.random.default_rng(4)
    shape = (2, 2, 6, 7)
    # well separated values: no two cells of a bin within a step of each other
    x = rng.permutation(np.arange(np.prod(shape), dtype=float)).reshape(shape) * 0.01
    rois = np.array([[0, 0, 0, 6, 5], [1, 2, 1, 4, 4], [1, -2, -2, 9, 9], [0, 3, 3, 3, 3.0]])
    out, cache = core_ext.roi_pool_forward(x, rois, (2, 3), 1.0)
    dout = rng.standard_normal(out.shape)
    assert_grad("dx", core_ext.roi_pool_backward(dout, cache),
                lambda v: np.sum(core_ext.roi_pool_forward(v, rois, (2, 3), 1.0)[0] * dout), x)


# -- NMS against the reference -------------------------------------------------------------------
def cluster_boxes(rng, n, clusters=6):
    """n boxes around a few centres (heavy overlaps), some far apart; float64 corners."""
    centres = rng.uniform(0, 100, (clusters, 2))
    c = centres[rng.integers(0, clusters, n)] + rng.normal(0, 4, (n, 2))
    half = rng.uniform(2, 15, (n, 2))
    return np.column_stack([c - half, c + half])


EDGE_BOXES = np.array([[0, 0, 10, 10], [10, 0, 20, 10],  # touch along an edge
                       [0, 0, 10, 10], [2, 2, 8, 8],  # identical, nested
                       [5, 5, 5, 9], [5, 5, 5, 9], [3, 3, 3, 3],  # zero area
                       [0, 0, 10, 10], [0, 0, 10, 5],  # IoU exactly 0.5
                       [-5, -5, 1, 1]], dtype=float)


@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.5, 0.7, 1.0, -0.1])
@pytest.mark.parametrize("n", [1, 2, 50, 400])
def test_nms_matches_the_reference(roi_kernels, reference, n, threshold):
    rng = np.random.default_rng(n)
    boxes, scores = cluster_boxes(rng, n), rng.random(n)
    keep = core_ext.nms(boxes, scores, threshold)
    assert keep.dtype == np.int64
    np.testing.assert_array_equal(keep, box_ops.nms(boxes, scores, threshold))
    assert np.all(np.diff(scores[keep]) <= 0)


@pytest.mark.parametrize("threshold", [0.0, 0.5, 0.7])
def test_nms_equal_scores_go_in_index_order(roi_kernels, reference, threshold):
    rng = np.random.default_rng(5)
    boxes = cluster_boxes(rng, 300)
    scores = rng.integers(0, 3, 300).astype(float)
    keep = core_ext.nms(boxes, scores, threshold)
    np.testing.assert_array_equal(keep, box_ops.nms(boxes, scores, threshold))
    np.testing.assert_array_equal(core_ext.nms(boxes, np.zeros(300), threshold),
                                  box_ops.nms(boxes, np.zeros(300), threshold))


@pytest.mark.parametrize("threshold", [0.0, 0.5, np.nextafter(0.5, 0), 0.9])
def test_nms_edge_boxes(roi_kernels, reference, threshold):
    scores = np.linspace(1, 0, len(EDGE_BOXES))
    keep = core_ext.nms(EDGE_BOXES, scores, threshold)
    np.testing.assert_array_equal(keep, box_ops.nms(EDGE_BOXES, scores, threshold))
    if threshold == 0.5:
        assert 8 in keep  # IoU exactly 0.5 with box 7: kept (strictly greater suppresses)
    if threshold < 0.5:
        assert 8 not in keep


def test_nms_float32_boxes_lists_and_no_boxes(roi_kernels, reference):
    rng = np.random.default_rng(6)
    boxes, scores = cluster_boxes(rng, 200).astype(np.float32), rng.random(200).astype(np.float32)
    np.testing.assert_array_equal(core_ext.nms(boxes, scores, 0.5), box_ops.nms(boxes, scores, 0.5))
    np.testing.assert_array_equal(core_ext.nms(boxes.tolist(), scores.tolist(), 0.5),
                                  box_ops.nms(boxes, scores, 0.5))
    empty = core_ext.nms(np.zeros((0, 4)), np.zeros(0), 0.5)
    assert empty.shape == (0,) and empty.dtype == np.int64


# -- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize("x,rois,size,scale,error,message", [
    (np.zeros((2, 3, 4)), np.zeros((1, 5)), 2, 1.0, ValueError, r"x must be a 4-d array"),
    (np.zeros((1, 1, 4, 4), int), np.zeros((1, 5)), 2, 1.0, TypeError, "float32 or float64"),
    (np.zeros((1, 1, 4, 4)), np.zeros((1, 4)), 2, 1.0, ValueError, r"rois must have shape"),
    (np.zeros((1, 1, 4, 4)), [[1, 0, 0, 2, 2]], 2, 1.0, ValueError, r"batch indices .* \[0, 1\)"),
    (np.zeros((1, 1, 4, 4)), [[-1, 0, 0, 2, 2]], 2, 1.0, ValueError, "batch indices"),
    (np.zeros((1, 1, 4, 4)), [[0, 0, np.nan, 2, 2]], 2, 1.0, ValueError, "finite"),
    (np.zeros((1, 1, 4, 4)), np.zeros((1, 5)), (0, 2), 1.0, ValueError, "output_size"),
    (np.zeros((1, 1, 4, 4)), np.zeros((1, 5)), (2, 2, 2), 1.0, ValueError, "output_size"),
    (np.zeros((1, 1, 4, 4)), np.zeros((1, 5)), 2.0, 1.0, ValueError, "output_size"),
    (np.zeros((1, 1, 4, 4)), np.zeros((1, 5)), 2, "1", ValueError, "spatial_scale"),
])
def test_roi_pool_rejects_bad_input_with_a_clear_message(x, rois, size, scale, error, message):
    with pytest.raises(error, match=message):
        core_ext.roi_pool_forward(x, rois, size, scale)


def test_roi_pool_backward_and_nms_reject_bad_input():
    _, cache = core_ext.roi_pool_forward(np.zeros((1, 1, 4, 4)), np.zeros((2, 5)), 2, 1.0)
    with pytest.raises(ValueError, match=r"dout must have shape \(2, 1, 2, 2\)"):
        core_ext.roi_pool_backward(np.zeros((2, 1, 2, 3)), cache)
    with pytest.raises(TypeError, match="dout must be float32 or float64"):
        core_ext.roi_pool_backward(np.zeros((2, 1, 2, 2), int), cache)
    with pytest.raises(ValueError, match=r"boxes must have shape \(B, 4\)"):
        core_ext.nms(np.zeros((3, 5)), np.zeros(3), 0.5)
    with pytest.raises(ValueError, match=r"scores must have shape \(3,\)"):
        core_ext.nms(np.zeros((3, 4)), np.zeros(4), 0.5)


# -- threads -------------------------------------------------------------------------------------
BIG = (2, 32, 30, 26, 40, (7, 7), 0.5)  # enough work that both passes are split


def run_big():
    x, rois, size, s = pool_inputs(BIG, np.float64, seed=7)
    out, cache = core_ext.roi_pool_forward(x, rois, size, s)
    forward_threads = core_ext._roi_threads_used
    dx = core_ext.roi_pool_backward(np.random.default_rng(8).standard_normal(out.shape), cache)
    return (forward_threads, core_ext._roi_threads_used), [out, cache[2], dx]


@pytest.fixture
def fresh_threads(monkeypatch):
    monkeypatch.setattr(core_ext, "_thread_probe", None)
    monkeypatch.setattr(core_ext, "_threads_work", True)
    monkeypatch.setattr(core_ext, "_openmp_unusable", False)


def test_one_thread_and_several_give_identical_results(fresh_threads, monkeypatch):
    monkeypatch.setenv("LAYERLAB_THREADS", "1")
    used, single = run_big()
    assert used == (1, 1)
    for threads in (2, 3):
        monkeypatch.setenv("LAYERLAB_THREADS", str(threads))
        used, threaded = run_big()
        if core_ext._roi_openmp:
            assert used == (threads, threads), "both passes should run on every thread allowed"
        else:  # built without OpenMP (setup.py: the compiler has none): one thread, same results
            assert used == (1, 1)
        for got, want in zip(threaded, single, strict=True):
            np.testing.assert_array_equal(got, want)


def test_one_thread_where_threads_cannot_start(fresh_threads, monkeypatch):
    monkeypatch.setenv("LAYERLAB_THREADS", "1")
    _, expected = run_big()

    def refuse(self):
        raise RuntimeError("can't start new thread")
    monkeypatch.setattr(threading.Thread, "start", refuse)
    monkeypatch.setenv("LAYERLAB_THREADS", "2")
    used, got = run_big()
    assert used == (1, 1)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a, b)


FORK_RUN = """
import os, sys
import numpy as np
import core_ext
os.environ["LAYERLAB_THREADS"] = "2"
x = np.random.default_rng(0).standard_normal((2, 16, 30, 30))
rois = np.array([[0, 0, 0, 29, 29], [1, 3, 2, 20, 25]] * 20, dtype=float)
def run():
    out, cache = core_ext.roi_pool_forward(x, rois, (7, 7), 1.0)
    threads = core_ext._roi_threads_used
    return threads, float(core_ext.roi_pool_backward(np.ones_like(out), cache).sum())
parent = run()
pid = os.fork()
if pid == 0:
    print("child", *run(), flush=True)
    os._exit(0)
_, status = os.waitpid(pid, 0)
print("parent", *parent, *run(), os.waitstatus_to_exitcode(status), flush=True)
"""


def test_a_build_without_openmp_runs_on_one_thread_with_the_same_results(fresh_threads,
                                                                         monkeypatch):
    monkeypatch.setenv("LAYERLAB_THREADS", "1")
    _, expected = run_big()
    monkeypatch.setattr(core_ext, "_roi_openmp", False)
    monkeypatch.setattr(core_ext, "_openmp_started", False)  # earlier tests may have run it
    monkeypatch.setenv("LAYERLAB_THREADS", "3")
    used, got = run_big()
    assert used == (1, 1) and not core_ext._openmp_started
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.skipif(not core_ext._roi_openmp, reason="_roi was built without OpenMP")
def test_a_child_forked_after_openmp_ran_still_finishes():
    """GNU OpenMP hangs in a forked child that starts a parallel region after the parent ran
    one: the child's kernels must run on one thread (same results)."""
    proc = subprocess.run([sys.executable, "-c", FORK_RUN], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "LAYERLAB_REQUIRE_EXT": "1"})
    assert proc.returncode == 0, proc.stderr
    child = next(line.split() for line in proc.stdout.splitlines() if line.startswith("child"))
    parent = next(line.split() for line in proc.stdout.splitlines() if line.startswith("parent"))
    assert child[1] == "1" and parent[1] == parent[3] == "2" and parent[5] == "0"
    assert child[2] == parent[2] == parent[4]


# -- the import-time fallback --------------------------------------------------------------------
FALLBACK_RUN = """
import sys, warnings
for name in sys.argv[2:]:
    sys.modules[name] = None  # as if this part of the extension had not been built
warnings.simplefilter("always")
import numpy as np
import core_ext
print("compiled", core_ext.COMPILED, core_ext._roi)
rng = np.random.default_rng(5)
x = rng.standard_normal((2, 3, 9, 8))
rois = np.array([[0, 0, 0, 7, 8], [1, 2, 3, 5, 5], [1, -4, 2, 20, 30], [0, 9, 9, 9, 9.0]])
out, cache = core_ext.roi_pool_forward(x, rois, (3, 2), 1.0)
dx = core_ext.roi_pool_backward(np.ones_like(out), cache)
boxes = np.abs(rng.standard_normal((50, 4))).cumsum(axis=1)
keep = core_ext.nms(boxes, rng.random(50), 0.3)
np.savez(sys.argv[1], out, cache[2], dx, keep)
"""


def _import_without(modules, require, result):
    env = {**os.environ, "LAYERLAB_REQUIRE_EXT": require}
    return subprocess.run([sys.executable, "-c", FALLBACK_RUN, str(result), *modules],
                          capture_output=True, text=True, env=env, timeout=120)


def test_missing_roi_extension_falls_back_with_a_warning_and_same_results(tmp_path):
    compiled = _import_without([], "1", tmp_path / "compiled.npz")
    assert compiled.returncode == 0 and "compiled True <module" in compiled.stdout, compiled.stderr
    proc = _import_without(["core_ext._roi"], "0", tmp_path / "fallback.npz")
    assert proc.returncode == 0, proc.stderr
    assert "compiled False None" in proc.stdout
    assert proc.stderr.count("the Cython extension is not built") == 1, proc.stderr
    with np.load(tmp_path / "fallback.npz") as got, np.load(tmp_path / "compiled.npz") as want:
        assert len(got.files) == len(want.files) == 4
        for name in want.files:
            np.testing.assert_array_equal(got[name], want[name])


def test_require_ext_turns_a_missing_roi_extension_into_an_error(tmp_path):
    proc = _import_without(["core_ext._roi"], "1", tmp_path / "run.npz")
    assert proc.returncode != 0
    assert "LAYERLAB_REQUIRE_EXT=1 forbids the NumPy fallback" in proc.stderr
    assert not (tmp_path / "run.npz").exists()


def test_the_reference_uses_the_kernel_and_its_own_code_without_it(monkeypatch):
    assert roi_ops._core_ext is core_ext and box_ops._core_ext is core_ext
    calls = []
    monkeypatch.setattr(core_ext, "nms", lambda *a: calls.append(a) or np.zeros(0, np.int64))
    box_ops.nms(np.zeros((1, 4)), np.zeros(1), 0.5)
    assert len(calls) == 1
    code = textwrap.dedent("""
        import sys
        sys.modules["core_ext"] = None  # as in the grading sandbox: the import fails
        from solutions.a5_beyond import boxes, roi
        assert boxes._core_ext is None and roi._core_ext is None
        print(boxes.nms([[0, 0, 2, 2], [0, 0, 2, 1.9]], [0.5, 0.9], 0.5))
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[1]"


# -- the build's OpenMP (setup.py) ---------------------------------------------------------------
@pytest.fixture(scope="module")
def setup_py() -> dict:
    """setup.py's names, loaded without running setup()."""
    return runpy.run_path(str(ROOT / "setup.py"), run_name="layerlab_setup")


class FakeCompiler:
    """A distutils compiler that fails at the step named by ``rejects`` ("compile", "link")."""

    def __init__(self, rejects=None, compiler_type="unix"):
        self.rejects, self.compiler_type, self.flags = rejects, compiler_type, []

    def compile(self, sources, output_dir=None, extra_postargs=None):
        self.flags.append(("compile", extra_postargs))
        assert "#pragma omp parallel" in Path(sources[0]).read_text()
        if self.rejects == "compile":
            raise CompileError("clang: error: unsupported option '-fopenmp'")
        return [str(Path(output_dir) / "openmp_check.o")]

    def link_executable(self, objects, name, output_dir=None, extra_postargs=None):
        self.flags.append(("link", extra_postargs))
        if self.rejects == "link":
            raise LinkError("ld: library not found for -lgomp")


def test_openmp_is_used_only_when_a_tiny_openmp_program_compiles_and_links(setup_py):
    flags = setup_py["openmp_flags"]
    accepting = FakeCompiler()
    assert flags(accepting) == (["-fopenmp"], ["-fopenmp"])
    assert accepting.flags == [("compile", ["-fopenmp"]), ("link", ["-fopenmp"])]
    assert flags(FakeCompiler("compile")) is None  # Apple's clang
    assert flags(FakeCompiler("link")) is None  # a compiler without its OpenMP runtime
    assert flags(FakeCompiler(compiler_type="msvc")) == (["/openmp"], [])


def build_with(setup_py, monkeypatch, compiler, env=None):
    """The extensions _roi and _conv after setup.py's build_ext chose their flags (the
    compiling itself left out)."""
    from setuptools import Distribution, Extension

    monkeypatch.setattr(setup_py["build_ext"], "build_extensions", lambda self: None)
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    extensions = [Extension("core_ext._roi", ["r.c"], extra_compile_args=["-O3"]),
                  Extension("core_ext._conv", ["c.c"], extra_compile_args=["-O3"])]
    command = setup_py["BuildExt"](Distribution({"ext_modules": extensions}))
    command.extensions, command.compiler = extensions, compiler
    command.build_extensions()
    return {e.name: (e.extra_compile_args, e.extra_link_args) for e in extensions}


def test_the_build_adds_openmp_to_roi_alone_or_warns_in_one_line(setup_py, monkeypatch, capfd):
    monkeypatch.delenv("LAYERLAB_OPENMP", raising=False)
    assert build_with(setup_py, monkeypatch, FakeCompiler()) == {
        "core_ext._roi": (["-O3", "-fopenmp"], ["-fopenmp"]), "core_ext._conv": (["-O3"], [])}
    assert capfd.readouterr().err == ""
    built = build_with(setup_py, monkeypatch, FakeCompiler("compile"))
    assert built == {"core_ext._roi": (["-O3"], []), "core_ext._conv": (["-O3"], [])}
    warning = capfd.readouterr().err
    assert warning == ("warning: the C compiler cannot build an OpenMP program (-fopenmp): "
                       "core_ext._roi built without OpenMP (its kernels run on one thread)\n")
    off = FakeCompiler()
    assert build_with(setup_py, monkeypatch, off, {"LAYERLAB_OPENMP": "0"})["core_ext._roi"] == \
        (["-O3"], []) and off.flags == []
    assert "LAYERLAB_OPENMP=0: core_ext._roi built without OpenMP" in capfd.readouterr().err
    with pytest.raises(CompileError, match="LAYERLAB_OPENMP=1"):
        build_with(setup_py, monkeypatch, FakeCompiler("link"), {"LAYERLAB_OPENMP": "1"})


def test_roi_was_built_with_openmp_where_this_compiler_has_it(setup_py, tmp_path):
    """The installed _roi agrees with what setup.py finds with this machine's compiler (here:
    GCC with libgomp, so OpenMP, and the module links the OpenMP runtime)."""
    import setuptools  # noqa: F401 - distutils below is setuptools' own
    from distutils.ccompiler import new_compiler
    from distutils.sysconfig import customize_compiler

    if core_ext._roi is None:
        pytest.skip("the Cython extension is not built")
    compiler = new_compiler()
    customize_compiler(compiler)
    source = tmp_path / "plain.c"
    source.write_text("int main(void) { return 0; }\n")
    try:
        compiler.compile([str(source)], output_dir=str(tmp_path))
    except CompileError:
        pytest.skip("no working C compiler here")
    has_openmp = setup_py["openmp_flags"](compiler) is not None
    assert core_ext._roi.OPENMP == has_openmp, "rebuild with pip install -e ."
    if has_openmp and sys.platform == "linux":
        maps = Path(f"/proc/{os.getpid()}/maps").read_text()
        assert "libgomp" in maps or "libomp" in maps  # the runtime _roi was linked with
