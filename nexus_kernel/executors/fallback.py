"""Fallback mode: each tool runs once in a fresh local child process, as contained as the host allows.

The child runs the fixed bootstrap with ``python -I -S -B``; the tool's code goes in on stdin as
data (the bootstrap protocol). ``FallbackExecutor.shared()`` probes once which isolation level
works here, best first (see ``isolation.py``): ``bubblewrap`` (namespaces and a read-only view),
``unshare`` (namespaces), ``process`` (no namespaces). ``details["isolation"]`` says which.

At every level: a clean environment; a private /tmp (a 10 MB tmpfs, or at the process level a
scratch directory with a 10 MB file-size limit and a 10 MB total checked from here); rlimits
(address space, CPU, processes, file size, open files, no core dumps); a seccomp filter (no new
namespaces, mounts, network sockets or System V IPC, see ``seccomp.py``); no-new-privs; and, when
we are root, a uid of the run's own (``uids.py``: unique on the host), never 0, and a
memory and cpu cgroup of the run's own (``cgroups.py``: the memory limit covers all its processes
and memory files, at 0.5 CPU). A uid per run keeps RLIMIT_NPROC per run (one fork bomb cannot
starve the others) and lets us find and kill every process a run left, wherever it went. Outside
bubblewrap, Landlock (where the kernel has it) confines the tool to what bubblewrap would show it,
and at the process level what the run's uid left in the host's world-writable directories is
removed after it. The sandbox dies with this process.

This process enforces the wall clock and the raw output cap. On a timeout, a flood, the /tmp cap,
a ``KeyboardInterrupt`` or any error of ours, the sandbox is killed: the namespace's pid 1 (the
kernel then kills everything in it), the process group, and every process of the run's uid. The
scratch directory is removed and the uid freed before ``run`` returns or raises.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import select
import selectors
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import ClassVar

from ..limits import OPEN_FILES_LIMIT, OUTPUT_LIMIT_BYTES, PIDS_LIMIT, TIMEOUT_MIN_S, TMP_SIZE_MB
from . import cgroups, isolation, seccomp
from .base import ExecutionRequest, ExecutionResult, ExecutorUnavailable, ToolError
from .frames import FrameReader
from .isolation import BUBBLEWRAP, LEVELS, PROCESS, TMP_BYTES, UNSHARE, Sandbox, bootstrap_fd
from .scratch import SCRATCH_PREFIX, remove_owned, remove_tree, scratch_dirs, tree_size
from .uids import KILL_WAIT_S, UIDS, children_of, kill_uid, live_uid, pids, pids_of

log = logging.getLogger(__name__)

MODE = "fallback"
#: The sandbox's own stderr (not the tool's, which comes as frames) is kept up to this size.
SANDBOX_STDERR_KEEP = 64 * 1024
_CHUNK = 65536
_SCRATCH_POLL_S = 0.1
#: After the sandbox exits, how long we keep reading what its pipes still hold.
_DRAIN_S = 2.0
_PROBE_CODE = "import decimal, json, math\nprint(json.dumps(math.isqrt(int(decimal.Decimal('1764')))))\n"
_MEMORY_CRASH_HINTS = ("MemoryError", "Cannot allocate memory", "out of memory")


class FallbackExecutor:
    """Runs a tool in a local child process (see the module docstring). Thread-safe."""

    mode = MODE
    _shared: ClassVar[FallbackExecutor | None] = None
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, isolation: str | None = None) -> None:
        """Probe the best working isolation level (or only ``isolation``, one of ``LEVELS``).

        Raises ``ExecutorUnavailable`` when nothing works (or the level asked for does not).
        """
        if isolation is not None and isolation not in LEVELS:
            choices = ", ".join(LEVELS)
            raise ExecutorUnavailable(f"unknown isolation level {isolation!r}: use one of {choices}")
        self.sandbox = self._probe(isolation)
        log.info("fallback sandbox: %s with %s", self.sandbox.level, self.sandbox.python)
        if self.sandbox.as_root:
            _sweep_leftovers()
            cgroups.sweep()

    @classmethod
    def shared(cls) -> FallbackExecutor:
        """The process-wide executor. ``NEXUS_FALLBACK_ISOLATION`` may force a level."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls(os.environ.get("NEXUS_FALLBACK_ISOLATION", "").strip().lower() or None)
            return cls._shared

    @property
    def isolation(self) -> str:
        """The isolation level this executor uses."""
        return self.sandbox.level

    def run(self, request: ExecutionRequest) -> ExecutionResult:
        """Run one tool to completion; every ending is a result, except ``KeyboardInterrupt``."""
        return _execute(self.sandbox, request)

    def close(self) -> None:
        """Release what runs keep between them: the run slots' threads and cgroups (made again
        when the next run needs them). Also done at interpreter exit."""
        cgroups.close_all()

    def _probe(self, level: str | None) -> Sandbox:
        problems = []
        for sandbox in isolation.candidates(level):
            request = ExecutionRequest(
                tool_id="probe",
                code=_PROBE_CODE,
                timeout_seconds=TIMEOUT_MIN_S,
                memory_limit_mb=64,
                runtime_policy={
                    "allowed_modules": ["decimal", "json", "math"],
                    "blocked_builtins": [],
                    "blocked_attributes": [],
                },
            )
            try:
                result = _execute(sandbox, request)
            except ExecutorUnavailable as exc:
                problems.append(f"{sandbox.level} ({sandbox.python}): {exc}")
                continue
            if result.success and result.stdout == "42\n":
                return sandbox
            detail = (result.message + " " + result.stderr).strip()
            problems.append(f"{sandbox.level} ({sandbox.python}): {detail[-300:]}")
        wanted = f"the {level!r} isolation level" if level else "any fallback sandbox"
        if not problems and level:
            problems.append(f"it needs {isolation.requirements(level)}")
        raise ExecutorUnavailable(f"cannot start {wanted} here: " + "; ".join(problems))


def _execute(sandbox: Sandbox, request: ExecutionRequest) -> ExecutionResult:
    try:
        code = request.code.encode("utf-8")
    except UnicodeEncodeError as exc:
        message = f"the code is not valid Unicode text: {exc}"
        return ExecutionResult(False, message, MODE, error=ToolError("ValueError", message, [message]))
    uid = UIDS.acquire() if sandbox.as_root else None
    scratch = None
    run: _Run | None = None
    all_gone = True
    try:
        if uid is not None and sandbox.level == PROCESS:
            # If an executor died mid-run (killed with its kernel, say), what its tool left under
            # this uid may still be there: nothing holds the process level's processes together.
            _scrub(uid, scratch_dirs().get(uid, []))
        slot = cgroups.slot(uid) if uid is not None else None
        oom_kills = 0
        if slot is not None:
            try:
                slot.limit(request.memory_limit_mb)
            except OSError as exc:  # the last run's limit stays (and each process's rlimit)
                log.warning("cannot set the memory limit of the run's cgroup: %s", exc)
            oom_kills = slot.oom_kills()
        if not sandbox.private_tmp:
            scratch = tempfile.mkdtemp(prefix=SCRATCH_PREFIX)
            if uid is not None:
                os.chown(scratch, uid, uid)
        header = _header(request, len(code), scratch or "/tmp", uid)
        if sandbox.level != BUBBLEWRAP:
            # bubblewrap does these itself (and its view is already what Landlock would leave).
            header["die_with_parent"] = True
            if _SECCOMP:
                header["seccomp"] = _SECCOMP.hex()
            header["landlock"] = isolation.landlock_paths(sandbox.python, scratch or "/tmp")
        if sandbox.level == UNSHARE:
            header["read_only_except"] = "/tmp"
        run = _Run(sandbox, request, scratch, uid)
        run.start(json.dumps(header).encode() + b"\n" + code, slot)
        run.pump()
        all_gone = run.stop(force=run.timed_out or run.tmp_exceeded or run.reader.flooded)
        return run.result(oom_killed=slot is not None and slot.oom_kills() > oom_kills)
    except BaseException:
        # KeyboardInterrupt (the Jupyter stop button), or an error of ours: nothing may survive.
        all_gone = False  # until proven (a second Ctrl-C may cut the cleanup short)
        if run is not None:
            all_gone = run.stop(force=True)
        raise
    finally:
        if run is not None:
            run.close()
        if scratch is not None:
            remove_tree(scratch)
        if uid is not None and sandbox.level == PROCESS and (run is None or run.stopped):
            # The process level shares the host's filesystem: whatever the run's uid made in the
            # world-writable places (a raw os.open in /tmp, /dev/shm...) would outlive it.
            remove_owned(uid)
        if uid is not None:
            UIDS.release(uid, reusable=all_gone)


def _header(request: ExecutionRequest, code_bytes: int, tmp_root: str, uid: int | None) -> dict:
    header = {
        **request.runtime_policy,
        "code_bytes": code_bytes,
        "output_limit": OUTPUT_LIMIT_BYTES,
        "tmp_root": tmp_root,
        # CPU time cannot outrun the wall clock in one thread; the margin lets ours speak first.
        "rlimits": {
            "CPU": request.timeout_seconds + 1,
            "NPROC": PIDS_LIMIT,
            "FSIZE": TMP_BYTES,
            "NOFILE": OPEN_FILES_LIMIT,
            "CORE": 0,
        },
        "memory_limit_mb": request.memory_limit_mb,
    }
    if uid is not None:
        header["uid"] = header["gid"] = uid
    return header


@dataclass
class _Run:
    """One sandboxed child process and our end of its pipes."""

    sandbox: Sandbox
    request: ExecutionRequest
    scratch: str | None
    uid: int | None
    proc: subprocess.Popen | None = None
    reader: FrameReader = field(init=False)
    timed_out: bool = False
    tmp_exceeded: bool = False
    stopped: bool = False
    _stderr: bytearray = field(default_factory=bytearray)
    _pidfd: int | None = None
    _init_pidfd: int | None = None
    _info: bytearray = field(default_factory=bytearray)
    _info_r: int | None = None
    _exited: bool = False
    _fds: list[int] = field(default_factory=list)
    _deadline: float = 0.0
    _payload: memoryview = field(default_factory=lambda: memoryview(b""))

    def __post_init__(self) -> None:
        self.reader = FrameReader(self.request.on_output)

    def start(self, payload: bytes, slot: cgroups.Slot | None) -> None:
        """Start the sandbox (from the slot's thread, so in its cgroups); ``ExecutorUnavailable``
        if it cannot start."""
        sandbox, info_w, filter_r = self.sandbox, None, None
        pass_fds = [bootstrap_fd(sandbox.python)]
        if sandbox.level == BUBBLEWRAP:
            self._info_r, info_w = os.pipe()
            self._fds.append(self._info_r)
            pass_fds.append(info_w)
            if _SECCOMP:
                # A pipe per run: bwrap reads the filter to the end, and runs must not share an offset.
                filter_r, filter_w = os.pipe()
                os.write(filter_w, _SECCOMP)
                os.close(filter_w)
                pass_fds.append(filter_r)
        tmp = self.scratch or "/tmp"
        env = {"LANG": "C.UTF-8", "PATH": "/usr/bin:/bin", "HOME": tmp, "TMPDIR": tmp}
        self._deadline = time.monotonic() + self.request.timeout_seconds
        # A clean environment for the sandbox itself, not only for the tool: bubblewrap's pid 1
        # inside the namespace is a copy of it, and /proc/1/environ would show ours.
        popen = functools.partial(
            subprocess.Popen,
            sandbox.command(pass_fds[0], info_fd=info_w, seccomp_fd=filter_r),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=self.scratch or "/",
            pass_fds=pass_fds,
            start_new_session=True,
        )
        try:
            self.proc = popen() if slot is None else slot.call(popen, abandon=_abandon)
        except OSError as exc:
            raise ExecutorUnavailable(f"cannot start the {sandbox.level} sandbox: {exc}") from exc
        finally:
            for fd in (info_w, filter_r):
                if fd is not None:
                    os.close(fd)
        with contextlib.suppress(OSError):
            self._pidfd = os.pidfd_open(self.proc.pid)
            self._fds.append(self._pidfd)
        self._payload = memoryview(payload)

    def pump(self) -> None:
        """Feed the code, read frames and watch the limits until the run is over."""
        proc = self.proc
        assert proc is not None and proc.stdin and proc.stdout and proc.stderr
        sel = selectors.DefaultSelector()
        try:
            for pipe in (proc.stdin, proc.stdout, proc.stderr):
                os.set_blocking(pipe.fileno(), False)
            sel.register(proc.stdin.fileno(), selectors.EVENT_WRITE, "in")
            sel.register(proc.stdout.fileno(), selectors.EVENT_READ, "out")
            sel.register(proc.stderr.fileno(), selectors.EVENT_READ, "err")
            if self._info_r is not None:
                sel.register(self._info_r, selectors.EVENT_READ, "info")
            if self._pidfd is not None:
                sel.register(self._pidfd, selectors.EVENT_READ, "exit")
            self._loop(sel)
        finally:
            sel.close()

    def _loop(self, sel: selectors.BaseSelector) -> None:
        proc, drain_until = self.proc, None
        assert proc is not None
        open_streams = {"out", "err"}
        next_scratch_check = time.monotonic() + _SCRATCH_POLL_S
        # Until the sandbox has exited and its pipes are drained (the timeout still applies to a
        # tool that closes its output and carries on).
        while open_streams or not self._exited:
            now = time.monotonic()
            if drain_until is not None and now >= drain_until:
                return
            if now >= self._deadline:
                self.timed_out = True
                return
            wait = min(self._deadline, drain_until or self._deadline) - now
            if self.scratch is not None:
                wait = min(wait, max(0.0, next_scratch_check - now))
            if self._pidfd is None and drain_until is None:
                wait = min(wait, 0.05)  # no pidfd (old kernel): poll for the exit
            # bubblewrap's info first: its pid 1 is only safe to hold while our child is unreaped.
            for key, _ in sorted(sel.select(wait), key=lambda event: event[0].data != "info"):
                tag = key.data
                if tag == "in":
                    self._write_code(sel, key.fd)
                elif tag == "exit":
                    sel.unregister(key.fd)
                    self._on_exit()
                    drain_until = time.monotonic() + _DRAIN_S
                elif tag == "info":
                    self._read_info(sel, key.fd)
                elif not self._read(sel, key.fd, tag):
                    open_streams.discard(tag)
            if self.reader.flooded:
                return
            if self._pidfd is None and drain_until is None and proc.poll() is not None:
                self._on_exit()
                drain_until = time.monotonic() + _DRAIN_S
            if self.scratch is not None and time.monotonic() >= next_scratch_check:
                next_scratch_check = time.monotonic() + _SCRATCH_POLL_S
                if tree_size(self.scratch) > TMP_BYTES:
                    self.tmp_exceeded = True
                    return

    def _write_code(self, sel: selectors.BaseSelector, fd: int) -> None:
        try:
            written = os.write(fd, self._payload[:_CHUNK])
        except BlockingIOError:
            return
        except OSError:  # the sandbox is gone or closed stdin; its end will tell why
            written = len(self._payload)
        self._payload = self._payload[written:]
        if not self._payload:
            sel.unregister(fd)
            assert self.proc is not None and self.proc.stdin
            with contextlib.suppress(OSError):
                self.proc.stdin.close()

    def _read(self, sel: selectors.BaseSelector, fd: int, tag: str) -> bool:
        try:
            data = os.read(fd, _CHUNK)
        except BlockingIOError:
            return True
        except OSError:
            data = b""
        if not data:
            sel.unregister(fd)
            return False
        if tag == "out":
            self.reader.feed(data)
        else:
            # The sandbox's own stderr: Python's fatal errors, bwrap's complaints, or a tool writing
            # to the raw descriptors 1 and 2. Counted towards the flood limit, kept up to a size.
            self.reader.count_raw(len(data))
            room = SANDBOX_STDERR_KEEP - len(self._stderr)
            if room > 0:
                self._stderr += data[:room]
        return True

    def _read_info(self, sel: selectors.BaseSelector, fd: int) -> None:
        """bubblewrap's ``--info-fd`` JSON: the host pid of the namespace's pid 1."""
        try:
            data = os.read(fd, 4096)
        except OSError:
            data = b""
        self._info += data
        try:
            pid = int(json.loads(bytes(self._info))["child-pid"])
        except (ValueError, KeyError, TypeError):
            if data and len(self._info) < 65536:
                return  # not all there yet
            pid = None
        sel.unregister(fd)
        if pid is not None:
            self._set_init(pid)

    def _set_init(self, pid: int) -> None:
        """Hold the namespace's pid 1 by a pidfd: killing it kills everything in the namespace."""
        if self._init_pidfd is not None or self._exited:
            return
        with contextlib.suppress(OSError):
            self._init_pidfd = os.pidfd_open(pid)
            self._fds.append(self._init_pidfd)

    def _on_exit(self) -> None:
        # The sandbox has exited but is not reaped yet, so its process group id cannot be reused:
        # whatever the tool left in the group, or under its uid, goes now (it may hold our pipes).
        self._exited = True
        self._kill_group()
        if self.uid is not None and self.sandbox.level == PROCESS:
            kill_uid(self.uid)

    def result(self, *, oom_killed: bool = False) -> ExecutionResult:
        """The run's result, once ``stop`` has reaped the sandbox (``oom_killed``: by its cgroup)."""
        assert self.proc is not None
        stderr = self._stderr.decode("utf-8", "replace")
        end = self.reader.end
        out_of_memory = end is None and (oom_killed or any(hint in stderr for hint in _MEMORY_CRASH_HINTS))
        result = self.reader.finish(
            mode=MODE,
            returncode=self.proc.returncode,
            timeout_seconds=self.request.timeout_seconds,
            memory_limit_mb=self.request.memory_limit_mb,
            timed_out=self.timed_out,
            out_of_memory=out_of_memory,
            sandbox_stderr=stderr,
            details={"isolation": self.sandbox.level},
        )
        if self.tmp_exceeded and not self.timed_out:
            message = f"Tool wrote more than the {TMP_SIZE_MB} MB allowed in /tmp and was stopped"
            result.success, result.message = False, message
            result.error = ToolError("TmpLimitExceeded", message, [message])
        elif not result.success and result.error is not None and _is_disk_full(result.error):
            result.message += f" (/tmp holds at most {TMP_SIZE_MB} MB)"
        if stderr.strip() and end is not None:
            # Bytes written around sys.stdout/sys.stderr (raw descriptors): shown, not lost.
            result.stderr += stderr
        return result

    def stop(self, force: bool = False) -> bool:
        """Kill what is left of the sandbox and reap it; True when nothing of it survives."""
        proc = self.proc
        if proc is None or self.stopped:
            return True
        self.stopped = True
        gone = True
        # After a normal exit there is nothing left: the namespace died with its pid 1, and at the
        # process level ``_on_exit`` killed the leftovers.
        if force or not self._exited:
            self._kill_namespace()
            self._kill_group()
            if self.uid is not None:
                gone = kill_uid(self.uid)
        try:
            proc.wait(timeout=KILL_WAIT_S)
        except subprocess.TimeoutExpired:
            log.error("fallback sandbox %d did not die; killing it again", proc.pid)
            proc.kill()
            proc.wait()
        self._await_namespace()
        if self.uid is not None and self.sandbox.level == PROCESS:
            # Without a pid namespace, what the tool left is reparented to init once killed; an
            # init that does not reap leaves zombies, which still count against RLIMIT_NPROC.
            gone = gone and not pids_of(self.uid, zombies=True)
        return gone

    def _kill_namespace(self) -> None:
        proc = self.proc
        assert proc is not None
        if self._init_pidfd is None and self.sandbox.level == UNSHARE and proc.poll() is None:
            for pid in children_of(proc.pid):
                self._set_init(pid)
        if self._init_pidfd is None:
            return
        with contextlib.suppress(OSError):
            signal.pidfd_send_signal(self._init_pidfd, signal.SIGKILL)
        # Our child reaps the namespace's pid 1 and exits once the kernel has killed the rest.
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=KILL_WAIT_S)

    def _await_namespace(self) -> None:
        """Wait until the namespace's pid 1 has exited, which is when all in it are gone.

        bubblewrap's outer process exits as soon as the tool does (its pid 1 tells it so), while
        the kernel may still be killing what the tool left in the namespace.
        """
        pidfd = self._init_pidfd
        if pidfd is None:
            return
        for attempt in range(2):
            if select.select([pidfd], [], [], KILL_WAIT_S)[0]:
                return
            if attempt == 0:
                with contextlib.suppress(OSError):
                    signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        log.error("the namespace of fallback sandbox %d did not end", self.proc.pid if self.proc else 0)

    def _kill_group(self) -> None:
        proc = self.proc
        # Only while our child is unreaped: after that its group id may belong to someone else.
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)

    def close(self) -> None:
        """Close every descriptor the run holds."""
        proc = self.proc
        if proc is not None:
            for pipe in (proc.stdin, proc.stdout, proc.stderr):
                if pipe is not None:
                    with contextlib.suppress(OSError):
                        pipe.close()
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds.clear()


def _abandon(proc: subprocess.Popen) -> None:
    """Undo a sandbox started for a caller that was interrupted before it got it."""
    with contextlib.suppress(OSError):
        os.killpg(proc.pid, signal.SIGKILL)  # bubblewrap and unshare take their children along
    proc.wait()
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()


_SECCOMP = seccomp.program()


def _sweep_leftovers() -> None:
    """Kill the processes and remove the scratch directories of runs whose host was killed.

    A killed host removes nothing, and at the process level nothing holds the tool's processes
    together; a uid no live run holds has nothing that should still exist.
    """
    owners = scratch_dirs()
    for pid in pids():
        uid = live_uid(pid)
        if uid is not None and uid in UIDS:
            owners.setdefault(uid, [])
    for uid, paths in owners.items():
        claim = UIDS.free(uid)
        if claim is None:
            continue  # a live run's
        try:
            _scrub(uid, paths)
        finally:
            claim.close()


def _scrub(uid: int, scratch: list[str]) -> None:
    """Kill the processes and remove the scratch directories of ``uid`` (which the caller holds)."""
    kill_uid(uid)
    for path in scratch:
        remove_tree(path)


def _is_disk_full(error: ToolError) -> bool:
    return error.ename in ("OSError", "IOError") and any(
        text in error.evalue for text in ("No space left on device", "File too large", "Disk quota exceeded")
    )
