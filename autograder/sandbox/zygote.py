"""The sandbox side: the zygote process, and the supervisor it forks for each sandbox.

The zygote is a fresh interpreter (never a fork of the grader) that imports numpy and this
module, then waits on its control socket. For each (student, module) the grader sends a
configuration and one end of a socketpair; the zygote forks:

    zygote ─ fork ─> supervisor: unshare(user?, mount, net, pid, ipc, uts), fork again
                      └─> student process, PID 1 of its own PID namespace: moves into
                          a new, read-only root holding only the system's folders, the
                          standard library and numpy, drops to an unprivileged uid, sets
                          rlimits, waits for the grader's word, imports the student's
                          module and answers calls.

The supervisor only waits and mirrors the student process's end as its exit status
(128 + signal number when killed). Killing the supervisor kills the student process
(PR_SET_PDEATHSIG) and with it, as PID 1, everything it spawned. Without namespaces the
supervisor is a child subreaper and kills the whole tree on SIGTERM instead.

The student process is `server.student_process`, confined by `confine`. No student code
ever runs in the zygote or the supervisor. Everything the student process sends is plain
data in `autograder.sandbox.wire` format; the grader treats it as hostile.
"""
import gc
import os
import signal
import socket
import sys
import sysconfig
import time

import numpy as np
# numpy imports these on a module's first use of them: imported once here, in the zygote, no
# sandbox pays for them again (numpy.random alone takes 65 ms, in every student's
# initializers module).
import numpy.random  # noqa: E402,F401
import numpy.testing  # noqa: E402,F401

from autograder.sandbox import cgroups, wire
from autograder.sandbox.confine import (CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID,
                                        CLONE_NEWUSER, CLONE_NEWUTS, PR_SET_CHILD_SUBREAPER,
                                        PR_SET_PDEATHSIG, libc, prctl, under, unshare)
from autograder.sandbox.frames import EXIT_INTERNAL, HEADER, recv_exact, send_frame
from autograder.sandbox.server import fatal, student_process


# --------------------------------------------------------------------------- zygote

def keep_paths() -> list[str]:
    """The folders a student process reads besides the system's: the standard library, its
    compiled modules and numpy with the libraries its wheel bundles."""
    numpy_dir = os.path.dirname(np.__file__)
    found = [os.path.dirname(os.__file__), sysconfig.get_config_var("DESTSHARED"), numpy_dir,
             numpy_dir + ".libs"]
    paths = sorted({os.path.realpath(p) for p in found if p and os.path.isdir(p)})
    return [p for p in paths if not any(p != q and under(p, q) for q in paths)]


def site_packages() -> list[str]:
    """Every site-packages folder, the base interpreter's included: a sandbox sees numpy
    there and nothing else (not a kit installed there, with its reference solutions)."""
    found = {sysconfig.get_path(name, vars=base)
             for name in ("purelib", "platlib")
             for base in (None, {"base": sys.base_prefix, "platbase": sys.base_exec_prefix})}
    return sorted({os.path.realpath(p) for p in found if p and os.path.isdir(p)})


def keep_freed_memory():
    """Have malloc keep freed memory for reuse instead of returning it to the kernel: both
    sides of the sandbox receive and send fresh buffers for every call, and faulting in new
    pages costs more than copying arrays."""
    libc.mallopt(-3, 256 * 2**20)  # M_MMAP_THRESHOLD
    libc.mallopt(-1, 512 * 2**20)  # M_TRIM_THRESHOLD


def main(ctl_fd: int):
    """The zygote's loop: spawn sandboxes and reap their supervisors when asked."""
    os.umask(0o022)
    keep_freed_memory()  # the sandboxes inherit it
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    ctl = socket.socket(fileno=ctl_fd)
    children = {}  # supervisor pid -> serial
    serial = 0
    keep, site = keep_paths(), site_packages()
    groups = cgroups.MemoryGroups()
    # sys.path as a student process keeps it: worked out once here, not in every sandbox.
    path = [p for p in sys.path if p and any(under(os.path.realpath(p), k) for k in keep)]
    send_frame(ctl, wire.encode({"pid": os.getpid(), "uid": os.geteuid(), "keep": keep,
                                 "memory_groups": groups.problem}))
    # What the zygote holds now is never garbage: out of the collector's sight, a sandbox's
    # collections do not walk it, nor copy the pages they would touch (4 ms of a start's 27).
    gc.freeze()
    try:
        while True:
            try:
                message, fds = _recv_request(ctl)
            except (EOFError, OSError):
                break
            op = message.get("op")
            if op == "spawn":
                serial += 1
                config = dict(message["config"], keep=keep, path=path, zygote_pid=os.getpid(),
                              serial=serial, hidden=[*message["config"]["hidden"], *site])
                if os.geteuid() == 0:  # each sandbox its own unprivileged uid and gid
                    config["uid"] = config["gid"] = config["uid_base"] + serial % 100_000
                else:
                    config["uid"], config["gid"] = os.geteuid(), os.getegid()
                pid = os.fork()
                if pid == 0:
                    try:
                        ctl.close()
                        supervisor(config, fds[0], groups)
                    finally:
                        os._exit(EXIT_INTERNAL)
                for fd in fds:
                    os.close(fd)
                children[pid] = serial
                send_frame(ctl, wire.encode({"pid": pid, "serial": serial}))
            elif op == "reap":
                pid = message["pid"]
                status = None
                if pid in children:
                    status = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
                    groups.remove(groups.path(str(children.pop(pid))))
                send_frame(ctl, wire.encode({"status": status}))
            else:
                break
    finally:
        for pid in children:
            _kill(pid, signal.SIGTERM)  # a supervisor's SIGTERM ends its student's processes
        if children:
            time.sleep(0.1)
        for pid in children:
            _kill(pid, signal.SIGKILL)
        for pid in children:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        groups.close()
        os._exit(0)


def _kill(pid, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _recv_request(ctl):
    header, fds, _, _ = socket.recv_fds(ctl, HEADER.size, 4)
    if not header:
        raise EOFError
    header = bytes(header)
    if len(header) < HEADER.size:
        header += bytes(recv_exact(ctl, HEADER.size - len(header)))
    (n,) = HEADER.unpack(header)
    return wire.decode(recv_exact(ctl, n)), fds


# --------------------------------------------------------------------------- supervisor

def supervisor(config, sock_fd, groups):
    """Runs in the zygote's child: make the sandbox's memory group and namespaces, fork the
    student process, wait."""
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    os.setsid()
    os.sched_setaffinity(0, config["cpus"])
    prctl(PR_SET_PDEATHSIG, signal.SIGTERM)  # handled below, once the student process exists
    if os.getppid() != config["zygote_pid"]:
        os._exit(EXIT_INTERNAL)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD):
        signal.signal(sig, signal.SIG_DFL)
    sock = socket.socket(fileno=sock_fd)
    namespaces = config["isolation"] == "namespaces"
    try:
        config["cgroup"] = groups.make(str(config["serial"]), config["limits"]["memory"])
        if namespaces:
            user = os.geteuid() != 0
            unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
                    | (CLONE_NEWUSER if user else 0))
            if user:
                uid, gid = os.geteuid(), os.getegid()
                _write("/proc/self/setgroups", "deny")
                _write("/proc/self/uid_map", f"{uid} {uid} 1")
                _write("/proc/self/gid_map", f"{gid} {gid} 1")
        else:
            prctl(PR_SET_CHILD_SUBREAPER, 1)
        alive_r, alive_w = os.pipe()
        pid = os.fork()
    except Exception as error:
        fatal(sock, f"sandbox setup failed: {error}")
    if pid == 0:
        try:
            os.close(alive_w)
            student_process(config, sock, alive_r)
        finally:
            os._exit(EXIT_INTERNAL)
    os.close(alive_r)
    sock.close()
    # The grader ends a sandbox with SIGTERM to this process, which ends what the student
    # started. Killing this process alone would not do: the student process can clear its
    # own PR_SET_PDEATHSIG and outlive it. In a PID namespace the student process is its
    # init, and the kernel kills everything in the namespace with it; reached by a pidfd,
    # which cannot name another process once it is reaped.
    student = os.pidfd_open(pid)

    def end(*_):
        if namespaces:
            try:
                signal.pidfd_send_signal(student, signal.SIGKILL)
                # Returns once the namespace is empty: its memory group can go at once.
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        else:
            _kill_descendants()
        os._exit(128 + 15)

    signal.signal(signal.SIGTERM, end)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except ChildProcessError:
            os._exit(EXIT_INTERNAL)
    if not namespaces:
        _kill_descendants()
    code = os.waitstatus_to_exitcode(status)
    os._exit(128 - code if code < 0 else min(code, 255))


def _write(path, text):
    with open(path, "w") as f:
        f.write(text)


def _descendants():
    found, stack = [], [os.getpid()]
    while stack:
        pid = stack.pop()
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    children = [int(c) for c in f.read().split()]
            except OSError:
                continue
            found += children
            stack += children
    return found


def _kill_descendants():
    """Without a PID namespace: stop and kill every process below the supervisor (orphans
    come back to it, a child subreaper), until none is left."""
    for _ in range(100):
        pids = _descendants()
        if not pids:
            break
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            for pid in pids:
                _kill(pid, sig)
        while True:
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break
        time.sleep(0.001)
