"""Host-side views for the fallback tests, independent of the executor's own bookkeeping.

Other test sessions on the same host (other developers, the benchmarks) may run fallback tools at
the same time, under the same uid range: these views leave out what is provably theirs.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from nexus_kernel.executors import cgroups
from nexus_kernel.executors.scratch import SCRATCH_PREFIX


def landlock_abi() -> int:
    """The Landlock ABI version of this kernel (0: none)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    return max(libc.syscall(444, None, 0, 1), 0)  # landlock_create_ruleset(NULL, 0, VERSION)


def children() -> set[int]:
    """Our child processes (zombies included: a child we did not reap is a leak too)."""
    mine, found = str(os.getpid()).encode(), set()
    for pid in _pids():
        fields = _stat(pid)
        if fields and fields[1] == mine:
            found.add(pid)
    return found


def ticks() -> float:
    """Now, in the clock of /proc/PID/stat's start times."""
    return float(Path("/proc/uptime").read_text().split()[0]) * os.sysconf("SC_CLK_TCK")


def processes_of(uid: int, *, started_before: float | None = None) -> list[int]:
    """Live (not zombie) processes whose real uid is ``uid``, started before ``started_before``
    (default: this call).

    Another session may get the same uid as soon as our run gave it back; what it starts from
    then on is not a leftover of ours.
    """
    now = ticks() if started_before is None else started_before
    found = []
    for pid in _pids():
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        stat = _stat(pid)
        if not stat or int(fields["Uid"].split()[0]) != uid:
            continue
        if stat[0] not in (b"Z", b"X") and int(stat[19]) <= now + 1:
            found.append(pid)
    return found


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    fields = _stat(pid)
    return bool(fields) and fields[0] not in (b"Z", b"X")


def scratch_dirs() -> set[str]:
    """Process-level scratch directories, except those of runs another process holds right now."""
    root, owners = tempfile.gettempdir(), {}
    for name in os.listdir(root):
        if name.startswith(SCRATCH_PREFIX):
            with contextlib.suppress(OSError):
                owners[name] = os.lstat(os.path.join(root, name)).st_uid
    return _leftovers({name: (owner, os.path.join(root, name)) for name, owner in owners.items()})


def stale_cgroups() -> set[str]:
    """Slot cgroups whose process is gone (a live process keeps its slots between runs)."""
    return {
        path
        for (pid, _), paths in cgroups.existing().items()
        if not os.path.exists(f"/proc/{pid}")
        for path in paths
        if os.path.lexists(path)
    }


def _leftovers(found: dict[str, tuple[int, str]]) -> set[str]:
    # Listed first, then the uids held: a run that started meanwhile holds its uid by now, and
    # one that ended meanwhile removed its things before giving its uid back (so they are gone).
    held = _uids_held_elsewhere()
    return {key for key, (uid, path) in found.items() if uid not in held and os.path.lexists(path)}


def _uids_held_elsewhere() -> set[int]:
    # The executor holds a run's uid by binding an abstract socket named after it.
    ours = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            ours.add(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:
            continue
    held = set()
    prefix = "@nexus-kernel-sandbox-uid-"
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 8 and parts[7].startswith(prefix) and f"socket:[{parts[6]}]" not in ours:
            held.add(int(parts[7][len(prefix) :]))
    return held


def _stat(pid: int) -> list[bytes]:
    """The fields of /proc/PID/stat after the command name (state first), or [] if it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]
