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
and each real call is checked against the plan before its answer is used.

The sandbox side is autograder/zygote.py. Nothing the sandbox sends is trusted: replies
are size-limited, decoded by `wire.decode` (which validates everything) and checked
for shape before use; a malformed reply kills the sandbox.
"""
import builtins
import collections
import itertools
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import multiprocessing
import threading
import time
import warnings
import weakref
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from autograder import kit

from autograder.sandbox import wire
from autograder.submissions.discover import ModuleProblem
from autograder.submissions.loader import UnusableModule
from autograder.sandbox.zygote import (EXIT_INTERNAL, HANDLE_BITS, HEADER, MAX_WARNINGS, FrameReader,
                              recv_exact, send_frame)

MiB = 2**20
GiB = 2**30

# Planned calls (plan.py) are sent ahead in batches of at most this many, and this many
# bytes, so that the sandbox answers a batch in one go. The bytes stay below Linux's default
# socket buffer (208 KiB), so sending a batch never waits for the sandbox.
AHEAD_CALLS = 16
AHEAD_BYTES = 128 * 1024
IMPORT = wire.encode({"import": True})


@dataclass(frozen=True)
class Limits:
    # A correct call takes milliseconds: the slowest of the known correct styles (03's
    # uniform written with Python loops) takes 32 ms. 2 s is generous to any style on a
    # loaded machine, and a function that timed out once is not run again.
    call_timeout: float = 2.0           # seconds of wall time per call
    # Starting a sandbox (a fork, namespaces, the import) takes 20-30 ms, but far longer on
    # a machine under load: a start gets its own, looser limit.
    start_timeout: float = 10.0         # seconds to start a sandbox and import the module
    submission_timeout: float = 30.0    # seconds of wall time per module, all calls together
    memory: int = 2 * GiB               # of a sandbox's processes together (cgroup), and of each
    max_processes: int = 32             # processes (and threads) of one sandbox
    max_output: int = 64 * MiB          # bytes per reply, per file written, scratch size
    max_files: int = 64                 # open file descriptors


class StudentError(Exception):
    """Student code did something that is not a builtin exception: the message says what."""


class StudentTimeout(StudentError):
    """A call did not return in time, or the module's time budget is used up."""


class StudentCrash(StudentError):
    """The sandbox process ended during a call (exit, signal, memory limit...)."""


class MissingFunction(ModuleProblem, AttributeError):
    """The module has no such public function."""


class SandboxSetupError(RuntimeError):
    """The grader could not start a sandbox: a problem of the machine, not of the student."""


# Builtin exceptions a student's exception may come back as; the rest become StudentError.
# MemoryError means the sandbox's limit, and the iteration protocol must not leak out.
REBUILT = frozenset(
    name for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, Exception)
    and not issubclass(value, (StopIteration, StopAsyncIteration, MemoryError)))


def default_hidden_paths(*extra) -> list[str]:
    """What a sandbox must not see even where it lies inside a folder shown to it (the
    system's, the standard library's): the kit checkout (solutions, reference, private
    tests) and `extra` (the submissions, the output). Anything else not shown is absent."""
    return [str(Path(p).resolve()) for p in (kit.ROOT, *extra)]


def describe_status(code) -> str:
    if code is None:
        return "exit status unknown"
    if code == EXIT_INTERNAL:
        return "the sandbox failed internally"
    if code > 128:
        try:
            name = signal.Signals(code - 128).name
        except ValueError:
            name = f"signal {code - 128}"
        hint = " (memory or CPU limit?)" if code - 128 in (signal.SIGKILL, signal.SIGXCPU) else ""
        return f"killed by {name}{hint}"
    return f"exit status {code}"


# --------------------------------------------------------------------------- zygote

_LIVE = weakref.WeakSet()


class Zygote:
    """The warm process every sandbox is forked from; start one per batch.

    hidden: the paths no sandbox may see even inside a folder it is shown
    (default_hidden_paths()); numpy stays readable where it lies below one of them.
    isolation: "auto" (namespaces when this machine allows them, else rlimits only),
    "namespaces" (fail if unavailable) or "rlimits".
    uid_base: run as root, each sandbox gets its own unprivileged uid/gid from
    uid_base + 100000 * (pid % 400) on (above the ranges sssd and subuid maps use), so the
    process limit is per sandbox and sandboxes cannot touch each other's processes.
    """

    def __init__(self, hidden=None, *, isolation: str = "auto", python: str = sys.executable,
                 uid_base: int = 2_100_000_000):
        if isolation not in ("auto", "namespaces", "rlimits"):
            raise ValueError(f"isolation must be auto, namespaces or rlimits, not {isolation!r}")
        self.hidden = list(hidden) if hidden is not None else default_hidden_paths()
        # One control socket serves the batch's trusted children, forked after this: a
        # process-shared lock keeps their requests and replies from interleaving.
        self._lock = multiprocessing.Lock()
        self._closed = False
        self._report = ""
        mine, theirs = socket.socketpair()
        package_root = str(Path(__file__).resolve().parents[1])
        code = (f"import sys; sys.path.insert(0, {package_root!r}); "
                f"from autograder.sandbox.zygote import main; main({theirs.fileno()})")
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
               "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "NUMEXPR_NUM_THREADS": "1"}
        self._process = subprocess.Popen([python, "-I", "-c", code], pass_fds=[theirs.fileno()],
                                         env=env, cwd="/", stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL)
        theirs.close()
        self._ctl = mine
        try:
            hello = self._receive(timeout=60)
        except Exception:
            self.close()
            raise
        self.pid, self.uid, self.keep = hello["pid"], hello["uid"], hello["keep"]
        self._uid_base = uid_base + (os.getpid() % 400) * 100_000
        self.isolation = isolation
        if isolation != "rlimits":
            try:
                problem = self._probe()
            except BaseException:
                self.close()
                raise
            if problem and isolation == "namespaces":
                self.close()
                raise SandboxSetupError(problem)
            if problem:
                self.isolation = "rlimits"
                self._report = ("sandbox: no user/mount namespaces available; running with "
                                f"rlimits only ({problem})")
            else:
                self.isolation = "namespaces"
        else:
            self._report = "sandbox: namespaces turned off; running with rlimits only"
        if hello["memory_groups"]:
            note = f"memory is limited per process, not per sandbox ({hello['memory_groups']})"
            self._report = f"{self._report}; {note}" if self._report else f"sandbox: {note}"
        _LIVE.add(self)

    def isolation_report(self) -> str:
        """One warning line to print when the sandboxes are not fully isolated, else ""."""
        return self._report

    def _probe(self) -> str:
        """Start one sandbox with namespaces; the reason it failed, or ""."""
        self.isolation = "namespaces"
        scratch = Path(tempfile.mkdtemp(prefix="gradkit-probe-"))
        try:
            sandbox = _Sandbox(self, "probe", "probe.py", "", Limits(), scratch / "probe")
            try:
                sandbox.start(deadline=time.monotonic() + 30)
            finally:
                sandbox.kill()
        except SandboxSetupError as error:
            return str(error)
        except (_Timeout, _Closed, _Malformed) as error:
            return f"the probe sandbox failed ({type(error).__name__.strip('_').lower()})"
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return ""

    def _receive(self, timeout):
        self._ctl.settimeout(timeout)
        try:
            (n,) = HEADER.unpack(recv_exact(self._ctl, HEADER.size))
            return wire.decode(recv_exact(self._ctl, n))
        except (EOFError, OSError) as error:
            raise SandboxSetupError(f"the sandbox zygote stopped answering ({error!r})") from None

    def _request(self, message, fds=()):
        if self._closed:
            raise SandboxSetupError("the sandbox zygote is closed")
        data = wire.encode(message)
        try:
            if fds:
                socket.send_fds(self._ctl, [HEADER.pack(len(data))], list(fds))
                self._ctl.sendall(data)
            else:
                send_frame(self._ctl, data)
        except OSError as error:
            raise SandboxSetupError(f"the sandbox zygote stopped answering ({error!r})") from None
        return self._receive(timeout=30)

    def spawn(self, config: dict, sock: socket.socket) -> tuple[int, int]:
        """Fork a sandbox for `config` talking on `sock`; its (serial, supervisor pid)."""
        # The zygote numbers the sandboxes (and picks their uids): processes forked from
        # this one share it, and their own counters would collide.
        config = dict(config, isolation=self.isolation, hidden=self.hidden,
                      uid_base=self._uid_base)
        with self._lock:
            reply = self._request({"op": "spawn", "config": config}, [sock.fileno()])
        return reply["serial"], reply["pid"]

    def reap(self, pid: int):
        """Collect an ended supervisor; its exit status (128 + signal when killed)."""
        with self._lock:
            if self._closed:
                return None
            return self._request({"op": "reap", "pid": pid})["status"]

    def close(self):
        """Kill every sandbox and the zygote."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._ctl.close()
            finally:
                try:
                    self._process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def isolation_report() -> str:
    """The isolation warning of the live zygote (or of a probe, when none is running)."""
    for zygote in list(_LIVE):
        if not zygote._closed:
            return zygote.isolation_report()
    with Zygote() as zygote:
        return zygote.isolation_report()


# --------------------------------------------------------------------------- one sandbox

class _Timeout(Exception):
    pass


class _Closed(Exception):
    pass


class _Sandbox:
    """One sandbox process: spawned, confined and waiting; once started, the student's
    module imported and answering calls."""

    def __init__(self, zygote, name, filename, source, limits, scratch: Path):
        self.zygote, self.name, self.filename, self.source = zygote, name, filename, source
        self.limits, self.scratch = limits, scratch
        self.sock = self.pidfd = self.pid = None
        self.serial = -1
        self.alive = False
        self._frames = FrameReader(self._recv_into, limits.max_output + 4096)
        self._deadline = 0.0

    def spawn(self):
        """Have the zygote fork the sandbox. It confines itself and waits: no student code
        runs before `start`."""
        self.scratch.mkdir(parents=True, exist_ok=True)
        mine, theirs = socket.socketpair()
        for end in (mine, theirs):  # large arrays cross in fewer wake-ups
            for option in (socket.SO_SNDBUF, socket.SO_RCVBUF):
                end.setsockopt(socket.SOL_SOCKET, option, 4 * MiB)
        # On this process's processors: a worker pinned to one (pool.py) and its sandbox
        # then take turns there.
        config = {"name": self.name, "filename": self.filename, "source": self.source,
                  "scratch": str(self.scratch.resolve()), "limits": asdict(self.limits),
                  "cpus": sorted(os.sched_getaffinity(0))}
        try:
            self.serial, self.pid = self.zygote.spawn(config, theirs)
        finally:
            theirs.close()
        self.sock = mine
        self.pidfd = os.pidfd_open(self.pid)
        self.alive = True

    def start(self, deadline):
        """Import the module (spawning first if need be); the ready message, or raise
        _Timeout, _Closed, _Malformed or SandboxSetupError."""
        if self.pid is None:
            self.spawn()
        try:
            self.send([IMPORT], deadline)
        except _Closed:  # setup failed: its reason is waiting to be read
            pass
        reply = self.receive(deadline)
        if not isinstance(reply, dict):
            raise _Malformed("not a dict")
        if "fatal" in reply:
            self.kill()
            raise SandboxSetupError(str(reply["fatal"])[:500])
        return reply

    def _timeout(self, deadline):
        # A blocking socket with a timeout waits in C: no Python-level poll per call.
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _Timeout
        self.sock.settimeout(remaining)

    def send(self, messages, deadline):
        """Write encoded messages, all in one write when the socket takes them."""
        parts = [part for data in messages for part in (HEADER.pack(len(data)), data)]
        self._timeout(deadline)
        try:
            sent = self.sock.sendmsg(parts)
            if sent < sum(map(len, parts)):  # a large message goes in pieces
                self._timeout(deadline)
                self.sock.sendall(memoryview(b"".join(parts))[sent:])
        except TimeoutError:
            raise _Timeout from None
        except OSError:
            raise _Closed from None

    def receive(self, deadline):
        """The next message, decoded; _Timeout, _Closed or _Malformed otherwise."""
        self._deadline = deadline
        try:
            data = self._frames.next()
        except ValueError as error:
            raise _Malformed(str(error)) from None
        except EOFError:
            raise _Closed from None
        try:
            return wire.decode(data, max_size=self._frames.limit)
        except wire.WireError as error:
            raise _Malformed(str(error)) from None

    def _recv_into(self, view):
        self._timeout(self._deadline)
        try:
            return self.sock.recv_into(view)
        except TimeoutError:
            raise _Timeout from None
        except OSError:
            raise _Closed from None

    def exit_status(self, grace=2.0):
        """After the socket closed: wait a little for the supervisor to end, then reap."""
        if _readable(self.pidfd, grace):
            return self._finish(kill=False)
        return self._finish(kill=True)

    def terminate(self):
        """Ask the supervisor to end the student's processes (zygote.py); `kill` waits."""
        if self.alive:
            self._signal(signal.SIGTERM)

    def kill(self):
        """Kill the sandbox and everything it started; its exit status."""
        if not self.alive:
            return None
        self.terminate()
        _readable(self.pidfd, 2.0)
        return self._finish(kill=True)

    def _signal(self, sig):
        try:
            signal.pidfd_send_signal(self.pidfd, sig)
        except ProcessLookupError:
            pass

    def _finish(self, kill):
        if kill:
            self._signal(signal.SIGKILL)
        _readable(self.pidfd, 5.0)
        self.alive = False
        status = self.zygote.reap(self.pid)
        os.close(self.pidfd)
        # The student's processes hold the other end of the socket: EOF means all are gone.
        try:
            self.sock.settimeout(2.0)
            while self.sock.recv(65536):
                pass
        except OSError:
            pass
        self.sock.close()
        return status


class _Malformed(Exception):
    pass


def _readable(fd, timeout):
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(timeout * 1000))


# --------------------------------------------------------------------------- the proxy

class RemoteModule:
    """Stands for a student module loaded in a sandbox: its functions are proxies."""

    def __init__(self, owner, name, filename, source):
        self._owner = owner
        self._name = name
        self._filename = filename
        self._short = Path(filename).name
        self._source = source
        self._limits = owner.limits
        self._sandbox = None
        self._old_serials = set()
        self._spent = 0.0
        self._timed_out = set()  # functions that did not return within the call timeout
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
        self._sandbox = _Sandbox(self._owner.zygote, self._name, self._filename, self._source,
                                 self._limits, scratch)
        self._sandbox.spawn()

    def _start(self):
        """Import the module in the sandbox spawned for it (or in a new one once that one
        ended); the one-line problem when the module cannot be used, or None."""
        if self._sandbox is None or not self._sandbox.alive:
            self._spawn()
        sandbox = self._sandbox
        timeout = min(self._limits.start_timeout, self._budget_left())
        started = time.monotonic()
        try:
            reply = sandbox.start(started + timeout)
        except _Timeout:
            sandbox.kill()
            return f"{self._short} did not finish importing within {timeout:g} s"
        except _Closed:
            return (f"{self._short} ended the sandbox while being imported "
                    f"({describe_status(sandbox.exit_status())})")
        except _Malformed as error:
            sandbox.kill()
            return f"{self._short}: the sandbox sent a malformed message while importing ({error})"
        finally:
            self._spent += time.monotonic() - started
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

    def _budget_left(self):
        return self._limits.submission_timeout - self._spent

    # -- calls sent ahead

    def _expect(self, plan: list):
        """The requests the test about to run is planned to make to this module (encoded
        `call_request`s, None for a call that cannot be known ahead); [] once it ended."""
        with self._lock:
            self._abandon_plan()
            if self._ahead:
                self._plan = plan

    def _abandon_plan(self):
        """Forget the plan; first take the answers to what was sent ahead and not asked for.
        Those calls were not the test's: what they do is held against no test and named in
        no feedback. Their time counts in the module's budget."""
        started = time.monotonic()
        try:
            while self._next < self._sent and self._sandbox.alive:
                _track_handles(self._receive_planned().get("value"), self._track)
        except (_Timeout, _Closed, _Malformed):
            self._stop_sending_ahead()
        finally:
            self._spent += time.monotonic() - started
        self._forget_plan()

    def _forget_plan(self):
        # The current test's planned requests; _next is the one the next call should make,
        # requests before _sent have been sent ahead, to be answered by _batch_deadline.
        self._plan, self._next, self._sent = [], 0, 0

    def _stop_sending_ahead(self):
        """A batch sent ahead did not come back whole: too slow, a crash, a bad reply. Which
        call was at fault is not known, so none is blamed: the sandbox is replaced, and this
        module is sent no more batches (its calls may be slow, each within its limit, and
        only a call made alone is timed fairly)."""
        self._sandbox.kill()
        self._ahead = False
        self._forget_plan()

    def _planned(self, data) -> bool:
        """Whether `data` is the request the plan expects next; if not, the plan is left."""
        if self._next >= len(self._plan):  # no plan, or its end: nothing is sent ahead
            return False
        expected = self._plan[self._next]
        if expected is None:  # a call no plan can know: made as usual, the plan goes on after it
            self._next = self._sent = self._next + 1
            return False
        if expected != data:
            self._abandon_plan()
            return False
        return True

    def _receive_planned(self):
        """The answer to the next planned request, sending it (and those planned after it,
        up to AHEAD_CALLS and AHEAD_BYTES) unless it was sent ahead. A batch is given the
        time limit of one call: correct calls take milliseconds."""
        if self._sent == self._next:
            batch, size = [], 0
            for request in itertools.islice(self._plan, self._sent, self._sent + AHEAD_CALLS):
                if request is None or (batch and size + len(request) > AHEAD_BYTES):
                    break
                batch.append(request)
                size += len(request)
            self._batch_timeout = min(self._limits.call_timeout, max(self._budget_left(), 0))
            self._batch_deadline = time.monotonic() + self._batch_timeout
            self._sandbox.send(batch, self._batch_deadline)
            self._sent += len(batch)
        self._next += 1
        return self._check_reply(self._sandbox.receive(self._batch_deadline))

    # -- calls

    def _call(self, function, args, kwargs):
        label = f"{self._name}.{function}"
        with self._lock:
            if function in self._timed_out:
                # A function that looped once is not given the call timeout again for every
                # test: one endless loop would otherwise cost the whole module budget.
                raise StudentTimeout(f"{label} was not run: an earlier call did not return "
                                     f"within {self._limits.call_timeout:g} s")
            self._ensure_started(function)
            data = self._encode(label, call_request(function, args, kwargs))
            reply = None
            if self._planned(data):
                first = self._sent == self._next
                started = time.monotonic()
                try:
                    reply = self._receive_planned()
                except (_Timeout, _Closed, _Malformed) as failure:
                    if first:
                        # The sandbox answers the first call of a batch at once (zygote.py):
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
                finally:
                    self._spent += time.monotonic() - started
            if reply is None:
                reply = self._call_alone(label, function, args, kwargs, data)
        return self._deliver(label, reply, args, kwargs)

    def _call_alone(self, label, function, args, kwargs, data):
        """Send one request and wait for its answer, within the call's time limit."""
        self._ensure_started(function)  # a call sent ahead may have ended the sandbox
        if self._release:  # handles go with calls made alone: a plan knows none
            release = [self._release.popleft() for _ in range(len(self._release))]
            data = self._encode(label, call_request(function, args, kwargs, release))
        sandbox = self._sandbox
        timeout = min(self._limits.call_timeout, self._budget_left())
        started = time.monotonic()
        try:
            sandbox.send([data], started + timeout)
            return self._check_reply(sandbox.receive(started + timeout))
        except (_Timeout, _Closed, _Malformed) as failure:
            raise self._failed(label, function, sandbox, failure, timeout) from None
        except BaseException:  # e.g. KeyboardInterrupt: a late reply would be misread
            sandbox.kill()
            raise
        finally:
            self._spent += time.monotonic() - started

    def _failed(self, label, function, sandbox, failure, timeout) -> StudentError:
        """What a call that had `timeout` seconds alone and got no answer is blamed for; its
        sandbox is stopped."""
        if isinstance(failure, _Closed):
            return self._stopped(StudentCrash(f"{label} ended the sandbox process "
                                              f"({describe_status(sandbox.exit_status())})"))
        sandbox.kill()
        if isinstance(failure, _Malformed):
            return self._stopped(StudentError(f"{label}: the sandbox sent a malformed reply "
                                              f"({failure})"))
        if timeout < self._limits.call_timeout:
            return self._stopped(StudentTimeout(
                f"{label} was stopped: {self._name} used up its time budget of "
                f"{self._limits.submission_timeout:g} s"))
        self._timed_out.add(function)
        return self._stopped(StudentTimeout(f"{label} did not return within {timeout:g} s"))

    def _ensure_started(self, function):
        """A sandbox for the call to `function`, started again after a timeout or a crash."""
        if self._budget_left() <= 0:
            raise StudentTimeout(f"{self._name} used up its time budget of "
                                 f"{self._limits.submission_timeout:g} s; {function} was not run")
        if not self._sandbox.alive:
            problem = self._start()
            if problem is not None:
                raise StudentError(f"{self._name}.{function} could not be run again: {problem}")

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

    def _check_reply(self, reply):
        if not isinstance(reply, dict):
            raise _Malformed("not a dict")
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
            raise _Malformed("bad warnings or mutations")
        if "error" in reply:
            error = reply["error"]
            if not (isinstance(error, dict) and all(isinstance(error.get(k), str)
                                                    for k in ("type", "message", "where"))):
                raise _Malformed("bad error")
        elif "value" not in reply:
            raise _Malformed("no value")
        return reply

    def _deliver(self, label, reply, args, kwargs):
        error = reply.get("error")
        if error == {"kind": "stale"}:
            raise StudentError(f"a value {self._name} returned earlier is no longer available "
                               "in its sandbox")
        for path, new in reply.get("mutated", ()):
            target = _walk((args, kwargs), path)
            if (isinstance(target, np.ndarray) and target.shape == new.shape
                    and target.dtype == new.dtype and target.flags.writeable):
                np.copyto(target, new)
        for category, message in reply.get("warnings", ()):
            cls = getattr(builtins, category, None)
            if not (isinstance(cls, type) and issubclass(cls, Warning)):
                cls = RuntimeWarning
            warnings.warn(message, cls, stacklevel=4)
        if error is not None:
            raise _rebuild(label, error) from None
        return _track_handles(reply["value"], self._track)


def call_request(function: str, args: tuple, kwargs: dict, release=()) -> dict:
    """The message that asks a sandbox to call `function`; `release` lists the handles
    this process no longer holds."""
    request = {"call": function, "args": args}
    if kwargs:
        request["kwargs"] = kwargs
    if release:
        request["release"] = list(release)
    return request


def _walk(root, path):
    target = root
    for key in path:
        if type(target) in (list, tuple) and type(key) is int and 0 <= key < len(target):
            target = target[key]
        elif type(target) is dict and type(key) is str and key in target:
            target = target[key]
        else:
            return None
    return target


def _track_handles(value, track, depth=0):
    t = type(value)
    if t is wire.Handle:
        track(value)
    elif (t is list or t is tuple) and depth < wire.MAX_DEPTH:
        for item in value:
            _track_handles(item, track, depth + 1)
    elif t is dict and depth < wire.MAX_DEPTH:
        for item in value.values():
            _track_handles(item, track, depth + 1)
    return value


def _rebuild(label, error):
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


# --------------------------------------------------------------------------- the source

class SandboxSource:
    """What the tests load student modules from in the batch grader (plugin.SOURCE).

    modules: module name -> (filename, source text), or -> a one-line problem
    ("two or more files for activations: ..."). scratch_root: a folder for the sandboxes'
    working folders (a fresh temporary one when None); removed by close().
    """

    def __init__(self, zygote: Zygote, modules: dict, limits: Limits = Limits(),
                 scratch_root=None):
        self.zygote = zygote
        self.modules = dict(modules)
        self.limits = limits
        self._own_scratch = scratch_root is None
        self.scratch_root = Path(scratch_root or tempfile.mkdtemp(prefix="gradkit-scratch-"))
        self.scratch_dirs = []
        self._loaded = {}
        # What could not be imported or had to be stopped (timeouts, crashes), a line each,
        # for the student's feedback and the run's summary.
        self.stopped: list[str] = []
        # Every module's sandbox is spawned now, to import when a test first loads it: the
        # sandboxes confine themselves together, and much of that is waiting on the kernel.
        self._spawned = {}
        try:
            for name, entry in self.modules.items():
                if isinstance(entry, tuple):
                    self._spawned[name] = RemoteModule(self, name, *entry)
                    self._spawned[name]._spawn()
        except BaseException:
            self.close()
            raise

    def expect(self, plan: dict):
        """The calls the test about to run is planned to make (plan.py): module name ->
        its requests; {} once the test ended."""
        for name, module in self._loaded.items():
            if isinstance(module, RemoteModule):
                module._expect(plan.get(name, []))

    def load(self, name: str, test_dir=None):
        if name in self._loaded:
            return self._loaded[name]
        entry = self.modules.get(name)
        if entry is None:
            module = UnusableModule(f"no {name}.py (or {name}.ipynb) found")
        elif isinstance(entry, str):
            module = UnusableModule(entry)
        else:
            module = self._spawned.pop(name, None) or RemoteModule(self, name, *entry)
            problem = module._start()
            if problem is not None:
                self.stopped.append(problem)
                module = UnusableModule(problem)
        self._loaded[name] = module
        return module

    def close(self):
        modules = [m for m in [*self._loaded.values(), *self._spawned.values()]
                   if isinstance(m, RemoteModule)]
        for module in modules:  # all end at once, then each is waited for
            module._terminate()
        for module in modules:
            module._close()
        self._loaded.clear()
        self._spawned.clear()
        for path in self.scratch_dirs:
            shutil.rmtree(path, ignore_errors=True)
        self.scratch_dirs.clear()
        if self._own_scratch:
            shutil.rmtree(self.scratch_root, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
