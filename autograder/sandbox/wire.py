"""Plain data across the sandbox boundary: a small binary format, never pickle.

`decode` runs in the trusted grader on bytes that a hostile process may have written, so it
checks everything it reads (tags, lengths, the dtype allowlist, shapes against the buffer,
nesting depth, total size) and raises `WireError` with a one-line message on anything else.
It never evaluates or unpickles anything.

A value is one of: None, bool, int, float, complex, str, list, tuple, dict with str keys,
a numpy ndarray or scalar of a bool/int/uint/float/complex dtype (shape, dtype and byte
order kept exactly), or a `Handle`: a reference to an object that stays in the sandbox.
Only exact types count: a subclass of list or ndarray is not plain data.

Layout: the magic b"GW1", then one value. A value is a tag byte and its payload, all
integers little-endian. Array data starts on a 16-byte boundary of the message, so a
decoded array is a view of the receive buffer when that buffer is writable.
"""
import struct
from math import prod

import numpy as np

__all__ = ["Handle", "WireError", "TooManyItems", "encode", "encode_buffer", "decode",
           "MAX_SIZE", "MAX_DEPTH", "MAX_ITEMS"]

MAGIC = b"GW1"
MAX_SIZE = 256 * 1024 * 1024
MAX_DEPTH = 64
MAX_ITEMS = 1 << 20
MAX_NDIM = 32
MAX_NAME = 200
ALIGN = 16

_I64 = struct.Struct("<q")
_U64 = struct.Struct("<Q")
_U32 = struct.Struct("<I")
_F64 = struct.Struct("<d")
_C128 = struct.Struct("<dd")
_SHAPES = [struct.Struct(f"<{n}Q") for n in range(MAX_NDIM + 1)]  # an array's shape, by ndim


def _allowed_dtypes() -> frozenset:
    names = set()
    for kind, sizes in (("i", (1, 2, 4, 8)), ("u", (1, 2, 4, 8)), ("f", (2, 4, 8, 16)),
                        ("c", (8, 16, 32))):
        for size in sizes:
            for order in "<>":
                try:
                    names.add(np.dtype(f"{order}{kind}{size}").str)
                except TypeError:
                    pass
    names.add(np.dtype(bool).str)
    return frozenset(names)


DTYPES = _allowed_dtypes()


class WireError(ValueError):
    """A message is malformed, too large, or holds something that is not plain data."""


class TooManyItems(WireError):
    """A message holds more list, tuple and dict entries than `decode` was allowed."""


class Handle:
    """An object that stays in the sandbox; passing it back to a student function there
    hands that function the original object. Equal only to a handle with the same id."""

    __slots__ = ("id", "type_name", "__weakref__")

    def __init__(self, id: int, type_name: str = "object"):
        self.id = id
        self.type_name = type_name

    def __eq__(self, other):
        if isinstance(other, Handle):
            return self.id == other.id
        return NotImplemented

    def __hash__(self):
        return hash(("Handle", self.id))

    def __repr__(self):
        return f"<{self.type_name} object kept in the sandbox>"

    # A handle stands for one object in the sandbox: a copy is the same reference.
    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self


# --------------------------------------------------------------------------- encoding

# An allowed dtype -> its code as written (length, then b"<f8"), for arrays and scalars.
_CODES = {np.dtype(name): bytes((len(name),)) + name.encode() for name in DTYPES}
# Arrays smaller than this are copied into the message with tobytes(), which costs less
# than the memoryview that spares the copy.
_SMALL = 1 << 16


class _Writer:
    __slots__ = ("out", "max_size", "max_depth", "on_unknown", "on_handle")

    def __init__(self, max_size, max_depth, on_unknown, on_handle):
        self.out = bytearray(MAGIC)
        self.max_size = max_size
        self.max_depth = max_depth
        self.on_unknown = on_unknown
        self.on_handle = on_handle

    def too_large(self, extra=0):
        if len(self.out) + extra > self.max_size:
            raise WireError(f"message larger than {self.max_size} bytes")

    def unknown(self, v, why):
        if self.on_unknown is None:
            raise WireError(f"cannot send {type(v).__name__} ({why})")
        handle = self.on_unknown(v)
        if type(handle) is not Handle:
            raise WireError("on_unknown must return a Handle")
        self.handle(handle)

    def handle(self, handle):
        if self.on_handle is not None:
            self.on_handle(handle)
        name = handle.type_name.encode("utf-8", "replace")[:MAX_NAME]
        self.out += b"h" + _U64.pack(handle.id) + _U32.pack(len(name)) + name

    def array(self, a):
        code = _CODES.get(a.dtype)
        if code is None:
            return self.unknown(a, f"an array of dtype {a.dtype}")
        ndim = a.ndim
        if ndim > MAX_NDIM:
            return self.unknown(a, f"an array of {ndim} dimensions")
        nbytes = a.nbytes
        out = self.out
        if len(out) + nbytes + 64 + 8 * ndim > self.max_size:
            self.too_large(nbytes + 64 + 8 * ndim)
        out += b"a" + code + bytes((0 if a.flags.writeable else 1, ndim))
        if ndim:
            out += _SHAPES[ndim].pack(*a.shape)
        out += _PADDING[-len(out) % ALIGN]
        if nbytes >= _SMALL and a.flags.c_contiguous:
            out += a.data.cast("B")
        elif nbytes:
            out += a.tobytes()

    def value(self, v, depth):
        t = type(v)
        if t is np.ndarray:
            self.array(v)
        elif t is float:
            self.out += b"f" + _F64.pack(v)
        elif t is tuple or t is list:
            if depth >= self.max_depth:
                return self.unknown(v, f"nested deeper than {self.max_depth}")
            self.out += (b"l" if t is list else b"t") + _U32.pack(len(v))
            depth += 1
            for item in v:
                self.value(item, depth)
            if len(self.out) > self.max_size:
                self.too_large()
        elif t is dict:
            if depth >= self.max_depth:
                return self.unknown(v, f"nested deeper than {self.max_depth}")
            for key in v:
                if type(key) is not str:
                    return self.unknown(v, "a dict whose keys are not all str")
            out = self.out
            out += b"d" + _U32.pack(len(v))
            depth += 1
            for key, item in v.items():
                raw = _KEYS.get(key)
                if raw is None:
                    raw = key.encode("utf-8", "surrogatepass")
                    raw = _U32.pack(len(raw)) + raw
                    if len(_KEYS) < 256:
                        _KEYS[key] = raw
                out += raw
                self.value(item, depth)
            if len(out) > self.max_size:
                self.too_large()
        elif t is str:
            raw = v.encode("utf-8", "surrogatepass")
            if len(raw) > 4096:
                self.too_large(len(raw))
            self.out += b"s" + _U32.pack(len(raw)) + raw
        elif t is int:
            if -(1 << 63) <= v < (1 << 63):
                self.out += b"i" + _I64.pack(v)
            else:
                raw = v.to_bytes((v.bit_length() + 8) // 8, "little", signed=True)
                self.too_large(len(raw))
                self.out += b"I" + _U32.pack(len(raw)) + raw
        elif v is None:
            self.out += b"N"
        elif t is bool:
            self.out += b"T" if v else b"F"
        elif t is complex:
            self.out += b"c" + _C128.pack(v.real, v.imag)
        elif t is Handle:
            self.handle(v)
        elif isinstance(v, np.generic) and v.dtype in _CODES and t is v.dtype.type:
            self.out += b"g" + _CODES[v.dtype] + v.tobytes()
        else:
            self.unknown(v, "not plain data")


_PADDING = [bytes(n) for n in range(ALIGN)]
# Dict keys as written, for the few that every message repeats (bounded: students' keys
# pass through here too).
_KEYS: dict[str, bytes] = {}


def encode_buffer(value, *, max_size: int = MAX_SIZE, max_depth: int = MAX_DEPTH,
                  on_unknown=None, on_handle=None) -> bytearray:
    """`encode` into a bytearray (no final copy).

    on_unknown(obj) -> Handle replaces whatever is not plain data (or nested deeper than
    max_depth); without it such a value raises WireError. on_handle(handle) sees every
    Handle written, and may raise to refuse it.
    """
    writer = _Writer(max_size, max_depth, on_unknown, on_handle)
    try:
        writer.value(value, 0)
    except RecursionError:
        raise WireError("value nested too deeply") from None
    writer.too_large()
    return writer.out


def encode(value, **options) -> bytes:
    return bytes(encode_buffer(value, **options))


# --------------------------------------------------------------------------- decoding

# dtype code as written (b"<f8") -> dtype, for the allowed ones only.
_DTYPE_BY_CODE = {name.encode(): np.dtype(name) for name in DTYPES}


def _check_bool(a):
    if a.dtype.kind == "b" and a.size and a.view(np.uint8).max() > 1:
        raise WireError("bool array holds a byte other than 0 or 1")


def _dtype(buf, pos):
    n = buf[pos]
    dtype = _DTYPE_BY_CODE.get(bytes(buf[pos + 1:pos + 1 + n]))
    if dtype is None:
        code = bytes(buf[pos + 1:pos + 1 + n]).decode("ascii", "replace")
        raise WireError(f"dtype {code[:20]!r} is not allowed")
    return dtype, pos + 1 + n


def decode(data, *, max_size: int = MAX_SIZE, max_depth: int = MAX_DEPTH,
           max_items: int = MAX_ITEMS, on_handle=None):
    """The value in `data` (bytes, bytearray or memoryview).

    max_items bounds the list, tuple and dict entries of the whole message, so a small
    message cannot make millions of Python objects (an array is one item).
    Arrays are views of `data` when it is writable (a bytearray), copies otherwise.
    on_handle(handle) -> value replaces each Handle read (it may raise).
    """
    try:
        buf = memoryview(data)
    except TypeError:
        raise WireError(f"cannot decode a {type(data).__name__}") from None
    if buf.format != "B" or buf.ndim != 1:
        try:
            buf = buf.cast("B")
        except TypeError:
            raise WireError("cannot decode a non-contiguous buffer") from None
    end = len(buf)
    if end > max_size:
        raise WireError(f"message of {end} bytes exceeds the {max_size}-byte limit")
    if buf[:3] != MAGIC:
        raise WireError("not a gradkit wire message (bad magic)")
    reader = _Reader(buf, end, max_depth, max_items, on_handle)
    try:
        result = reader.value(0)
    except (struct.error, IndexError):
        raise WireError(f"message truncated at byte {min(reader.pos, end)}") from None
    except RecursionError:
        raise WireError("message nested too deeply") from None
    if reader.pos != end:
        raise WireError(f"{end - reader.pos} trailing bytes after the value" if reader.pos < end
                        else f"message truncated at byte {end}")
    return result


class _Reader:
    __slots__ = ("buf", "pos", "end", "max_depth", "max_items", "items_left", "on_handle",
                 "writable")

    def __init__(self, buf, end, max_depth, max_items, on_handle):
        self.buf, self.pos, self.end = buf, len(MAGIC), end
        self.max_depth, self.max_items, self.items_left = max_depth, max_items, max_items
        self.on_handle = on_handle
        self.writable = not buf.readonly

    def take(self, n):
        start = self.pos
        if start + n > self.end:
            raise WireError(f"message truncated at byte {start}")
        self.pos = start + n
        return start

    def text(self):
        start = self.pos + 4
        stop = start + _U32.unpack_from(self.buf, self.pos)[0]
        if stop > self.end:
            raise WireError(f"message truncated at byte {start}")
        self.pos = stop
        try:
            return str(self.buf[start:stop], "utf-8", "surrogatepass")
        except UnicodeDecodeError:
            raise WireError(f"invalid UTF-8 at byte {start}") from None

    def count(self):
        n = _U32.unpack_from(self.buf, self.pos)[0]
        self.pos += 4
        if n > self.end - self.pos:
            raise WireError(f"item count {n} exceeds the message size")
        self.items_left -= n
        if self.items_left < 0:
            raise TooManyItems(f"more than {self.max_items} items in lists, tuples and dicts")
        return n

    def value(self, depth):
        pos = self.pos
        if pos >= self.end:
            raise WireError(f"message truncated at byte {pos}")
        tag = self.buf[pos]
        self.pos = pos + 1
        if tag == 0x61:  # a
            return self.array()
        if tag == 0x66:  # f
            self.pos = pos + 9
            return _F64.unpack_from(self.buf, pos + 1)[0]
        if tag == 0x6C or tag == 0x74:  # l t
            if depth >= self.max_depth:
                raise WireError(f"nested deeper than {self.max_depth}")
            n = self.count()
            if not n:
                return [] if tag == 0x6C else ()
            items = [self.value(depth + 1) for _ in range(n)]
            return items if tag == 0x6C else tuple(items)
        if tag == 0x64:  # d
            if depth >= self.max_depth:
                raise WireError(f"nested deeper than {self.max_depth}")
            result = {}
            for _ in range(self.count()):
                key = self.text()
                if key in result:
                    raise WireError(f"duplicate dict key {key[:40]!r}")
                result[key] = self.value(depth + 1)
            return result
        if tag == 0x73:  # s
            return self.text()
        if tag == 0x69:  # i
            self.pos = pos + 9
            return _I64.unpack_from(self.buf, pos + 1)[0]
        if tag == 0x4E:  # N
            return None
        if tag == 0x54:  # T
            return True
        if tag == 0x46:  # F
            return False
        if tag == 0x63:  # c
            self.pos = pos + 17
            real, imag = _C128.unpack_from(self.buf, pos + 1)
            return complex(real, imag)
        if tag == 0x49:  # I
            n = _U32.unpack_from(self.buf, pos + 1)[0]
            self.pos = pos + 5
            start = self.take(n)
            if n == 0:
                raise WireError("empty big integer")
            return int.from_bytes(self.buf[start:start + n], "little", signed=True)
        if tag == 0x67:  # g
            dtype, self.pos = _dtype(self.buf, self.pos)
            start = self.take(dtype.itemsize)
            raw = np.frombuffer(self.buf[start:start + dtype.itemsize], dtype)
            _check_bool(raw)
            return raw[0]
        if tag == 0x68:  # h
            ident = _U64.unpack_from(self.buf, pos + 1)[0]
            self.pos = pos + 9
            if _U32.unpack_from(self.buf, self.pos)[0] > MAX_NAME:
                raise WireError("handle type name too long")
            handle = Handle(ident, self.text())
            return handle if self.on_handle is None else self.on_handle(handle)
        raise WireError(f"unknown tag {tag:#04x} at byte {pos}")

    def array(self):
        buf = self.buf
        dtype, pos = _dtype(buf, self.pos)
        flags, ndim = buf[pos], buf[pos + 1]
        if flags > 1:
            raise WireError(f"bad array flags {flags}")
        if ndim > MAX_NDIM:
            raise WireError(f"array of {ndim} dimensions")
        shape = _SHAPES[ndim].unpack_from(buf, pos + 2)
        pos += 2 + 8 * ndim
        if ndim and max(shape) >= 1 << 48:
            raise WireError(f"array dimension {max(shape)} too large")
        size = prod(shape)
        self.pos = pos + -pos % ALIGN
        start = self.take(size * dtype.itemsize)
        try:
            if not size:
                a = np.empty(shape, dtype)
            else:
                a = np.ndarray(shape, dtype, buf, start)
                if not (self.writable and a.flags.aligned):
                    a = a.copy()
        except ValueError as error:
            raise WireError(f"bad array shape {shape}: {error}") from None
        _check_bool(a)
        if flags:
            a.flags.writeable = False
        return a
