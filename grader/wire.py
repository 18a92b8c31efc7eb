"""The wire format between the trusted grader and the sandbox worker.

Only plain data crosses the boundary: a JSON header plus NPY-encoded arrays (read back with
``allow_pickle=False``). Tuples, dicts, NumPy scalars, opaque handles and probe functions get
small tagged JSON objects. Nothing here unpickles, so bytes written by student code can at worst
decode to wrong values, never run code in the reading process. Each message crosses a pipe as
one length-prefixed frame (:func:`send`, :func:`recv`): the worker blocks, the grader gives
each frame a deadline.

This module is loaded by the worker by file path before any student code runs: it imports
only the standard library and NumPy.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import select
import struct
import time

import numpy as np

MAX_DEPTH = 32
MAX_ITEMS = 100_000
_LEN = struct.Struct("!Q")  # every length on the wire: 8 bytes, network order
_CHUNK = 1 << 16  # bytes per read or write: a pipe's default capacity


class WireError(ValueError):
    """A value the format cannot carry, bytes that are no valid message, or a frame that did
    not cross whole."""


class FrameTooLarge(WireError):
    """A frame announced more bytes than its reader accepts."""

    def __init__(self, size: int, limit: int):
        super().__init__(f"frame of {size} bytes exceeds the limit of {limit}")
        self.size = size


class Closed(WireError):
    """The other end of the pipe went away before a whole frame crossed."""


class Timeout(WireError):
    """The deadline passed before a whole frame crossed."""


class Handle:
    """An opaque reference to an object that stays in the worker (e.g. a layer's cache)."""

    __slots__ = ("id", "type_name", "generation")

    def __init__(self, id: int, type_name: str, generation: int = 0):
        self.id, self.type_name, self.generation = id, type_name, generation

    def __repr__(self) -> str:
        return f"<opaque {self.type_name} kept in the worker>"


class Probe:
    """A function the worker builds from a fixed, public recipe (see ``grader.probes.RECIPES``)."""

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
    header, blobs = _split(data)
    with _malformed(TypeError, ValueError, KeyError, IndexError, RecursionError):
        return _Values(blobs, from_handle, from_probe).value(header, 0)


@contextlib.contextmanager
def _malformed(*errors: type[Exception]):
    """Turn ``errors`` raised in the block into a :class:`WireError`."""
    try:
        yield
    except WireError:
        raise
    except errors as exc:
        raise WireError(f"malformed message: {exc}") from None


def _split(data: bytes) -> tuple[object, list[bytes]]:
    """A message's JSON header and its array blobs, each checked against the bytes present."""
    view = memoryview(data)
    with _malformed(struct.error, ValueError, RecursionError):
        (hlen,) = _LEN.unpack_from(view, 0)
        header = json.loads(bytes(view[_LEN.size : _LEN.size + hlen]))
        (count,) = _LEN.unpack_from(view, _LEN.size + hlen)
        if count > MAX_ITEMS:
            raise WireError("too many arrays")
        blobs, pos = [], 2 * _LEN.size + hlen
        for _ in range(count):
            (blen,) = _LEN.unpack_from(view, pos)
            pos += _LEN.size
            if pos + blen > len(view):
                raise WireError("truncated array")
            blobs.append(bytes(view[pos : pos + blen]))
            pos += blen
    if pos != len(view):
        raise WireError(f"{len(view) - pos} unexpected bytes after the message")
    return header, blobs


class _Values:
    """Walks a decoded header, turning its tagged objects back into values."""

    def __init__(self, blobs: list[bytes], from_handle, from_probe):
        self.blobs, self.from_handle, self.from_probe = blobs, from_handle, from_probe
        self.count = 0

    def value(self, v, depth: int):
        self.count += 1
        if depth > MAX_DEPTH or self.count > MAX_ITEMS:
            raise WireError("message too large or nested too deeply")
        if v is None or isinstance(v, (bool, str, int, float)):
            return v
        if isinstance(v, list):
            return [self.value(x, depth + 1) for x in v]
        if not isinstance(v, dict) or len(v) == 0:
            raise WireError("unexpected JSON value")
        for tag, read in self.TAGS.items():
            if tag in v:
                return read(self, v, depth + 1)
        raise WireError("unknown tag")

    def _array(self, v, depth):
        return _load(self.blobs, v["$nd"])

    def _scalar(self, v, depth):
        return _load(self.blobs, v["$np"])[()]

    def _float(self, v, depth):
        return float(v["$float"])

    def _bigint(self, v, depth):
        return int(v["$bigint"])

    def _tuple(self, v, depth):
        return tuple(self.value(x, depth) for x in v["$tuple"])

    def _dict(self, v, depth):
        return {self.value(k, depth): self.value(x, depth) for k, x in v["$dict"]}

    def _handle(self, v, depth):
        if self.from_handle is None:
            raise WireError("unexpected handle")
        return self.from_handle(v["$h"], str(v.get("type", "object")))

    def _probe(self, v, depth):
        if self.from_probe is None:
            raise WireError("unexpected function")
        return self.from_probe(str(v["$fn"]), self.value(v["params"], depth))

    # Tried in this order: the first tag an object has decides what it is.
    TAGS = {"$nd": _array, "$np": _scalar, "$float": _float, "$bigint": _bigint,
            "$tuple": _tuple, "$dict": _dict, "$h": _handle, "$fn": _probe}


_MAGIC = b"\x93NUMPY\x01\x00"  # NPY format version 1.0
# The header NumPy writes for a plain numeric array, e.g.
# {'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), } padded with spaces to "\n".
_HEADER = re.compile(rb"\{'descr': '([<>|=][biufc][0-9]{1,2})', 'fortran_order': (True|False), "
                     rb"'shape': \(((?:[0-9]{1,19}, )*(?:[0-9]{1,19},?)?)\), \} *\n")


def _npy(arr: np.ndarray) -> bytes:
    """One array as an NPY 1.0 blob in C order, the header as np.lib.format.write_array writes
    it (less its padding for growth), without its general-purpose machinery: a request carries a
    handful of small arrays, and this runs on both sides of every call."""
    arr = np.asarray(arr)
    if not arr.flags.c_contiguous:
        arr = arr.copy(order="C")
    header = f"{{'descr': '{arr.dtype.str}', 'fortran_order': False, 'shape': {arr.shape!r}, }}"
    pad = -(len(_MAGIC) + 2 + len(header) + 1) % 64
    text = (header + " " * pad + "\n").encode("latin1")
    if len(text) > 0xFFFF:
        raise WireError("array has too many dimensions")
    return b"".join((_MAGIC, struct.pack("<H", len(text)), text, arr.tobytes()))


def _header(blob: bytes) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """An NPY blob's shape, order, dtype and data offset. NumPy's own header writer's output is
    read with a strict pattern; anything else goes through NumPy's reader (ast.literal_eval,
    which never runs code). Neither trusts the header: see _load."""
    if blob[:len(_MAGIC)] == _MAGIC and len(blob) >= len(_MAGIC) + 2:
        (size,) = struct.unpack_from("<H", blob, len(_MAGIC))
        start = len(_MAGIC) + 2
        match = _HEADER.fullmatch(blob, start, start + size)
        if match:
            shape = tuple(int(n) for n in match[3].split(b",") if n.strip())
            return shape, match[2] == b"True", np.dtype(match[1].decode()), start + size
    f = io.BytesIO(blob)
    version = np.lib.format.read_magic(f)
    read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                   else np.lib.format.read_array_header_2_0)
    shape, fortran, dtype = read_header(f)
    return shape, fortran, dtype, f.tell()


def _load(blobs: list[bytes], index) -> np.ndarray:
    """Read one NPY blob without trusting its header: plain numeric dtypes, exact size."""
    if not isinstance(index, int) or not 0 <= index < len(blobs):
        raise WireError("bad array reference")
    blob = blobs[index]
    try:
        shape, fortran, dtype, offset = _header(blob)
    except Exception as exc:  # noqa: BLE001 - any malformed header is a wire error
        raise WireError(f"malformed array header: {exc}") from None
    if dtype.kind not in "biufc" or dtype.hasobject or dtype.fields is not None:
        raise WireError(f"unsupported array dtype {dtype}")
    count = math.prod(shape)
    if count * dtype.itemsize != len(blob) - offset:
        raise WireError(f"array of shape {shape} does not match its {len(blob) - offset} bytes")
    flat = np.frombuffer(blob, dtype=dtype, count=count, offset=offset)
    return flat.reshape(shape, order="F" if fortran else "C").copy()


def send(fd: int, payload: bytes, deadline: float | None = None) -> None:
    """Write one length-prefixed frame, by ``deadline`` (``time.monotonic()``) if one is given.

    With a deadline on a blocking pipe each write is at most PIPE_BUF bytes, which a pipe that
    select() calls writable takes without blocking (a larger write could block past the deadline
    on a reader that stopped reading); a non-blocking pipe takes a pipe's capacity per write,
    as much of it as fits."""
    data = memoryview(_LEN.pack(len(payload)) + payload)
    careful = deadline is not None and os.get_blocking(fd)
    chunk = select.PIPE_BUF if careful else _CHUNK
    while data:
        if careful:
            _wait(fd, deadline, write=True)
        try:
            data = data[os.write(fd, data[:chunk]):]
        except BlockingIOError:  # a non-blocking pipe that is full: wait for room
            if deadline is None:
                select.select([], [fd], [])
            else:
                _wait(fd, deadline, write=True)
        except BrokenPipeError:
            raise Closed("the reader closed the pipe") from None


def recv(fd: int, limit: int, deadline: float | None = None) -> bytes | None:
    """Read one frame of at most ``limit`` bytes (by ``deadline`` if given); None on a clean end
    of file before it."""
    head = _read_exact(fd, _LEN.size, deadline)
    if head is None:
        return None
    (n,) = _LEN.unpack(head)
    if n > limit:
        raise FrameTooLarge(n, limit)
    body = _read_exact(fd, n, deadline)
    if body is None:
        raise Closed("truncated frame")
    return body


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes | None:
    """``n`` bytes; None if the pipe ends before the first, :class:`Closed` if after it."""
    chunks, got = [], 0
    while got < n:
        _wait(fd, deadline, write=False)
        chunk = os.read(fd, min(n - got, _CHUNK))
        if not chunk:
            if got:
                raise Closed("truncated frame")
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _wait(fd: int, deadline: float | None, *, write: bool) -> None:
    """Return once ``fd`` is ready (at once without a deadline); :class:`Timeout` if it is not
    by ``deadline``."""
    if deadline is None:
        return
    waiting = ([], [fd]) if write else ([fd], [])
    ready = select.select(*waiting, [], max(0.0, deadline - time.monotonic()))
    if not (ready[0] or ready[1]):
        raise Timeout("the deadline passed before the whole frame crossed")
