"""The sandbox worker: runs one submission's functions on request, in its own process.

Started by :mod:`grader.session` as ``python -I worker.py CONFIG`` with a scrubbed environment.
It locks itself down (see :mod:`grader.sandbox`), reports what each protection achieved, then
answers requests read from one pipe on another: each request names a submission module and a
function with plain-data arguments; the answer is the function's return value in the wire
format, with values that are not plain data (a layer's ``cache``) kept here behind handles.

This file never imports the ``grader`` package: with ``-I`` nothing but the standard library
and the site packages are importable, and the two helper modules are loaded by path.
"""

import faulthandler
import importlib
import importlib.abc
import importlib.util
import io
import json
import os
import sys
import sysconfig
import traceback
import warnings

_HERE = os.path.dirname(os.path.abspath(__file__))


def _load(name):
    path = os.path.join(_HERE, f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"_layerlab_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


wire = _load("wire")
sandbox = _load("sandbox")
probes = _load("probes")
import numpy as np  # noqa: E402  (after wire, which imports it anyway)
import numpy.fft  # noqa: E402  (submodules loaded before the lock, which forbids their files)
import numpy.linalg  # noqa: E402
import numpy.random  # noqa: E402

MAX_CAPTURE = 64 * 1024


class StudentFailure(Exception):
    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind


class ImportGate(importlib.abc.MetaPathFinder):
    """Refuse every import outside the standard library, NumPy and the submission."""

    def __init__(self, allowed, refusals):
        self.allowed = set(allowed)
        self.refusals = dict(refusals)

    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in self.allowed:
            return None
        if top in self.refusals:
            raise ImportError(f"import of '{name}' is not allowed in this task: "
                              f"{self.refusals[top]}")
        raise ImportError(f"import of '{name}' is not allowed while grading "
                          "(only the standard library, numpy and your own files)")


class CappedText(io.TextIOBase):
    def __init__(self, limit):
        self.parts, self.size, self.dropped, self.limit = [], 0, 0, limit

    def writable(self):
        return True

    def write(self, s):
        s = str(s)
        room = self.limit - self.size
        if room > 0:
            self.parts.append(s[:room])
            self.size += min(len(s), room)
        self.dropped += max(0, len(s) - max(room, 0))
        return len(s)

    def text(self):
        out = "".join(self.parts)
        return out + (f"\n... ({self.dropped} more characters not shown)" if self.dropped else "")


class Worker:
    def __init__(self, cfg):
        self.sub_dir = cfg["submission_dir"]
        self.modules = {}
        self.import_errors = {}
        self.handles = {}
        self.next_handle = 1

    # -- submission modules ------------------------------------------------------------------
    def module(self, name):
        """The submission's module ``name``, imported once. A failure is remembered with its
        kind, so a missing file reads as "not started" on every call, not only the first."""
        if name in self.modules:
            return self.modules[name]
        if name not in self.import_errors:
            failure = self._import(name)
            if failure is None:
                return self.modules[name]
            self.import_errors[name] = failure
        raise StudentFailure(*self.import_errors[name])

    def _import(self, name):
        """Import ``name`` from the submission: None, or (kind, message) saying why not."""
        if not os.path.exists(os.path.join(self.sub_dir, name + ".py")):
            return "missing_module", f"the submission has no {name}.py"
        out = CappedText(MAX_CAPTURE)
        try:
            with _captured(out):
                self.modules[name] = importlib.import_module(name)
        except SyntaxError as exc:
            return "import_error", (f"{name}.py does not compile: {exc.msg} "
                                    f"({os.path.basename(exc.filename or '')}, line {exc.lineno})")
        except BaseException as exc:  # noqa: BLE001 - any failure at import is the student's
            return "import_error", f"importing {name}.py failed: {self.describe(exc)}"
        return None

    def describe(self, exc):
        if isinstance(exc, SystemExit):
            head = f"sys.exit({exc.code!r}) was called"
        else:
            text = str(exc)
            head = type(exc).__name__ + (f": {text[:500]}" if text else "")
        where = self.where(exc.__traceback__)
        return head + (f" ({where})" if where else "")

    def where(self, tb):
        frames = [f for f in traceback.extract_tb(tb) if f.filename.startswith(self.sub_dir)]
        if not frames:
            return ""
        f = frames[-1]
        return f"{os.path.basename(f.filename)}, line {f.lineno}, in {f.name}"

    # -- requests ----------------------------------------------------------------------------
    def call(self, req):
        target = req.get("target")
        if target is not None:
            fn = getattr(target, req["func"], None)
            if not callable(fn):
                raise StudentFailure("missing", f"{type(target).__name__} has no method "
                                     f"'{req['func']}'")
        else:
            fn = self.function(req["module"], req["func"])
        args, kwargs = req["args"], req["kwargs"]
        out = CappedText(MAX_CAPTURE)
        with warnings.catch_warnings(record=True) as caught, _captured(out):
            warnings.simplefilter("always")
            try:
                result = fn(*args, **kwargs)
            except NotImplementedError as exc:
                said = f"not implemented ({exc})" if str(exc) else "not implemented"
                raise StudentFailure("not_implemented", said) from None
            except BaseException as exc:  # noqa: BLE001 - reported to the grader as the verdict
                raise StudentFailure("exception", "raised " + self.describe(exc)) from None
        keep = set(req.get("keep") or ())
        if -1 in keep:
            result = self.store(result)[0]
        elif keep and isinstance(result, tuple):
            result = tuple(self.store(v)[0] if i in keep else v for i, v in enumerate(result))
        notes = [f"{w.category.__name__}: {w.message}" for w in caught[:10]]
        reply = {"ok": True, "value": result, "output": out.text(), "warnings": notes}
        if req.get("return_args"):
            reply["args"] = list(args)
        return reply

    def function(self, module, name):
        fn = getattr(self.module(module), name, None)
        if fn is None:
            raise StudentFailure("missing", f"{module}.py defines no function '{name}'")
        if not callable(fn):
            raise StudentFailure("not_callable", f"'{name}' in {module}.py is a "
                                 f"{type(fn).__name__}, not a function")
        return fn

    def attribute(self, req):
        try:
            return {"ok": True, "value": getattr(req["target"], req["name"])}
        except Exception as exc:  # noqa: BLE001 - a property may raise anything
            raise StudentFailure("exception", f"reading .{req['name']} of "
                                 f"{type(req['target']).__name__} failed: {self.describe(exc)}"
                                 ) from None

    def store(self, obj):
        hid = self.next_handle
        self.next_handle += 1
        self.handles[hid] = obj
        type_name = type(obj).__name__
        if isinstance(obj, np.ndarray):
            type_name = f"ndarray of dtype {obj.dtype}"
        return wire.Handle(hid, type_name), type_name

    def load(self, req):
        self.module(req["module"])
        return {"ok": True, "value": None}

    def release(self, req):
        self.handles.clear()
        return {"ok": True, "value": None}

    def call_many(self, req):
        """Several points in one request (a numerical gradient's): each point of
        ``req["calls"]`` is a list of steps ``[func, args]`` run in turn (functions of
        ``module``, or methods of ``target``: set_params, then loss); a point's value is its last
        step's, element ``pick`` of it when that is a tuple and ``pick`` is given."""
        values, printed, notes = [], [], []
        pick = req.get("pick")
        for steps in req["calls"]:
            value = None
            for func, args in steps:
                reply = self.call({"module": req["module"], "func": func,
                                   "target": req.get("target"), "args": args, "kwargs": {}})
                value = reply["value"]
                printed.append(reply["output"])
                notes += reply["warnings"]
            if pick is not None and isinstance(value, tuple) and len(value) > pick:
                value = value[pick]
            values.append(value)
        return {"ok": True, "value": values, "output": "".join(printed)[:MAX_CAPTURE],
                "warnings": notes[:10]}

    OPS = {"call": call, "map": call_many, "getattr": attribute, "import": load,
           "release": release}

    def serve(self, fd_in, fd_out, ready):
        wire.send(fd_out, wire.encode(ready))
        while (frame := wire.recv(fd_in, 1 << 31)) is not None:
            wire.send(fd_out, self.encode_reply(self.answer(frame)))

    def answer(self, frame):
        """The reply to one request; a request the worker cannot serve gets a protocol error."""
        try:
            req = wire.decode(frame, from_handle=self.lookup, from_probe=self.probe)
            op = self.OPS.get(req.get("op"))
            if op is None:
                raise wire.WireError(f"unknown op {req.get('op')!r}")
            return op(self, req)
        except StudentFailure as failure:
            return {"ok": False, "kind": failure.kind, "message": str(failure)}
        except wire.WireError as exc:
            return {"ok": False, "kind": "protocol", "message": f"bad request: {exc}"}

    def encode_reply(self, reply):
        try:
            return wire.encode(reply, to_handle=self.store_pair)
        except (wire.WireError, RecursionError, ValueError, MemoryError) as exc:
            return wire.encode({"ok": False, "kind": "unsendable",
                                "message": f"the return value cannot be sent to the grader: {exc}"})

    def store_pair(self, obj):
        handle, type_name = self.store(obj)
        return handle.id, type_name

    def lookup(self, hid, _type):
        if hid not in self.handles:
            raise wire.WireError("stale handle")
        return self.handles[hid]

    def probe(self, name, params):
        if name not in probes.RECIPES:
            raise wire.WireError(f"unknown probe {name!r}")
        return probes.build(name, params)


class _captured:
    """Send Python-level stdout/stderr of the student code to a capped buffer."""

    def __init__(self, buf):
        self.buf = buf

    def __enter__(self):
        self.saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = self.buf

    def __exit__(self, *exc):
        sys.stdout, sys.stderr = self.saved


def _library_dirs():
    """Directories of every shared library loaded so far, plus the loader's usual places."""
    dirs = {"/lib64", "/usr/lib64"}
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split(maxsplit=5)[-1].strip()
                if path.startswith("/") and ".so" in path:
                    dirs.add(os.path.dirname(path))
    except OSError:
        pass
    arch = sysconfig.get_config_var("MULTIARCH")
    if arch:
        dirs |= {f"/lib/{arch}", f"/usr/lib/{arch}"}
    return sorted(dirs)


def _read_paths(sub_dir, extra_paths):
    stdlib = sysconfig.get_paths()["stdlib"]
    paths = [os.path.join(stdlib, e) for e in os.listdir(stdlib)
             if e not in ("site-packages", "dist-packages")]
    paths.append(os.path.dirname(sysconfig.get_paths()["platstdlib"]) + "/lib-dynload")
    numpy_dir = os.path.dirname(np.__file__)
    paths += [numpy_dir, numpy_dir + ".libs", os.path.dirname(numpy_dir) + "/numpy.libs"]
    paths += _library_dirs()
    paths += ["/etc/ld.so.cache", "/dev/null", "/dev/urandom", "/dev/zero", sub_dir, *extra_paths]
    return paths


def preload(packages, paths, allowed):
    """Import our ``packages`` (from ``paths``) before the lock, then forget the modules they
    pulled in that the submission may not import.

    core_ext's compiled convolution calls BLAS through SciPy, which the lock would keep it
    from loading later; its function pointers stay valid when SciPy's modules leave
    ``sys.modules`` (CPython never unloads an extension module's library), and an ``import
    scipy`` from the submission then meets the import gate like any other. A package that
    fails here fails again, with its own message, when the submission imports it.
    """
    before = set(sys.modules)
    sys.path[:0] = paths
    try:
        for package in packages:
            try:
                importlib.import_module(package)
            except Exception:  # noqa: BLE001  (reported when the submission imports it)
                pass
    finally:
        del sys.path[:len(paths)]
    for name in set(sys.modules) - before:
        if name.partition(".")[0] not in allowed:
            del sys.modules[name]


def lock_down(cfg):
    """Apply every protection to this process; what each achieved, as JSON-able facts."""
    limits = cfg["limits"]
    extra = [str(p) for p in cfg.get("extra_paths", ())]
    ours = list(cfg.get("extra_imports", ()))  # our packages this worker's tasks may import
    allowed = set(sys.stdlib_module_names) | {"numpy"} | set(ours)
    preload(ours, extra, allowed)
    facts = {"resource limits": sandbox.apply_rlimits(limits),
             "network": sandbox.new_network_namespace(),
             "filesystem": sandbox.landlock(_read_paths(cfg["submission_dir"], extra),
                                            [cfg["work_dir"]])}
    if facts["filesystem"]["status"] == "active":
        facts["readable files"] = {"status": "active", "copies": ours}
    facts["memory"] = sandbox.limit_memory(limits["memory_mb"])
    facts["system calls"] = sandbox.seccomp()
    gate_imports(cfg["submission_dir"], extra, allowed, cfg.get("refusals", {}))
    facts["imports"] = {"status": "active", "packages": ours}
    return facts


def gate_imports(sub_dir, extra_paths, allowed, refusals):
    """From here on only ``allowed`` packages and the submission's own modules import."""
    own = {f[:-3] for f in os.listdir(sub_dir) if f.endswith(".py")}
    sys.meta_path[:] = [ImportGate(allowed | own, refusals)] + [
        f for f in sys.meta_path
        if getattr(f, "__module__", "").startswith(("_frozen", "importlib"))
        or f in (importlib.machinery.BuiltinImporter, importlib.machinery.FrozenImporter,
                 importlib.machinery.PathFinder)]
    sys.path[:] = [sub_dir, *extra_paths] + [p for p in sys.path if "-packages" not in p]


def main():
    cfg = json.loads(sys.argv[1])
    sys.argv[1:] = []
    sys.dont_write_bytecode = True
    faulthandler.enable()
    os.chdir(cfg["work_dir"])
    facts = lock_down(cfg)
    Worker(cfg).serve(cfg["fd_in"], cfg["fd_out"], {"ready": True, "protections": facts})


if __name__ == "__main__":
    main()
