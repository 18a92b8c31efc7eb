"""core_ext's pool for OpenBLAS's jobs (core_ext/_blaspool.pyx): once core_ext is imported,
NumPy's and SciPy's OpenBLAS run their multi-threaded jobs on threads that sleep soon after a
call. Each case runs in a fresh Python, as the pool is installed at import and is
process-wide."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

import core_ext

pytestmark = pytest.mark.skipif(
    not core_ext.BLAS_POOL,
    reason="no OpenBLAS with openblas_set_threads_callback_function (0.3.27+) routed here "
           "(or core_ext not built, or threadpoolctl missing)")


def run(code: str, pool: bool = True, timeout: float = 120) -> dict:
    """Run ``code`` (which prints one JSON line last) in a fresh Python; its JSON."""
    env = dict(os.environ, LAYERLAB_BLAS_POOL="1" if pool else "0", LAYERLAB_THREADS="2")
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


DIGESTS = """
    import hashlib, json
    import numpy as np
    import scipy.linalg
    import core_ext
    from core_ext import _blaspool
    from threadpoolctl import threadpool_limits
    rng = np.random.default_rng(7)
    digest = hashlib.sha256()
    with threadpool_limits(limits=2, user_api="blas"):
        for dtype in (np.float64, np.float32, np.complex128):
            for m, k, n in ((1000, 300, 700), (257, 513, 129), (64, 4096, 64), (3000, 1, 2000)):
                a = rng.standard_normal((m, k)).astype(dtype)
                b = rng.standard_normal((k, n)).astype(dtype)
                digest.update((a @ b).tobytes())
                digest.update((a.T @ a).tobytes())
            big = rng.standard_normal((4000, 3000)).astype(dtype)
            digest.update((big @ rng.standard_normal(3000).astype(dtype)).tobytes())
        s = rng.standard_normal((600, 600))
        s = s @ s.T + 600 * np.eye(600)
        digest.update(np.linalg.solve(s, rng.standard_normal((600, 50))).tobytes())
        digest.update(np.linalg.inv(s).tobytes())
        digest.update(np.linalg.cholesky(s).tobytes())
        digest.update(scipy.linalg.lu_factor(s)[0].tobytes())
        u, sv, vt = np.linalg.svd(rng.standard_normal((500, 400)), full_matrices=False)
        digest.update(sv.tobytes())
    print(json.dumps({"digest": digest.hexdigest(), "calls": _blaspool.calls(),
                      "routed": len(core_ext.BLAS_POOL)}))
"""


def test_results_are_openblas_own_bit_for_bit():
    """GEMMs of many shapes and dtypes, GEMV, LAPACK through NumPy and SciPy: the same bytes
    with the pool as with OpenBLAS's threads, and the pool did run them."""
    pooled, own = run(DIGESTS, pool=True), run(DIGESTS, pool=False)
    assert pooled["routed"] >= 1 and own["routed"] == 0
    assert pooled["calls"] > 20, "the products did not run on the pool"
    assert own["calls"] == 0
    assert pooled["digest"] == own["digest"]


SPIN = """
    import json, time
    import numpy as np
    import core_ext
    from threadpoolctl import threadpool_limits
    a = np.random.default_rng(0).standard_normal((3200, 256))
    b = np.random.default_rng(1).standard_normal((256, 1000))
    burnt = []
    with threadpool_limits(limits=2, user_api="blas"):
        for _ in range(5):
            a @ b
            start = time.process_time()
            time.sleep(0.2)
            burnt.append(time.process_time() - start)
    print(json.dumps({"burnt": sorted(burnt)}))
"""


def test_no_thread_spins_after_a_matmul():
    """The point of the pool: after a threaded NumPy matmul the process burns (almost) no CPU
    while it sleeps; OpenBLAS's own threads spin for about 0.1 s of it (not asserted: that
    is OpenBLAS's behaviour, shown by the benchmark)."""
    burnt = run(SPIN)["burnt"]
    assert burnt[len(burnt) // 2] < 0.02, f"CPU seconds burnt while sleeping: {burnt}"


FORK = """
    import json, os
    import numpy as np
    import core_ext
    from core_ext import _blaspool
    from threadpoolctl import threadpool_limits
    a = np.random.default_rng(0).standard_normal((800, 800))
    with threadpool_limits(limits=2, user_api="blas"):
        expected = a @ a  # the parent's workers exist now
        pid = os.fork()
        if pid == 0:  # the child: its parent's workers are not here; it starts its own
            ok = all(np.array_equal(a @ a, expected) for _ in range(3))
            os._exit(0 if ok and _blaspool.workers() >= 1 else 3)
        _, status = os.waitpid(pid, 0)
        again = np.array_equal(a @ a, expected)
    print(json.dumps({"child": os.waitstatus_to_exitcode(status), "parent": again}))
"""


def test_a_forked_child_gets_its_own_threads():
    """After a fork (multiprocessing's default on Linux) the child's threaded products run and
    agree, and the parent's still do."""
    result = run(FORK, timeout=60)
    assert result == {"child": 0, "parent": True}


THREADS = """
    import json
    from concurrent.futures import ThreadPoolExecutor
    import numpy as np
    import core_ext
    from threadpoolctl import threadpool_limits
    rng = np.random.default_rng(0)
    pairs = [(rng.standard_normal((300 + 7 * i, 400)), rng.standard_normal((400, 350)))
             for i in range(4)]
    with threadpool_limits(limits=1, user_api="blas"):
        expected = [a @ b for a, b in pairs]
    with threadpool_limits(limits=2, user_api="blas"):
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda i: [pairs[i][0] @ pairs[i][1] for _ in range(25)],
                                    range(4)))
    worst = max(float(abs(r - e).max()) for rs, e in zip(results, expected) for r in rs)
    print(json.dumps({"worst": worst}))
"""


def test_python_threads_calling_blas_at_once():
    """Four Python threads multiplying at the same time (NumPy releases the GIL): every call
    finishes (one call at a time uses the pool) with the right product."""
    assert run(THREADS, timeout=120)["worst"] < 1e-9


def test_a_thread_limit_still_holds():
    """threadpoolctl's limit of 1 keeps OpenBLAS on the caller's thread: the pool sees no
    call."""
    code = """
        import json
        import numpy as np
        import core_ext
        from core_ext import _blaspool
        from threadpoolctl import threadpool_limits
        a = np.ones((1000, 1000))
        with threadpool_limits(limits=1, user_api="blas"):
            a @ a
        one = _blaspool.calls()
        with threadpool_limits(limits=2, user_api="blas"):
            a @ a
        print(json.dumps({"one": one, "two": _blaspool.calls()}))
    """
    result = run(code)
    assert result["one"] == 0 and result["two"] >= 1


def test_opting_out_keeps_openblas_threads():
    code = """
        import json
        import core_ext
        print(json.dumps({"routed": core_ext.BLAS_POOL}))
    """
    assert run(code, pool=False) == {"routed": []}
