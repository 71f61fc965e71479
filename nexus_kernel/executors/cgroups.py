"""A cgroup per fallback run (cgroup v1, root only): the run's total memory, and 0.5 CPU.

rlimits are per process: a tool that forks could hold its memory limit once per process, and
memory in memfd files, pipes or a tmpfs counts against no address space at all. A memory cgroup
counts every page the run's processes use, wherever it is, as docker's ``--memory`` does; its
cpu cgroup gives the run the same 0.5 CPU as a container.

Each run gets ``nexus-sandbox-<uid>`` below this process's own cgroup in the ``memory`` and
``cpu`` hierarchies (so the limits above us still hold). The bootstrap joins by writing 0 to the
descriptors of their ``cgroup.procs`` (the header's ``cgroup_fds``), before the tool's code
exists: the interpreter's start-up stays charged to us, the tool's every page to the run. Where
this cannot be done (not root, cgroup v2 only, a read-only cgroupfs), runs have rlimits only.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from ..limits import CPU_CORES

log = logging.getLogger(__name__)

_PERIOD_US = 100_000
_PARENTS: dict[str, str] | None = None
_LOCK = threading.Lock()


@dataclass
class RunGroup:
    """The cgroups of one run, and descriptors of their ``cgroup.procs`` for the bootstrap."""

    dirs: dict[str, str]
    fds: list[int] = field(default_factory=list)

    def oom_killed(self) -> bool:
        """True if the kernel killed one of the run's processes for memory."""
        memory = self.dirs.get("memory")
        if memory is None:
            return False
        try:
            with open(os.path.join(memory, "memory.oom_control")) as control:
                fields = dict(line.split() for line in control if line.strip())
            if "oom_kill" in fields:
                return int(fields["oom_kill"]) > 0
            with open(os.path.join(memory, "memory.failcnt")) as failures:
                return int(failures.read()) > 0
        except (OSError, ValueError):
            return False

    def close_fds(self) -> None:
        for fd in self.fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.fds.clear()

    def remove(self, *, clear: Callable[[], object] | None = None) -> bool:
        """Remove the cgroups; False if one is still in use. ``clear`` kills what still runs."""
        self.close_fds()
        removed = True
        for path in self.dirs.values():
            try:
                try:
                    os.rmdir(path)
                except OSError as exc:
                    if exc.errno != errno.EBUSY or clear is None:
                        raise
                    clear()
                    os.rmdir(path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                try:
                    with open(os.path.join(path, "cgroup.procs")) as procs:
                        left = procs.read().split()
                except OSError:
                    left = []
                log.error("cannot remove sandbox cgroup %s (processes %s): %s", path, left, exc)
                removed = False
        return removed


def available() -> list[str]:
    """The controllers runs get a cgroup of (empty where this process cannot make them)."""
    return sorted(_parents())


def create(name: str, memory_mb: int, *, clear: Callable[[], object] | None = None) -> RunGroup | None:
    """Make the run's cgroups with its limits; None where cgroups are not ours to make.

    ``clear`` kills what still runs in a same-named group a killed host left behind.
    """
    parents = _parents()
    if not parents:
        return None
    settings = {
        "memory": [
            ("memory.limit_in_bytes", memory_mb * 1024 * 1024),
            ("memory.memsw.limit_in_bytes", memory_mb * 1024 * 1024),  # and no swap on top
        ],
        "cpu": [("cpu.cfs_period_us", _PERIOD_US), ("cpu.cfs_quota_us", int(CPU_CORES * _PERIOD_US))],
    }
    group = RunGroup({})
    try:
        for controller, parent in parents.items():
            path = os.path.join(parent, name)
            _fresh_dir(path, clear)
            group.dirs[controller] = path
            for filename, value in settings[controller]:
                optional = filename == "memory.memsw.limit_in_bytes"  # no swap accounting: no swap limit
                _write(os.path.join(path, filename), value, required=not optional)
            group.fds.append(os.open(os.path.join(path, "cgroup.procs"), os.O_WRONLY | os.O_CLOEXEC))
    except OSError as exc:
        log.warning("no cgroup for this sandbox run (%s): rlimits only", exc)
        group.remove()
        return None
    return group


def existing(prefix: str) -> dict[int, list[str]]:
    """The cgroups named ``prefix<uid>`` below ours, by uid (a killed host leaves them)."""
    found: dict[int, list[str]] = {}
    for parent in _parents().values():
        with contextlib.suppress(OSError):
            for name in os.listdir(parent):
                if name.startswith(prefix) and name[len(prefix) :].isdigit():
                    found.setdefault(int(name[len(prefix) :]), []).append(os.path.join(parent, name))
    return found


def _fresh_dir(path: str, clear: Callable[[], object] | None) -> None:
    try:
        os.mkdir(path)
        return
    except FileExistsError:
        pass
    # Left by a run whose host was killed (the uid was free). Its processes may still be dying:
    # then ``clear`` kills them, and the new group starts with no old settings or charges.
    try:
        os.rmdir(path)
    except OSError as exc:
        if exc.errno != errno.EBUSY or clear is None:
            raise
        clear()
        os.rmdir(path)
    os.mkdir(path)


def _write(path: str, value: int, *, required: bool) -> None:
    try:
        with open(path, "w") as handle:
            handle.write(str(value))
    except OSError:
        if required:
            raise


def _parents() -> dict[str, str]:
    """Our own cgroup in each v1 hierarchy we can use (probed once): controller -> directory."""
    global _PARENTS
    with _LOCK:
        if _PARENTS is None:
            _PARENTS = _probe() if os.geteuid() == 0 else {}
        return _PARENTS


def _probe() -> dict[str, str]:
    own: dict[str, str] = {}
    try:
        with open("/proc/self/cgroup") as cgroups:
            for line in cgroups:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                for controller in controllers.split(","):
                    own[controller] = path
        with open("/proc/self/mountinfo") as mountinfo:
            mounts = [line.split() for line in mountinfo]
    except (OSError, ValueError):
        return {}
    found = {}
    for fields in mounts:
        if "-" not in fields:
            continue
        tail = fields[fields.index("-") + 1 :]
        if len(tail) < 3 or tail[0] != "cgroup":
            continue
        options = set(tail[2].split(","))
        for controller in ("memory", "cpu"):
            if controller in options and controller in own and controller not in found:
                parent = fields[4] + own[controller]
                if _usable(parent):
                    found[controller] = parent
    # The memory limit is the point; the cpu quota comes along where that hierarchy is usable.
    return found if "memory" in found else {}


def _usable(parent: str) -> bool:
    probe = os.path.join(parent, f"nexus-probe-{os.getpid()}")
    try:
        os.mkdir(probe)
        os.rmdir(probe)
    except OSError:
        return False
    return True
