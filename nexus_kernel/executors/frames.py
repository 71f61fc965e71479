"""Host side of the bootstrap protocol: read frames, stream output, and say how a run ended.

Both executors feed the bytes they read from the sandbox into a ``FrameReader`` and turn the end
of the run into an ``ExecutionResult`` with ``FrameReader.finish``, so a timeout, an exhausted
memory limit or a crash reads the same in every mode.
"""

from __future__ import annotations

import json
import signal
from typing import Any

from ..limits import OUTPUT_LIMIT_BYTES
from .base import ExecutionResult, OutputCallback, ToolError

SUCCESS_MESSAGE = "Dynamic tool executed successfully"
#: Raw bytes the host accepts before it stops a run: the bootstrap caps each stream itself,
#: so more than this means the tool bypassed it (writing to a raw file descriptor, say).
RAW_BYTES_LIMIT = 3 * OUTPUT_LIMIT_BYTES + 64 * 1024
_STREAMS = {"out": "stdout", "err": "stderr"}


class FrameReader:
    """Parses the bootstrap's JSON-lines frames as bytes arrive."""

    def __init__(self, on_output: OutputCallback | None = None) -> None:
        self._on_output = on_output
        self._pending = b""
        self._raw_bytes = 0
        self._text: dict[str, list[str]] = {"stdout": [], "stderr": []}
        self._stray: list[str] = []
        self.end: dict[str, Any] | None = None
        #: The ``val`` frame: repr of the code's final expression, when the header asked for it.
        self.value: str | None = None

    @property
    def flooded(self) -> bool:
        """True once the sandbox has sent more than any honest run can."""
        return self._raw_bytes > RAW_BYTES_LIMIT

    def feed(self, data: bytes) -> bool:
        """Take bytes from the sandbox; returns False when the run must be stopped (flood)."""
        if self.flooded:
            return False
        self._raw_bytes += len(data)
        *lines, self._pending = (self._pending + data).split(b"\n")
        for line in lines:
            self._line(line)
        return not self.flooded

    def count_raw(self, size: int) -> bool:
        """Count bytes the sandbox wrote outside the frames (its own stderr) towards the flood limit.

        Returns False when the run must be stopped, like ``feed``.
        """
        self._raw_bytes += size
        return not self.flooded

    def _line(self, line: bytes) -> None:
        try:
            frame = json.loads(line)
        except (ValueError, RecursionError):  # RecursionError: "[[[[..." from a hostile tool
            frame = None
        kind = frame.get("t") if isinstance(frame, dict) else None
        if not isinstance(kind, str):
            # Not a frame: bytes a tool wrote around its streams. Keep them as sandbox stderr.
            self._stray.append(line.decode("utf-8", "replace") + "\n")
            return
        if kind in _STREAMS and isinstance(frame.get("d"), str):
            stream = _STREAMS[kind]
            self._text[stream].append(frame["d"])
            if self._on_output is not None:
                self._on_output(stream, frame["d"])
        elif kind == "end" and self.end is None:
            self.end = frame
        elif kind == "val" and isinstance(frame.get("d"), str) and self.end is None:
            self.value = frame["d"]

    @property
    def stray(self) -> str:
        """Anything the sandbox printed that was not a frame."""
        return "".join(self._stray) + self._pending.decode("utf-8", "replace")

    def finish(
        self,
        *,
        mode: str,
        returncode: int | None,
        timeout_seconds: int,
        memory_limit_mb: int,
        timed_out: bool = False,
        out_of_memory: bool = False,
        sandbox_stderr: str = "",
        details: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """Turn what was read and how the sandbox ended into an ``ExecutionResult``."""
        end = self.end or {}
        stdout = "".join(self._text["stdout"])
        stderr = "".join(self._text["stderr"])
        error = _tool_error(end.get("error"))
        # A tool that reaches the frame descriptor can send any JSON: trust no field's type.
        truncated = end.get("truncated") if isinstance(end.get("truncated"), dict) else {}
        elapsed = end.get("elapsed")
        if not isinstance(elapsed, (int, float)) or isinstance(elapsed, bool):
            elapsed = 0.0
        notes = [
            f"[nexus: {name} was cut at {OUTPUT_LIMIT_BYTES // 1024} KB]"
            for name in ("stdout", "stderr")
            if truncated.get(name)
        ]
        if error is not None and error.traceback:
            stderr += "\n".join(error.traceback) + "\n"

        ok = bool(end.get("ok")) and not (timed_out or out_of_memory or self.flooded)
        if timed_out:
            message = f"Tool timed out after {timeout_seconds} s and was stopped"
        elif out_of_memory or (error is not None and error.ename == "MemoryError"):
            message = f"Tool exceeded its memory limit of {memory_limit_mb} MB"
        elif self.flooded:
            message = "Tool wrote more output than allowed and was stopped"
        elif ok:
            message = SUCCESS_MESSAGE
        elif error is not None:
            message = error.traceback[-1] if error.traceback else f"{error.ename}: {error.evalue}"
        elif isinstance(end.get("exit"), int):
            message = f"Tool exited with status {end['exit']}"
        else:
            message = _crash_message(returncode, sandbox_stderr + self.stray)
        if notes:
            stderr += "\n".join(notes) + "\n"
        if not ok and error is None:
            error = ToolError("ToolFailed", message, [message])
        return ExecutionResult(
            success=ok,
            message=message,
            mode=mode,
            stdout=stdout,
            stderr=stderr,
            execution_time_seconds=float(elapsed),
            error=None if ok else error,
            details=details or {},
            value=self.value if ok else None,
        )


def _tool_error(raw: object) -> ToolError | None:
    if not isinstance(raw, dict):
        return None
    traceback = raw.get("traceback")
    return ToolError(
        ename=str(raw.get("ename", "Error")),
        evalue=str(raw.get("evalue", "")),
        traceback=[str(line) for line in traceback] if isinstance(traceback, list) else [],
    )


def _crash_message(returncode: int | None, stderr: str) -> str:
    if returncode is not None and returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        reason = f"was killed by {name}"
    elif returncode is not None and returncode > 128:
        reason = f"was killed (exit code {returncode})"
    else:
        reason = f"ended without a report (exit code {returncode})"
    tail = stderr.strip().splitlines()[-1:] if stderr.strip() else []
    return "Sandbox " + reason + (f": {tail[0]}" if tail else "")
