"""The grader's handle on the sandbox side: `Zygote` starts the zygote process (zygote.py)
and has it fork sandboxes; a `Sandbox` is one of them, from spawn to reaping.

Takes encoded requests and deadlines; gives decoded replies, not yet checked, or raises
Timeout, Closed, Malformed, TooLarge or SandboxSetupError. What a reply means is remote.py's concern.
"""
import multiprocessing
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from dataclasses import asdict
from pathlib import Path

from autograder import kit

from autograder.sandbox import wire
from autograder.sandbox.budget import schedstat
from autograder.sandbox.frames import (EXIT_INTERNAL, HEADER, FrameReader, FrameTooLarge,
                                       recv_exact, send_frame)
from autograder.sandbox.limits import MiB, Limits, SandboxSetupError
from autograder.sandbox.replies import Malformed, TooLarge

IMPORT = wire.encode({"import": True})


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

    Made, it starts loading; entered (`with`), it is waited for and ready: a caller with
    work of its own in between (preparing the tests) has it load on another processor.

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
        self.isolation = isolation
        self._uid_base = uid_base + (os.getpid() % 400) * 100_000
        mine, theirs = socket.socketpair()
        package_root = str(kit.ROOT)
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

    def __enter__(self):
        try:
            self._ready()
        except BaseException:
            self.close()
            raise
        return self

    def _ready(self):
        """Wait for the zygote's hello; probe which isolation this machine allows."""
        hello = self._receive(timeout=60)
        self.pid, self.uid, self.keep = hello["pid"], hello["uid"], hello["keep"]
        if self.isolation != "rlimits":
            asked, problem = self.isolation, self._probe()
            if problem and asked == "namespaces":
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
            sandbox = Sandbox(self, "probe", "probe.py", "", Limits(), scratch / "probe")
            try:
                sandbox.start(deadline=time.monotonic() + 30)
            finally:
                sandbox.kill()
        except SandboxSetupError as error:
            return str(error)
        except (Timeout, Closed, Malformed) as error:
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

class Timeout(Exception):
    pass


class Closed(Exception):
    pass


class Sandbox:
    """One sandbox process: spawned, confined and waiting; once started, the student's
    module imported and answering calls."""

    def __init__(self, zygote, name, filename, source, limits, scratch: Path):
        self.zygote, self.name, self.filename, self.source = zygote, name, filename, source
        self.limits, self.scratch = limits, scratch
        self.sock = self.pidfd = self.pid = self._student = None
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
        Timeout, Closed, Malformed or SandboxSetupError."""
        if self.pid is None:
            self.spawn()
        try:
            self.send([IMPORT], deadline)
        except Closed:  # setup failed: its reason is waiting to be read
            pass
        reply = self.receive(deadline)
        if not isinstance(reply, dict):
            raise Malformed("not a dict")
        if "fatal" in reply:
            self.kill()
            raise SandboxSetupError(str(reply["fatal"])[:500])
        return reply

    def _timeout(self, deadline):
        # A blocking socket with a timeout waits in C: no Python-level poll per call.
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Timeout
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
            raise Timeout from None
        except OSError:
            raise Closed from None

    def receive(self, deadline, most=None):
        """The next message, decoded; Timeout, Closed or Malformed otherwise. `most`, when
        given, is the (bytes, items) it may have: over it, TooLarge, found on the frame's
        header or by the decoder stopping at the items, never after decoding it all. Over
        the limits every message has, it is Malformed: the sandbox sends nothing larger."""
        self._deadline = deadline
        limit, items = most or (None, wire.MAX_ITEMS)
        try:
            data = self._frames.next(limit)
        except FrameTooLarge as error:
            if error.size <= self._frames.limit:
                raise TooLarge(error.size, "bytes") from None
            raise Malformed(str(error)) from None
        except ValueError as error:
            raise Malformed(str(error)) from None
        except EOFError:
            raise Closed from None
        try:
            return wire.decode(data, max_size=self._frames.limit,
                               max_items=min(items, wire.MAX_ITEMS))
        except wire.TooManyItems as error:
            if items < wire.MAX_ITEMS:
                raise TooLarge(items, "items") from None
            raise Malformed(str(error)) from None
        except wire.WireError as error:
            raise Malformed(str(error)) from None

    def ready(self) -> bool:
        """Whether the next message is here already: receive() will not wait for it."""
        return self._frames.ready()

    def _recv_into(self, view):
        self._timeout(self._deadline)
        try:
            return self.sock.recv_into(view)
        except TimeoutError:
            raise Timeout from None
        except OSError:
            raise Closed from None

    def schedstat(self) -> tuple[float, float]:
        """Seconds the student process has run, and has waited for a processor (budget.py)."""
        if self._student is None:  # the supervisor's one child, once it has forked it
            try:
                with open(f"/proc/{self.pid}/task/{self.pid}/children") as f:
                    self._student = int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                return 0.0, 0.0
        return schedstat(f"/proc/{self._student}/schedstat")

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


def _readable(fd, timeout):
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(timeout * 1000))
