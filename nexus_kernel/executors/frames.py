"""Host side of the bootstrap protocol: read frames, stream output, and say how a run ended.

Both executors feed the bytes they read from the sandbox into a ``FrameReader`` and turn the end
of the run into an ``ExecutionResult`` with ``FrameReader.finish``, so a timeout, an exhausted
memory limit or a crash reads the same in every mode.
"""

from __future__ import annotations

import json
import re
import signal
from typing import Any

from ..limits import OUTPUT_LIMIT_BYTES
from .base import ExecutionResult, OutputCallback, ToolError

SUCCESS_MESSAGE = "Dynamic tool executed successfully"
#: Output the host accepts before it stops a run, counted as the text of the stream frames (UTF-8
#: bytes) plus every other byte as it came: the bootstrap caps each stream itself, so more than this
#: means the tool bypassed it (writing to a raw file descriptor, say). The frames' JSON around the
#: text is not counted: an honest tool printing many short lines sends ~25 bytes of it per line.
RAW_BYTES_LIMIT = 3 * OUTPUT_LIMIT_BYTES + 64 * 1024
#: Bytes as they came, JSON included: bounds the parsing work for frames whose text is tiny or
#: empty (only a tool that reached the frame descriptor sends those). An honest run stays below it:
#: at most ~23 bytes of JSON per byte of text (one "\n" per frame) on each 1 MB-capped stream.
FRAME_BYTES_LIMIT = 48 * OUTPUT_LIMIT_BYTES
#: The longest frame line an honest run sends: one write's text (at most the 1 MB cap) in JSON, where
#: a control character takes 6 bytes; or the ``val`` frame (1 M characters, up to 12 bytes each).
LINE_BYTES_LIMIT = 16 * OUTPUT_LIMIT_BYTES
_STREAMS = {"out": "stdout", "err": "stderr"}
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """``text`` with lone surrogates (which JSON can carry but UTF-8 cannot) replaced by U+FFFD."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


class FrameReader:
    """Parses the bootstrap's JSON-lines frames as bytes arrive."""

    def __init__(self, on_output: OutputCallback | None = None) -> None:
        self._on_output = on_output
        self._pending: list[bytes] = []  # the unfinished line, in pieces (joined once, when it ends)
        self._pending_bytes = 0
        self._raw_bytes = 0  # everything, as it came
        self._counted = 0  # what counts against RAW_BYTES_LIMIT (see there)
        self._text: dict[str, list[str]] = {"stdout": [], "stderr": []}
        self._stray: list[str] = []
        self.end: dict[str, Any] | None = None
        #: The ``val`` frame: repr of the code's final expression, when the header asked for it.
        self.value: str | None = None

    @property
    def flooded(self) -> bool:
        """True once the sandbox has sent more than any honest run can."""
        return (
            self._counted > RAW_BYTES_LIMIT
            or self._raw_bytes > FRAME_BYTES_LIMIT
            or self._pending_bytes > LINE_BYTES_LIMIT
        )

    def feed(self, data: bytes) -> bool:
        """Take bytes from the sandbox; returns False when the run must be stopped (flood)."""
        if self.flooded:
            return False
        self._raw_bytes += len(data)
        start = 0
        while (end := data.find(b"\n", start)) >= 0:
            self._pending.append(data[start:end])
            line = b"".join(self._pending)
            self._pending, self._pending_bytes = [], 0
            self._line(line)
            start = end + 1
            if self.flooded:
                return False
        if start < len(data):
            self._pending.append(data[start:])
            self._pending_bytes += len(data) - start
        return not self.flooded

    def count_raw(self, size: int) -> bool:
        """Count bytes the sandbox wrote outside the frames (its own stderr) towards the flood limit.

        Returns False when the run must be stopped, like ``feed``.
        """
        self._raw_bytes += size
        self._counted += size
        return not self.flooded

    def _line(self, line: bytes) -> None:
        try:
            frame = json.loads(line)
        except (ValueError, RecursionError):  # RecursionError: "[[[[..." from a hostile tool
            frame = None
        kind = frame.get("t") if isinstance(frame, dict) else None
        if not isinstance(kind, str):
            # Not a frame: bytes a tool wrote around its streams. Keep them as sandbox stderr.
            self._counted += len(line) + 1
            self._stray.append(line.decode("utf-8", "replace") + "\n")
            return
        if kind in _STREAMS and isinstance(frame.get("d"), str):
            stream, text = _STREAMS[kind], clean_text(frame["d"])
            self._counted += len(text.encode("utf-8"))
            self._text[stream].append(text)
            if self._on_output is not None:
                self._on_output(stream, text)
            return
        self._counted += len(line) + 1
        if kind == "end" and self.end is None:
            self.end = frame
        elif kind == "val" and isinstance(frame.get("d"), str) and self.end is None:
            self.value = clean_text(frame["d"])

    @property
    def stray(self) -> str:
        """Anything the sandbox printed that was not a frame."""
        return "".join(self._stray) + b"".join(self._pending).decode("utf-8", "replace")

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
        ename=clean_text(str(raw.get("ename", "Error"))),
        evalue=clean_text(str(raw.get("evalue", ""))),
        traceback=[clean_text(str(line)) for line in traceback] if isinstance(traceback, list) else [],
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
