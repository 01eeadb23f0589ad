"""How a student process shuts itself in before the student's module is imported.

Takes the configuration the grader sent; leaves the process it runs in able to reach
nothing but the system's folders, the standard library, numpy and its scratch folder: a
new read-only root (`build_root`, in the namespaces the supervisor made), rlimits, an
unprivileged uid, no capabilities, and an import guard. The syscalls Python lacks go
through ctypes.
"""
import ctypes
import os
import re
import resource
import select
import signal
import stat
import sys

from autograder.sandbox import cgroups
from autograder.sandbox.frames import EXIT_INTERNAL
from autograder.submissions.imports import is_allowed

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

libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                       ctypes.c_char_p]
libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                       ctypes.c_ulong]


def _check(result, what):
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _bytes(path):
    return None if path is None else os.fsencode(path)


def mount(source, target, fstype, flags, data=None):
    _check(libc.mount(_bytes(source), _bytes(target), _bytes(fstype), flags, _bytes(data)),
           f"mount {fstype or source} on {target}")


def unshare(flags):
    _check(libc.unshare(flags), "unshare")


def prctl(option, value):
    _check(libc.prctl(option, value, 0, 0, 0), f"prctl({option})")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def drop_capabilities():
    header = _CapHeader(0x20080522, 0)
    data = (_CapData * 2)()
    _check(libc.capset(ctypes.byref(header), data), "capset")


# --------------------------------------------------------------------------- isolation

def under(path, folder):
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
        if os.path.isdir(root + path) and not any(under(path, h) and h != path for h in hidden):
            mount("hidden", root + path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=755")
            for kept in keep:
                if under(kept, path):
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
    _check(libc.syscall(SYS_PIVOT_ROOT.get(os.uname().machine, -1), b".", b"."), "pivot_root")
    _check(libc.umount2(b".", MNT_DETACH), "detaching the old root")
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
    return flags if under(point, "/dev") else flags | MS_NODEV


class ImportGuard:
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
    cpu = max(1, int(limits["student_budget"]) + 1)
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
            if under(real, path):
                return fd_path + real[len(path):]
        return entry

    sys.path[:] = [reroute(p) for p in sys.path]
    for module in list(sys.modules.values()):
        paths = getattr(module, "__path__", None)
        if type(paths) is list:
            paths[:] = [reroute(p) for p in paths]
    sys.path_importer_cache.clear()
