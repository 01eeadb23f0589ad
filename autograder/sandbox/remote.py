"""Run untrusted student modules in kernel-isolated processes; grade in this one.

    with Zygote(hidden=default_hidden_paths(submissions, output)) as zygote:
        print(zygote.isolation_report() or "sandbox: full isolation")
        with SandboxSource(zygote, modules, Limits(), scratch_root) as source:
            config.stash[SOURCE] = source          # the tests run unchanged

`source.load(name, test_dir)` returns a `RemoteModule`: `student.sigmoid(x)` sends x to the
student's sandbox, runs sigmoid there and brings back plain data (autograder.sandbox.wire). What is
not plain data stays in the sandbox and comes back as a `wire.Handle`, which resolves to
the original object when passed back. Warnings are re-emitted here, in-place changes of
array arguments are written back into the caller's arrays, builtin exceptions are
re-raised as themselves with the student's line, anything else becomes `StudentError`.

Calls a test is planned to make (plan.py) are sent ahead in batches, answered in one go,
and each real call is checked against the plan before its answer is used. A reply far
larger than the solution's to the same call is refused before it is decoded, and stops its
module. Every round trip counts in the student's time budget (budget.py), shared by their
modules: once it is spent, no call is made.

The sandbox side is zygote.py and server.py; process.py starts and ends the sandboxes.
Nothing the sandbox sends is trusted: replies are size-limited, decoded by `wire.decode`
(which validates everything) and checked for shape before use (replies.py); a malformed
reply kills the sandbox.
"""
import builtins
import collections
import itertools
import tempfile
import threading
import time
import warnings
import weakref
from pathlib import Path

import numpy as np

from autograder.sandbox import wire
from autograder.sandbox.frames import HANDLE_BITS
from autograder.sandbox.limits import MissingFunction, StudentCrash, StudentError, StudentTimeout
from autograder.sandbox.process import Closed, Sandbox, Timeout, describe_status
from autograder.sandbox.replies import (Malformed, TooLarge, allowance, call_request,
                                        check_reply, rebuild, track_handles, walk)

# Planned calls (plan.py) are sent ahead in batches of at most this many, and this many
# bytes, so that the sandbox answers a batch in one go. The bytes stay below Linux's default
# socket buffer (208 KiB), so sending a batch never waits for the sandbox.
AHEAD_CALLS = 16
AHEAD_BYTES = 128 * 1024


class RemoteModule:
    """Stands for a student module loaded in a sandbox: its functions are proxies."""

    def __init__(self, owner, name, filename, source):
        self._owner = owner
        self._name = name
        self._filename = filename
        self._short = Path(filename).name
        self._source = source
        self._limits = owner.limits
        self._budget = owner.budget  # the student's, shared by their modules
        self._sandbox = None
        self._old_serials = set()
        self._timed_out = set()  # functions that did not return within the call timeout
        self._refused = None  # why this module was stopped for good, once it was
        self._functions = {}
        self._proxies = {}
        self._constants = {}
        self._release = collections.deque()  # ids of handles this process no longer holds
        self._lock = threading.RLock()
        self._runs = 0
        self._forget_plan()
        self._batch_timeout = self._batch_deadline = 0.0
        self._ahead = True  # whether this module is sent calls ahead

    def __repr__(self):
        return f"<student module {self._name} ({self._short}) in a sandbox>"

    def __dir__(self):
        return sorted(set(self._functions) | set(self._constants))

    def __getattr__(self, attr):
        if attr.startswith("_"):
            raise AttributeError(attr)
        if attr in self._constants:
            return wire.decode(self._constants[attr])
        if attr in self._functions:
            proxy = self._proxies.get(attr)
            if proxy is None:
                proxy = self._proxies[attr] = RemoteFunction(self, attr)
            return proxy
        raise MissingFunction(f"{self._short} has no function {attr}")

    # -- lifetime

    def _spawn(self):
        """A new sandbox, confined and waiting to import the module."""
        self._old_serials.add(getattr(self._sandbox, "serial", -1))
        self._forget_plan()  # what was sent ahead died with the old sandbox
        self._owner.scratch_root.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f"{self._name}-{self._runs}-",
                                        dir=self._owner.scratch_root))
        self._owner.scratch_dirs.append(scratch)
        self._runs += 1
        self._sandbox = Sandbox(self._owner.zygote, self._name, self._filename, self._source,
                                 self._limits, scratch)
        self._sandbox.spawn()

    def _start(self):
        """Import the module in the sandbox spawned for it (or in a new one once that one
        ended); the one-line problem when the module cannot be used, or None."""
        timeout = min(self._limits.start_timeout, self._budget.left())
        if timeout <= 0:
            self._close()  # the sandbox spawned ahead for it, if any
            return self._budget.spent(self._owner.stopped)
        if self._sandbox is None or not self._sandbox.alive:
            self._spawn()
        sandbox = self._sandbox
        try:
            with self._budget.waiting():
                reply = sandbox.start(time.monotonic() + timeout)
        except Timeout:
            sandbox.kill()
            if timeout < self._limits.start_timeout:
                return self._budget.spent(self._owner.stopped)
            return f"{self._short} did not finish importing within {timeout:g} s"
        except Closed:
            return (f"{self._short} ended the sandbox while being imported "
                    f"({describe_status(sandbox.exit_status())})")
        except Malformed as error:
            sandbox.kill()
            return f"{self._short}: the sandbox sent a malformed message while importing ({error})"
        if isinstance(reply, dict) and isinstance(reply.get("problem"), str):
            sandbox.exit_status()
            return reply["problem"][:2000]
        ready = reply.get("ready") if isinstance(reply, dict) else None
        if not (isinstance(ready, dict) and isinstance(ready.get("functions"), list)
                and isinstance(ready.get("constants"), dict)):
            sandbox.kill()
            return f"{self._short}: the sandbox sent a malformed message while importing"
        self._functions = {f for f in ready["functions"] if isinstance(f, str)}
        self._constants = {k: wire.encode(v) for k, v in ready["constants"].items()
                           if not isinstance(v, wire.Handle)}
        return None

    def _terminate(self):
        with self._lock:
            if self._sandbox is not None:
                self._sandbox.terminate()

    def _close(self):
        with self._lock:
            if self._sandbox is not None:
                self._sandbox.kill()

    def _budget_error(self, label, what) -> StudentTimeout:
        self._budget.spent(self._owner.stopped)
        return StudentTimeout(f"{label} {what}: the time budget of {self._budget.seconds:g} s "
                              "per student is used up")

    # -- calls sent ahead

    def _expect(self, plan: list):
        """The calls the test about to run is planned to make to this module (plan.Planned:
        the encoded request, or None when it cannot be known ahead, and the solution's
        reply's size); [] once it ended."""
        with self._lock:
            self._abandon_plan()
            if self._ahead:
                self._plan = plan

    def _abandon_plan(self):
        """Forget the plan; first take the answers to what was sent ahead and not asked for.
        Those calls were not the test's: what they do is held against no test and named in
        no feedback. Their time counts in the student's budget."""
        try:
            while self._next < self._sent and self._sandbox.alive:
                track_handles(self._receive_planned().get("value"), self._track)
        except (Timeout, Closed, Malformed, TooLarge):
            self._stop_sending_ahead()
        self._forget_plan()

    def _forget_plan(self):
        # The current test's planned calls (plan.Planned); _next is the one the next call
        # should make, those before _sent have been sent ahead, to be answered by
        # _batch_deadline.
        self._plan, self._next, self._sent = [], 0, 0

    def _stop_sending_ahead(self):
        """A batch sent ahead did not come back whole: too slow, a crash, a bad reply. Which
        call was at fault is not known, so none is blamed: the sandbox is replaced, and this
        module is sent no more batches (its calls may be slow, each within its limit, and
        only a call made alone is timed fairly)."""
        self._sandbox.kill()
        self._ahead = False
        self._forget_plan()

    def _planned(self, data) -> tuple[bool, tuple | None]:
        """Whether `data` is the request the plan expects next (if not, the plan is left),
        and the solution's reply to the call about to be made, when the plan knows it."""
        if self._next >= len(self._plan):  # no plan, or its end: nothing is sent ahead
            return False, None
        expected = self._plan[self._next]
        if expected.request is None:  # no plan can know it: made alone, the plan goes on after it
            self._next = self._sent = self._next + 1
            return False, expected.reply
        if expected.request != data:
            self._abandon_plan()
            return False, None
        return True, expected.reply

    def _receive_planned(self):
        """The answer to the next planned request, sending it (and those planned after it,
        up to AHEAD_CALLS and AHEAD_BYTES) unless it was sent ahead. A batch is given the
        time limit of one call: correct calls take milliseconds."""
        if self._sent == self._next:
            batch, size = [], 0
            for request, _ in itertools.islice(self._plan, self._sent, self._sent + AHEAD_CALLS):
                if request is None or (batch and size + len(request) > AHEAD_BYTES):
                    break
                batch.append(request)
                size += len(request)
            self._batch_timeout = min(self._limits.call_timeout, max(self._budget.left(), 0))
            self._batch_deadline = time.monotonic() + self._batch_timeout
            self._sandbox.send(batch, self._batch_deadline)
            self._sent += len(batch)
        request, expected = self._plan[self._next]
        self._next += 1
        most = allowance(expected, len(request)) if expected else None
        if self._sandbox.ready():  # answered with an earlier one: nothing to wait for
            return check_reply(self._sandbox.receive(self._batch_deadline, most))
        with self._budget.waiting():
            return check_reply(self._sandbox.receive(self._batch_deadline, most))

    # -- calls

    def _call(self, function, args, kwargs):
        label = f"{self._name}.{function}"
        with self._lock:
            if self._refused is not None:
                raise StudentError(f"{label} was not run: {self._refused}")
            if function in self._timed_out:
                # A function that looped once is not given the call timeout again for every
                # test: one endless loop would otherwise cost the student's whole budget.
                raise StudentTimeout(f"{label} was not run: an earlier call did not return "
                                     f"within {self._limits.call_timeout:g} s")
            self._ensure_started(label)
            data = self._encode(label, call_request(function, args, kwargs))
            reply = None
            ahead, expected = self._planned(data)
            if ahead:
                first = self._sent == self._next
                try:
                    reply = self._receive_planned()
                except TooLarge as refused:
                    raise self._refuse(label, refused, expected) from None
                except (Timeout, Closed, Malformed) as failure:
                    if first:
                        # The sandbox answers the first call of a batch at once (server.py):
                        # no answer is that call's own doing, as if it had been made alone.
                        sandbox = self._sandbox
                        self._forget_plan()
                        raise self._failed(label, function, sandbox, failure,
                                           self._batch_timeout) from None
                    # Which call of the batch is at fault is not known: this one is made
                    # again alone, as are all this module's calls from now on.
                    self._stop_sending_ahead()
                except BaseException:
                    self._sandbox.kill()
                    raise
            if reply is None:
                reply = self._call_alone(label, function, args, kwargs, data, expected)
        return self._deliver(label, reply, args, kwargs)

    def _call_alone(self, label, function, args, kwargs, data, expected):
        """Send one request and wait for its answer, within the call's time limit and, when
        the solution's reply is `expected`, its allowance."""
        self._ensure_started(label)  # a call sent ahead may have ended the sandbox
        if self._release:  # handles go with calls made alone: a plan knows none
            release = [self._release.popleft() for _ in range(len(self._release))]
            data = self._encode(label, call_request(function, args, kwargs, release))
        sandbox = self._sandbox
        timeout = min(self._limits.call_timeout, self._budget.left())
        most = allowance(expected, len(data)) if expected else None
        try:
            with self._budget.waiting():
                deadline = time.monotonic() + timeout
                sandbox.send([data], deadline)
                return check_reply(sandbox.receive(deadline, most))
        except TooLarge as refused:
            raise self._refuse(label, refused, expected) from None
        except (Timeout, Closed, Malformed) as failure:
            raise self._failed(label, function, sandbox, failure, timeout) from None
        except BaseException:  # e.g. KeyboardInterrupt: a late reply would be misread
            sandbox.kill()
            raise

    def _refuse(self, label, refused: TooLarge, expected) -> StudentError:
        """A reply over its allowance: the module is stopped for good, its sandbox killed
        unread. Such a reply is no answer a test can use, and the next would cost the
        grader as much: its remaining tests fail at once."""
        self._sandbox.kill()
        self._forget_plan()
        self._refused = (f"{self._name} was stopped after a reply far larger than a correct "
                         "answer")
        return self._stopped(StudentError(f"{refused.describe(label, expected)}; "
                                          f"{self._refused}"))

    def _failed(self, label, function, sandbox, failure, timeout) -> StudentError:
        """What a call that had `timeout` seconds alone and got no answer is blamed for; its
        sandbox is stopped."""
        if isinstance(failure, Closed):
            return self._stopped(StudentCrash(f"{label} ended the sandbox process "
                                              f"({describe_status(sandbox.exit_status())})"))
        sandbox.kill()
        if isinstance(failure, Malformed):
            return self._stopped(StudentError(f"{label}: the sandbox sent a malformed reply "
                                              f"({failure})"))
        if timeout < self._limits.call_timeout:
            return self._budget_error(label, "was stopped")
        self._timed_out.add(function)
        return self._stopped(StudentTimeout(f"{label} did not return within {timeout:g} s"))

    def _ensure_started(self, label):
        """A sandbox for the call `label`, started again after a timeout or a crash, while
        the student's budget lasts."""
        if self._budget.left() <= 0:
            raise self._budget_error(label, "was not run")
        if not self._sandbox.alive:
            problem = self._start()
            if problem is not None:
                raise StudentError(f"{label} could not be run again: {problem}")

    def _encode(self, label, request):
        try:
            return wire.encode_buffer(request, max_size=self._limits.memory,
                                      on_handle=self._check_handle)
        except wire.WireError as error:
            raise TypeError(f"{label}: cannot pass this argument to the sandbox: {error}") from None

    def _stopped(self, error: StudentError) -> StudentError:
        self._owner.stopped.append(str(error))
        return error

    def _check_handle(self, handle):
        serial = handle.id >> HANDLE_BITS
        if serial == self._sandbox.serial:
            return
        if serial in self._old_serials:
            raise StudentError(f"a value {self._name} returned earlier (a {handle.type_name}) "
                               "belonged to a sandbox that was stopped after a timeout or a "
                               "crash; it cannot be used any more")
        raise StudentError(f"a {handle.type_name} value from another module was passed to "
                           f"{self._name}")

    def _track(self, handle):
        finalizer = weakref.finalize(handle, self._release.append, handle.id)
        finalizer.atexit = False
        return handle

    def _deliver(self, label, reply, args, kwargs):
        error = reply.get("error")
        if error == {"kind": "stale"}:
            raise StudentError(f"a value {self._name} returned earlier is no longer available "
                               "in its sandbox")
        for path, new in reply.get("mutated", ()):
            target = walk((args, kwargs), path)
            if (isinstance(target, np.ndarray) and target.shape == new.shape
                    and target.dtype == new.dtype and target.flags.writeable):
                np.copyto(target, new)
        for category, message in reply.get("warnings", ()):
            cls = getattr(builtins, category, None)
            if not (isinstance(cls, type) and issubclass(cls, Warning)):
                cls = RuntimeWarning
            warnings.warn(message, cls, stacklevel=4)
        if error is not None:
            raise rebuild(label, error) from None
        return track_handles(reply["value"], self._track)


class RemoteFunction:
    """A student function in the sandbox; calling it runs it there."""

    __slots__ = ("_module", "_name", "__weakref__")

    def __init__(self, module, name):
        self._module = module
        self._name = name

    def __call__(self, *args, **kwargs):
        return self._module._call(self._name, args, kwargs)

    def __repr__(self):
        return f"<student function {self._module._name}.{self._name} in a sandbox>"

    @property
    def __name__(self):
        return self._name
