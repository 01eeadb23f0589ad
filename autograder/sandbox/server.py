"""The student process: it confines itself, imports the student's module when the grader
says so, and answers calls until the socket closes.

Takes call requests in `wire` format; gives back plain data only: return values (what is
not plain data stays in a table here and goes back as a handle), the student's exceptions
as type, message and line, warnings, and in-place changes of array arguments. The
student's stdout and stderr go to files in scratch, cut at the output limit.
"""
import builtins
import io
import os
import sys
import warnings

import numpy as np

from autograder.sandbox import wire
from autograder.sandbox.confine import ImportGuard, confine
from autograder.sandbox.frames import (EXIT_INTERNAL, HANDLE_BITS, MAX_WARNINGS, FrameReader,
                                       send_frame, send_frames)
from autograder.submissions.discover import ModuleProblem
from autograder.submissions.imports import is_allowed
from autograder.submissions.loader import module_from_source

MAX_TEXT = 2000


def fatal(sock, message):
    try:
        send_frame(sock, wire.encode({"fatal": message}))
    finally:
        os._exit(EXIT_INTERNAL)


class _Capped(io.TextIOBase):
    """stdout/stderr of the student: written to a file in scratch, silently cut at `limit`."""

    def __init__(self, fd, limit):
        self._fd, self._left = fd, limit

    def writable(self):
        return True

    def write(self, text):
        if self._left > 0:
            data = str(text).encode("utf-8", "replace")[:self._left]
            self._left -= len(data)
            try:
                while data:
                    data = data[os.write(self._fd, data):]
            except OSError:
                self._left = 0
        return len(text)

    def fileno(self):
        return self._fd


def student_process(config, sock, alive_r):
    try:
        confine(config, sock, alive_r)
    except Exception as error:
        fatal(sock, f"sandbox setup failed: {error}")
    limit = config["limits"]["max_output"]
    sys.stdout = _Capped(1, limit)
    sys.stderr = _Capped(2, limit)
    kept = set(config["path"])  # or rerouted by confine()
    sys.path[:] = [p for p in sys.path if p in kept or p.startswith("/proc/self/fd/")]
    sys.path_importer_cache.clear()
    sys.meta_path.insert(0, ImportGuard())
    for name in list(sys.modules):
        if name != "__main__" and not is_allowed(name):
            del sys.modules[name]
    server = Server(config, sock)
    server.start()
    server.serve()


# --------------------------------------------------------------------------- serving

class _StaleHandle(Exception):
    pass


class Server:
    def __init__(self, config, sock):
        self.sock = sock
        self.serial = config["serial"]
        self.config = config
        self.max_output = config["limits"]["max_output"]
        self.table = {}
        self.next_id = 1
        self.pid = os.getpid()
        self.module = None
        self.frames = FrameReader(sock.recv_into, config["limits"]["memory"])
        self.unsent = []  # replies held back while more calls wait (remote.RemoteModule)
        self.first = True  # whether the call being answered came when no other was waiting

    def reply(self, message):
        try:
            data = wire.encode_buffer(message, max_size=self.max_output, on_unknown=self.keep)
        except wire.WireError as error:
            data = wire.encode_buffer({"error": {
                "type": "", "builtin": False, "where": "",
                "message": f"its return value is too large to send back (over the "
                           f"{self.max_output / 2**20:g} MiB limit)"
                if str(error).startswith("message larger") else
                f"its return value cannot be sent back ({error})"}})
        # Calls the grader sent ahead are answered together, in one write after the last:
        # the grader then wakes once for them all instead of once for each. The first of a
        # batch is answered at once: a batch with no answer at all is then one call that did
        # not return, which the grader can blame without running it again alone.
        self.unsent.append(data)
        if self.first or not self.frames.ready():
            send_frames(self.sock, self.unsent)
            self.unsent = []

    def keep(self, obj):
        ident = self.next_id
        self.next_id += 1
        self.table[ident] = obj
        return wire.Handle((self.serial << HANDLE_BITS) | ident, type(obj).__name__[:100])

    def resolve(self, handle):
        ident = handle.id
        if ident >> HANDLE_BITS != self.serial or ident & 0xFFFFFFFF not in self.table:
            raise _StaleHandle
        return self.table[ident & 0xFFFFFFFF]

    def start(self):
        config = self.config
        try:
            self.frames.next()  # the grader's word to import, given when a test needs the module
        except (EOFError, OSError, ValueError):
            os._exit(0)
        try:
            self.module = module_from_source(config["source"], config["filename"], config["name"])
        except ModuleProblem as problem:
            send_frame(self.sock, wire.encode({"problem": str(problem)}))
            os._exit(0)
        functions, constants = [], {}
        for name, value in list(vars(self.module).items()):
            if name.startswith("_") or type(name) is not str:
                continue
            if callable(value):
                functions.append(name)
            elif type(value) in (int, float, complex, str, bool, np.ndarray, tuple):
                try:
                    wire.encode(value, max_size=1 << 20)
                    constants[name] = value
                except wire.WireError:
                    pass
        self.reply({"ready": {"functions": functions, "constants": constants}})

    def serve(self):
        limit = self.config["limits"]["memory"]
        while True:
            try:
                self.first = not self.frames.ready()
                data = self.frames.next()
            except (EOFError, OSError, ValueError):
                os._exit(0)
            try:
                message = wire.decode(data, max_size=limit, max_items=1 << 26,
                                      on_handle=self.resolve)
            except _StaleHandle:
                message = None
            self.call(message)

    def call(self, message):
        if message is None:
            return self.reply({"error": {"kind": "stale"}})
        for ident in message.get("release", ()):
            if ident >> HANDLE_BITS == self.serial:
                self.table.pop(ident & 0xFFFFFFFF, None)
        name, args, kwargs = message["call"], message["args"], message.get("kwargs", {})
        arrays = []
        _array_leaves((args, kwargs), [], arrays)
        before = [(a.shape, a.dtype, a.tobytes()) for _, a in arrays]
        value = error = None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                function = getattr(self.module, name)
                value = function(*args, **kwargs)
            except BaseException as raised:  # noqa: B036 - SystemExit too is the student's
                error = _describe(raised)
        if os.getpid() != self.pid:  # a child the student forked came back here
            os._exit(0)
        reply = {}
        if caught:
            reply["warnings"] = [_warning(w) for w in caught[:MAX_WARNINGS]]
        mutated = [[path, a] for (path, a), b in zip(arrays, before) if _changed(a, b)]
        if mutated:
            reply["mutated"] = mutated
        if error is None:
            reply["value"] = value
        else:
            reply["error"] = error
        self.reply(reply)


def _array_leaves(value, path, found):
    t = type(value)
    if t is np.ndarray:
        found.append((list(path), value))
    elif t is list or t is tuple:
        for i, item in enumerate(value):
            _array_leaves(item, path + [i], found)
    elif t is dict:
        for key, item in value.items():
            _array_leaves(item, path + [key], found)


def _changed(after, before):
    shape, dtype, raw = before
    return after.shape != shape or after.dtype != dtype or after.tobytes() != raw


def _text(value):
    try:
        text = str(value)
    except BaseException:
        text = "<unprintable>"
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT - 3] + "..."


def _warning(record):
    category = record.category
    name = getattr(category, "__name__", "")
    builtin = isinstance(name, str) and getattr(builtins, name, None) is category
    message = _text(record.message)
    return [name, message] if builtin else ["", f"{_text(name)}: {message}"]


def _describe(error):
    kind = type(error)
    if isinstance(error, MemoryError):  # numpy raises a private subclass
        kind = MemoryError
    name = kind.__name__ if isinstance(kind.__name__, str) else "?"
    where, tb = "", error.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_globals.get("__gradkit_student__") is True:
            where = (f" ({os.path.basename(frame.f_code.co_filename)} line {tb.tb_lineno}, "
                     f"in {frame.f_code.co_name})")
        tb = tb.tb_next
    if isinstance(error, SystemExit):
        message = f"called sys.exit({_text(repr(error.code))})"
    else:
        message = _text(error)
    return {"type": name, "builtin": getattr(builtins, name, None) is kind,
            "message": message, "where": where}
