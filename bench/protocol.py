"""A tiny request/reply protocol over a child's stdin/stdout (JSON lines). Standard library only.

Variants that need their own process (a different pool configuration, the peers' virtualenv) run as
workers: the parent sends ``{"op": ...}`` lines and the worker answers one JSON line each, timing
itself, so process start-up and pipe latency never enter a sample.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

Handler = Callable[..., dict[str, Any]]


class WorkerError(RuntimeError):
    """The worker died, timed out or answered with an error."""


class Worker:
    """The parent's handle on one worker process."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        log_path: Path | None = None,
        start_timeout: float = 120.0,
    ) -> None:
        self.name = name
        self._log: IO[bytes] | int = subprocess.DEVNULL
        if log_path is not None:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log = open(log_path, "ab")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            text=True,
            bufsize=1,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, name=f"bench-worker-{name}", daemon=True).start()
        self.info = self._receive(start_timeout)

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _receive(self, timeout: float) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise WorkerError(f"{self.name}: no answer within {timeout:.0f} s") from None
        if line is None:
            raise WorkerError(f"{self.name}: worker exited (code {self.proc.wait()}); see its log")
        reply = json.loads(line)
        if "fatal" in reply:
            raise WorkerError(f"{self.name}: {reply['fatal']}")
        return reply

    def request(self, op: str, timeout: float = 300.0, **args: Any) -> dict[str, Any]:
        """Send one request and wait for its reply."""
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise WorkerError(f"{self.name}: cannot send {op!r}: {exc}") from exc
        return self._receive(timeout)

    def close(self) -> None:
        """Ask the worker to quit (it cleans up after itself); kill it if it does not."""
        if self.proc.poll() is None:
            with contextlib.suppress(WorkerError, ValueError):  # already going
                self.request("quit", timeout=60)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not isinstance(self._log, int):
            self._log.close()

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve(
    handlers: Mapping[str, Handler],
    setup: Callable[[], dict[str, Any]] | None = None,
    teardown: Callable[[], None] | None = None,
) -> None:
    """Worker side: answer requests until ``quit``. Stray prints go to stderr, not the protocol."""
    out = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def send(reply: dict[str, Any]) -> None:
        out.write(json.dumps(reply) + "\n")
        out.flush()

    try:
        info = setup() if setup else {}
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which decides
        send({"fatal": f"{type(exc).__name__}: {exc}"})
        return
    send({"ready": True, **info})
    try:
        for line in sys.stdin:
            request = json.loads(line)
            op = request.pop("op")
            if op == "quit":
                break
            try:
                send(handlers[op](**request))
            except Exception as exc:  # noqa: BLE001 - one failed request must not end the worker
                send({"error": f"{type(exc).__name__}: {exc}"})
    finally:
        if teardown:
            teardown()
    send({"bye": True})
