"""One memory limit for all of a sandbox's processes together: a memory cgroup per sandbox.

RLIMIT_AS bounds each process alone, and a sandbox may start several: without a cgroup,
`max_processes` forks of `memory` each are possible. The zygote makes a group for itself
(`gradkit-<pid>`, in its own memory cgroup, v1 or v2) and one inside it per sandbox; the
student process joins its group before it runs any student code, and the kernel's OOM
killer ends whatever in the group goes over the limit. Only root can make groups on most
machines: elsewhere `problem` says why there are none, and RLIMIT_AS is all there is.
"""
import os
import time
from pathlib import Path

V1, V2 = "/sys/fs/cgroup/memory", "/sys/fs/cgroup"


def _own_group() -> tuple[int, str]:
    """(cgroup version, folder) of this process's memory cgroup."""
    with open("/proc/self/cgroup") as f:
        entries = [line.rstrip("\n").split(":", 2) for line in f]
    for _, controllers, path in entries:
        if "memory" in controllers.split(","):
            return 1, V1 + path
    for _, controllers, path in entries:
        if controllers == "" and os.path.exists(V2 + "/cgroup.controllers"):
            return 2, os.path.join(V2, path.lstrip("/")).rstrip("/")
    raise OSError("no memory cgroup is mounted")


class MemoryGroups:
    def __init__(self):
        self.version, self.folder, self.problem = 0, None, ""
        try:
            self.version, own = _own_group()
            folder = f"{own}/gradkit-{os.getpid()}"
            os.mkdir(folder)
            try:
                if self.version == 2:
                    if "memory" not in Path(f"{folder}/cgroup.controllers").read_text().split():
                        raise OSError("the memory controller is not delegated here")
                    Path(f"{folder}/cgroup.subtree_control").write_text("+memory")
            except OSError:
                os.rmdir(folder)
                raise
        except OSError as error:
            self.problem = f"no memory cgroup of its own ({error.strerror or error})"
            return
        self.folder = folder

    def path(self, name: str) -> str | None:
        return None if self.folder is None else f"{self.folder}/{name}"

    def make(self, name: str, limit: int) -> str | None:
        """A new group `name` whose processes together may use `limit` bytes, swap included."""
        group = self.path(name)
        if group is None:
            return None
        os.mkdir(group)
        if self.version == 1:
            Path(f"{group}/memory.limit_in_bytes").write_text(str(limit))
            optional = [("memory.memsw.limit_in_bytes", str(limit))]
        else:
            Path(f"{group}/memory.max").write_text(str(limit))
            optional = [("memory.swap.max", "0")]
        for file, value in optional:  # absent where the kernel keeps no swap accounts
            try:
                Path(f"{group}/{file}").write_text(value)
            except OSError:
                pass
        return group

    def remove(self, group: str | None, wait: float = 1.0):
        """Remove an ended sandbox's group, once the kernel has let go of its processes."""
        deadline = time.monotonic() + wait
        while group is not None:
            try:
                os.rmdir(group)
                return
            except FileNotFoundError:
                return
            except OSError:
                if time.monotonic() > deadline:
                    return
                time.sleep(0.005)

    def close(self):
        if self.folder is None:
            return
        for name in os.listdir(self.folder):
            if os.path.isdir(f"{self.folder}/{name}"):
                self.remove(f"{self.folder}/{name}")
        self.remove(self.folder)
        self.folder = None


def join(group: str | None):
    """Move the calling process into `group` (its children follow it)."""
    if group is not None:
        Path(f"{group}/cgroup.procs").write_text("0")
