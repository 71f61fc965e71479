"""The host's files a fallback run may touch: its scratch directory (the process level's /tmp),
and what its uid may leave in the world-writable directories where no namespace hides them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile

from .isolation import TMP_BYTES
from .uids import UIDS

log = logging.getLogger(__name__)

#: Process-level scratch directories are named so (in ``tempfile.gettempdir()``).
SCRATCH_PREFIX = "nexus-tool-"
_SCRATCH_MAX_ENTRIES = 10_000
#: The places an unprivileged process can write to on a usual host (the process level sees them).
WORLD_WRITABLE = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/dev/mqueue")


def remove_owned(uid: int, *, depth: int = 3) -> None:
    """Remove what ``uid`` owns in the world-writable directories (and in the world-writable
    directories below them, ``depth`` levels down). Its processes are all dead by now."""
    todo = [(root, 0) for root in {*WORLD_WRITABLE, tempfile.gettempdir()}]
    while todo:
        directory, level = todo.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            try:
                stat = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.st_uid == uid:
                remove_tree(entry.path)
            elif entry.is_dir(follow_symlinks=False) and stat.st_mode & 0o002 and level < depth:
                todo.append((entry.path, level + 1))


def remove_tree(root: str) -> None:
    """``rm -rf root`` without recursion and with one descriptor: a tool can nest directories
    deeper than any stack or descriptor table. Its processes are dead, so the tree holds still.
    """
    try:
        fd = os.open(root, _DIRECTORY)
    except FileNotFoundError:
        return
    except OSError:  # not a directory
        with contextlib.suppress(OSError):
            os.unlink(root)
        return
    below: list[str] = []  # the path from root to where fd is
    try:
        while True:
            subdir = _clear_files(fd)
            if subdir is not None:
                deeper = os.open(subdir, _DIRECTORY, dir_fd=fd)
                os.close(fd)
                fd = deeper
                below.append(subdir)
            elif below:
                up = os.open("..", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
                os.close(fd)
                fd = up
                os.rmdir(below.pop(), dir_fd=fd)
            else:
                break
    except OSError as exc:
        log.error("cannot remove scratch directory %s: %s", root, exc)
    finally:
        os.close(fd)
    with contextlib.suppress(OSError):
        os.rmdir(root)


_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW


def _clear_files(fd: int) -> str | None:
    """Unlink what is not a directory in ``fd``; the name of a subdirectory, if there is one."""
    with os.scandir(fd) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                return entry.name
            os.unlink(entry.name, dir_fd=fd)
    return None


def tree_size(root: str) -> int:
    """Bytes used under ``root``. A tree no honest tool makes (absurdly many entries, paths too
    long to follow) counts as over any limit: hiding data from this count must not pay."""
    total, entries, stack = 0, 0, [root]
    while stack:
        try:
            with os.scandir(stack.pop()) as scan:
                for entry in scan:
                    entries += 1
                    if entries > _SCRATCH_MAX_ENTRIES:
                        return TMP_BYTES + 1
                    stat = entry.stat(follow_symlinks=False)
                    total += max(stat.st_blocks * 512, 0)
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
        except FileNotFoundError:
            continue  # removed by the tool meanwhile
        except OSError:
            return TMP_BYTES + 1
    return total


def scratch_dirs() -> dict[int, list[str]]:
    """Scratch directories in the temp directory, by owner (only our uids)."""
    root, found = tempfile.gettempdir(), {}
    for name in os.listdir(root):
        path = os.path.join(root, name)
        with contextlib.suppress(OSError):
            if name.startswith(SCRATCH_PREFIX) and (uid := os.lstat(path).st_uid) in UIDS:
                found.setdefault(uid, []).append(path)
    return found
