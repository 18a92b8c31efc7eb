"""The trusted side of the sandbox: starts worker processes and calls student functions in them.

A :class:`WorkerSession` owns at most one live worker for a submission. Every call has a
wall-clock deadline; a worker that overruns it, crashes, or answers with anything malformed is
killed with its whole process group, and the next call starts a fresh one. Replies are decoded
with :func:`grader.wire.decode` — never unpickled.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import NoReturn

from grader import wire
from grader.spec import Limits

WORKER = Path(__file__).with_name("worker.py")
_SIGNALS = {
    signal.SIGSEGV: "crashed with a segmentation fault",
    signal.SIGBUS: "crashed with a bus error",
    signal.SIGABRT: "aborted",
    signal.SIGFPE: "crashed with a floating-point exception",
    signal.SIGKILL: "was killed (likely out of memory)",
    signal.SIGXCPU: "used up its CPU-time limit",
    signal.SIGXFSZ: "exceeded the file-size limit",
    signal.SIGILL: "crashed with an illegal instruction",
}


class StudentError(Exception):
    """A call into the submission failed: the message is the feedback the student sees."""

    def __init__(self, message: str, kind: str = "exception"):
        super().__init__(message)
        self.kind = kind


@dataclass
class Call:
    """What one call printed and warned, kept for the test's feedback."""

    func: str
    output: str = ""
    warnings: list[str] = field(default_factory=list)


class WorkerSession:
    """Calls into one submission, restarting its worker whenever one dies or hangs."""

    def __init__(self, submission_dir: Path, limits: Limits | None = None,
                 extra_imports: tuple[str, ...] = (), *, extra_paths: tuple[Path, ...] = (),
                 refusals: dict[str, str] | None = None):
        """``extra_imports`` are package names the worker may import besides the standard
        library, numpy and the submission, found in ``extra_paths`` (read-only in the sandbox);
        ``refusals`` maps other package names to the reason given when a student imports them."""
        self.submission_dir = Path(submission_dir)
        self.limits = limits or Limits()
        self.extra_imports = tuple(extra_imports)
        self.extra_paths = tuple(str(p) for p in extra_paths)
        self.refusals = dict(refusals or {})
        # What the latest worker's sandbox enforced: protection -> facts (grader.protections).
        self.protections: dict[str, dict] = {}
        self.generation = 0
        self.calls: list[Call] = []
        self._proc: subprocess.Popen | None = None
        self._hung: dict[str, str] = {}
        self._dead_imports: dict[str, str] = {}
        self._imported: set[str] = set()

    # -- lifecycle ---------------------------------------------------------------------------
    def _start(self) -> None:
        self._root = Path(tempfile.mkdtemp(prefix="layerlab-worker-"))
        work = self._root / "work"
        work.mkdir()
        req_r, self._req_w = os.pipe()
        os.set_blocking(self._req_w, False)  # requests cross a pipe's capacity per write
        self._resp_r, resp_w = os.pipe()
        cfg = {"submission_dir": str(self.submission_dir), "work_dir": str(work),
               "fd_in": req_r, "fd_out": resp_w, "extra_imports": list(self.extra_imports),
               "extra_paths": list(self.extra_paths), "refusals": self.refusals,
               "limits": asdict(self.limits)}
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(work), "TMPDIR": str(work),
               "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        if sys.platform == "win32":
            env["SYSTEMROOT"] = os.environ.get("SYSTEMROOT", "")
        self._log = open(self._root / "worker.log", "wb")
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-I", str(WORKER), json.dumps(cfg)], env=env, cwd=work,
                stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
                pass_fds=(req_r, resp_w), start_new_session=True)
        finally:
            os.close(req_r)
            os.close(resp_w)
        self.generation += 1
        self._imported = set()
        ready = self._receive(time.monotonic() + self.limits.startup_timeout, "starting")
        if not (isinstance(ready, dict) and ready.get("ready")
                and isinstance(ready.get("protections"), dict)):
            self._kill()
            raise StudentError("the sandbox worker did not start", kind="internal")
        self.protections = ready["protections"]

    def _kill(self, grace: float = 0.0) -> int | None:
        """Kill the worker's process group; its exit code, or None if it was still running."""
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        try:
            code = proc.wait(timeout=grace) if grace else proc.poll()
        except subprocess.TimeoutExpired:
            code = None
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()
        for fd in (self._req_w, self._resp_r):
            os.close(fd)
        self._log.close()
        self._log_tail = (self._root / "worker.log").read_bytes()[-4000:].decode("utf-8", "replace")
        shutil.rmtree(self._root, ignore_errors=True)
        return code

    def close(self) -> None:
        """Stop the worker, if one is running."""
        self._kill()

    def ensure_started(self) -> dict[str, dict]:
        """Start a worker unless one is running; what its sandbox enforces (see ``protections``)."""
        if self._proc is None:
            self._start()
        return self.protections

    # -- calls -------------------------------------------------------------------------------
    def call(self, module: str, func: str, args: tuple, kwargs: dict, keep=(), *,
             target: wire.Handle | None = None, return_args: bool = False,
             many: list[tuple] | None = None, pick: int | None = None) -> object:
        """Run ``module.func(*args, **kwargs)`` (or ``target.func(...)``) in the worker.

        ``keep`` lists the positions of a returned tuple to leave in the worker as handles
        (``-1``: the whole result); with ``return_args`` the reply is ``(value, args)``, the
        positional arguments as the function left them (for parameter dicts updated in place).
        With ``many`` (``args`` unused) several points go in one request and the reply is the
        list of their values, element ``pick`` of each: a point is a list of steps
        ``(func, args)`` run in turn (functions of ``module`` or methods of ``target``), its
        value the last step's.
        """
        if func in self._hung:
            raise StudentError(self._hung[func], kind="timeout")
        if module in self._dead_imports:
            raise StudentError(self._dead_imports[module], kind="crash")
        for value in (*args, *kwargs.values(), target):
            if isinstance(value, wire.Handle) and value.generation != self.generation:
                raise StudentError("this value came from a worker that has since been restarted",
                                   kind="crash")
        if self._proc is None:
            self._start()
        if target is None and module not in self._imported:
            self._import(module)
        record = Call(func)
        self.calls.append(record)
        if many is not None:
            message = {"op": "map", "module": module, "target": target, "pick": pick,
                       "calls": [[[f, list(a)] for f, a in steps] for steps in many]}
        else:
            message = {"op": "call", "module": module, "func": func, "target": target,
                       "args": list(args), "kwargs": kwargs, "keep": list(keep),
                       "return_args": return_args}
        try:
            reply = self._request(message, f"calling {func}")
        except StudentError as err:
            if err.kind == "timeout":
                self._hung[func] = f"{func} timed out after {self.limits.call_timeout:g} s " \
                    "in an earlier test; not run again"
            raise
        record.output = str(reply.get("output", ""))[:100_000]
        warned = reply.get("warnings")
        record.warnings = [str(w) for w in warned[:10]] if isinstance(warned, list) else []
        if many is not None and not (isinstance(reply["value"], list)
                                     and len(reply["value"]) == len(many)):
            self._fail_protocol("the worker sent a malformed reply")
        if return_args:
            args_after = reply.get("args")
            if not isinstance(args_after, list) or len(args_after) != len(args):
                self._fail_protocol("the worker sent a malformed reply")
            return reply["value"], tuple(args_after)
        return reply["value"]

    def attribute(self, target: wire.Handle, name: str) -> object:
        """The value of ``target.name`` in the worker."""
        if target.generation != self.generation:
            raise StudentError("this object came from a worker that has since been restarted",
                               kind="crash")
        return self._request({"op": "getattr", "target": target, "name": name},
                             f"reading .{name}")["value"]

    @contextlib.contextmanager
    def timeout(self, seconds: float):
        """Allow calls in this block ``seconds`` each (e.g. a training run)."""
        saved, self.limits = self.limits, replace(self.limits, call_timeout=seconds)
        try:
            yield
        finally:
            self.limits = saved

    def _import(self, module: str) -> None:
        try:
            self._request({"op": "import", "module": module}, f"importing {module}.py")
        except StudentError as err:
            if err.kind in ("crash", "timeout"):
                self._dead_imports[module] = f"importing {module}.py failed earlier ({err}); " \
                    "its functions are not run again"
                raise StudentError(f"importing {module}.py failed: {err}", kind=err.kind) from None
            raise
        self._imported.add(module)

    def _request(self, message: dict, doing: str) -> dict:
        """Send one request and read its reply; the worker is never left mid-conversation."""
        deadline = time.monotonic() + self.limits.call_timeout
        try:
            self._send(wire.encode(message), deadline)
            reply = self._receive(deadline, doing)
        except StudentError:
            raise
        except BaseException:  # e.g. the per-test backstop fired during the call
            self._kill()
            raise
        if not (isinstance(reply, dict) and reply.get("ok") in (True, False)
                and ("value" in reply if reply["ok"] else "message" in reply)):
            self._fail_protocol(f"the worker sent a malformed reply while {doing}")
        if not reply["ok"]:
            raise StudentError(str(reply["message"]), kind=str(reply.get("kind")))
        return reply

    def release_handles(self) -> None:
        """Drop the objects kept for handles (called between tests)."""
        if self._proc is not None:
            try:
                self._request({"op": "release"}, "releasing handles")
            except StudentError:
                pass

    def _send(self, payload: bytes, deadline: float) -> None:
        try:
            wire.send(self._req_w, payload, deadline)
        except wire.Timeout:
            self._fail_timeout()
        except wire.Closed:
            self._fail_dead("receiving a request")

    def _receive(self, deadline: float, doing: str):
        limit = self.limits.max_reply_mb
        try:
            body = wire.recv(self._resp_r, limit << 20, deadline)
        except wire.Timeout:
            if doing == "starting":  # the startup limit is no call timeout to report
                self._fail_dead(doing)
            self._fail_timeout()
        except wire.Closed:
            self._fail_dead(doing)
        except wire.FrameTooLarge as exc:
            self._fail_protocol(f"the reply while {doing} was {exc.size >> 20} MiB, over the "
                                f"{limit} MiB limit")
        if body is None:
            self._fail_dead(doing)
        try:
            return wire.decode(body, from_handle=self._handle)
        except wire.WireError as exc:
            self._fail_protocol(f"the worker sent an unreadable reply ({exc})")

    def _handle(self, hid: int, type_name: str) -> wire.Handle:
        return wire.Handle(int(hid), type_name, self.generation)

    def _fail_timeout(self) -> NoReturn:
        self._kill()
        raise StudentError(f"timed out after {self.limits.call_timeout:g} s", kind="timeout")

    def _fail_protocol(self, message: str) -> NoReturn:
        self._kill()
        raise StudentError(message, kind="protocol")

    def _fail_dead(self, doing: str) -> NoReturn:
        code = self._kill(grace=1.0)
        if code is None:
            what = "closed its connection to the grader"
        elif code < 0:
            what = _SIGNALS.get(-code, f"was killed by signal {-code}")
        else:
            what = f"exited with code {code}"
        where = _student_line(self._log_tail, str(self.submission_dir))
        raise StudentError(f"the worker {what} while {doing}{where}", kind="crash")


def _student_line(log: str, sub_dir: str) -> str:
    """The innermost submission line in a faulthandler dump, or the last error logged."""
    lines = log.splitlines()
    for line in lines:
        line = line.strip()
        if line.startswith("File ") and sub_dir in line:
            # faulthandler prints innermost first: 'File "/.../layers.py", line 5 in relu'
            path, _, rest = line[6:].partition('", ')
            return f" ({os.path.basename(path)}, {rest})"
    errors = [ln.strip() for ln in lines if ln.strip() and ln[:1].isalpha() and ": " in ln]
    return f" (last error: {errors[-1][:300]})" if errors else ""
