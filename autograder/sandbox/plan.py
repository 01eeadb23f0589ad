"""Plan the calls each test makes to student code, so that the sandbox gets them ahead.

A call into the sandbox is a round trip between two processes: the grader writes the
request and sleeps, the sandbox wakes, runs it, answers and sleeps. Most calls of a
replayed test do not depend on what the student answered before (the same example makes
the same request whoever is graded), so the grader can send them ahead and the sandbox can
answer a batch of them in one go. `CallLog` records every request while the examples are
recorded on the solutions (replay.Recorder); a request holding a value that an earlier
call returned in the same test (a cache handed to a backward function, a layer's output
fed to the next layer) is logged as None: it cannot be known ahead, and is made as usual
when the test gets there.

The log also keeps the size of the solution's reply to every call, those logged as None
too: the grader refuses a reply far larger than that before decoding it (replies.allowance).

The grader (remote.RemoteModule) checks every real request against the plan before it
uses an answer. At the first difference (a request that depends on the student's answers
in a way the log could not see, or a test that stopped early) it takes the answers to what
it sent ahead, drops them, and goes on without the plan. A plan decides how many round
trips a student costs and how large an answer may be, never what a call returns.
"""
from typing import NamedTuple

import numpy as np

from autograder.sandbox import wire
from autograder.sandbox.replies import call_request, reply_size


class Planned(NamedTuple):
    """One call a test makes, as recorded on the solution."""
    request: bytes | None  # the encoded call_request; None when it cannot be known ahead
    reply: tuple[int, int] | None  # (bytes, items) of the solution's reply; None if unsendable


def _leaves(value, found: list):
    """The arrays and floats in `value`, as hashable fingerprints."""
    t = type(value)
    if t is np.ndarray:
        found.append((value.dtype.str, value.shape, value.tobytes()))
    elif t is float or isinstance(value, np.floating):
        found.append(float(value))
    elif t in (list, tuple):
        for item in value:
            _leaves(item, found)
    elif t is dict:
        for item in value.values():
            _leaves(item, found)
    return found


class RecordingModule:
    """A module whose calls go into a CallLog, then to the module."""

    def __init__(self, module, name: str, log: "CallLog"):
        self._module, self._name, self._log = module, name, log

    def __getattr__(self, attr):
        value = getattr(self._module, attr)
        if attr.startswith("_") or not callable(value):
            return value

        def call(*args, **kwargs):
            entry = self._log.request(self._name, attr, args, kwargs)
            try:
                result = value(*args, **kwargs)
            except Exception as error:  # a test expecting it: the sandbox would send this
                self._log.replied(entry, {"error": {"type": type(error).__name__, "builtin": True,
                                                    "message": str(error)[:2000], "where": ""}})
                raise
            self._log.returned.update(_leaves(result, []))
            self._log.replied(entry, {"value": result})
            return result

        return call


class CallLog:
    """A source (plugin.SOURCE) whose modules log their calls.

    entries: (module name, Planned), one per call, in order.
    """

    def __init__(self, source):
        self.source = source
        self.entries: list[tuple[str, Planned]] = []
        self.returned: set = set()  # what the current test's calls returned

    def load(self, name: str, test_dir):
        return RecordingModule(self.source.load(name, test_dir), name, self)

    def new_test(self):
        self.returned.clear()

    def request(self, module: str, function: str, args: tuple, kwargs: dict) -> int:
        """Log a call about to be made; its index in `entries`."""
        request = None
        if not self.returned.intersection(_leaves((args, kwargs), [])):
            try:
                request = bytes(wire.encode_buffer(call_request(function, args, kwargs)))
            except wire.WireError:  # not plain data: the sandbox would get a handle
                pass
        self.entries.append((module, Planned(request, None)))
        return len(self.entries) - 1

    def replied(self, index: int, reply: dict):
        """The solution answered the call logged at `index` with `reply` (a sandbox's reply)."""
        module, planned = self.entries[index]
        try:
            size = reply_size(reply)
        except wire.WireError:  # too large or too deep to send: the grader's usual limits
            size = None
        self.entries[index] = (module, planned._replace(reply=size))

    def plan(self, spans: list[tuple[int, int]]) -> dict[str, list[Planned]]:
        """The calls logged in the spans [start, stop) of `entries`: module -> its calls."""
        plan: dict[str, list] = {}
        for start, stop in spans:
            for module, planned in self.entries[start:stop]:
                plan.setdefault(module, []).append(planned)
        return plan
