"""Docker mode (``docker_isolated``): every tool runs in a fresh container, destroyed after it.

Each container runs the bootstrap baked into the sandbox image (see ``image.py``) with: no network,
a read-only root, a 10 MB ``/tmp`` tmpfs owned by uid 1000, uid 1000, 0.5 CPU, the tool's memory
limit with no swap on top, a process limit, no capabilities, ``no-new-privileges``, Docker's
seccomp profile with socket creation narrowed (``docker_seccomp.py``: no AF_VSOCK, netlink,
packet... sockets, no io_uring, no 32-bit system calls), no IPC namespace sharing and no log
driver. The code goes in over the attach stream (stdin) as data; the bootstrap's frames come back
on stdout. The host enforces the wall-clock timeout and the raw
output cap, and kills the container on either.

Containers come from a warm pool when one is ready (``pool.py``): started ahead of time with the
same settings, blocked in the bootstrap on stdin. At checkout it is renamed to
``nexus-dynamic-tool-<tool_id>`` and, if the tool asks for another memory limit, updated.

Cleanup: when the bootstrap has sent its end frame it exits at once (as PID 1, taking every process
of the container with it), so the result is returned right away and the container is removed by a
background reaper (``wait_for_cleanup`` waits for it). Every other ending (timeout, flood, crash,
out of memory, ``KeyboardInterrupt``, an error in our own code) kills and removes the container
before ``run`` returns or raises. Every container is labelled, so ``cleanup_orphans`` (and a new
executor, for processes that died) finds what a crash left behind; interpreter exit removes the
rest.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import secrets
import select
import socket
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..limits import CPU_CORES, OPEN_FILES_LIMIT, OUTPUT_LIMIT_BYTES, PIDS_LIMIT, SANDBOX_UID, TMP_SIZE_MB
from .base import ExecutionRequest, ExecutionResult, ExecutorUnavailable
from .docker_seccomp import security_opt as seccomp_security_opt
from .frames import FrameReader
from .image import SANDBOX_COMMAND, image_tag
from .pool import WarmPool, max_idle_from_env, pool_size_from_env
from .selector import DOCKER_MODE

log = logging.getLogger(__name__)

#: Every container we create carries this label (``cleanup_orphans`` removes them all).
LABEL = "nexus-kernel.sandbox"
LABEL_HOST = "nexus-kernel.host"
LABEL_PID = "nexus-kernel.pid"
LABEL_EXECUTOR = "nexus-kernel.executor"
LABEL_ROLE = "nexus-kernel.role"
NAME_PREFIX = "nexus-dynamic-tool-"
#: The sandbox's own stderr (not the tool's, which comes as frames) is kept up to this size.
SANDBOX_STDERR_KEEP = 64 * 1024
#: How long an availability check is trusted after it failed (the engine may come up any moment).
_RECHECK_FAILED_S = 2.0
_STDOUT, _STDERR = 1, 2


def container_name(tool_id: str) -> str:
    """The name a tool's container has while the tool runs (and in the response)."""
    return NAME_PREFIX + tool_id


def engine_address() -> str:
    """Where the Docker client looks for the engine (for messages)."""
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def engine_unreachable_message(detail: object = "") -> str:
    extra = f" ({detail})" if detail else ""
    return (
        f"Docker engine not reachable at {engine_address()}{extra}: "
        "start dockerd or set NEXUS_EXECUTION_MODE=fallback"
    )


def image_missing_message(tag: str) -> str:
    return f"sandbox image {tag} not found: build it with `python -m nexus_kernel image build`"


def _client(timeout: int = 60) -> Any:
    """A low-level Docker API client configured like the docker CLI (``DOCKER_HOST``, TLS...).

    The SDK is imported here, not at module level: the fallback never needs it.
    """
    import docker

    try:
        return docker.from_env(timeout=timeout, max_pool_size=32).api
    except docker.errors.DockerException as exc:
        raise ExecutorUnavailable(engine_unreachable_message(_short(exc))) from exc


def _short(exc: BaseException) -> str:
    # requests' connection errors nest three levels deep; the last line is the useful one.
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[-1][:200]}" if text else type(exc).__name__


def check_engine(api: Any, tag: str) -> str:
    """The engine's version if it answers and has the sandbox image; else ExecutorUnavailable."""
    import docker

    try:
        version = api.version(api_version=False).get("Version", "?")
    except Exception as exc:
        raise ExecutorUnavailable(engine_unreachable_message(_short(exc))) from exc
    try:
        api.inspect_image(tag)
    except docker.errors.ImageNotFound as exc:
        raise ExecutorUnavailable(image_missing_message(tag)) from exc
    except Exception as exc:
        raise ExecutorUnavailable(engine_unreachable_message(_short(exc))) from exc
    return version


@dataclass(eq=False)
class _Box:
    """One container with our end of its attach stream."""

    id: str
    name: str
    memory_mb: int
    sock: socket.socket
    #: The SDK object owning the hijacked connection; kept so it is not collected early.
    handle: Any = field(repr=False)
    created: float = field(default_factory=time.monotonic)

    def close(self) -> None:
        for thing in (self.sock, self.handle):
            with contextlib.suppress(Exception):  # already closed
                thing.close()


class _Reaper:
    """Removes containers in the background (after the tool has already ended)."""

    def __init__(self, remove: Callable[[_Box], None]) -> None:
        import queue

        self._remove = remove
        self._queue: queue.Queue[_Box] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def put(self, box: _Box) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                thread = threading.Thread(target=self._work, name="nexus-reaper", daemon=True)
                try:
                    thread.start()
                except RuntimeError:  # interpreter shutdown (Python 3.12+): no new threads
                    self._remove_logged(box)
                    return
                self._thread = thread
        self._queue.put(box)

    def _work(self) -> None:
        while True:
            box = self._queue.get()
            try:
                self._remove_logged(box)
            finally:
                self._queue.task_done()

    def _remove_logged(self, box: _Box) -> None:
        try:
            self._remove(box)
        except Exception:  # logged; the labels let cleanup_orphans find it later
            log.exception("could not remove sandbox container %s", box.name)

    def pending(self) -> int:
        return self._queue.unfinished_tasks

    def drain(self, timeout: float) -> bool:
        """Wait until every queued container is removed; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._queue.all_tasks_done.wait(remaining)
        return True


@dataclass
class _Conversation:
    """How the exchange with the bootstrap ended."""

    ended: str  # "end" (frame received), "eof" (exited without one), "timeout", "flood"
    stderr: bytearray
    stderr_total: int = 0


class DockerExecutor:
    """Runs each tool in its own container (``docker_isolated``). Thread-safe."""

    mode = DOCKER_MODE
    _shared: DockerExecutor | None = None
    _shared_lock = threading.Lock()
    _shared_failure: tuple[tuple[str, str], float, str] = (("", ""), 0.0, "")

    def __init__(self, *, pool_size: int | None = None, max_idle_s: float | None = None) -> None:
        self.image = image_tag()
        self._api = _client()
        self._token = secrets.token_hex(4)
        self._labels = {
            LABEL: "1",
            LABEL_HOST: socket.gethostname(),
            LABEL_PID: str(os.getpid()),
            LABEL_EXECUTOR: self._token,
        }
        self._closed = False
        self._checked_at: float | None = None
        self._failed_at: float | None = None
        self._engine_version: str | None = None
        self.cold_starts = 0
        self.warm_starts = 0
        self._reaper = _Reaper(self._remove)
        self.pool: WarmPool[_Box] = WarmPool(
            self._start_warm,
            self._discard,
            self._idle_alive,
            size=pool_size_from_env() if pool_size is None else pool_size,
            max_idle_s=max_idle_from_env() if max_idle_s is None else max_idle_s,
            on_failure=lambda exc: self._mark_failed(),
        )
        _LIVE.add(self)
        _remove_dead_owners(self._api)
        self.pool.start()

    # ------------------------------------------------------------------ availability

    @classmethod
    def shared(cls) -> DockerExecutor:
        """The process-wide executor; raises ExecutorUnavailable (with the fix) when Docker is not usable."""
        with cls._shared_lock:
            executor = cls._shared
            if executor is None or executor._closed:
                # In auto mode this runs for every tool while Docker is missing: answer from a
                # recent failure instead of asking the engine each time.
                where = (engine_address(), image_tag())
                failed_where, failed_at, problem = cls._shared_failure
                if failed_where == where and time.monotonic() - failed_at < _RECHECK_FAILED_S:
                    raise ExecutorUnavailable(problem)
                try:
                    check_engine(_client(timeout=5), where[1])
                except ExecutorUnavailable as exc:
                    cls._shared_failure = (where, time.monotonic(), str(exc))
                    raise
                executor = cls._shared = cls()
                executor._checked_at = time.monotonic()
            executor.ensure_available()
            return executor

    def ensure_available(self) -> None:
        """Cheap on the hot path: the engine is asked again only after something failed."""
        if self._checked_at is not None and self._failed_at is None:
            return
        if self._failed_at is not None and time.monotonic() - self._failed_at < _RECHECK_FAILED_S:
            raise ExecutorUnavailable(self._last_problem)
        try:
            self._engine_version = check_engine(self._api, self.image)
        except ExecutorUnavailable as exc:
            self._failed_at = time.monotonic()
            self._last_problem = str(exc)
            raise
        self._checked_at, self._failed_at = time.monotonic(), None

    _last_problem = ""

    def _mark_failed(self) -> None:
        # Next ensure_available() asks the engine again instead of trusting the old answer.
        self._checked_at = None

    # ------------------------------------------------------------------ running a tool

    def run(self, request: ExecutionRequest) -> ExecutionResult:
        """Run one tool in a fresh container; the container never outlives the call's outcome."""
        if self._closed:
            raise ExecutorUnavailable("this Docker executor was closed")
        import docker
        import requests

        self.ensure_available()
        started = time.perf_counter()
        reader = FrameReader(request.on_output)
        box: _Box | None = None
        try:
            box = self._acquire(request)
            talk = self._converse(box, request, reader)
            if talk.ended == "end" and not reader.flooded:
                # The bootstrap exits right after its end frame, with this status.
                returncode, oom = (0 if reader.end and reader.end.get("ok") else 1), False
                self._reaper.put(box)
            else:
                returncode, oom = self._stop(box, kill=talk.ended != "eof")
            box_done, box = box, None
        except (docker.errors.APIError, requests.exceptions.ConnectionError) as exc:
            if box is not None:
                self._destroy_quietly(box)
            self._mark_failed()
            if isinstance(exc, docker.errors.ImageNotFound):
                raise ExecutorUnavailable(image_missing_message(self.image)) from exc
            if isinstance(exc, requests.exceptions.ConnectionError):
                raise ExecutorUnavailable(engine_unreachable_message(_short(exc))) from exc
            raise
        except BaseException:
            # KeyboardInterrupt (the Jupyter stop button), or a fault of ours: the container is not
            # in the caller's process group, so nobody else would stop it.
            if box is not None:
                self._destroy_quietly(box)
            raise
        stderr = talk.stderr.decode("utf-8", "replace")
        if talk.stderr_total > len(talk.stderr):
            stderr += f"\n[nexus: sandbox stderr cut at {SANDBOX_STDERR_KEEP // 1024} KB]\n"
        details = {
            "docker_image": self.image,
            "container_name": box_done.name,
            "container_execution_time_seconds": round(time.perf_counter() - started, 3),
            "container_return_code": returncode,
            "container_stderr": stderr,
        }
        return reader.finish(
            mode=self.mode,
            returncode=returncode,
            timeout_seconds=request.timeout_seconds,
            memory_limit_mb=request.memory_limit_mb,
            timed_out=talk.ended == "timeout",
            out_of_memory=oom,
            sandbox_stderr=stderr,
            details=details,
        )

    def _acquire(self, request: ExecutionRequest) -> _Box:
        """A running container named for the tool, with its memory limit, waiting for code."""
        import docker

        name = container_name(request.tool_id)
        box = self.pool.checkout(request.memory_limit_mb)
        if box is not None:
            try:
                self._api.rename(box.id, name)
                box.name = name
                if box.memory_mb != request.memory_limit_mb:
                    memory = f"{request.memory_limit_mb}m"
                    # Memory and swap together: swap equal to memory means no swap on top.
                    # The code is sent only after this returns: the tool never runs with the old limit.
                    self._api.update_container(box.id, mem_limit=memory, memswap_limit=memory)
                    box.memory_mb = request.memory_limit_mb
            except docker.errors.NotFound:  # it died between the health check and now: go cold
                self._destroy_quietly(box)
            except BaseException:
                self._destroy_quietly(box)
                raise
            else:
                self.warm_starts += 1
                return box
        self.cold_starts += 1
        return self._start_box(name, request.memory_limit_mb, role="cold")

    def _start_warm(self, memory_mb: int) -> _Box:
        return self._start_box(f"nexus-warm-{self._token}-{secrets.token_hex(4)}", memory_mb, role="warm")

    def _start_box(self, name: str, memory_mb: int, *, role: str) -> _Box:
        """Create, attach and start a container; it then waits in the bootstrap for the code."""
        container = self._api.create_container(
            self.image,
            command=list(SANDBOX_COMMAND),
            name=name,
            user=f"{SANDBOX_UID}:{SANDBOX_UID}",
            working_dir="/tmp",
            hostname="sandbox",
            stdin_open=True,  # with attach, the SDK also sets StdinOnce: stdin closes when we do
            tty=False,
            network_disabled=True,
            labels={**self._labels, LABEL_ROLE: role},
            host_config=self._host_config(memory_mb),
        )
        cid = container["Id"]
        try:
            handle = self._api.attach_socket(cid, params={"stdin": 1, "stdout": 1, "stderr": 1, "stream": 1})
            sock = getattr(handle, "_sock", handle)
            try:
                self._api.start(cid)
            except BaseException:
                handle.close()
                raise
        except BaseException:
            self._remove_id(cid)
            raise
        return _Box(cid, name, memory_mb, sock, handle)

    def _host_config(self, memory_mb: int) -> Any:
        from docker.types import LogConfig, Ulimit

        memory = f"{memory_mb}m"
        return self._api.create_host_config(
            network_mode="none",
            read_only=True,
            # uid/gid, not mode=1777: on Docker 20.10 the latter still leaves a root-owned 0755 /tmp.
            tmpfs={"/tmp": f"rw,nosuid,nodev,noexec,size={TMP_SIZE_MB}m,uid={SANDBOX_UID},gid={SANDBOX_UID}"},
            nano_cpus=int(CPU_CORES * 1e9),
            mem_limit=memory,
            memswap_limit=memory,
            pids_limit=PIDS_LIMIT,
            cap_drop=["ALL"],
            # Docker's default seccomp profile with socket creation narrowed (docker_seccomp.py).
            security_opt=["no-new-privileges", seccomp_security_opt()],
            ulimits=[
                Ulimit(name="nofile", soft=OPEN_FILES_LIMIT, hard=OPEN_FILES_LIMIT),
                Ulimit(name="core", soft=0, hard=0),
            ],
            ipc_mode="none",
            # Under host memory pressure the sandbox goes first, not the kernel or the notebook.
            oom_score_adj=1000,
            log_config=LogConfig(type="none"),
        )

    def _converse(self, box: _Box, request: ExecutionRequest, reader: FrameReader) -> _Conversation:
        """Send header and code, then read frames until the end frame, EOF, timeout or flood."""
        code = request.code.encode("utf-8")
        header = {
            "code_bytes": len(code),
            "output_limit": OUTPUT_LIMIT_BYTES,
            "tmp_root": "/tmp",
            **request.runtime_policy,
        }
        talk = _Conversation("eof", bytearray())
        deadline = time.monotonic() + request.timeout_seconds
        sock = box.sock
        try:
            sock.settimeout(request.timeout_seconds)
            sock.sendall(json.dumps(header).encode() + b"\n" + code)
        except TimeoutError:
            talk.ended = "timeout"
            return talk
        except OSError:  # the container died before it read the code
            return talk
        pending = bytearray()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                talk.ended = "timeout"
                return talk
            sock.settimeout(remaining)
            try:
                data = sock.recv(65536)
            except TimeoutError:
                talk.ended = "timeout"
                return talk
            except OSError:
                data = b""
            if not data:
                return talk
            pending += data
            if not self._demux(pending, reader, talk):
                talk.ended = "flood"
                return talk
            if reader.end is not None:
                talk.ended = "end"
                self._drain_stderr(sock, pending, reader, talk)
                return talk

    def _demux(self, pending: bytearray, reader: FrameReader, talk: _Conversation) -> bool:
        """Split Docker's multiplexed stream (8-byte headers); False when the output is a flood."""
        offset = 0
        ok = True
        while len(pending) - offset >= 8:
            stream = pending[offset]
            size = int.from_bytes(pending[offset + 4 : offset + 8], "big")
            if len(pending) - offset - 8 < size:
                break
            chunk = bytes(pending[offset + 8 : offset + 8 + size])
            offset += 8 + size
            if stream == _STDOUT:
                ok = reader.feed(chunk) and ok
            else:
                talk.stderr_total += len(chunk)
                room = SANDBOX_STDERR_KEEP - len(talk.stderr)
                if room > 0:
                    talk.stderr += chunk[:room]
                ok = reader.count_raw(len(chunk)) and ok
            if not ok:
                break
        del pending[:offset]
        return ok

    def _drain_stderr(
        self, sock: socket.socket, pending: bytearray, reader: FrameReader, talk: _Conversation
    ) -> None:
        # The tool's stray stderr may trail the end frame by a moment (Docker copies the two
        # streams separately): take what is already there, without waiting.
        while select.select([sock], [], [], 0)[0]:
            try:
                data = sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            pending += data
            self._demux(pending, reader, talk)

    def _stop(self, box: _Box, *, kill: bool) -> tuple[int | None, bool]:
        """Kill (when still running) and remove now; returns (exit code, killed for memory)."""
        import requests

        try:
            if kill:
                self._kill(box)
            try:
                # After EOF the container is normally gone already (crash, OOM kill). One that
                # closed its output and lives on gets a moment, then is killed like a timeout.
                code = self._api.wait(box.id, timeout=5 if not kill else 30).get("StatusCode")
            except requests.exceptions.RequestException:
                if kill:
                    raise
                kill = True
                self._kill(box)
                code = self._api.wait(box.id, timeout=30).get("StatusCode")
            state = self._api.inspect_container(box.id).get("State", {})
            # The engine's word, not a guess from exit code 137: `docker kill` by someone else
            # (or `nexus-kernel cleanup`) also gives 137 and is not the tool's memory use.
            return code, bool(state.get("OOMKilled"))
        finally:
            self._destroy_quietly(box)

    def _kill(self, box: _Box) -> None:
        import docker

        box.close()  # see _remove: never kill with unread output in the way
        with contextlib.suppress(docker.errors.APIError):  # it may have exited already
            self._api.kill(box.id)

    # ------------------------------------------------------------------ cleanup

    def _discard(self, box: _Box) -> None:
        # In the background normally; at close (and so at exit) right away, so nothing is left.
        if self._closed:
            self._destroy_quietly(box)
        else:
            self._reaper.put(box)

    def _idle_alive(self, box: _Box) -> bool:
        # An idle sandbox sends nothing until it gets code: anything readable (EOF) means it died.
        try:
            return not select.select([box.sock], [], [], 0)[0]
        except (OSError, ValueError):
            return False

    def _remove(self, box: _Box) -> None:
        # Our end of the stream first: a container blocked writing to it (a flood we stopped
        # reading) holds up the engine's kill until its output is drained or dropped.
        box.close()
        self._remove_id(box.id)

    def _remove_id(self, cid: str) -> None:
        import docker

        try:
            self._api.remove_container(cid, force=True, v=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            if "already in progress" not in str(exc):
                raise

    def _destroy_quietly(self, box: _Box) -> None:
        """Remove now; never raises (we may be on the way out with another exception)."""
        try:
            self._remove(box)
        except Exception:
            log.exception("could not remove sandbox container %s", box.name)

    def wait_for_cleanup(self, timeout: float = 30.0) -> bool:
        """Wait until containers of finished tools are removed (the reaper works in the background)."""
        return self._reaper.drain(timeout)

    def stats(self) -> dict[str, Any]:
        """Pool and usage counters, JSON-serialisable."""
        return {
            "image": self.image,
            "pool": self.pool.stats(),
            "warm_starts": self.warm_starts,
            "cold_starts": self.cold_starts,
            "removals_pending": self._reaper.pending(),
        }

    def close(self) -> None:
        """Discard the warm pool and wait for every removal. The executor cannot run tools after this."""
        if self._closed:
            return
        self._closed = True
        self.pool.close()
        self._reaper.drain(60)
        # Anything this executor started that is still around (an interrupt at a bad moment).
        try:
            mine = {"label": f"{LABEL_EXECUTOR}={self._token}"}
            for container in self._api.containers(all=True, filters=mine):
                self._remove_id(container["Id"])
        except Exception:  # noqa: BLE001 - engine gone: cleanup_orphans will do it later
            log.warning("could not sweep containers of executor %s", self._token)
        with DockerExecutor._shared_lock:
            if DockerExecutor._shared is self:
                DockerExecutor._shared = None
        _LIVE.discard(self)


_LIVE: weakref.WeakSet[DockerExecutor] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for executor in list(_LIVE):
        try:
            executor.close()
        except Exception:
            log.exception("closing the Docker executor failed")


def wait_for_cleanup(timeout: float = 30.0) -> bool:
    """Wait for the background removals of every executor in this process (tests use it)."""
    deadline = time.monotonic() + timeout
    return all(e.wait_for_cleanup(max(0.0, deadline - time.monotonic())) for e in list(_LIVE))


def _owner_gone(labels: dict[str, str]) -> bool:
    """True for a container whose owning process (on this host) no longer exists."""
    if labels.get(LABEL_HOST) != socket.gethostname():
        return False
    try:
        os.kill(int(labels.get(LABEL_PID, "")), 0)
    except ProcessLookupError:
        return True
    except (ValueError, PermissionError):
        return False
    return False


def _remove_dead_owners(api: Any) -> None:
    """Remove containers left by a process of this host that crashed (never another's live ones)."""
    try:
        for container in api.containers(all=True, filters={"label": LABEL}):
            if _owner_gone(container.get("Labels") or {}):
                api.remove_container(container["Id"], force=True)
    except Exception:
        log.info("could not check for containers left by crashed processes", exc_info=True)


def cleanup_orphans() -> int:
    """Remove every container labelled as a Nexus sandbox (any process's); returns how many.

    Sandbox images left without a tag (by a forced rebuild) and no longer used go too.
    """
    import docker

    api = _client(timeout=30)
    try:
        api.ping()
    except Exception as exc:
        raise ExecutorUnavailable(engine_unreachable_message(_short(exc))) from exc
    removed = 0
    for container in api.containers(all=True, filters={"label": LABEL}):
        try:
            api.remove_container(container["Id"], force=True, v=True)
            removed += 1
        except docker.errors.NotFound:
            pass
    from .image import prune_untagged

    prune_untagged(api)  # images a forced rebuild untagged while those containers used them
    return removed
