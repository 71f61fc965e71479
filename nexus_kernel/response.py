"""The documented response format (the spec's "Response Format"), built here and nowhere else."""

from __future__ import annotations

import secrets
from typing import Any

from .executors.base import ExecutionResult

#: ``execution_mode`` when the code never reached an executor (bad limits, bad code, rejected).
NOT_RUN = "not_run"

#: Keys present only in docker mode, in the spec's order.
DOCKER_KEYS = (
    "docker_image",
    "container_name",
    "container_execution_time_seconds",
    "container_return_code",
    "container_stderr",
)


def new_tool_id() -> str:
    """Eight random hex characters, unique per call."""
    return secrets.token_hex(4)


def build(
    *,
    tool_id: str,
    timeout: object,
    memory_limit_mb: object,
    security_check: dict[str, Any],
    result: ExecutionResult,
) -> dict[str, Any]:
    """Assemble the response dict for a run (or a refusal) of one tool."""
    response: dict[str, Any] = {
        "success": result.success,
        "tool_id": tool_id,
        "execution_mode": result.mode,
        "timeout_seconds": _jsonable(timeout),
        "memory_limit_mb": _jsonable(memory_limit_mb),
        "security_check": security_check,
    }
    # Mode-specific keys (docker's container_* keys, or the fallback's isolation level).
    response.update(result.details)
    response["tool_result"] = {
        "success": result.success,
        "tool_id": tool_id,
        "execution_time_seconds": round(result.execution_time_seconds, 3),
        "stdout": result.stdout,
        "stderr": result.stderr,
        "message": result.message,
    }
    return response


def refusal(message: str, mode: str = NOT_RUN) -> ExecutionResult:
    """An ``ExecutionResult`` for code that was not run, carrying the reason."""
    return ExecutionResult(success=False, message=message, mode=mode)


def _jsonable(value: object) -> object:
    # Echo the caller's limit back, but never something json.dumps would choke on.
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)
