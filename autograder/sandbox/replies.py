"""The plain data that crosses to a sandbox and back: the request for a call, and the
checks and rebuilding of what comes back.

Takes decoded replies, which the sandbox may have forged; gives them checked for shape
(`check_reply`, else `Malformed`), the student's exceptions rebuilt as exceptions raised
here (`rebuild`), and the handles in a value (`track_handles`). Before a reply is decoded,
its size is held against what the solution answered to the same request (`reply_size`
recorded by plan.py, `allowance`, else `TooLarge`). No process is involved: plans make
requests with `call_request` before any sandbox exists.
"""
import builtins

import numpy as np

from autograder.sandbox import wire
from autograder.sandbox.frames import MAX_WARNINGS
from autograder.sandbox.limits import StudentError


# Builtin exceptions a student's exception may come back as; the rest become StudentError.
# MemoryError means the sandbox's limit, and the iteration protocol must not leak out.
REBUILT = frozenset(
    name for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, Exception)
    and not issubclass(value, (StopIteration, StopAsyncIteration, MemoryError)))


# A reply to a planned call may be this many times the solution's reply to the same request
# (in bytes as sent, and in items: entries of lists, tuples and dicts, as wire.decode counts
# them), and never less than the floors, plus the request's bytes (arguments changed in
# place come back). A correct student's replies are the same data in another style: of
# the variants in tests/students the largest is 1.7 times the solution's, a buggy one's 4.8
# times, and code handing back its arguments comes to 0.83 of the allowance. Beyond it a
# reply only costs the grader: a list of 200,000 handles took it 2 s of processor time to
# decode and track, and a test's work on a 64 MB array takes gigabytes.
REPLY_FACTOR = 16
REPLY_FLOOR = 64 * 1024  # bytes: an error's text, warnings (at most MAX_WARNINGS)
ITEMS_FLOOR = 1024


class Malformed(Exception):
    pass


class TooLarge(Exception):
    """A reply over its allowance, refused before it was decoded: `size` is its bytes when
    `unit` is "bytes", else the least count of items it was seen to hold."""

    def __init__(self, size: int, unit: str):
        super().__init__(f"{size} {unit}")
        self.size, self.unit = size, unit

    def describe(self, label: str, expected: tuple[int, int]) -> str:
        if self.unit == "bytes":
            return f"{label} replied {_amount(self.size)} where a correct answer is about " \
                   f"{_amount(expected[0])}"
        return (f"{label} replied more than {self.size:,} values (items of lists, tuples and "
                f"dicts) where a correct answer has {expected[1]:,}")


def _amount(size: int) -> str:
    for unit, scale in (("MB", 1e6), ("KB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


def reply_size(reply: dict) -> tuple[int, int]:
    """(bytes, items) of `reply` as a sandbox would send it; what is not plain data counts
    as the handle it would come back as."""
    data = wire.encode_buffer(reply, on_unknown=lambda obj: wire.Handle(0, type(obj).__name__))
    return len(data), _items(reply, 0)


def _items(value, depth) -> int:
    t = type(value)
    if (t is list or t is tuple) and depth < wire.MAX_DEPTH:
        return len(value) + sum(_items(item, depth + 1) for item in value)
    if t is dict and depth < wire.MAX_DEPTH:
        return len(value) + sum(_items(item, depth + 1) for item in value.values())
    return 0


def allowance(expected: tuple[int, int], request: int) -> tuple[int, int]:
    """The most (bytes, items) a reply may have, where the solution replied `expected` to
    the same request of `request` bytes: an argument changed in place comes back with it."""
    return (max(REPLY_FLOOR, REPLY_FACTOR * expected[0]) + request,
            max(ITEMS_FLOOR, REPLY_FACTOR * expected[1]))


def check_reply(reply):
    if not isinstance(reply, dict):
        raise Malformed("not a dict")
    if reply.get("error") == {"kind": "stale"}:
        return reply
    # Either is left out when empty: most calls warn of nothing and change no argument.
    warns, mutated = reply.get("warnings", []), reply.get("mutated", [])
    # The sandbox sends at most MAX_WARNINGS: more is a forged reply, which would cost
    # this process seconds re-raising them.
    if not (isinstance(warns, list) and len(warns) <= MAX_WARNINGS
            and isinstance(mutated, list)
            and all(isinstance(w, list) and len(w) == 2 and all(isinstance(x, str) for x in w)
                    for w in warns)
            and all(isinstance(m, list) and len(m) == 2 and isinstance(m[0], list)
                    and isinstance(m[1], np.ndarray) for m in mutated)):
        raise Malformed("bad warnings or mutations")
    if "error" in reply:
        error = reply["error"]
        if not (isinstance(error, dict) and all(isinstance(error.get(k), str)
                                                for k in ("type", "message", "where"))):
            raise Malformed("bad error")
    elif "value" not in reply:
        raise Malformed("no value")
    return reply


def call_request(function: str, args: tuple, kwargs: dict, release=()) -> dict:
    """The message that asks a sandbox to call `function`; `release` lists the handles
    this process no longer holds."""
    request = {"call": function, "args": args}
    if kwargs:
        request["kwargs"] = kwargs
    if release:
        request["release"] = list(release)
    return request


def walk(root, path):
    target = root
    for key in path:
        if type(target) in (list, tuple) and type(key) is int and 0 <= key < len(target):
            target = target[key]
        elif type(target) is dict and type(key) is str and key in target:
            target = target[key]
        else:
            return None
    return target


def track_handles(value, track, depth=0):
    t = type(value)
    if t is wire.Handle:
        track(value)
    elif (t is list or t is tuple) and depth < wire.MAX_DEPTH:
        for item in value:
            track_handles(item, track, depth + 1)
    elif t is dict and depth < wire.MAX_DEPTH:
        for item in value.values():
            track_handles(item, track, depth + 1)
    return value


def rebuild(label, error):
    name, message, where = error["type"], error["message"][:2000], error["where"][:300]
    if name in REBUILT and error.get("builtin") is True:
        try:
            return getattr(builtins, name)(f"{message}{where}")
        except Exception:
            pass
    if name == "MemoryError" and error.get("builtin") is True:
        return StudentError(f"{label} ran out of memory{where}: {message}")
    if name:
        return StudentError(f"{label} raised {name[:100]}: {message}{where}")
    return StudentError(f"{label}: {message}{where}")
