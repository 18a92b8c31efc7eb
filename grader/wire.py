"""The wire format between the trusted grader and the sandbox worker.

Only plain data crosses the boundary: a JSON header plus NPY-encoded arrays (read back with
``allow_pickle=False``). Tuples, dicts, NumPy scalars, opaque handles and probe functions get
small tagged JSON objects. Nothing here unpickles, so bytes written by student code can at worst
decode to wrong values, never run code in the reading process.

This module is loaded by the worker by file path before any student code runs: it imports
only the standard library and NumPy.
"""

from __future__ import annotations

import io
import json
import math
import os
import struct

import numpy as np

MAX_DEPTH = 32
MAX_ITEMS = 100_000
_LEN = struct.Struct("!Q")


class WireError(ValueError):
    """The bytes on the wire do not form a valid message."""


class Handle:
    """An opaque reference to an object that stays in the worker (e.g. a layer's cache)."""

    __slots__ = ("id", "type_name", "generation")

    def __init__(self, id: int, type_name: str, generation: int = 0):
        self.id, self.type_name, self.generation = id, type_name, generation

    def __repr__(self) -> str:
        return f"<opaque {self.type_name} kept in the worker>"


class Probe:
    """A function the worker builds from a fixed, public recipe (see ``worker.PROBES``)."""

    __slots__ = ("name", "params")

    def __init__(self, name: str, **params):
        self.name, self.params = name, params

    def __repr__(self) -> str:
        return f"Probe({self.name!r})"


def encode(value, *, to_handle=None) -> bytes:
    """Serialise ``value``; objects that are not plain data go through ``to_handle``."""
    blobs: list[bytes] = []

    def walk(v, depth):
        if depth > MAX_DEPTH:
            raise WireError("value nested too deeply")
        if isinstance(v, np.ndarray) and v.dtype.kind in "biufc":
            blobs.append(_npy(v))
            return {"$nd": len(blobs) - 1}
        if isinstance(v, np.generic) and v.dtype.kind in "biufc":
            blobs.append(_npy(np.asarray(v)))
            return {"$np": len(blobs) - 1}
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, int):
            return v if abs(v) < 2**63 else {"$bigint": str(v)}
        if isinstance(v, float):
            return v if math.isfinite(v) else {"$float": repr(float(v))}
        if isinstance(v, tuple):
            return {"$tuple": [walk(x, depth + 1) for x in v]}
        if isinstance(v, list):
            return [walk(x, depth + 1) for x in v]
        if isinstance(v, dict) and all(isinstance(k, (str, int)) for k in v):
            return {"$dict": [[walk(k, depth + 1), walk(x, depth + 1)] for k, x in v.items()]}
        if isinstance(v, Handle):
            return {"$h": v.id, "type": v.type_name}
        if isinstance(v, Probe):
            return {"$fn": v.name, "params": walk(v.params, depth + 1)}
        if to_handle is None:
            raise WireError(f"cannot send a value of type {type(v).__name__}")
        hid, type_name = to_handle(v)
        return {"$h": hid, "type": type_name}

    header = json.dumps(walk(value, 0), allow_nan=False).encode()
    parts = [_LEN.pack(len(header)), header, _LEN.pack(len(blobs))]
    for blob in blobs:
        parts += [_LEN.pack(len(blob)), blob]
    return b"".join(parts)


def decode(data: bytes, *, from_handle=None, from_probe=None):
    """Inverse of :func:`encode`; raises :class:`WireError` on anything malformed."""
    try:
        view = memoryview(data)
        (hlen,) = _LEN.unpack_from(view, 0)
        header = json.loads(bytes(view[8 : 8 + hlen]))
        pos = 8 + hlen
        (nblobs,) = _LEN.unpack_from(view, pos)
        pos += 8
        if nblobs > MAX_ITEMS:
            raise WireError("too many arrays")
        blobs = []
        for _ in range(nblobs):
            (blen,) = _LEN.unpack_from(view, pos)
            pos += 8
            if pos + blen > len(view):
                raise WireError("truncated array")
            blobs.append(bytes(view[pos : pos + blen]))
            pos += blen
        if pos != len(view):
            raise WireError(f"{len(view) - pos} unexpected bytes after the message")
    except WireError:
        raise
    except (struct.error, ValueError, RecursionError) as exc:
        raise WireError(f"malformed message: {exc}") from None
    counter = [0]

    def walk(v, depth):
        counter[0] += 1
        if depth > MAX_DEPTH or counter[0] > MAX_ITEMS:
            raise WireError("message too large or nested too deeply")
        if v is None or isinstance(v, (bool, str, int, float)):
            return v
        if isinstance(v, list):
            return [walk(x, depth + 1) for x in v]
        if not isinstance(v, dict) or len(v) == 0:
            raise WireError("unexpected JSON value")
        if "$nd" in v:
            return _load(blobs, v["$nd"])
        if "$np" in v:
            return _load(blobs, v["$np"])[()]
        if "$float" in v:
            return float(v["$float"])
        if "$bigint" in v:
            return int(v["$bigint"])
        if "$tuple" in v:
            return tuple(walk(x, depth + 1) for x in v["$tuple"])
        if "$dict" in v:
            return {walk(k, depth + 1): walk(x, depth + 1) for k, x in v["$dict"]}
        if "$h" in v:
            if from_handle is None:
                raise WireError("unexpected handle")
            return from_handle(v["$h"], str(v.get("type", "object")))
        if "$fn" in v:
            if from_probe is None:
                raise WireError("unexpected function")
            return from_probe(str(v["$fn"]), walk(v["params"], depth + 1))
        raise WireError("unknown tag")

    try:
        return walk(header, 0)
    except WireError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, RecursionError) as exc:
        raise WireError(f"malformed message: {exc}") from None


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asarray(arr), allow_pickle=False)
    return buf.getvalue()


def _load(blobs: list[bytes], index) -> np.ndarray:
    """Read one NPY blob without trusting its header: plain numeric dtypes, exact size."""
    if not isinstance(index, int) or not 0 <= index < len(blobs):
        raise WireError("bad array reference")
    blob = blobs[index]
    try:
        f = io.BytesIO(blob)
        version = np.lib.format.read_magic(f)
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        shape, fortran, dtype = read_header(f)
    except Exception as exc:  # noqa: BLE001 - any malformed header is a wire error
        raise WireError(f"malformed array header: {exc}") from None
    if dtype.kind not in "biufc" or dtype.hasobject or dtype.fields is not None:
        raise WireError(f"unsupported array dtype {dtype}")
    count = math.prod(shape)
    if count * dtype.itemsize != len(blob) - f.tell():
        raise WireError(f"array of shape {shape} does not match its {len(blob) - f.tell()} bytes")
    flat = np.frombuffer(blob, dtype=dtype, count=count, offset=f.tell())
    return flat.reshape(shape, order="F" if fortran else "C").copy()


def send(fd: int, payload: bytes) -> None:
    """Write one length-prefixed frame to a blocking file descriptor."""
    data = memoryview(_LEN.pack(len(payload)) + payload)
    while data:
        n = os.write(fd, data)
        data = data[n:]


def recv(fd: int, limit: int) -> bytes | None:
    """Read one frame from a blocking descriptor; None on a clean end of file."""
    head = _read_exact(fd, 8)
    if head is None:
        return None
    (n,) = _LEN.unpack(head)
    if n > limit:
        raise WireError(f"frame of {n} bytes exceeds the limit of {limit}")
    body = _read_exact(fd, n)
    if body is None:
        raise WireError("truncated frame")
    return body


def _read_exact(fd: int, n: int) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)
