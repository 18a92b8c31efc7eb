"""The wire format: every supported value survives a round trip; malformed bytes raise WireError."""
import io
import json
import math
import os
import pickle
import random
import struct
import threading
import time

import numpy as np
import pytest

from grader import wire
from grader.wire import Handle, Probe, WireError

LEN = struct.Struct("!Q")  # the frame's length prefix: 8 bytes, network order


def frame(header, blobs=()) -> bytes:
    """A message built by hand: header (JSON value or raw bytes), then length-prefixed blobs."""
    head = header if isinstance(header, bytes) else json.dumps(header).encode()
    parts = [LEN.pack(len(head)), head, LEN.pack(len(blobs))]
    for blob in blobs:
        parts += [LEN.pack(len(blob)), blob]
    return b"".join(parts)


def npy(arr, **kwargs) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, **kwargs)
    return buf.getvalue()


def npy_with_header(header: str, data: bytes = b"") -> bytes:
    """An NPY 1.0 blob whose header text is given verbatim (padded as the format requires)."""
    text = header.encode("latin1")
    pad = 64 - (10 + len(text) + 1) % 64
    text += b" " * pad + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + data


def assert_same(got, want, where="value"):
    """Equal value *and* type, recursively; NaN equals NaN and the sign of zero counts."""
    assert type(got) is type(want), f"{where}: {type(got).__name__} != {type(want).__name__}"
    if isinstance(want, np.ndarray):
        assert got.dtype == want.dtype and got.shape == want.shape, where
        assert np.array_equal(got, want, equal_nan=want.dtype.kind in "fc"), where
    elif isinstance(want, np.generic):
        assert got.dtype == want.dtype, where
        assert np.array_equal(got, want, equal_nan=want.dtype.kind in "fc"), where
    elif isinstance(want, float):
        assert (math.isnan(got) and math.isnan(want)) or got == want, where
        assert math.copysign(1.0, got) == math.copysign(1.0, want), f"{where}: sign of zero"
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_same(g, w, f"{where}[{i}]")
    elif isinstance(want, dict):
        assert list(got) == list(want), where
        for k in want:
            assert type(next(x for x in got if x == k)) is type(k), f"{where} key {k!r}"
            assert_same(got[k], want[k], f"{where}[{k!r}]")
    else:
        assert got == want, where


def roundtrip(value):
    return wire.decode(wire.encode(value))


SCALARS = [None, True, False, 0, -7, 2**63 - 1, 2**63, -(2**63), 10**40, -(10**40),
           1.5, 0.1, 5e-324, 1.7976931348623157e308, float("nan"), float("inf"), float("-inf"),
           -0.0, "", "héllo ✓ \"quoted\" \n", "$nd"]


@pytest.mark.parametrize("value", SCALARS, ids=repr)
def test_plain_scalars_round_trip(value):
    assert_same(roundtrip(value), value)


ARRAYS = {
    "float64 2x3": np.arange(6, dtype=np.float64).reshape(2, 3) / 7,
    "float32 4": np.linspace(-1, 1, 4, dtype=np.float32),
    "float16": np.array([0.5, -2.0], dtype=np.float16),
    "int64 3x1x2": np.arange(-3, 3, dtype=np.int64).reshape(3, 1, 2),
    "int8": np.array([-128, 0, 127], dtype=np.int8),
    "uint8": np.array([0, 255], dtype=np.uint8),
    "bool": np.array([[True, False], [False, True]]),
    "complex128": np.array([1 + 2j, -0.5j]),
    "0-d float": np.array(3.25),
    "0-d int": np.array(-4, dtype=np.int32),
    "empty 0x3": np.zeros((0, 3)),
    "empty 0": np.array([], dtype=np.int16),
    "nan inf -0": np.array([np.nan, np.inf, -np.inf, -0.0]),
    "big-endian": np.arange(3, dtype=">f8"),
    "fortran order": np.asfortranarray(np.arange(12.0).reshape(3, 4)),
    "non-contiguous": np.arange(20.0).reshape(4, 5)[::2, 1::2],
}


@pytest.mark.parametrize("arr", ARRAYS.values(), ids=ARRAYS.keys())
def test_arrays_round_trip_with_dtype_and_shape(arr):
    got = roundtrip(arr)
    assert_same(got, arr)
    if arr.dtype.kind == "f":
        assert np.signbit(got).tolist() == np.signbit(arr).tolist()


NUMPY_SCALARS = [np.float64(1.5), np.float64(np.nan), np.float32(-2.5), np.float16(0.25),
                 np.int64(-9), np.int32(7), np.int8(-1), np.uint64(2**64 - 1), np.uint8(200),
                 np.bool_(True), np.complex64(1 - 1j), np.complex128(2j)]


@pytest.mark.parametrize("value", NUMPY_SCALARS, ids=lambda v: f"{type(v).__name__}({v})")
def test_numpy_scalars_keep_their_dtype(value):
    got = roundtrip(value)
    assert type(got) is type(value), f"{type(value).__name__} came back as {type(got).__name__}"
    assert_same(got, value)


@pytest.mark.parametrize("value", [
    (), (1,), (1, (2.5, "x"), []), [], [1, [2, [3]]], [(1, 2), (3,)],
    {}, {"a": 1, "b": None}, {1: "one", -2: "minus two", 2**70: "big"}, {"k": 1, 3: 2},
], ids=repr)
def test_containers_round_trip(value):
    assert_same(roundtrip(value), value)


def test_nested_message_round_trips():
    value = {
        "op": "call", "args": [np.arange(6.0).reshape(2, 3), (np.int8(3), None)],
        "kwargs": {"mode": "train", 7: [float("nan"), -0.0, 2**65, {"deep": (np.zeros((0,)),)}]},
        "flags": (True, False), "scale": np.float32(0.5),
    }
    assert_same(roundtrip(value), value)


def test_tuples_stay_tuples_and_lists_stay_lists():
    got = roundtrip({"t": (1, [2, (3,)]), "l": [(4,), 5]})
    assert type(got["t"]) is tuple and type(got["t"][1]) is list and type(got["t"][1][1]) is tuple
    assert type(got["l"]) is list and type(got["l"][0]) is tuple


def test_dict_keys_keep_their_type():
    got = roundtrip({1: "int", "1": "str"})
    assert got == {1: "int", "1": "str"} and len(got) == 2


def test_handles_encode_id_and_type_and_decode_through_the_callback():
    seen = []
    got = wire.decode(wire.encode({"cache": Handle(7, "tuple", generation=3)}),
                      from_handle=lambda hid, type_name: seen.append((hid, type_name)) or "H")
    assert got == {"cache": "H"}
    assert seen == [(7, "tuple")]


def test_unsupported_objects_become_handles_through_to_handle():
    class Opaque:
        pass

    obj = Opaque()
    sent = []

    def to_handle(v):
        sent.append(v)
        return 42, "Opaque"

    data = wire.encode([1, obj], to_handle=to_handle)
    assert sent == [obj]
    got = wire.decode(data, from_handle=lambda hid, t: Handle(hid, t))
    assert got[0] == 1 and isinstance(got[1], Handle)
    assert (got[1].id, got[1].type_name) == (42, "Opaque")


@pytest.mark.parametrize("value", [object(), {1, 2}, {(1, 2): 3}, np.array(["a"]),
                                   np.array([None], dtype=object), b"bytes"],
                         ids=["object", "set", "tuple key", "str array", "object array", "bytes"])
def test_values_that_are_not_plain_data_cannot_be_sent_without_to_handle(value):
    with pytest.raises(WireError):
        wire.encode(value)


def test_handle_without_callback_is_refused():
    with pytest.raises(WireError, match="handle"):
        wire.decode(wire.encode(Handle(1, "tuple")))


def test_probe_encodes_name_and_params():
    a = np.array([1.0, -2.0])
    got = wire.decode(wire.encode(Probe("quadratic", a=a, b=0.5)),
                      from_probe=lambda name, params: ("probe", name, params))
    assert got[:2] == ("probe", "quadratic")
    assert_same(got[2], {"a": a, "b": 0.5})


def test_probe_without_callback_is_refused():
    with pytest.raises(WireError, match="function"):
        wire.decode(wire.encode(Probe("tanh_scale", a=np.ones(2))))


# -- malformed input ----------------------------------------------------------------------------

RICH = {"x": np.arange(12.0).reshape(3, 4), "t": (np.int16(-3), [1, None, 2**70, float("nan")]),
        5: np.zeros((0, 2), np.float32), "s": "text"}


def test_every_truncation_of_a_message_is_refused():
    data = wire.encode(RICH)
    for n in range(len(data)):
        with pytest.raises(WireError):
            wire.decode(data[:n])


def test_trailing_bytes_after_a_message_are_refused():
    with pytest.raises(WireError):
        wire.decode(wire.encode(RICH) + b"\x00garbage")


@pytest.mark.parametrize("data", [
    b"", b"\x00" * 3, b"\xff" * 16, b"not a message at all",
    LEN.pack(4) + b"{]}x" + LEN.pack(0),
    LEN.pack(2) + b"\xff\xfe" + LEN.pack(0),
    LEN.pack(2) + b"[]" + LEN.pack(2**40),
    LEN.pack(2) + b"[]" + LEN.pack(1) + LEN.pack(2**60),
], ids=["empty", "short", "huge header length", "text", "bad JSON", "bad UTF-8",
        "absurd blob count", "blob longer than message"])
def test_garbage_bytes_are_refused(data):
    with pytest.raises(WireError):
        wire.decode(data)


def test_random_bytes_are_refused():
    rng = random.Random(1234)
    for _ in range(500):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(80)))
        with pytest.raises(WireError):
            wire.decode(data)


def test_randomly_corrupted_messages_raise_only_wire_error():
    data = wire.encode(RICH)
    rng = random.Random(99)
    for _ in range(3000):
        corrupt = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            corrupt[rng.randrange(len(corrupt))] = rng.randrange(256)
        try:
            wire.decode(bytes(corrupt))
        except WireError:
            pass
        except BaseException as exc:  # noqa: BLE001 - the point of the test
            pytest.fail(f"decode raised {type(exc).__name__}: {exc} for {bytes(corrupt)!r}")


@pytest.mark.parametrize("header,nblobs", [
    ({"$nd": 0}, 0), ({"$np": 0}, 0), ({"$nd": 3}, 1), ({"$nd": -1}, 1), ({"$nd": "0"}, 1),
    ([1, {"$nd": 1}], 1),
], ids=repr)
def test_header_pointing_at_a_missing_blob_is_refused(header, nblobs):
    with pytest.raises(WireError):
        wire.decode(frame(header, [npy(np.ones(2))] * nblobs))


def test_object_array_blob_is_refused():
    blob = npy(np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(WireError):
        wire.decode(frame({"$nd": 0}, [blob]))


@pytest.mark.parametrize("arr", [np.array(["abc"]), np.zeros(2, dtype=[("a", "<f8")]),
                                 np.array(["2020-01-01"], dtype="datetime64[D]")],
                         ids=["unicode", "structured", "datetime"])
def test_blob_with_a_non_numeric_dtype_is_refused(arr):
    with pytest.raises(WireError, match="dtype"):
        wire.decode(frame({"$nd": 0}, [npy(arr)]))


def test_blob_that_is_not_npy_is_refused():
    with pytest.raises(WireError):
        wire.decode(frame({"$nd": 0}, [b"definitely not NPY data"]))


def test_npy_header_with_an_unbalanced_bracket_is_refused():
    blob = npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), } [",
                           np.zeros(1).tobytes())
    with pytest.raises(WireError):
        wire.decode(frame({"$nd": 0}, [blob]))


def test_npy_header_claiming_a_huge_shape_is_refused():
    blob = npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (35184372088832,), }",
                           np.zeros(2).tobytes())
    with pytest.raises(WireError):
        wire.decode(frame({"$nd": 0}, [blob]))


def test_npy_blob_with_truncated_data_is_refused():
    blob = npy(np.arange(10.0))
    with pytest.raises(WireError):
        wire.decode(frame({"$nd": 0}, [blob[:-8]]))


ARRAYS = [np.zeros(()), np.arange(6.0).reshape(2, 3), np.ones((2, 3), order="F"),
          np.arange(12.0)[::2], np.arange(5, dtype=np.int32), np.array([True, False]),
          np.zeros((0, 4)), np.ones(3, dtype=np.complex128), np.zeros(3, dtype=">f8"),
          np.zeros((1,) * 20, dtype=np.float16), np.arange(4, dtype=np.uint64)]


@pytest.mark.parametrize("arr", ARRAYS, ids=lambda a: f"{a.dtype.str}{a.shape}")
def test_arrays_cross_as_npy_that_numpy_reads(arr):
    """Our writer's blob is valid NPY (NumPy reads it back as the array), and both it and the
    blobs NumPy writes, in either order, decode to the same array."""
    ours = wire._npy(arr)
    assert_same(np.lib.format.read_array(io.BytesIO(ours), allow_pickle=False), arr)
    for blob in (ours, npy(arr), npy(np.asfortranarray(arr) if arr.ndim else arr)):
        assert_same(wire.decode(frame({"$nd": 0}, [blob])), arr)


@pytest.mark.parametrize("header", [
    "{'shape': (2,), 'fortran_order': False, 'descr': '<f8'}",  # another key order
    "{'descr':'<f8','fortran_order':False,'shape':(2,)}",  # no spaces
    "{'descr': dtype('<f8'), 'fortran_order': False, 'shape': (2,), }",  # not a literal
    "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'extra': 1, }",
    "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }",  # object: refused either way
])
def test_npy_headers_in_other_forms_go_through_numpys_reader(header):
    """Only the exact form NumPy writes takes the fast path; any other text is NumPy's to read
    (with ast.literal_eval) or refuse, and the same checks follow."""
    blob = npy_with_header(header, np.array([1.5, 2.5]).tobytes())
    try:
        expected = np.lib.format.read_array(io.BytesIO(blob), allow_pickle=False)
    except Exception:  # noqa: BLE001 - what NumPy refuses, the wire refuses
        with pytest.raises(WireError):
            wire.decode(frame({"$nd": 0}, [blob]))
    else:
        if expected.dtype.kind == "O":
            with pytest.raises(WireError):
                wire.decode(frame({"$nd": 0}, [blob]))
        else:
            assert_same(wire.decode(frame({"$nd": 0}, [blob])), expected)


def nested_lists(depth):
    value = []
    for _ in range(depth):
        value = [value]
    return value


def test_deep_nesting_is_refused_when_encoding():
    with pytest.raises(WireError, match="nested"):
        wire.encode(nested_lists(wire.MAX_DEPTH + 5))


@pytest.mark.parametrize("header", [
    nested_lists(wire.MAX_DEPTH + 5),
    json.loads("{\"$tuple\": [" * 60 + "1" + "]}" * 60),
    b"[" * 100_000 + b"]" * 100_000,
], ids=["lists", "tuples", "beyond the recursion limit"])
def test_deep_nesting_is_refused_when_decoding(header):
    with pytest.raises(WireError):
        wire.decode(frame(header))


def test_moderate_nesting_is_accepted():
    value = nested_lists(wire.MAX_DEPTH - 2)
    assert roundtrip(value) == value


@pytest.mark.parametrize("header", [
    {"$pickle": "gASVAAAAAAAAAACMCGJ1aWx0aW5zlIwEZXZhbJSTlC4="}, {"x": 1}, {},
    {"$float": "not a float"}, {"$bigint": "12x"}, {"$tuple": 5}, {"$dict": [[1]]},
    {"$dict": [[[1], 2]]}, {"$dict": 3}, {"$fn": "f"},
], ids=["pickle tag", "unknown key", "empty object", "bad float", "bad bigint", "tuple of int",
        "dict pair too short", "unhashable key", "dict of int", "probe without params"])
def test_unknown_tags_and_malformed_tagged_values_are_refused(header):
    with pytest.raises(WireError):
        wire.decode(frame(header), from_probe=lambda name, params: None)


def test_decode_never_unpickles(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("decode called pickle")

    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "load", forbidden)
    rich = {**RICH, "h": Handle(3, "tuple"), "p": Probe("quadratic", a=np.ones(2)),
            "c": np.complex64(1j), "nested": [(np.arange(3, dtype=np.uint8), {"z": -0.0})]}
    got = wire.decode(wire.encode(rich), from_handle=lambda hid, t: ("h", hid),
                      from_probe=lambda name, params: ("p", name))
    assert got["h"] == ("h", 3) and got["p"] == ("p", "quadratic")
    assert_same(got["x"], RICH["x"])
    blob = npy(np.array([object()], dtype=object), allow_pickle=True)
    with pytest.raises(WireError):
        wire.decode(frame({"$nd": 0}, [blob]))


# -- frames over a file descriptor ---------------------------------------------------------------

@pytest.fixture
def pipe():
    r, w = os.pipe()
    yield r, w
    for fd in (r, w):
        try:
            os.close(fd)
        except OSError:
            pass


def test_frames_round_trip_over_a_pipe(pipe):
    r, w = pipe
    payloads = [wire.encode(RICH), b"", b"x"]
    for p in payloads:
        wire.send(w, p)
    os.close(w)
    assert [wire.recv(r, limit=1 << 20) for _ in payloads] == payloads
    assert wire.recv(r, limit=1 << 20) is None


@pytest.mark.parametrize("sent", [LEN.pack(100) + b"only a few bytes", LEN.pack(100)[:5]],
                         ids=["body", "length"])
def test_truncated_frame_on_a_pipe_is_refused(pipe, sent):
    r, w = pipe
    os.write(w, sent)
    os.close(w)
    with pytest.raises(wire.Closed, match="truncated"):
        wire.recv(r, limit=1 << 20)


def test_frame_over_the_limit_is_refused_before_reading_it(pipe):
    r, w = pipe
    os.write(w, LEN.pack(1 << 30) + b"x" * 100)
    with pytest.raises(wire.FrameTooLarge, match="limit") as info:
        wire.recv(r, limit=1 << 20, deadline=time.monotonic() + 5)
    assert info.value.size == 1 << 30
    assert os.read(r, 1000) == b"x" * 100, "the body was left unread"


def test_frames_with_a_deadline_round_trip(pipe):
    r, w = pipe
    wire.send(w, b"payload", deadline=time.monotonic() + 5)
    assert wire.recv(r, limit=100, deadline=time.monotonic() + 5) == b"payload"


@pytest.mark.parametrize("sent", [b"", LEN.pack(10) + b"half"], ids=["nothing", "half a frame"])
def test_recv_with_a_deadline_times_out_on_a_silent_writer(pipe, sent):
    r, w = pipe
    os.write(w, sent)
    started = time.monotonic()
    with pytest.raises(wire.Timeout):
        wire.recv(r, limit=100, deadline=started + 0.2)
    assert 0.2 <= time.monotonic() - started < 2


def test_send_with_a_deadline_times_out_on_a_full_pipe(pipe):
    r, w = pipe
    os.set_blocking(w, False)
    with pytest.raises(BlockingIOError):
        while True:
            os.write(w, bytes(1 << 16))
    started = time.monotonic()
    with pytest.raises(wire.Timeout):
        wire.send(w, b"one more frame", deadline=started + 0.2)
    assert 0.2 <= time.monotonic() - started < 2


def test_send_with_a_deadline_keeps_it_when_the_reader_stops_midway(pipe):
    """A pipe with a little room: select() says writable, but a large write would block."""
    r, w = pipe
    os.set_blocking(w, False)
    with pytest.raises(BlockingIOError):
        while True:
            os.write(w, bytes(1 << 16))
    os.set_blocking(w, True)
    os.read(r, 8192)
    outcome = []

    def send():
        try:
            wire.send(w, bytes(1 << 20), deadline=time.monotonic() + 0.3)
        except wire.WireError as exc:
            outcome.append(exc)

    sender = threading.Thread(target=send)
    sender.start()
    sender.join(timeout=3)
    if sender.is_alive():  # blocked in write(): free it by closing the reader
        os.close(r)
        sender.join()
    assert outcome and isinstance(outcome[0], wire.Timeout), "send blocked past its deadline"


def test_send_to_a_closed_reader_says_closed(pipe):
    r, w = pipe
    os.close(r)
    with pytest.raises(wire.Closed):
        wire.send(w, b"nobody reads this", deadline=time.monotonic() + 5)
