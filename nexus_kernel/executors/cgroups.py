"""Cgroups for the fallback's runs (cgroup v1, root only): a run's total memory, and 0.5 CPU.

rlimits are per process: a tool that forks could hold its memory limit once per process, and
memory in memfd files, pipes or a tmpfs counts against no address space at all. A memory cgroup
counts every page of the run's processes, wherever it is, as docker's ``--memory`` does; a cpu
cgroup gives the run the same 0.5 CPU as a container.

Moving a process into a cgroup waits for an RCU grace period (5 to 20 ms here: as long as a whole
run), so nothing is moved per run. Each run slot (a run's uid) has a ``Slot``: cgroups named
``nexus-sandbox-<our pid>-<uid>`` below our own cgroup in the ``memory`` and ``cpu`` hierarchies
(the limits above us still hold), and a thread of ours that moved into them once. The sandbox is
started from that thread, so it is born inside. (Memory is charged to a process's own cgroup, not
to the thread that started it: our own memory stays ours.) Where cgroups are not ours to make
(not root, cgroup v2 only, a read-only cgroupfs), runs have rlimits only.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from ..limits import CPU_CORES

log = logging.getLogger(__name__)

PREFIX = "nexus-sandbox-"
#: bubblewrap and the interpreter's own start-up (about 10 MB): counted, but not the tool's.
INTERPRETER_MB = 16
_PERIOD_US = 100_000
_PARENTS: dict[str, str] | None = None
_SLOTS: dict[int, Slot | None] = {}
_LOCK = threading.Lock()
_PARENTS_LOCK = threading.Lock()
T = TypeVar("T")


class Slot:
    """The cgroups of one run slot, and the thread that starts that slot's sandboxes."""

    def __init__(self, uid: int, parents: dict[str, str]) -> None:
        self.dirs: dict[str, str] = {}
        self._calls: queue.SimpleQueue = queue.SimpleQueue()
        self._closed = False
        self._closing = threading.Lock()
        self._moved = threading.Event()
        self._error: OSError | None = None
        try:
            for controller, parent in parents.items():
                path = os.path.join(parent, f"{PREFIX}{os.getpid()}-{uid}")
                with contextlib.suppress(FileExistsError):
                    os.mkdir(path)
                self.dirs[controller] = path
            if "cpu" in self.dirs:
                _write(self.dirs["cpu"], "cpu.cfs_period_us", _PERIOD_US)
                _write(self.dirs["cpu"], "cpu.cfs_quota_us", int(CPU_CORES * _PERIOD_US))
        except OSError:
            self._remove_dirs()
            raise
        self._thread = threading.Thread(target=self._serve, name=f"nexus-slot-{uid}", daemon=True)
        self._thread.start()
        self._moved.wait()
        if self._error is not None:
            self._remove_dirs()
            raise self._error

    def _serve(self) -> None:
        try:
            for path in self.dirs.values():
                _write(path, "tasks", threading.get_native_id())  # this thread only (cgroup v1)
        except OSError as exc:
            self._error = exc
        self._moved.set()
        if self._error is not None:
            return
        while (call := self._calls.get()) is not None:
            function, future = call
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(function())
                except BaseException as exc:  # noqa: BLE001 - handed to the caller
                    future.set_exception(exc)

    def call(self, function: Callable[[], T], abandon: Callable[[T], object]) -> T:
        """Run ``function`` on the slot's thread (what it starts is born in the slot's cgroups).

        If the caller is interrupted meanwhile (KeyboardInterrupt), ``abandon`` gets the result
        when it comes, to undo it.
        """
        future: Future = Future()
        with self._closing:
            if self._closed:  # shutting down: this run is started outside the slot's cgroups
                return function()
            self._calls.put((function, future))
        try:
            return future.result()
        except BaseException:
            if not future.done() or future.exception() is None:
                future.add_done_callback(lambda done: done.exception() is None and abandon(done.result()))
            raise

    def limit(self, memory_mb: int) -> None:
        """The memory limit for the next run: the tool's, plus the interpreter's start-up."""
        memory = self.dirs.get("memory")
        if memory is None:
            return
        value = (memory_mb + INTERPRETER_MB) * 1024 * 1024
        # The swap limit (memsw) may never be below the memory limit: raise it first, lower it last.
        order = ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"]
        if value > _read_int(memory, "memory.limit_in_bytes"):
            order.reverse()
        for name in order:
            try:
                _write(memory, name, value)
            except OSError:
                if name == "memory.limit_in_bytes":
                    raise  # (no memsw file: no swap accounting, nothing to limit)

    def oom_kills(self) -> int:
        """How many processes the kernel has killed in this slot for memory, so far."""
        memory = self.dirs.get("memory")
        if memory is None:
            return 0
        try:
            with open(os.path.join(memory, "memory.oom_control")) as control:
                fields = dict(line.split() for line in control if line.strip())
            if "oom_kill" in fields:
                return int(fields["oom_kill"])
            return _read_int(memory, "memory.failcnt")  # kernels before 4.13
        except (OSError, ValueError):
            return 0

    def close(self) -> None:
        """End the slot's thread (it leaves the cgroups as it ends) and remove the cgroups."""
        with self._closing:
            self._closed = True
            self._calls.put(None)
        self._thread.join(timeout=5)
        # join() returns before the kernel is done with the thread: until then, its cgroup is busy.
        for _ in range(200):
            if self._remove_dirs():
                return
            time.sleep(0.005)
        log.warning("cannot remove the cgroups %s", list(self.dirs.values()))

    def _remove_dirs(self) -> bool:
        removed = True
        for path in self.dirs.values():
            try:
                os.rmdir(path)
            except FileNotFoundError:
                pass
            except OSError:
                removed = False
        return removed


def slot(uid: int) -> Slot | None:
    """The slot of run uid ``uid`` (made on first use); None where cgroups are not ours to make."""
    with _LOCK:
        if not _SLOTS:
            atexit.register(close_all)
        if uid not in _SLOTS:
            parents = _parents()
            try:
                _SLOTS[uid] = Slot(uid, parents) if parents else None
            except OSError as exc:
                log.warning("no cgroup for fallback runs under uid %d (%s): rlimits only", uid, exc)
                _SLOTS[uid] = None
        return _SLOTS[uid]


def close_all() -> None:
    """Close every slot of this process (at exit: the cgroups go with it)."""
    with _LOCK:
        slots = [s for s in _SLOTS.values() if s is not None]
        _SLOTS.clear()
    for each in slots:
        each.close()


def available() -> list[str]:
    """The controllers runs get cgroups of (empty where this process cannot make them)."""
    return sorted(_parents())


def existing() -> dict[tuple[int, int], list[str]]:
    """Every slot cgroup below ours, by (owner pid, uid)."""
    found: dict[tuple[int, int], list[str]] = {}
    for parent in _parents().values():
        with contextlib.suppress(OSError):
            for name in os.listdir(parent):
                pid, _, uid = name[len(PREFIX) :].partition("-")
                if name.startswith(PREFIX) and pid.isdigit() and uid.isdigit():
                    found.setdefault((int(pid), int(uid)), []).append(os.path.join(parent, name))
    return found


def sweep() -> None:
    """Remove the slot cgroups of processes that are gone (a killed host leaves them behind)."""
    for (pid, _), paths in existing().items():
        if pid != os.getpid() and not os.path.exists(f"/proc/{pid}"):
            for path in paths:
                with contextlib.suppress(OSError):  # still in use: not a leftover after all
                    os.rmdir(path)


def _write(directory: str, name: str, value: Any) -> None:
    with open(os.path.join(directory, name), "w") as handle:
        handle.write(str(value))


def _read_int(directory: str, name: str) -> int:
    with open(os.path.join(directory, name)) as handle:
        return int(handle.read())


def _parents() -> dict[str, str]:
    """Our own cgroup in each v1 hierarchy we can use (probed once): controller -> directory."""
    global _PARENTS
    with _PARENTS_LOCK:
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
