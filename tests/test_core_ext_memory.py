"""core_ext's recycling memory handler (core_ext/_memory.pyx): the fast layers' results reuse
the blocks earlier results left, stay correct when they do, and the handler keeps only a
bounded amount of memory."""

import threading

import numpy as np
import pytest

import core_ext
from solutions.a2_cnn import layers

try:
    from numpy._core.multiarray import get_handler_name
except ImportError:  # NumPy 1.x
    from numpy.core.multiarray import get_handler_name

POOL = {"pool_height": 2, "pool_width": 2, "stride": 2}


@pytest.fixture
def memory():
    if not core_ext.COMPILED:  # as the kernels fixture (conftest.py) does
        pytest.fail("the Cython extension, which holds the handler, is not built "
                    "(pip install -e .)")
    from core_ext import _memory
    _memory.clear()
    yield _memory
    _memory.clear()


def handler_of(array: np.ndarray) -> str:
    """The name of the handler that allocated ``array``'s memory (a view asks its base)."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return get_handler_name(array)


def under_handler(memory, make):
    previous = memory.handler()
    try:
        return make()
    finally:
        memory.restore(previous)


def test_a_freed_result_is_reused_by_the_next_one_and_results_stay_right(memory):
    rng = np.random.default_rng(0)
    x1, x2 = rng.standard_normal((2, 16, 16, 32, 32))  # dx: 2 MiB, above the 1 MiB minimum
    out, cache = core_ext.max_pool_forward(x1, POOL)
    dx = core_ext.max_pool_backward(np.ones_like(out), cache)
    assert handler_of(dx) == "layerlab_recycling"
    address = dx.ctypes.data
    del dx
    assert memory.kept()[0] >= 1
    out, cache = core_ext.max_pool_forward(x2, POOL)
    dout = rng.standard_normal(out.shape)
    dx = core_ext.max_pool_backward(dout, cache)
    assert dx.ctypes.data == address
    # the reused block held x1's gradient: the kernel must have overwritten all of it
    _, naive_cache = layers.max_pool_forward_naive(x2, POOL)
    np.testing.assert_array_equal(dx, layers.max_pool_backward_naive(dout, naive_cache))


def test_the_handler_is_only_in_place_while_a_result_is_made(memory):
    x = np.random.default_rng(1).standard_normal((4, 8, 32, 32))
    out, cache = core_ext.conv_forward(x, np.ones((8, 8, 3, 3)), np.zeros(8),
                                       {"stride": 1, "pad": 1})
    dx, dw, db = core_ext.conv_backward(np.ones_like(out), cache)
    assert handler_of(out) == handler_of(dx) == "layerlab_recycling"
    assert handler_of(dw) == handler_of(db) == get_handler_name() != "layerlab_recycling"


def test_it_keeps_a_bounded_number_of_large_blocks_only(memory):
    small = [under_handler(memory, lambda: np.empty(memory.MIN_BLOCK // 8 - 1)) for _ in range(20)]
    del small
    assert memory.kept() == (0, 0)
    big = [under_handler(memory, lambda i=i: np.empty(memory.MIN_BLOCK // 8 + i))
           for i in range(20)]
    del big
    blocks, size = memory.kept()
    assert blocks == memory.SLOTS
    assert size <= memory.MAX_BYTES
    huge = under_handler(memory, lambda: np.empty(memory.MAX_BYTES // 8 + 1))
    del huge  # larger than everything it may keep: freed at once
    assert memory.kept() == (blocks, size)
    fill = [under_handler(memory, lambda: np.empty(memory.MAX_BYTES // 8 // 3)) for _ in range(3)]
    del fill  # 3 blocks of a third of the maximum: older blocks make room
    assert memory.kept()[1] <= memory.MAX_BYTES
    memory.clear()
    assert memory.kept() == (0, 0)


def test_zeros_resize_and_freeing_in_another_thread_work_under_it(memory):
    n = memory.MIN_BLOCK // 8 * 2
    zeros = under_handler(memory, lambda: np.zeros(n))
    assert not zeros.any()
    grown = under_handler(memory, lambda: np.arange(n, dtype=float))
    grown.resize(2 * n, refcheck=False)  # realloc through the handler
    np.testing.assert_array_equal(grown[:n], np.arange(n))
    del zeros, grown
    assert memory.kept()[0] == 2

    block = under_handler(memory, lambda: np.empty(n + 1))  # a size it keeps no block of
    done = threading.Event()

    def drop(arrays):
        arrays.clear()
        done.set()
    holder = [block]
    del block
    threading.Thread(target=drop, args=(holder,)).start()
    assert done.wait(10)
    assert memory.kept()[0] == 3
