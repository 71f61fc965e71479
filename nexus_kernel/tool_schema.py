"""The tool's request and response as JSON Schema, and the request-shape check the front doors share.

The MCP server and the REST API describe and check requests the same way, from ``limits.py``. Only the
*shape* is checked here (an object, known keys, JSON types); whether a value is in range is the
pipeline's decision (``api.run_tool``), so a front door never re-implements the limits. The shipped
``openapi.json`` carries the same two schemas; a test keeps them equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .limits import (
    MEMORY_DEFAULT_MB,
    MEMORY_MAX_MB,
    MEMORY_MIN_MB,
    TIMEOUT_DEFAULT_S,
    TIMEOUT_MAX_S,
    TIMEOUT_MIN_S,
)

TOOL_NAME = "create_and_run_tool"
FIELDS = ("python_code", "timeout", "memory_limit_mb")


@dataclass(frozen=True)
class ToolArguments:
    """A well-formed request: the code and two whole numbers (not yet checked against the ranges)."""

    python_code: str
    timeout: int = TIMEOUT_DEFAULT_S
    memory_limit_mb: int = MEMORY_DEFAULT_MB


def parse_arguments(arguments: object) -> ToolArguments | str:
    """``ToolArguments`` for a JSON object of the documented shape, else a message naming the problem.

    Missing or ``null`` limits take the defaults; ``30.0`` counts as ``30`` (JSON Schema calls it an
    integer, and some clients send every number as a float). Out-of-range values pass through.
    """
    if not isinstance(arguments, dict):
        return (
            f'the request must be a JSON object like {{"python_code": "print(1)"}}, '
            f"got {_json_type(arguments)}"
        )
    unknown = sorted(str(key) for key in arguments if key not in FIELDS)
    if unknown:
        return f"unknown field {', '.join(map(repr, unknown))}: the fields are {', '.join(FIELDS)}"
    if "python_code" not in arguments:
        return "python_code is required: the Python source to run, as a string"
    code = arguments["python_code"]
    if not isinstance(code, str):
        return f"python_code must be a string of Python source, got {_json_type(code)}"
    timeout = _whole_number(arguments, "timeout", TIMEOUT_DEFAULT_S, TIMEOUT_MIN_S, TIMEOUT_MAX_S, "seconds")
    if isinstance(timeout, str):
        return timeout
    memory = _whole_number(
        arguments, "memory_limit_mb", MEMORY_DEFAULT_MB, MEMORY_MIN_MB, MEMORY_MAX_MB, "megabytes"
    )
    if isinstance(memory, str):
        return memory
    return ToolArguments(code, timeout, memory)


def _whole_number(args: dict[str, Any], name: str, default: int, low: int, high: int, unit: str) -> int | str:
    value = args.get(name)
    if value is None:
        return default
    # bool is an int subclass: `true` is not a timeout.
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return f"{name} must be a whole number of {unit} from {low} to {high}, got {_json_type(value)} {value!r}"


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def input_schema() -> dict[str, Any]:
    """JSON Schema of a request: types, defaults and ranges from ``limits.py``."""
    return {
        "type": "object",
        "properties": {
            "python_code": {
                "type": "string",
                "description": "Python 3 source, run once as a script. print() whatever you want back.",
            },
            "timeout": {
                "type": "integer",
                "minimum": TIMEOUT_MIN_S,
                "maximum": TIMEOUT_MAX_S,
                "default": TIMEOUT_DEFAULT_S,
                "description": f"Execution timeout in seconds ({TIMEOUT_MIN_S}-{TIMEOUT_MAX_S}).",
            },
            "memory_limit_mb": {
                "type": "integer",
                "minimum": MEMORY_MIN_MB,
                "maximum": MEMORY_MAX_MB,
                "default": MEMORY_DEFAULT_MB,
                "description": f"Memory limit in megabytes ({MEMORY_MIN_MB}-{MEMORY_MAX_MB}).",
            },
        },
        "required": ["python_code"],
        "additionalProperties": False,
    }


def output_schema() -> dict[str, Any]:
    """JSON Schema of the documented response (``response.build``); docker-only keys are optional."""
    string, number, boolean = {"type": "string"}, {"type": "number"}, {"type": "boolean"}
    # The limits are echoed back as the caller sent them, so a refused request may echo any JSON value.
    echoed = {"type": ["integer", "number", "string", "boolean", "null"]}
    # The keys of response.DOCKER_KEYS (a test keeps them in step).
    docker_types: dict[str, dict[str, Any]] = {
        "docker_image": string,
        "container_name": string,
        "container_execution_time_seconds": number,
        "container_return_code": {"type": ["integer", "null"]},
        "container_stderr": string,
    }
    return {
        "type": "object",
        "properties": {
            "success": boolean,
            "tool_id": string,
            "execution_mode": {
                "type": "string",
                "description": "docker_isolated, fallback, or not_run when the code was refused.",
            },
            "timeout_seconds": echoed,
            "memory_limit_mb": echoed,
            "security_check": {
                "type": "object",
                "properties": {"safe": boolean, "violations": {"type": "array", "items": string}},
                "required": ["safe", "violations"],
            },
            **docker_types,
            "tool_result": {
                "type": "object",
                "properties": {
                    "success": boolean,
                    "tool_id": string,
                    "execution_time_seconds": number,
                    "stdout": string,
                    "stderr": string,
                    "message": string,
                },
                "required": ["success", "tool_id", "execution_time_seconds", "stdout", "stderr", "message"],
            },
        },
        "required": [
            "success",
            "tool_id",
            "execution_mode",
            "timeout_seconds",
            "memory_limit_mb",
            "security_check",
            "tool_result",
        ],
        # Executors may add mode-specific keys (the fallback reports its isolation level).
        "additionalProperties": True,
    }


def sync_openapi(path: str | None = None) -> str:
    """Rewrite the two schemas in the shipped ``openapi.json`` from this module (after a limits change)."""
    import json
    from pathlib import Path

    target = Path(path) if path else Path(__file__).with_name("openapi.json")
    document = json.loads(target.read_text(encoding="utf-8"))
    document["components"]["schemas"].update(ToolRequest=input_schema(), ToolResponse=output_schema())
    target.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return str(target)


if __name__ == "__main__":
    print(f"updated {sync_openapi()}")
