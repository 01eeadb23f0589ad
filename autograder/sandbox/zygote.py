"""The sandbox side: the zygote process and the student processes it forks.

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

No student code ever runs in the zygote or the supervisor. Everything the student process
sends is plain data in `autograder.sandbox.wire` format; the grader treats it as hostile.
"""
import builtins
import ctypes
import gc
import io
import os
import re
import resource
import select
import signal
import socket
import stat
import struct
import sys
import sysconfig
import time
import warnings

import numpy as np
# numpy imports these on a module's first use of them: imported once here, in the zygote, no
# sandbox pays for them again (numpy.random alone takes 65 ms, in every student's
# initializers module).
import numpy.random  # noqa: E402,F401
import numpy.testing  # noqa: E402,F401

from autograder.sandbox import cgroups, wire
from autograder.submissions.discover import ModuleProblem
from autograder.submissions.imports import is_allowed
from autograder.submissions.loader import module_from_source

HEADER = struct.Struct("<Q")
HANDLE_BITS = 32
MAX_WARNINGS = 100
MAX_TEXT = 2000
EXIT_INTERNAL = 70

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME, ST_RELATIME = 1024, 2048, 1 << 21, 4096
MNT_DETACH = 2
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "i686": 217, "armv7l": 218}
# What a student process sees besides the standard library and numpy.
SYSTEM = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc/ld.so.cache"]
DEVICES = ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"]
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 1, 4, 36, 38

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                        ctypes.c_char_p]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                        ctypes.c_ulong]


def _check(result, what):
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _bytes(path):
    return None if path is None else os.fsencode(path)


def mount(source, target, fstype, flags, data=None):
    _check(_libc.mount(_bytes(source), _bytes(target), _bytes(fstype), flags, _bytes(data)),
           f"mount {fstype or source} on {target}")


def unshare(flags):
    _check(_libc.unshare(flags), "unshare")


def prctl(option, value):
    _check(_libc.prctl(option, value, 0, 0, 0), f"prctl({option})")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def drop_capabilities():
    header = _CapHeader(0x20080522, 0)
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "capset")


# --------------------------------------------------------------------------- framing

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

    def next(self) -> bytearray:
        """The next frame's payload, a fresh bytearray; EOFError at the end of the stream,
        ValueError for a frame over the limit."""
        while self.end - self.start < HEADER.size:
            self._fill()
        (n,) = HEADER.unpack_from(self.buffer, self.start)
        if n > self.limit:
            raise ValueError(f"a message of {n} bytes, over the limit of {self.limit}")
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


# --------------------------------------------------------------------------- zygote

def keep_paths() -> list[str]:
    """The folders a student process reads besides the system's: the standard library, its
    compiled modules and numpy with the libraries its wheel bundles."""
    numpy_dir = os.path.dirname(np.__file__)
    found = [os.path.dirname(os.__file__), sysconfig.get_config_var("DESTSHARED"), numpy_dir,
             numpy_dir + ".libs"]
    paths = sorted({os.path.realpath(p) for p in found if p and os.path.isdir(p)})
    return [p for p in paths if not any(p != q and _under(p, q) for q in paths)]


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
    _libc.mallopt(-3, 256 * 2**20)  # M_MMAP_THRESHOLD
    _libc.mallopt(-1, 512 * 2**20)  # M_TRIM_THRESHOLD


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
    path = [p for p in sys.path if p and any(_under(os.path.realpath(p), k) for k in keep)]
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
        _fatal(sock, f"sandbox setup failed: {error}")
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


def _fatal(sock, message):
    try:
        send_frame(sock, wire.encode({"fatal": message}))
    finally:
        os._exit(EXIT_INTERNAL)


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


# --------------------------------------------------------------------------- isolation

def _under(path, folder):
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _unescape(field):
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def _mount_points():
    with open("/proc/self/mountinfo") as f:
        return [_unescape(line.split()[4]) for line in f]


def build_root(config):
    """In the new mount namespace: make an empty tmpfs the root and put in it, read-only, only
    what a student module needs: the system's programs and shared libraries (extension modules
    load theirs lazily), the standard library, numpy, a few devices, a fresh /proc and the
    scratch tmpfs. Everything else (the kit, other copies of it, submissions, homes) is simply
    absent. The `hidden` paths stay covered even where they lie inside a folder shown."""
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    keep, scratch = config["keep"], config["scratch"]
    sources = [p for p in [*SYSTEM, *DEVICES, *keep] if os.path.lexists(p)]
    links = {p: os.readlink(p) for p in sources if os.path.islink(p)}
    # Opened before anything is mounted, since the new root may cover some of them.
    fds = {p: os.open(p, os.O_PATH) for p in sources if p not in links}
    root = scratch  # a fresh, empty folder of the grader's
    mount("root", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,nr_inodes=4096,mode=755")
    for path in sources:
        if path not in keep or not os.path.isdir(root + path):  # else shown with /usr
            _show(root, path, links.get(path), fds.get(path))
    hidden = sorted({os.path.realpath(p) for p in config["hidden"]}, key=len)
    for path in hidden:
        if os.path.isdir(root + path) and not any(_under(path, h) and h != path for h in hidden):
            mount("hidden", root + path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=755")
            for kept in keep:
                if _under(kept, path):
                    _show(root, kept, None, fds[kept])
    for fd in fds.values():
        os.close(fd)
    os.makedirs(root + scratch)
    os.makedirs(root + "/proc")
    # Mounted while the old root is still there: in a user namespace the kernel allows a new
    # proc only where one is already fully visible.
    mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.chdir(root)
    # pivot_root(".", "."): the old root ends up stacked on the new one, then is detached.
    _check(_libc.syscall(SYS_PIVOT_ROOT.get(os.uname().machine, -1), b".", b"."), "pivot_root")
    _check(_libc.umount2(b".", MNT_DETACH), "detaching the old root")
    os.chdir("/")
    owner = f",uid={config['uid']},gid={config['gid']}" if os.geteuid() == 0 else ""
    mount("scratch", scratch, "tmpfs", MS_NOSUID | MS_NODEV,
          f"size={config['limits']['max_output']},nr_inodes=1024,mode=700{owner}")
    for point in dict.fromkeys(_mount_points()):
        if point != scratch:
            mount(None, point, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | _kept_flags(point))


def _show(root, path, link, fd):
    """Put `path` into the new `root` at the same place: a symlink (`link`) as a symlink, a
    folder or file (opened as `fd`) as a bind mount."""
    target = root + path
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if link is not None:
        os.symlink(link, target)
        return
    if stat.S_ISDIR(os.fstat(fd).st_mode):
        os.makedirs(target, exist_ok=True)
    else:
        os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o644))
    mount(f"/proc/self/fd/{fd}", target, None, MS_BIND | MS_REC)


def _kept_flags(point):
    """The flags a read-only remount of `point` must keep: a user namespace may not clear
    those the outer mount has (nodev, noexec, atime), and all but /dev get nodev."""
    have = os.statvfs(point).f_flag
    flags = have & (MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME)
    if have & ST_RELATIME:
        flags |= MS_RELATIME
    return flags if _under(point, "/dev") else flags | MS_NODEV


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


class _ImportGuard:
    """Refuses at run time what `forbidden_imports` refuses in the source."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if not is_allowed(name):
            raise ImportError(f"importing {name} is not allowed: a student module may import "
                              "only numpy and the standard library", name=name)
        return None


def confine(config, sock, alive_r):
    limits = config["limits"]
    namespaces = config["isolation"] == "namespaces"
    scratch = config["scratch"]
    root = os.geteuid() == 0
    remap = {}
    cgroups.join(config["cgroup"])  # while /sys is still there
    if namespaces:
        build_root(config)
    elif root:
        os.chown(scratch, config["uid"], config["gid"])
        # Without a mount namespace a folder like /root (0700) stays closed to the
        # unprivileged uid: reach the standard library through a descriptor instead.
        for path in config["keep"]:
            if not _reachable_by_others(path):
                remap[path] = os.open(path, os.O_PATH | os.O_DIRECTORY)
    os.chdir(scratch)
    os.environ.clear()
    os.environ.update(PATH="/usr/local/bin:/usr/bin:/bin", HOME=scratch, TMPDIR=scratch,
                      LANG="C.UTF-8", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
                      MKL_NUM_THREADS="1")
    for fd, name in ((1, "stdout.txt"), (2, "stderr.txt")):
        out = os.open(os.path.join(scratch, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(out, fd)
        os.close(out)
        if root:
            os.fchown(fd, config["uid"], config["gid"])
    keep_fds = sorted({0, 1, 2, sock.fileno(), alive_r, *remap.values()})
    for low, high in zip(keep_fds, keep_fds[1:] + [resource.getrlimit(resource.RLIMIT_NOFILE)[0]]):
        os.closerange(low + 1, high)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    cpu = max(1, int(limits["submission_timeout"]) + 1)
    for which, value in ((resource.RLIMIT_AS, limits["memory"]),
                         (resource.RLIMIT_CPU, cpu),
                         (resource.RLIMIT_FSIZE, limits["max_output"]),
                         (resource.RLIMIT_NOFILE, limits["max_files"]),
                         (resource.RLIMIT_NPROC, limits["max_processes"]),
                         (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(which, (value, value))
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    if root:
        os.setgroups([])
        os.setresgid(config["gid"], config["gid"], config["gid"])
        os.setresuid(config["uid"], config["uid"], config["uid"])
    if root or namespaces:
        drop_capabilities()
    prctl(PR_SET_DUMPABLE, 1)
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    poller = select.poll()
    poller.register(alive_r, select.POLLIN)
    if poller.poll(0):  # the supervisor died before PDEATHSIG was set
        os._exit(EXIT_INTERNAL)
    os.close(alive_r)
    if remap:
        _reroute_imports({path: f"/proc/self/fd/{fd}" for path, fd in remap.items()})


def _reachable_by_others(path):
    while True:
        if not os.stat(path).st_mode & 0o001:
            return False
        if path == os.path.dirname(path):
            return True
        path = os.path.dirname(path)


def _reroute_imports(remap):
    def reroute(entry):
        real = os.path.realpath(entry)
        for path, fd_path in remap.items():
            if _under(real, path):
                return fd_path + real[len(path):]
        return entry

    sys.path[:] = [reroute(p) for p in sys.path]
    for module in list(sys.modules.values()):
        paths = getattr(module, "__path__", None)
        if type(paths) is list:
            paths[:] = [reroute(p) for p in paths]
    sys.path_importer_cache.clear()


def student_process(config, sock, alive_r):
    try:
        confine(config, sock, alive_r)
    except Exception as error:
        _fatal(sock, f"sandbox setup failed: {error}")
    limit = config["limits"]["max_output"]
    sys.stdout = _Capped(1, limit)
    sys.stderr = _Capped(2, limit)
    kept = set(config["path"])  # or rerouted by confine()
    sys.path[:] = [p for p in sys.path if p in kept or p.startswith("/proc/self/fd/")]
    sys.path_importer_cache.clear()
    sys.meta_path.insert(0, _ImportGuard())
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
        self.unsent = []  # replies held back while more calls wait (sandbox.RemoteModule)
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
