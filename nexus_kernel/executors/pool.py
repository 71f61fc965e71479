"""A warm pool: sandboxes started ahead of time, each handed to exactly one tool, then destroyed.

A warm sandbox has already paid for container creation, start-up and interpreter start: it sits
in the bootstrap, blocked on stdin, with the full isolation settings in force. ``checkout`` hands
one out and forgets it (a tool never gets a sandbox another tool touched); a background thread
starts replacements, so callers never wait for one. An empty pool just means the caller starts a
sandbox itself (the cold path).

The pool knows nothing about Docker: the executor gives it ``start``, ``discard`` and ``alive``.

Configuration: ``NEXUS_POOL_SIZE`` (default 2, 0 disables the pool) and ``NEXUS_POOL_MAX_IDLE_S``
(default 600: older idle sandboxes are replaced, so none lives for days).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from ..limits import MEMORY_DEFAULT_MB

log = logging.getLogger(__name__)

POOL_SIZE_DEFAULT = 2
POOL_SIZE_MAX = 16
MAX_IDLE_DEFAULT_S = 600.0
#: After a failed start the pool waits this long, doubling up to ``_BACKOFF_MAX_S``.
_BACKOFF_MIN_S = 0.5
_BACKOFF_MAX_S = 30.0


class Sandbox(Protocol):
    """What the pool needs to know about a warm sandbox."""

    memory_mb: int
    created: float


S = TypeVar("S", bound=Sandbox)


def pool_size_from_env() -> int:
    """``NEXUS_POOL_SIZE`` as a number of warm sandboxes (0 disables the pool)."""
    return _env_number("NEXUS_POOL_SIZE", POOL_SIZE_DEFAULT, 0, POOL_SIZE_MAX, int)


def max_idle_from_env() -> float:
    """``NEXUS_POOL_MAX_IDLE_S``: seconds a warm sandbox may wait before it is replaced."""
    return _env_number("NEXUS_POOL_MAX_IDLE_S", MAX_IDLE_DEFAULT_S, 1.0, 7 * 24 * 3600.0, float)


def _env_number(name: str, default: Any, low: Any, high: Any, kind: type) -> Any:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        log.warning("ignoring %s=%r: not a number", name, raw)
        return default
    return min(max(value, low), high)


class WarmPool(Generic[S]):
    """Keeps ``size`` sandboxes started, replaces them after use or after ``max_idle_s``."""

    def __init__(
        self,
        start: Callable[[int], S],
        discard: Callable[[S], None],
        alive: Callable[[S], bool],
        *,
        size: int,
        max_idle_s: float,
        memory_mb: int = MEMORY_DEFAULT_MB,
        on_failure: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.size = size
        self.max_idle_s = max_idle_s
        self._start = start
        self._discard = discard
        self._alive = alive
        self._on_failure = on_failure
        self._idle: list[S] = []
        self._starting = 0
        self._closed = False
        #: New sandboxes get the memory limit the last tool asked for: a caller that always uses
        #: the same limit never pays for a limit change at checkout.
        self._memory_mb = memory_mb
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self.hits = 0
        self.misses = 0
        self.last_error: str | None = None

    def start(self) -> None:
        """Start the background filler (no-op for a size-0 pool or when already running)."""
        with self._cond:
            if self.size <= 0 or self._thread is not None or self._closed:
                return
            self._thread = threading.Thread(target=self._fill, name="nexus-warm-pool", daemon=True)
            self._thread.start()

    def checkout(self, memory_mb: int) -> S | None:
        """A warm sandbox, preferably with ``memory_mb`` already set, or None (start one yourself)."""
        while True:
            with self._cond:
                self._memory_mb = memory_mb
                if not self._idle:
                    self.misses += self.size > 0
                    self._cond.notify_all()
                    return None
                index = next((i for i, s in enumerate(self._idle) if s.memory_mb == memory_mb), 0)
                sandbox = self._idle.pop(index)
                self._cond.notify_all()
            if self._alive(sandbox):
                with self._cond:
                    self.hits += 1
                return sandbox
            log.info("discarding a warm sandbox that died while idle")
            self._discard(sandbox)

    def idle(self) -> list[S]:
        """The sandboxes waiting right now (a copy)."""
        with self._cond:
            return list(self._idle)

    def stats(self) -> dict[str, Any]:
        """Sizes and counters, JSON-serialisable."""
        with self._cond:
            now = time.monotonic()
            return {
                "size": self.size,
                "max_idle_s": self.max_idle_s,
                "idle": len(self._idle),
                "starting": self._starting,
                "idle_memory_mb": [s.memory_mb for s in self._idle],
                "oldest_idle_s": round(max((now - s.created for s in self._idle), default=0.0), 1),
                "hits": self.hits,
                "misses": self.misses,
                "running": self._thread is not None and self._thread.is_alive(),
                "last_error": self.last_error,
            }

    def wait_ready(self, timeout: float) -> bool:
        """Block until the pool is full (for benchmarks and tests); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._idle) < self.size and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return not self._closed

    def close(self) -> None:
        """Stop the filler and discard every idle sandbox."""
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._cond.notify_all()
            thread = self._thread
        for sandbox in idle:
            self._discard(sandbox)
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=30)

    def _fill(self) -> None:
        backoff = 0.0
        while True:
            with self._cond:
                while not self._closed and not self._due() and len(self._idle) + self._starting >= self.size:
                    self._cond.wait(timeout=min(self.max_idle_s / 2, 30.0))
                if self._closed:
                    return
                now = time.monotonic()
                aged = [s for s in self._idle if now - s.created > self.max_idle_s]
                self._idle = [s for s in self._idle if s not in aged]
                wanted = len(self._idle) + self._starting < self.size
                memory_mb = self._memory_mb
                if wanted:
                    self._starting += 1
            for sandbox in aged:
                self._discard(sandbox)
            if not wanted:
                continue
            sandbox = None
            try:
                sandbox = self._start(memory_mb)
            except Exception as exc:  # noqa: BLE001 - the engine may be gone; back off and retry
                backoff = min(max(backoff * 2, _BACKOFF_MIN_S), _BACKOFF_MAX_S)
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("could not start a warm sandbox (retrying in %.1f s): %s", backoff, exc)
                if self._on_failure is not None:
                    self._on_failure(exc)
            finally:
                with self._cond:
                    self._starting -= 1
                    if sandbox is not None and not self._closed:
                        self._idle.append(sandbox)
                        sandbox = None
                        backoff = 0.0
                        self.last_error = None
                    self._cond.notify_all()
            if sandbox is not None:  # started while the pool was closing
                self._discard(sandbox)
            if backoff:
                with self._cond:
                    self._cond.wait_for(lambda: self._closed, timeout=backoff)

    def _due(self) -> bool:
        now = time.monotonic()
        return any(now - s.created > self.max_idle_s for s in self._idle)
