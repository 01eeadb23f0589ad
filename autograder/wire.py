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

import numpy as np

__all__ = ["Handle", "WireError", "encode", "encode_buffer", "decode", "MAX_SIZE", "MAX_DEPTH",
           "MAX_ITEMS"]

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
_DTYPE_CACHE = {name: np.dtype(name) for name in DTYPES}


class WireError(ValueError):
    """A message is malformed, too large, or holds something that is not plain data."""


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

class _Encoder:
    __slots__ = ("out", "max_size", "max_depth", "on_unknown", "on_handle")

    def __init__(self, max_size, max_depth, on_unknown, on_handle):
        self.out = bytearray(MAGIC)
        self.max_size = max_size
        self.max_depth = max_depth
        self.on_unknown = on_unknown
        self.on_handle = on_handle

    def check_size(self, extra=0):
        if len(self.out) + extra > self.max_size:
            raise WireError(f"message larger than {self.max_size} bytes")

    def unknown(self, value, why):
        if self.on_unknown is None:
            raise WireError(f"cannot send {type(value).__name__} ({why})")
        handle = self.on_unknown(value)
        if type(handle) is not Handle:
            raise WireError("on_unknown must return a Handle")
        self.handle(handle, 0)

    def value(self, v, depth):
        method = _ENCODE.get(type(v))
        if method is not None:
            method(self, v, depth)
        elif isinstance(v, np.generic) and v.dtype.str in DTYPES and type(v) is v.dtype.type:
            code = v.dtype.str.encode()
            self.out += b"g" + bytes((len(code),)) + code + v.tobytes()
        else:
            self.unknown(v, "not plain data")

    def none(self, v, depth):
        self.out += b"N"

    def bool(self, v, depth):
        self.out += b"T" if v else b"F"

    def float(self, v, depth):
        self.out += b"f" + _F64.pack(v)

    def int(self, v, depth):
        if -(1 << 63) <= v < (1 << 63):
            self.out += b"i" + _I64.pack(v)
        else:
            raw = v.to_bytes((v.bit_length() + 8) // 8, "little", signed=True)
            self.check_size(len(raw))
            self.out += b"I" + _U32.pack(len(raw)) + raw

    def str(self, v, depth):
        raw = v.encode("utf-8", "surrogatepass")
        if len(raw) > 4096:
            self.check_size(len(raw))
        self.out += b"s" + _U32.pack(len(raw)) + raw

    def complex(self, v, depth):
        self.out += b"c" + _C128.pack(v.real, v.imag)

    def handle(self, handle, depth):
        if self.on_handle is not None:
            self.on_handle(handle)
        name = handle.type_name.encode("utf-8", "replace")[:MAX_NAME]
        self.out += b"h" + _U64.pack(handle.id) + _U32.pack(len(name)) + name

    def sequence(self, v, depth):
        if depth >= self.max_depth:
            return self.unknown(v, f"nested deeper than {self.max_depth}")
        self.out += (b"l" if type(v) is list else b"t") + _U32.pack(len(v))
        value = self.value
        depth += 1
        for item in v:
            value(item, depth)
        if len(self.out) > self.max_size:
            self.check_size()

    def dict(self, v, depth):
        if depth >= self.max_depth:
            return self.unknown(v, f"nested deeper than {self.max_depth}")
        for key in v:
            if type(key) is not str:
                return self.unknown(v, "a dict whose keys are not all str")
        out = self.out
        out += b"d" + _U32.pack(len(v))
        value = self.value
        depth += 1
        for key, item in v.items():
            raw = key.encode("utf-8", "surrogatepass")
            out += _U32.pack(len(raw)) + raw
            value(item, depth)
        if len(out) > self.max_size:
            self.check_size()

    def array(self, a, depth):
        code = a.dtype.str
        if code not in DTYPES or a.dtype.fields is not None or a.dtype.subdtype is not None:
            return self.unknown(a, f"an array of dtype {a.dtype}")
        if a.ndim > MAX_NDIM:
            return self.unknown(a, f"an array of {a.ndim} dimensions")
        self.check_size(a.nbytes + 64 + 8 * a.ndim)
        out = self.out
        raw = code.encode()
        out += b"a" + bytes((len(raw),)) + raw + bytes((0 if a.flags.writeable else 1, a.ndim))
        if a.ndim:
            out += _SHAPES[a.ndim].pack(*a.shape)
        out += bytes(-len(out) % ALIGN)
        if a.size:
            if a.flags.c_contiguous:
                out += a.data.cast("B") if a.ndim else a.tobytes()
            else:
                out += a.tobytes()


_ENCODE = {type(None): _Encoder.none, bool: _Encoder.bool, int: _Encoder.int,
           float: _Encoder.float, str: _Encoder.str, complex: _Encoder.complex,
           list: _Encoder.sequence, tuple: _Encoder.sequence, dict: _Encoder.dict,
           np.ndarray: _Encoder.array, Handle: _Encoder.handle}


def encode_buffer(value, *, max_size: int = MAX_SIZE, max_depth: int = MAX_DEPTH,
                  on_unknown=None, on_handle=None) -> bytearray:
    """`encode` into a bytearray (no final copy).

    on_unknown(obj) -> Handle replaces whatever is not plain data (or nested deeper than
    max_depth); without it such a value raises WireError. on_handle(handle) sees every
    Handle written, and may raise to refuse it.
    """
    encoder = _Encoder(max_size, max_depth, on_unknown, on_handle)
    try:
        encoder.value(value, 0)
    except RecursionError:
        raise WireError("value nested too deeply") from None
    encoder.check_size()
    return encoder.out


def encode(value, **options) -> bytes:
    return bytes(encode_buffer(value, **options))


# --------------------------------------------------------------------------- decoding

def _check_bool(a):
    if a.dtype.kind == "b" and a.size and a.view(np.uint8).max() > 1:
        raise WireError("bool array holds a byte other than 0 or 1")


def _dtype(buf, pos):
    n = buf[pos]
    code = bytes(buf[pos + 1:pos + 1 + n]).decode("ascii", "replace")
    dtype = _DTYPE_CACHE.get(code)
    if dtype is None:
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
    if bytes(buf[:len(MAGIC)]) != MAGIC:
        raise WireError("not a gradkit wire message (bad magic)")
    writable = not buf.readonly
    pos = len(MAGIC)
    items_left = max_items
    u32 = _U32.unpack_from

    def take(n):
        nonlocal pos
        start = pos
        if start + n > end:
            raise WireError(f"message truncated at byte {start}")
        pos = start + n
        return start

    def text():
        nonlocal pos
        n = u32(buf, pos)[0]
        start = pos + 4
        pos = start + n
        if pos > end:
            raise WireError(f"message truncated at byte {start}")
        try:
            return str(buf[start:pos], "utf-8", "surrogatepass")
        except UnicodeDecodeError:
            raise WireError(f"invalid UTF-8 at byte {start}") from None

    def count():
        nonlocal pos, items_left
        n = u32(buf, pos)[0]
        pos += 4
        if n > end - pos:
            raise WireError(f"item count {n} exceeds the message size")
        items_left -= n
        if items_left < 0:
            raise WireError(f"more than {max_items} items in lists, tuples and dicts")
        return n

    def value(depth):
        nonlocal pos
        if pos >= end:
            raise WireError(f"message truncated at byte {pos}")
        tag = buf[pos]
        pos += 1
        if tag == 0x66:  # f
            pos += 8
            return _F64.unpack_from(buf, pos - 8)[0]
        if tag == 0x69:  # i
            pos += 8
            return _I64.unpack_from(buf, pos - 8)[0]
        if tag == 0x73:  # s
            return text()
        if tag == 0x61:  # a
            return array()
        if tag == 0x64:  # d
            if depth >= max_depth:
                raise WireError(f"nested deeper than {max_depth}")
            result = {}
            for _ in range(count()):
                key = text()
                if key in result:
                    raise WireError(f"duplicate dict key {key[:40]!r}")
                result[key] = value(depth + 1)
            return result
        if tag == 0x6C or tag == 0x74:  # l t
            if depth >= max_depth:
                raise WireError(f"nested deeper than {max_depth}")
            items = [value(depth + 1) for _ in range(count())]
            return items if tag == 0x6C else tuple(items)
        if tag == 0x4E:  # N
            return None
        if tag == 0x54:  # T
            return True
        if tag == 0x46:  # F
            return False
        if tag == 0x63:  # c
            pos += 16
            real, imag = _C128.unpack_from(buf, pos - 16)
            return complex(real, imag)
        if tag == 0x49:  # I
            n = u32(buf, pos)[0]
            pos += 4
            start = take(n)
            if n == 0:
                raise WireError("empty big integer")
            return int.from_bytes(buf[start:start + n], "little", signed=True)
        if tag == 0x67:  # g
            dtype, pos = _dtype(buf, pos)
            start = take(dtype.itemsize)
            raw = np.frombuffer(buf[start:start + dtype.itemsize], dtype)
            _check_bool(raw)
            return raw[0]
        if tag == 0x68:  # h
            ident = _U64.unpack_from(buf, pos)[0]
            pos += 8
            if u32(buf, pos)[0] > MAX_NAME:
                raise WireError("handle type name too long")
            handle = Handle(ident, text())
            return handle if on_handle is None else on_handle(handle)
        raise WireError(f"unknown tag {tag:#04x} at byte {pos - 1}")

    def array():
        nonlocal pos
        dtype, pos = _dtype(buf, pos)
        flags, ndim = buf[pos], buf[pos + 1]
        pos += 2
        if flags > 1:
            raise WireError(f"bad array flags {flags}")
        if ndim > MAX_NDIM:
            raise WireError(f"array of {ndim} dimensions")
        shape = _SHAPES[ndim].unpack_from(buf, pos)
        pos += 8 * ndim
        size = 1
        for n in shape:
            if n >= 1 << 48:
                raise WireError(f"array dimension {n} too large")
            size *= n
        take(-pos % ALIGN)
        start = take(size * dtype.itemsize)
        if size:
            a = np.frombuffer(buf, dtype, size, start)
            if not (writable and a.flags.aligned):
                a = a.copy()
            _check_bool(a)
        else:
            a = np.empty(0, dtype)
        try:
            a = a.reshape(shape)
        except ValueError as error:
            raise WireError(f"bad array shape {shape}: {error}") from None
        if flags:
            a.flags.writeable = False
        return a

    try:
        result = value(0)
    except (struct.error, IndexError):
        raise WireError(f"message truncated at byte {min(pos, end)}") from None
    except RecursionError:
        raise WireError("message nested too deeply") from None
    if pos != end:
        raise WireError(f"{end - pos} trailing bytes after the value" if pos < end
                        else f"message truncated at byte {end}")
    return result
