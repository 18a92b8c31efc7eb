"""A corpus of hostile A1 submissions, as a table.

Each entry starts from the reference solution (``solutions/a1_networks``) and changes ONE thing:
it redefines one function at the end of one module (usually wrapping the reference, so the
function would still be *correct* if the hostile action were allowed to succeed — the task can
then only lose points because the sandbox stopped it), deletes one function, or adds import-time
code to one module. Every other task must keep full marks.

Fields of :class:`Hostile`:

- ``module`` / ``code``: the code appended to ``<module>.py``. Placeholders are filled in when
  the submission is built, because code in the worker cannot find the repository on its own:
  ``@ROOT@`` (the repository), ``@HOME@`` (the real home directory), ``@PWNED@`` (a
  ``/tmp/layerlab-pwned-...`` prefix), ``@CANARY@`` (a file outside the worker to chmod).
- ``delete``: a function removed from the module.
- ``hits``: the tasks that must lose points; ``expect``: a regular expression that the feedback
  of at least one lost case must match (``{here}`` is the line number of the ``# HERE`` line).
  ``may_hit``: tasks of the same module that may lose points or not (the engine may or may not
  survive what the module does to its own worker). Every other task must keep full marks.
- ``slow``: the case takes more than a few seconds (marked ``pytest.mark.slow``, never skipped).

Materialise the corpus to look at it, or to grade it by hand::

    python tests/hostile/corpus.py /tmp/hostile   # then: layerlab grade /tmp/hostile/<name>
"""

from __future__ import annotations

import ast
import re
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "solutions" / "a1_networks"
MODULES = ("layers", "activations", "losses", "gradient_check")
TASKS = {  # the task of each module's functions, as in the hidden tests
    "layers": ("a1.affine",),
    "activations": ("a1.relu",),
    "losses": ("a1.softmax", "a1.svm"),
    "gradient_check": ("a1.gradcheck",),
}

AFFINE, RELU, SOFTMAX, SVM, GRADCHECK = "a1.affine", "a1.relu", "a1.softmax", "a1.svm", "a1.gradcheck"


@dataclass(frozen=True)
class Hostile:
    name: str
    module: str
    code: str
    hits: tuple[str, ...]
    expect: str | None
    delete: str | None = None
    may_hit: tuple[str, ...] = ()
    slow: bool = False
    doc: str = ""
    call_timeout: float | None = None  # seconds per call, where the 2 s of the runs is not the point


def _h(name, module, hits, expect, code="", *, may_hit=(), **kw) -> Hostile:
    return Hostile(name, module, textwrap.dedent(code).strip("\n"), tuple(hits), expect,
                   may_hit=tuple(may_hit), **kw)


# Student code looking for the worker's reply pipe: the low descriptor that is a write-only FIFO.
FIND_REPLY_PIPE = """
        import fcntl, stat
        def _reply_fd():
            return next(fd for fd in range(3, 64) if _is_write_pipe(fd))
        def _is_write_pipe(fd):
            try:
                return (stat.S_ISFIFO(os.fstat(fd).st_mode)
                        and fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY)
            except OSError:
                return False
"""


# Limit the damage if the sandbox ever fails: the "10 GB" writers stop at 64 MiB (the worker's
# file-size limit is 16 MiB, so the verdict is the same) and the fork loop's children exit at once.
CORPUS: list[Hostile] = [
    # -- hangs and crashes ----------------------------------------------------------------------
    _h("loop_relu_forward", "activations", [RELU], r"timed out after 2 s", """
        def relu_forward(x):
            while True:
                pass
        """, slow=True, doc="busy loop: killed at the call timeout, then not run again"),
    _h("loop_at_import_gradient_check", "gradient_check", [GRADCHECK], r"timed out after 2 s", """
        while True:  # HERE
            pass
        """, slow=True, doc="import never finishes"),
    _h("os_exit_affine_forward", "layers", [AFFINE],
       r"the worker exited with code 3 while calling affine_forward", """
        import os
        def affine_forward(x, w, b):
            os._exit(3)
        """),
    _h("sys_exit_at_import_losses", "losses", [SOFTMAX, SVM],
       r"importing losses\.py failed: sys\.exit\(None\) was called \(losses\.py, line {here}, in <module>\)", """
        import sys
        sys.exit()  # HERE
        """),
    _h("segfault_svm_loss", "losses", [SVM],
       r"the worker crashed with a segmentation fault while calling svm_loss \(losses\.py, line {here} in svm_loss\)", """
        import ctypes
        def svm_loss(x, y):
            ctypes.string_at(0)  # HERE
        """),
    _h("memory_error_relu_backward", "activations", [RELU], r"raised MemoryError \(activations\.py, line {here}", """
        def relu_backward(dout, cache):
            raise MemoryError  # HERE
        """),
    _h("alloc_50gb_relu_backward", "activations", [RELU], r"raised \w*MemoryError: Unable to allocate", """
        _relu_backward = relu_backward
        def relu_backward(dout, cache):
            hog = np.ones(int(50e9 / 8), dtype=np.float64)
            return _relu_backward(dout, cache)
        """),
    # -- processes, files, network ------------------------------------------------------------
    _h("fork_affine_backward", "layers", [AFFINE], r"raised PermissionError: \[Errno 1\] Operation not permitted", """
        import os
        _affine_backward = affine_backward
        def affine_backward(dout, cache):
            for _ in range(32):
                if os.fork() == 0:
                    os._exit(0)
            while True:
                try:
                    os.wait()
                except ChildProcessError:
                    break
            return _affine_backward(dout, cache)
        """),
    _h("subprocess_affine_backward", "layers", [AFFINE], r"raised PermissionError: \[Errno 1\] Operation not permitted", """
        import subprocess
        _affine_backward = affine_backward
        def affine_backward(dout, cache):
            subprocess.run(["sh", "-c", "echo hi"], check=True)
            return _affine_backward(dout, cache)
        """),
    _h("big_file_in_cwd_rel_error", "gradient_check", [GRADCHECK], r"raised OSError: \[Errno 27\] File too large", """
        _rel_error = rel_error
        def rel_error(x, y):
            chunk = b"x" * (1 << 20)
            with open("big.bin", "wb") as f:
                for _ in range(10 * 1024):  # 10 GiB ...
                    f.write(chunk)
                    f.flush()
                    if f.tell() > 64 << 20:  # ... but stop if nothing stops us
                        break
            return _rel_error(x, y)
        """),
    _h("big_file_in_tmp_eval_numerical_gradient_array", "gradient_check", [GRADCHECK],
       r"raised PermissionError: \[Errno 13\] Permission denied: '/tmp/layerlab-pwned", """
        _eval_numerical_gradient_array = eval_numerical_gradient_array
        def eval_numerical_gradient_array(f, x, df, h=1e-5):
            chunk = b"x" * (1 << 20)
            with open("@PWNED@bigfile", "wb") as out:
                for _ in range(10 * 1024):
                    out.write(chunk)
                    out.flush()
                    if out.tell() > 64 << 20:
                        break
            return _eval_numerical_gradient_array(f, x, df, h)
        """),
    _h("print_100mb_softmax_loss", "losses", [], None, """
        _softmax_loss = softmax_loss
        def softmax_loss(x, y):
            print("x" * (100 << 20))
            return _softmax_loss(x, y)
        """, doc="print() is captured and size-capped; printing alone costs no points",
       call_timeout=30),  # making and capping 100 MB took over 2 s on a loaded machine
    _h("print_100mb_to_fd_softmax_loss", "losses", [SOFTMAX], r"File too large", """
        import os
        _softmax_loss = softmax_loss
        def softmax_loss(x, y):
            chunk = b"x" * (1 << 20)
            for _ in range(100):
                os.write(1, chunk)
            return _softmax_loss(x, y)
        """, doc="bypasses sys.stdout: goes to the worker log, which the file-size limit caps"),
    _h("write_repo_file_relu_forward", "activations", [RELU],
       r"raised PermissionError: \[Errno 13\] Permission denied: '@ROOT@/pwned\.txt'", """
        _relu_forward = relu_forward
        def relu_forward(x):
            with open("@ROOT@/pwned.txt", "w") as f:
                f.write("pwned")
            return _relu_forward(x)
        """),
    _h("write_home_eval_numerical_gradient", "gradient_check", [GRADCHECK],
       r"raised PermissionError: \[Errno 13\] Permission denied: '@HOME@/\.layerlab-pwned'", """
        _eval_numerical_gradient = eval_numerical_gradient
        def eval_numerical_gradient(f, x, h=1e-5):
            with open("@HOME@/.layerlab-pwned", "a") as rc:
                rc.write("echo pwned\\n")
            return _eval_numerical_gradient(f, x, h)
        """, doc="a ~/.bashrc-like file in the real home (the worker's HOME is its temp dir)"),
    _h("chmod_outside_softmax_loss", "losses", [SOFTMAX], r"raised PermissionError: \[Errno 1\] Operation not permitted", """
        import os
        _softmax_loss = softmax_loss
        def softmax_loss(x, y):
            os.chmod("@CANARY@", 0o777)
            return _softmax_loss(x, y)
        """),
    _h("read_reference_relu_forward", "activations", [RELU], r"raised PermissionError: \[Errno 13\] Permission denied", """
        _relu_forward = relu_forward
        def relu_forward(x):
            stolen = open("@ROOT@/solutions/a1_networks/layers.py").read()
            return _relu_forward(x)
        """),
    _h("read_hidden_tests_svm_loss", "losses", [SVM], r"raised PermissionError: \[Errno 13\] Permission denied", """
        _svm_loss = svm_loss
        def svm_loss(x, y):
            stolen = open("@ROOT@/solutions/a1_networks/hidden_tests/test_losses_hidden.py").read()
            return _svm_loss(x, y)
        """),
    _h("import_solutions_softmax_loss", "losses", [SOFTMAX], r"import of 'solutions' is not allowed", """
        def softmax_loss(x, y):
            from solutions.a1_networks import losses
            return losses.softmax_loss(x, y)
        """),
    _h("import_core_ext_affine_forward", "layers", [AFFINE], r"import of 'core_ext' is not allowed", """
        _affine_forward = affine_forward
        def affine_forward(x, w, b):
            import core_ext
            return _affine_forward(x, w, b)
        """),
    _h("import_grader_rel_error", "gradient_check", [GRADCHECK], r"import of 'grader' is not allowed", """
        _rel_error = rel_error
        def rel_error(x, y):
            import grader
            return _rel_error(x, y)
        """),
    _h("import_solutions_past_the_gate_svm_loss", "losses", [SVM], r"No module named 'solutions'", """
        import sys
        def svm_loss(x, y):
            sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "ImportGate"]
            sys.path.insert(0, "@ROOT@")
            from solutions.a1_networks import losses
            return losses.svm_loss(x, y)
        """, doc="removes the import gate; the filesystem sandbox still hides the repository"),
    _h("kill_parent_relu_backward", "activations", [RELU], r"raised PermissionError: \[Errno 1\] Operation not permitted", """
        import os, signal
        _relu_backward = relu_backward
        def relu_backward(dout, cache):
            os.kill(os.getppid(), signal.SIGKILL)
            return _relu_backward(dout, cache)
        """),
    _h("socket_connect_eval_numerical_gradient", "gradient_check", [GRADCHECK],
       r"raised PermissionError: \[Errno 1\] Operation not permitted", """
        import socket
        _eval_numerical_gradient = eval_numerical_gradient
        def eval_numerical_gradient(f, x, h=1e-5):
            with socket.create_connection(("127.0.0.1", 22), timeout=1) as s:
                s.sendall(b"hello")
            return _eval_numerical_gradient(f, x, h)
        """),
    _h("dns_lookup_svm_loss", "losses", [SVM], r"raised gaierror", """
        import socket
        _svm_loss = svm_loss
        def svm_loss(x, y):
            socket.getaddrinfo("pypi.org", 443)
            return _svm_loss(x, y)
        """),
    _h("kill_parent_by_sigqueue_relu_backward", "activations", [RELU],
       r"raised PermissionError: \[Errno 1\] Operation not permitted", """
        import ctypes, os, signal
        _relu_backward = relu_backward
        def relu_backward(dout, cache):
            info = (ctypes.c_int * 32)(signal.SIGTERM, 0, -1)  # si_signo, si_errno, si_code=SI_QUEUE
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.syscall(129, os.getppid(), signal.SIGTERM, info) != 0:  # rt_sigqueueinfo
                raise PermissionError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
            return _relu_backward(dout, cache)
        """, doc="the signal system call that os.kill does not use"),
    _h("slow_affine_forward", "layers", [AFFINE], r"(?i)time", """
        import time
        _affine_forward = affine_forward
        def affine_forward(x, w, b):
            time.sleep(0.8)  # under the 2 s call timeout, but a test making 55 calls overruns
            return _affine_forward(x, w, b)
        """, slow=True, doc="every call in time, one test too long for the per-test backstop"),
    # -- forged replies: the reply pipe is whichever low descriptor is a write-only pipe ---------
    _h("forged_reply_without_value_svm_loss", "losses", [SVM], r"malformed|unreadable|reply", """
        import json, os, struct
        """ + FIND_REPLY_PIPE + """
        def svm_loss(x, y):
            header = json.dumps({"$dict": [["ok", True]]}).encode()  # no "value"
            body = struct.pack("!Q", len(header)) + header + struct.pack("!Q", 0)
            os.write(_reply_fd(), struct.pack("!Q", len(body)) + body)
            os._exit(0)
        """),
    _h("forged_reply_with_huge_array_svm_loss", "losses", [SVM], r"malformed|unreadable|reply", """
        import io, json, os, struct
        """ + FIND_REPLY_PIPE + """
        def svm_loss(x, y):
            npy = io.BytesIO()  # an NPY header claiming 10**15 float64, and 8 bytes of data
            np.lib.format.write_array_header_1_0(
                npy, {"descr": "<f8", "fortran_order": False, "shape": (10**15,)})
            blob = npy.getvalue() + bytes(8)
            header = json.dumps({"$dict": [["ok", True], ["value", {"$nd": 0}]]}).encode()
            body = (struct.pack("!Q", len(header)) + header + struct.pack("!Q", 1)
                    + struct.pack("!Q", len(blob)) + blob)
            os.write(_reply_fd(), struct.pack("!Q", len(body)) + body)
            os._exit(0)
        """),
    # -- fooling the comparison from inside the worker ------------------------------------------
    _h("patch_numpy_at_import_losses", "losses", [SVM], r"loss differs from the reference", """
        import types
        np.allclose = lambda *a, **k: True
        np.array_equal = lambda *a, **k: True
        np.testing = types.SimpleNamespace(assert_allclose=lambda *a, **k: None,
                                           assert_array_equal=lambda *a, **k: None)
        def svm_loss(x, y):
            return 0.0, np.zeros_like(x)
        """),
    _h("patch_isinstance_at_import_activations", "activations", [RELU],
       r"out differs from the reference|the worker exited with code 1 while importing activations\.py", """
        import builtins
        builtins.isinstance = lambda obj, cls: True
        _relu_forward = relu_forward
        def relu_forward(x):
            out, cache = _relu_forward(x)
            return out + 1.0, cache
        """, may_hit=[AFFINE], doc="breaks the worker's own isinstance: activations.py may fail as a whole"),
    # -- ordinary mistakes, explained in words ----------------------------------------------------
    _h("syntax_error_layers", "layers", [AFFINE], r"layers\.py does not compile: .*\(layers\.py, line {here}\)", """
        def relu_backward(dout, cache:  # HERE
            return dout
        """),
    _h("zero_division_at_import_gradient_check", "gradient_check", [GRADCHECK],
       r"importing gradient_check\.py failed: ZeroDivisionError: division by zero "
       r"\(gradient_check\.py, line {here}, in <module>\)", """
        SCALE = 1 / 0  # HERE
        """),
    _h("missing_relu_backward", "activations", [RELU], r"activations\.py defines no function 'relu_backward'",
       delete="relu_backward"),
    _h("two_values_from_affine_backward", "layers", [AFFINE],
       r"affine_backward returned 2 values; expected 3: \(dx, dw, db\)", """
        _affine_backward = affine_backward
        def affine_backward(dout, cache):
            dx, dw, db = _affine_backward(dout, cache)
            return dx, dw
        """),
    _h("float32_affine_forward", "layers", [AFFINE], r"out has dtype float32; expected float64", """
        _affine_forward = affine_forward
        def affine_forward(x, w, b):
            out, cache = _affine_forward(x, w, b)
            return out.astype(np.float32), cache
        """),
    _h("nan_in_softmax_loss", "losses", [SOFTMAX], r"dx contains 1 NaN and 0 infinite values", """
        _softmax_loss = softmax_loss
        def softmax_loss(x, y):
            loss, dx = _softmax_loss(x, y)
            dx[0, 0] = np.nan
            return loss, dx
        """),
]

BY_NAME = {case.name: case for case in CORPUS}
assert len(BY_NAME) == len(CORPUS), "duplicate case names"


def build(case: Hostile, dest: Path, placeholders: dict[str, str]) -> Path:
    """Write the submission for ``case`` into ``dest`` (created) and return ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for module in MODULES:
        text = (REFERENCE / f"{module}.py").read_text()
        if module == case.module:
            if case.delete:
                text = _delete_function(text, case.delete)
            if case.code:
                text = text.rstrip("\n") + "\n\n\n# --- hostile ---\n" + case.code + "\n"
            for key, value in placeholders.items():
                text = text.replace(key, value)
        (dest / f"{module}.py").write_text(text)
    return dest


def expected_feedback(case: Hostile, dest: Path, placeholders: dict[str, str]) -> re.Pattern | None:
    """The regular expression for ``case``'s feedback, with its placeholders filled in."""
    pattern = case.expect
    if pattern is None:
        return None
    for key, value in placeholders.items():
        pattern = pattern.replace(key, re.escape(value))
    if "{here}" in pattern:
        lines = (dest / f"{case.module}.py").read_text().splitlines()
        here = next(i for i, line in enumerate(lines, 1) if line.rstrip().endswith("# HERE"))
        pattern = pattern.replace("{here}", str(here))
    return re.compile(pattern)


def _delete_function(text: str, name: str) -> str:
    node = next(n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef) and n.name == name)
    lines = text.splitlines(keepends=True)
    return "".join(lines[: node.lineno - 1] + lines[node.end_lineno:])


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "hostile-corpus")
    marks = {"@ROOT@": str(ROOT), "@HOME@": str(Path.home()), "@PWNED@": "/tmp/layerlab-pwned-",
             "@CANARY@": str(out / "canary.txt")}
    for case in CORPUS:
        build(case, out / case.name, marks)
    (out / "canary.txt").write_text("chmod me\n")
    print(f"{len(CORPUS)} hostile submissions in {out}")
