"""The plain data that crosses to a sandbox and back: the request for a call, and the
checks and rebuilding of what comes back.

Takes decoded replies, which the sandbox may have forged; gives them checked for shape
(`check_reply`, else `Malformed`), the student's exceptions rebuilt as exceptions raised
here (`rebuild`), and the handles in a value (`track_handles`). No process is involved:
plans (plan.py) make requests with `call_request` before any sandbox exists.
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


class Malformed(Exception):
    pass


def check_reply(reply):
    if not isinstance(reply, dict):
        raise Malformed("not a dict")
    if reply.get("error") == {"kind": "stale"}:
        return reply
    # Either is left out when empty: most calls warn of nothing and change no argument.
    warns, mutated = reply.get("warnings", []), reply.get("mutated", [])
    # The sandbox sends at most MAX_WARNINGS: more is a forged reply, which would cost
    # this process time re-raising them outside the module's time budget.
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
