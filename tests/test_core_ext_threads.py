"""core_ext threading: the kernels give bit-identical results on one thread and on several, and
still give correct results where threads cannot be started (the grading sandbox)."""

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import core_ext

# big enough that every kernel is split (the wrapper keeps small work on one thread)
CONV = ((8, 8, 20, 20), (48, 8, 3, 3), {"stride": 1, "pad": 1})
POOL = ((4, 8, 48, 48), {"pool_height": 3, "pool_width": 2, "stride": 2})


def run_all() -> list[np.ndarray]:
    """Forward and backward of every layer on fixed inputs."""
    rng = np.random.default_rng(0)
    x_shape, w_shape, conv_param = CONV
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    out, cache = core_ext.conv_forward(x, w, b, conv_param)
    results = [out, *core_ext.conv_backward(rng.standard_normal(out.shape), cache)]
    x_shape, pool_param = POOL
    x = rng.standard_normal(x_shape)
    for forward, backward in ((core_ext.max_pool_forward, core_ext.max_pool_backward),
                              (core_ext.avg_pool_forward, core_ext.avg_pool_backward)):
        out, cache = forward(x, pool_param)
        results += [out, backward(rng.standard_normal(out.shape), cache)]
    return results



def test_one_thread_and_several_threads_give_identical_results(kernels, submits, monkeypatch):
    monkeypatch.setenv("LAYERLAB_THREADS", "1")
    single = run_all()
    assert submits == []
    for threads in ("2", "3"):
        monkeypatch.setenv("LAYERLAB_THREADS", threads)
        submits.clear()
        threaded = run_all()
        # every pass was really split: conv forward (over images) and backward (over groups
        # of images), and both passes of both poolings
        kernel_names = {"forward_images", "backward_groups",
                        "max_pool_forward", "max_pool_backward", "avg_pool_forward",
                        "avg_pool_backward"}
        assert set(submits) == kernel_names, threads
        for got, want in zip(threaded, single, strict=True):
            np.testing.assert_array_equal(got, want)


def test_a_small_batch_is_split_by_bands_the_same_on_any_thread_count(submits, monkeypatch):
    """One image: the compiled convolution shares out bands of its output rows (forward and
    backward) and then dx's planes; bit-identical for 1, 2 and 3 threads, and right."""
    if not core_ext.COMPILED:
        pytest.fail("the Cython extension is not built (pip install -e .)")
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((1, 8, 64, 48)), rng.standard_normal((32, 8, 3, 3))
    b = rng.standard_normal(32)
    dout = rng.standard_normal((1, 32, 64, 48))
    assert core_ext._tiles(core_ext._conv, 1, 64, 48) > 1

    def conv():
        out, cache = core_ext.conv_forward(x, w, b, {"stride": 1, "pad": 1})
        return [out, *core_ext.conv_backward(dout, cache)]

    monkeypatch.setenv("LAYERLAB_THREADS", "1")
    single = conv()
    for threads in ("2", "3"):
        monkeypatch.setenv("LAYERLAB_THREADS", threads)
        submits.clear()
        threaded = conv()
        assert set(submits) == {"forward_bands", "backward_bands", "planes"}, threads
        for got, want in zip(threaded, single, strict=True):
            np.testing.assert_array_equal(got, want)
    expected = core_ext._conv_numpy
    out = np.empty_like(single[0])
    expected.forward(x, w.reshape(32, -1), b, out, None, 3, 3, 1, 1, 0, 1)
    np.testing.assert_allclose(single[0], out, rtol=1e-12, atol=1e-12)


def test_results_are_right_where_threads_cannot_start(kernels, submits, monkeypatch):
    monkeypatch.setenv("LAYERLAB_THREADS", "1")
    expected = run_all()

    def refuse(self, fn, *args, **kwargs):
        submits.append(fn.__name__)
        raise RuntimeError("can't start new thread")
    monkeypatch.setattr(ThreadPoolExecutor, "submit", refuse)
    monkeypatch.setenv("LAYERLAB_THREADS", "2")
    for got, want in zip(run_all(), expected, strict=True):
        np.testing.assert_array_equal(got, want)
    assert len(submits) == 1, "after the first refusal the wrapper should stop asking for threads"
    for got, want in zip(run_all(), expected, strict=True):
        np.testing.assert_array_equal(got, want)
    assert len(submits) == 1


def test_a_partly_started_pool_leaves_no_worker_writing_after_return(kernels, monkeypatch):
    """The first worker thread starts, the next can't (a process limit reached half-way). As in
    ThreadPoolExecutor.submit, the refused chunk was queued before the thread start failed, so
    the running worker would take it up later. Every chunk handed out must be finished (or
    cancelled) before the layer returns, or a worker keeps writing into the gradient the
    caller now owns."""
    monkeypatch.setenv("LAYERLAB_THREADS", "3")
    monkeypatch.setattr(core_ext, "_executor", None)
    monkeypatch.setattr(core_ext, "_threads_work", True)
    x = np.random.default_rng(1).standard_normal((6, 4, 64, 64))
    out, cache = core_ext.max_pool_forward(x, {"pool_height": 2, "pool_width": 2, "stride": 2})
    real_submit, real_adjust = ThreadPoolExecutor.submit, ThreadPoolExecutor._adjust_thread_count
    queued, threads_started = [], []

    def late_submit(self, fn, *args):
        def late(*a):  # a worker that gets its turn a little late
            time.sleep(0.2)
            fn(*a)
        queued.append(late)
        return real_submit(self, late, *args)

    def start_one_thread(self):  # where submit starts a thread; the second one fails
        if threads_started:
            raise RuntimeError("can't start new thread")
        threads_started.append(True)
        real_adjust(self)
    monkeypatch.setattr(ThreadPoolExecutor, "submit", late_submit)
    monkeypatch.setattr(ThreadPoolExecutor, "_adjust_thread_count", start_one_thread)
    dx = core_ext.max_pool_backward(np.ones_like(out), cache)
    returned = dx.copy()
    dx *= 2  # the caller owns dx now and uses it in place
    assert len(queued) == 2, "expected a chunk for a started thread and one for a refused thread"
    time.sleep(0.6)  # the started worker runs whatever it was given
    np.testing.assert_array_equal(dx, 2 * returned)


def test_thread_count_must_be_a_whole_number(monkeypatch):
    monkeypatch.setenv("LAYERLAB_THREADS", "two")
    with pytest.raises(ValueError, match="LAYERLAB_THREADS must be a whole number; got 'two'"):
        run_all()
