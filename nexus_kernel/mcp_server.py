"""``nexus-kernel mcp``: ``create_and_run_tool`` as a Model Context Protocol tool (stdio or streamable HTTP).

Built on the official SDK's low-level ``Server`` (mcp 2.x) so the tool's input and output schemas are
exactly ``tool_schema``'s, with the ranges and defaults from ``limits.py``. Each call returns the
documented response as structured content plus a text summary for clients that only show text; a
failed or refused run is a tool error (``isError``) whose text says what to fix. Tools block, so they
run in worker threads (at most ``MAX_CONCURRENT_TOOLS`` at once) and the event loop keeps answering.
"""

from __future__ import annotations

import atexit
import functools
import ipaddress
import logging
import os
import signal
import sys
from typing import Any

import anyio
import anyio.to_thread
import mcp_types as types
from mcp.server import Server
from mcp.shared.exceptions import MCPError

from . import __version__
from .api import create_and_run_tool
from .limits import (
    MAX_CONCURRENT_TOOLS,
    MEMORY_DEFAULT_MB,
    MEMORY_MAX_MB,
    MEMORY_MIN_MB,
    OUTPUT_LIMIT_BYTES,
    TIMEOUT_DEFAULT_S,
    TIMEOUT_MAX_S,
    TIMEOUT_MIN_S,
    TMP_SIZE_MB,
)
from .policy import Policy, load_policy
from .tool_schema import TOOL_NAME, input_schema, output_schema, parse_arguments

log = logging.getLogger(__name__)

SERVER_NAME = "nexus-kernel"
HTTP_PATH = "/mcp"
#: Characters of each of stdout/stderr repeated in the text summary (the structured content has all).
SUMMARY_OUTPUT_CHARS = 16_000


def tool_description(policy: Policy | None = None) -> str:
    """What a model needs to write a good call: what runs, what it may import, what comes back."""
    policy = policy or load_policy()
    modules = ", ".join(sorted(m for m in policy.allowed_modules if policy.module_allowed(m)))
    blocked = ", ".join(sorted(policy.blocked_builtins))
    return f"""\
Write a short Python 3 program and run it once in a sandbox; get back what it printed. Use it for a \
task no other tool covers: converting or parsing data formats, calculations, text processing, a \
one-off algorithm.

How it runs: the code is a script, not a function: print() every result you need (there is no return \
value). Each call is a fresh, isolated sandbox (a Docker container with no network and a read-only \
filesystem, or a restricted local process when Docker is unavailable): nothing persists between calls, \
only /tmp ({TMP_SIZE_MB} MB) is writable, there is no network and no pip.

Imports allowed (standard library only): {modules}. Any other import (os, subprocess, socket, \
pathlib, ...) and the builtins {blocked} are refused before the code runs.

Limits: timeout {TIMEOUT_MIN_S}-{TIMEOUT_MAX_S} s (default {TIMEOUT_DEFAULT_S}), memory_limit_mb \
{MEMORY_MIN_MB}-{MEMORY_MAX_MB} (default {MEMORY_DEFAULT_MB}); stdout and stderr are each cut at \
{OUTPUT_LIMIT_BYTES / 2**20:g} MB.

Returns the response as structured content: success, tool_id, execution_mode, timeout_seconds, \
memory_limit_mb, security_check {{safe, violations}}, tool_result {{success, stdout, stderr, message, \
execution_time_seconds}} (plus container_* details in Docker mode), and a text summary with the output. \
When success is false the call is a tool error: read tool_result.message and security_check.violations, \
fix the code or the arguments, and call again."""


def build_server(policy: Policy | None = None) -> Server[Any]:
    """The MCP server with its one tool (``policy`` only shapes the description; runs load their own)."""
    tool = types.Tool(
        name=TOOL_NAME,
        title="Run a one-time Python tool",
        description=tool_description(policy),
        input_schema=input_schema(),
        output_schema=output_schema(),
        # Not read-only: it runs arbitrary code (in a sandbox), so clients should keep asking the user.
        annotations=types.ToolAnnotations(
            title="Run a one-time Python tool",
            destructive_hint=False,
            idempotent_hint=False,
            open_world_hint=False,
        ),
    )
    limiter = anyio.CapacityLimiter(MAX_CONCURRENT_TOOLS)

    async def list_tools(ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[tool])

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        if params.name != TOOL_NAME:
            raise MCPError(
                types.INVALID_PARAMS, f"unknown tool {params.name!r}: the only tool is {TOOL_NAME}"
            )
        parsed = parse_arguments(params.arguments if params.arguments is not None else {})
        if isinstance(parsed, str):
            return _tool_error(f"{TOOL_NAME} was not run: {parsed}")
        run = functools.partial(
            create_and_run_tool, parsed.python_code, parsed.timeout, parsed.memory_limit_mb
        )
        try:
            response = await anyio.to_thread.run_sync(run, limiter=limiter)
        except Exception as exc:
            log.exception("create_and_run_tool raised")
            return _tool_error(f"internal error in {TOOL_NAME}: {type(exc).__name__}: {exc}")
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=summarize(response))],
            structured_content=response,
            is_error=not response.get("success", False),
        )

    return Server(
        SERVER_NAME,
        version=__version__,
        title="Nexus one-time tools",
        instructions=f"Call {TOOL_NAME} to run a short standard-library Python program in a sandbox "
        "when no other tool fits; print() the results.",
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


def _tool_error(message: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=message)], is_error=True)


def summarize(response: dict[str, Any]) -> str:
    """A few lines a model can read: outcome, message, violations, then the tool's output."""
    result = response.get("tool_result", {})
    outcome = "succeeded" if response.get("success") else "failed"
    lines = [
        f"{TOOL_NAME} {outcome} (tool {response.get('tool_id')}, {response.get('execution_mode')}, "
        f"{result.get('execution_time_seconds', 0)} s): {result.get('message', '')}"
    ]
    violations = response.get("security_check", {}).get("violations") or []
    if violations:
        lines.append("security violations:")
        lines.extend(f"- {v}" for v in violations)
    for stream in ("stdout", "stderr"):
        text = result.get(stream) or ""
        if text:
            cut = text[:SUMMARY_OUTPUT_CHARS]
            more = len(text) - len(cut)
            note = f"\n[... {more} more characters in tool_result.{stream}]" if more else ""
            lines.append(f"{stream}:\n{cut.rstrip()}{note}")
    return "\n".join(lines)


async def _serve_stdio(server: Server[Any]) -> None:
    from mcp.server.stdio import stdio_server

    # stdio_server points fd 1 at stderr while serving, so nothing a tool or library prints reaches the wire.
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


async def _serve_http(server: Server[Any], host: str, port: int) -> None:
    import uvicorn

    # For loopback hosts the SDK turns on DNS-rebinding protection (Host and Origin must be local).
    app = server.streamable_http_app(streamable_http_path=HTTP_PATH, host=host)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
    print(f"nexus-kernel MCP server: http://{_url_host(host)}:{port}{HTTP_PATH}", file=sys.stderr, flush=True)
    await uvicorn.Server(config).serve()


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(transport: str = "stdio", host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve until the client hangs up (stdio) or the process is interrupted or terminated."""
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    if transport not in ("stdio", "http"):
        raise ValueError(f"unknown transport {transport!r}: use 'stdio' or 'http'")
    server = build_server()
    if transport == "http" and not _is_loopback(host):
        log.warning(
            "serving MCP on %s without authentication: anyone who can reach this port can run code "
            "in your sandbox. Prefer the default 127.0.0.1.",
            host,
        )
    # SIGTERM (a desktop app quitting, or the SDK's stdio client 2 s after it closes our stdin) must end
    # in a normal exit: the executors' exit handlers remove the sandboxes this process started.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    interrupted = False
    try:
        if transport == "stdio":
            anyio.run(_serve_stdio, server)
        else:
            anyio.run(_serve_http, server, host, port)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        # From here on the process is cleaning up; a second SIGTERM must not cut that short.
        signal.signal(signal.SIGTERM, signal.SIG_IGN if previous == signal.SIG_DFL else previous)
    if interrupted and transport == "stdio":
        _exit_now()


def _exit_now() -> None:
    """Run the exit handlers, then leave without waiting for the transport's stdin reader.

    That reader is a worker thread blocked on a pipe the client still holds open, and the interpreter
    would wait for it forever. The exit handlers are what matter: they remove this process's sandboxes
    (also one a tool was still running in).
    """
    atexit._run_exitfuncs()
    logging.shutdown()
    sys.stderr.flush()
    os._exit(0)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
