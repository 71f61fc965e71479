"""Run uids for the fallback: one per concurrent run, unique on the host, and the means to end
every process that runs under one, wherever it went (out of its process group, orphaned by a
killed host).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import signal
import socket
import threading
import time

from .base import ExecutorUnavailable

log = logging.getLogger(__name__)

#: Tools run as ``UID_BASE + slot`` (root only): far above login users, system users and the usual
#: subordinate-uid and SSSD ranges, and below 2**31 for programs that take uids as signed.
UID_BASE = 2_147_000_000
UID_SLOTS = 4096
KILL_WAIT_S = 5.0


class UidPool:
    """Hands out one uid per concurrent run, ``UID_BASE + slot``, unique on the whole host.

    Another process (a second kernel, the REST server) may run tools too, and a uid shared with
    it would mix the process counts and let one run's cleanup kill the other's tool. A uid is
    held by binding an abstract unix socket named after it: the kernel lets one process bind a
    name, and frees it when that process dies, so nothing is ever left locked.
    """

    def __init__(self, base: int, slots: int, ring: int) -> None:
        self._base, self._slots, self._ring = base, slots, ring
        self._next = 0
        self._held: dict[int, socket.socket | None] = {}
        self._lock = threading.Lock()

    def __contains__(self, uid: int) -> bool:
        return self._base <= uid < self._base + self._slots

    def acquire(self) -> int:
        # Round the first ``ring`` slots: a run's cgroup gets 0.5 CPU per scheduling period, and
        # runs in a row on one slot would share it. Past the ring only when it is all in use.
        ring = [(self._next + i) % self._ring for i in range(self._ring)]
        with self._lock:
            for slot in [*ring, *range(self._ring, self._slots)]:
                uid = self._base + slot
                if uid not in self._held and (held := claim(uid)) is not None:
                    self._held[uid] = held
                    if slot < self._ring:
                        self._next = slot + 1
                    return uid
        raise ExecutorUnavailable(f"more than {self._slots} fallback tools at once on this host")

    def free(self, uid: int) -> socket.socket | None:
        """Hold ``uid`` if no run on this host holds it (the caller closes what it gets)."""
        with self._lock:
            return None if uid in self._held else claim(uid)

    def release(self, uid: int, *, reusable: bool = True) -> None:
        """Give ``uid`` back; one whose processes could not all be killed stays held for good."""
        with self._lock:
            held = self._held.get(uid)
            if reusable and held is not None:
                held.close()
                del self._held[uid]


def claim(uid: int) -> socket.socket | None:
    """Hold ``uid`` for this process (None if another holds it): close the socket to let go."""
    claim = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        claim.bind(f"\0nexus-kernel-sandbox-uid-{uid}")
    except OSError:  # another process runs a tool under this uid
        claim.close()
        return None
    return claim


#: The uids of this process's runs.
UIDS = UidPool(UID_BASE, UID_SLOTS, ring=8)


def kill_uid(uid: int) -> bool:
    """SIGKILL every process running as ``uid`` until none is left; False if some survive."""
    deadline = time.monotonic() + KILL_WAIT_S
    while True:
        pids = pids_of(uid)
        if not pids:
            return True
        for pid in pids:
            _kill_if(pid, uid)
        if time.monotonic() > deadline:
            log.error("processes of sandbox uid %d survive SIGKILL: %s", uid, pids)
            return False
        time.sleep(0.002)


def _kill_if(pid: int, uid: int) -> None:
    """SIGKILL ``pid`` if it still runs as ``uid``, through a pidfd where the kernel has them."""
    try:
        pidfd = os.pidfd_open(pid)
    except OSError as exc:
        if exc.errno == errno.ENOSYS and live_uid(pid) == uid:  # a kernel before 5.3
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        return
    try:
        # Checked again now that the pidfd pins the process: the pid may have been reused.
        if live_uid(pid) == uid:
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
    except OSError:
        pass
    finally:
        os.close(pidfd)


def pids() -> list[int]:
    """Every process's pid."""
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def pids_of(uid: int, *, zombies: bool = False) -> list[int]:
    """Processes whose real uid is ``uid``: live ones, and zombies too if asked."""
    return [pid for pid in pids() if live_uid(pid, zombies=zombies) == uid]


def live_uid(pid: int, *, zombies: bool = False) -> int | None:
    """The real uid of a live process (None for a zombie, unless asked, or a process that is gone)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if not zombies and line.startswith(b"State:") and line.split()[1] in (b"Z", b"X"):
                    return None
                if line.startswith(b"Uid:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def children_of(parent: int) -> list[int]:
    """The pids of ``parent``'s children."""
    found = []
    for pid in pids():
        try:
            with open(f"/proc/{pid}/stat", "rb") as stat:
                # The command name may hold spaces and parentheses: fields start after the last ')'.
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 1 and fields[1] == str(parent).encode():
            found.append(pid)
    return found
