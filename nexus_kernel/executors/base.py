"""What every executor takes and gives back. Executors never build the response dict."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

#: Called with ("stdout" | "stderr", text) as the tool writes, so front doors can stream.
OutputCallback = Callable[[str, str], None]


@dataclass(frozen=True)
class ExecutionRequest:
    """One tool to run: the code (already validated) and its limits."""

    tool_id: str
    code: str
    timeout_seconds: int
    memory_limit_mb: int
    #: The policy's runtime part, sent to the in-sandbox bootstrap (see ``policy.runtime_config``).
    runtime_policy: dict[str, Any]
    on_output: OutputCallback | None = None


@dataclass(frozen=True)
class ToolError:
    """The exception that ended a tool, as Jupyter wants it (ename, evalue, traceback lines)."""

    ename: str
    evalue: str
    traceback: list[str] = field(default_factory=list)


@dataclass
class ExecutionResult:
    """What happened when a tool ran (or why it did not)."""

    success: bool
    message: str
    mode: str
    stdout: str = ""
    stderr: str = ""
    #: Time the tool's own code ran, measured inside the sandbox.
    execution_time_seconds: float = 0.0
    error: ToolError | None = None
    #: Mode-specific response keys: docker's ``container_*`` keys, or the fallback's ``isolation``.
    details: dict[str, Any] = field(default_factory=dict)
    #: repr() of the code's final expression, if the request asked for it (``echo_last_expression``
    #: in the runtime policy, see bootstrap.py). Not part of the response dict.
    value: str | None = None


class ExecutorUnavailable(RuntimeError):
    """The executor cannot run anything here (no engine, no image...); the text says how to fix it."""


class Executor(Protocol):
    """A sandbox that runs one tool to completion and always cleans up after it."""

    #: The ``execution_mode`` value this executor reports.
    mode: str

    def run(self, request: ExecutionRequest) -> ExecutionResult:
        """Run the tool; must kill and remove everything it started, also on KeyboardInterrupt."""
        ...
