"""The wire format: every plain value survives a round trip exactly; anything malformed
is refused with WireError, because the grader decodes bytes a hostile process wrote."""
import math
import struct

import numpy as np
import pytest

from autograder.sandbox.wire import MAX_DEPTH, Handle, WireError, decode, encode, encode_buffer

SCALARS = [None, True, False, 0, -1, 2**63 - 1, -2**63, 2**64, -(2**200), 1.5, -0.0,
           float("inf"), float("-inf"), 5e-324, 1 + 2j, complex(float("nan"), 1), "",
           "héllo ∂ \U0001F600", "lone \ud800 surrogate"]
NUMPY_SCALARS = [np.bool_(True), np.int8(-3), np.int64(2**62), np.uint8(255),
                 np.uint64(2**64 - 1), np.float16(1.5), np.float32(0.1), np.float64(-2.5),
                 np.longdouble(1) / 3, np.complex64(1j), np.complex128(2 - 1j)]
ARRAYS = [np.arange(6.0).reshape(2, 3), np.array(3.0), np.zeros((0, 3), np.int16),
          np.zeros((2, 0, 4)), np.array([True, False]), np.arange(4, dtype=">i4"),
          np.arange(5, dtype=np.uint32), np.array([np.nan, -np.inf, -0.0]),
          np.ones((2, 3), np.complex64) * 1j, np.arange(3, dtype=np.longdouble),
          np.arange(24.0).reshape(2, 3, 4)[:, ::2, 1:], np.asfortranarray(np.ones((3, 2))),
          np.array(7, dtype=np.int8)]


def same(a, b) -> bool:
    """Equal in type, dtype, shape and every bit pattern that matters."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, np.generic):
        return a.dtype == b.dtype and a.tobytes() == b.tobytes()
    if isinstance(a, float):
        return struct.pack("<d", a) == struct.pack("<d", b)
    if isinstance(a, complex):
        return same(a.real, b.real) and same(a.imag, b.imag)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return a == b


@pytest.mark.parametrize("value", SCALARS + NUMPY_SCALARS + ARRAYS, ids=repr)
def test_plain_values_round_trip_exactly(value):
    assert same(decode(encode(value)), value)


def test_nan_keeps_its_bits_and_containers_keep_their_kind():
    value = {"list": [1, (2.0, [float("nan")])], "tuple": (), "empty": {}, "nested": {"a": [()]}}
    back = decode(encode(value))
    assert same(back, value)
    assert type(back["tuple"]) is tuple and type(back["list"]) is list
    assert math.isnan(back["list"][1][1][0])


def test_handles_round_trip_and_equal_only_handles_with_the_same_id():
    back = decode(encode([Handle(7, "Cache"), Handle(2**40 + 1)]))
    assert back == [Handle(7), Handle(2**40 + 1)]
    assert back[0].type_name == "Cache" and "Cache" in repr(back[0])
    assert back[0] != 7 and back[0] != Handle(8)


def test_arrays_decoded_from_a_bytearray_are_writable_views_else_copies():
    a = np.arange(1000.0)
    from_bytearray = decode(bytearray(encode(a)))
    from_bytes = decode(encode(a))
    assert from_bytearray.flags.writeable and from_bytearray.flags.aligned
    from_bytes[0] = 5.0  # a copy: bytes are immutable
    read_only = a.copy()
    read_only.flags.writeable = False
    assert not decode(encode(read_only)).flags.writeable


def test_subclasses_and_other_objects_are_refused_or_become_handles():
    class MyList(list):
        pass

    refused = [MyList([1]), object(), np.array([1, None], dtype=object), b"bytes",
               np.zeros(2, dtype=[("x", "f8")]), np.array(["a"]), {1: 2}, {"a"},
               np.datetime64("2024-01-01"), np.ma.masked_array([1.0])]
    for value in refused:
        with pytest.raises(WireError):
            encode(value)
    kept = []

    def keep(obj):
        kept.append(obj)
        return Handle(len(kept), type(obj).__name__)

    back = decode(encode({"x": refused, "y": 1.0}, on_unknown=keep))
    assert back["y"] == 1.0
    assert back["x"] == [Handle(i + 1) for i in range(len(refused))]
    assert all(a is b for a, b in zip(kept, refused))


def test_nesting_deeper_than_the_limit_becomes_a_handle_or_is_refused():
    deep = []
    for _ in range(MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(WireError):
        encode(deep)
    cyclic = []
    cyclic.append(cyclic)
    back = decode(encode(cyclic, on_unknown=lambda obj: Handle(1, "list")))
    for _ in range(MAX_DEPTH):
        back = back[0]
    assert back == Handle(1)


def test_encoding_stops_at_the_size_limit():
    with pytest.raises(WireError, match="larger than"):
        encode(np.zeros(1000), max_size=4000)
    with pytest.raises(WireError, match="larger than"):
        encode(["x" * 100] * 100, max_size=5000)
    assert len(encode_buffer(np.zeros(1000), max_size=9000)) < 9000


def test_every_truncation_is_refused():
    data = encode({"a": [1, 2.5, "text", (np.arange(5.0), np.float32(1), Handle(3))],
                   "b": 2**70, "c": 1j})
    for cut in range(len(data)):
        with pytest.raises(WireError):
            decode(data[:cut])


def test_single_byte_corruptions_never_escape_as_other_errors():
    data = encode({"a": [1, 2.5, "text", (np.arange(5.0), np.bool_(True), Handle(3))]})
    for position in range(len(data)):
        for byte in (0x00, 0x01, 0x7F, 0x80, 0xFF, ord("a"), ord("d")):
            corrupted = bytearray(data)
            corrupted[position] = byte
            try:
                decode(bytes(corrupted), max_size=2**20)
            except WireError:
                pass


def array_message(dtype: bytes, shape, data: bytes, flags=0) -> bytes:
    head = b"GW1a" + bytes([len(dtype)]) + dtype + bytes([flags, len(shape)])
    head += b"".join(struct.pack("<Q", n) for n in shape)
    return head + bytes(-len(head) % 16) + data


@pytest.mark.parametrize("data, reason", [
    (b"", "bad magic"),
    (b"PK\x03\x04", "bad magic"),
    (b"\x80\x04\x95", "bad magic"),  # a pickle
    (b"GW1", "truncated"),
    (b"GW1Z", "unknown tag"),
    (b"GW1NN", "trailing"),
    (b"GW1l\xff\xff\xff\xff", "exceeds"),
    (b"GW1s\x05\x00\x00\x00ab", "truncated"),
    (b"GW1s\x02\x00\x00\x00\xc3\x28", "UTF-8"),
    (b"GW1d\x02\x00\x00\x00\x01\x00\x00\x00aN\x01\x00\x00\x00aN", "duplicate"),
    (b"GW1I\x00\x00\x00\x00", "empty big integer"),
    (b"GW1h\x01\x00\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00", "too long"),
    (array_message(b"|O", (1,), bytes(8)), "not allowed"),
    (array_message(b"<M8[s]", (1,), bytes(8)), "not allowed"),
    (array_message(b"<V8", (1,), bytes(8)), "not allowed"),
    (array_message(b"<f8", (3,), bytes(16)), "truncated"),
    (array_message(b"<f8", (1,), bytes(16)), "trailing"),
    (array_message(b"<f8", (2**60, 2**60), bytes(8)), "too large"),
    (array_message(b"<f8", (0, 2**47, 2**47), b""), "shape"),
    (array_message(b"<f8", (1,) * 40, bytes(8)), "dimensions"),
    (array_message(b"<f8", (1,), bytes(8), flags=2), "flags"),
    (array_message(b"|b1", (2,), b"\x01\x02"), "bool"),
    (b"GW1g\x03|b1\x05", "bool"),
    (b"GW1g\x03<f8\x00\x00", "truncated"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_malformed_messages_are_refused(data, reason):
    with pytest.raises(WireError, match=reason):
        decode(data)


def test_nesting_and_size_limits_hold_on_decode():
    deep = b"GW1" + b"l\x01\x00\x00\x00" * (MAX_DEPTH + 1) + b"N"
    with pytest.raises(WireError, match="nested deeper"):
        decode(deep)
    assert decode(b"GW1" + b"l\x01\x00\x00\x00" * MAX_DEPTH + b"N", max_depth=MAX_DEPTH + 1)
    many = encode([None] * 1000)
    with pytest.raises(WireError, match="more than 999 items"):
        decode(many, max_items=999)
    assert len(decode(many, max_items=1000)) == 1000
    big = encode(np.zeros(1000))
    with pytest.raises(WireError, match="limit"):
        decode(big, max_size=len(big) - 1)
    assert decode(big, max_size=len(big)).shape == (1000,)


def test_a_handle_hook_sees_every_handle_and_may_refuse_it():
    seen = []
    encode([Handle(1), {"k": Handle(2)}], on_handle=seen.append)
    assert seen == [Handle(1), Handle(2)]

    def refuse(handle):
        raise LookupError(handle.id)

    with pytest.raises(LookupError):
        decode(encode((1, Handle(9))), on_handle=refuse)
    assert decode(encode([Handle(4)]), on_handle=lambda h: h.id * 10) == [40]
