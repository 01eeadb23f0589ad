"""The protocol both sides of the sandbox speak: length-prefixed frames on a stream socket,
and the few constants the grader and the student process must agree on.

Takes a socket; gives whole frames, whose payloads are `wire` messages. Imported by the
zygote, the student process and the grader alike, so it imports nothing of either side.
"""
import struct

HEADER = struct.Struct("<Q")
HANDLE_BITS = 32
MAX_WARNINGS = 100
EXIT_INTERNAL = 70


class FrameTooLarge(ValueError):
    """A frame's header announces more bytes than the reader takes; none of them was read."""

    def __init__(self, size: int, limit: int):
        super().__init__(f"a message of {size} bytes, over the limit of {limit}")
        self.size = size


def send_frame(sock, payload):
    send_frames(sock, [payload])


def send_frames(sock, payloads):
    """Frames in one write when they are small; a large one is not copied to be framed."""
    if sum(map(len, payloads)) < 65536:
        sock.sendall(b"".join(part for p in payloads for part in (HEADER.pack(len(p)), p)))
        return
    for payload in payloads:
        sock.sendall(HEADER.pack(len(payload)))
        sock.sendall(payload)


def recv_into_full(recv_into, view, got=0):
    """Receive into `view` from offset `got` until it is full; recv_into is a socket's."""
    while got < len(view):
        k = recv_into(view[got:])
        if k == 0:
            raise EOFError
        got += k


def recv_exact(sock, n):
    buf = bytearray(n)
    recv_into_full(sock.recv_into, memoryview(buf))
    return buf


class FrameReader:
    """Frames off a stream socket. A small frame costs one recv, and a peer may send
    several frames ahead: what one recv brings beyond a frame is kept for the next.

    recv_into(view) -> count of bytes received, 0 at the end of the stream.
    """

    def __init__(self, recv_into, limit):
        self.recv_into, self.limit = recv_into, limit
        self.buffer = bytearray(65536)
        self.start = self.end = 0

    def next(self, limit=None) -> bytearray:
        """The next frame's payload, a fresh bytearray; EOFError at the end of the stream,
        FrameTooLarge for a frame over the limit (or over `limit`, when lower), refused on
        its header alone: its bytes are neither read nor given memory."""
        while self.end - self.start < HEADER.size:
            self._fill()
        (n,) = HEADER.unpack_from(self.buffer, self.start)
        limit = self.limit if limit is None else min(limit, self.limit)
        if n > limit:
            raise FrameTooLarge(n, limit)
        self.start += HEADER.size
        data = bytearray(n)
        got = min(n, self.end - self.start)
        data[:got] = memoryview(self.buffer)[self.start:self.start + got]
        self.start += got
        recv_into_full(self.recv_into, memoryview(data), got)  # the rest, in place
        return data

    def ready(self) -> bool:
        """Whether the next frame is here already, so that next() will not wait."""
        have = self.end - self.start - HEADER.size
        return have >= 0 and have >= HEADER.unpack_from(self.buffer, self.start)[0]

    def _fill(self):
        left = self.end - self.start
        self.buffer[:left] = self.buffer[self.start:self.end]
        self.start, self.end = 0, left
        k = self.recv_into(memoryview(self.buffer)[left:])
        if k == 0:
            raise EOFError
        self.end += k
