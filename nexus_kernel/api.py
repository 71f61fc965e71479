"""The pipeline every front door calls: limits, validation, execution, response."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from . import response, validator
from .executors.base import (
    ExecutionRequest,
    ExecutionResult,
    ExecutorUnavailable,
    OutputCallback,
    ToolError,
)
from .executors.selector import select_executor
from .limits import MEMORY_DEFAULT_MB, TIMEOUT_DEFAULT_S, Limits
from .policy import Policy, load_policy

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ToolRun:
    """A response plus what a rich front door needs beyond it (the exception, for Jupyter)."""

    response: dict[str, Any]
    error: ToolError | None
    #: repr() of the code's final expression, with ``echo_last_expression=True`` (a notebook's result).
    value: str | None = None


def create_and_run_tool(
    python_code: str, timeout: int = TIMEOUT_DEFAULT_S, memory_limit_mb: int = MEMORY_DEFAULT_MB
) -> dict[str, Any]:
    """Validate ``python_code`` and run it once in a sandbox; returns the documented response.

    Never raises for bad input: out-of-range limits, empty or non-str code, syntax errors and
    unsafe code all return ``success: False`` with a message that names the problem.
    """
    return run_tool(python_code, timeout, memory_limit_mb).response


def run_tool(
    python_code: object,
    timeout: object = TIMEOUT_DEFAULT_S,
    memory_limit_mb: object = MEMORY_DEFAULT_MB,
    *,
    mode: str | None = None,
    on_output: OutputCallback | None = None,
    policy: Policy | None = None,
    echo_last_expression: bool = False,
) -> ToolRun:
    """``create_and_run_tool`` for front doors: a mode override, live output, the exception.

    ``echo_last_expression``: the sandbox also reports the repr of a final expression (``value``),
    the way a notebook shows a cell's result. The response dict is the same either way.
    """
    tool_id = response.new_tool_id()
    policy = policy or load_policy()

    def respond(result: ExecutionResult, security_check: dict[str, Any]) -> ToolRun:
        built = response.build(
            tool_id=tool_id,
            timeout=timeout,
            memory_limit_mb=memory_limit_mb,
            security_check=_public(security_check),
            result=result,
        )
        return ToolRun(built, result.error, result.value)

    def refuse(message: str, security_check: dict[str, Any], ename: str) -> ToolRun:
        result = response.refusal(message)
        result.error = ToolError(ename, message, [f"{ename}: {message}"])
        return respond(result, security_check)

    if not isinstance(python_code, str):
        check = {"safe": False, "violations": ["python_code must be a str"]}
        return refuse(f"python_code must be a str, got {type(python_code).__name__}", check, "TypeError")
    check = validator.check(python_code, policy)
    limits = Limits.check(timeout, memory_limit_mb)
    if isinstance(limits, str):
        return refuse(limits, check, "ValueError")
    if not python_code.strip():
        return refuse("python_code is empty: there is nothing to run", check, "ValueError")
    if check.get("syntax_error"):
        return refuse(check["syntax_error"], check, "SyntaxError")
    if not check["safe"]:
        count = len(check["violations"])
        message = f"Security validation failed ({count} violation{'s' * (count != 1)}); the code was not run"
        return refuse(message, check, "SecurityViolation")

    try:
        executor = select_executor(mode)
    except ExecutorUnavailable as exc:
        return refuse(str(exc), check, "SandboxUnavailable")
    runtime_policy = policy.runtime_config()
    if echo_last_expression:
        runtime_policy["echo_last_expression"] = True
    request = ExecutionRequest(
        tool_id=tool_id,
        code=python_code,
        timeout_seconds=limits.timeout_seconds,
        memory_limit_mb=limits.memory_limit_mb,
        runtime_policy=runtime_policy,
        on_output=on_output,
    )
    try:
        result = executor.run(request)
    except ExecutorUnavailable as exc:
        return refuse(str(exc), check, "SandboxUnavailable")
    except Exception as exc:  # the API promises a response, never an exception
        log.exception("executor %s failed", getattr(executor, "mode", executor))
        return refuse(f"internal error in the {executor.mode} executor: {exc}", check, "SandboxError")
    return respond(result, check)


def _public(check: dict[str, Any]) -> dict[str, Any]:
    """The ``security_check`` as documented: only ``safe`` and ``violations``."""
    return {"safe": check["safe"], "violations": list(check["violations"])}
