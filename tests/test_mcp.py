"""The MCP server, driven by the official SDK's client over stdio and streamable HTTP (real subprocesses)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
import requests
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from spec_examples import DATE_CONVERTER, PENTAGONAL, PIPE_TO_JSON

from nexus_kernel.limits import (
    MEMORY_DEFAULT_MB,
    MEMORY_MAX_MB,
    MEMORY_MIN_MB,
    TIMEOUT_DEFAULT_S,
    TIMEOUT_MAX_S,
    TIMEOUT_MIN_S,
)
from nexus_kernel.mcp_server import tool_description
from nexus_kernel.policy import Policy, load_policy
from nexus_kernel.tool_schema import TOOL_NAME

UNSAFE = "import os\nprint(os.listdir('/'))\n"
# The tools' own clocks prove overlap: a quick tool's timestamp falls inside the slow tool's run.
SLOW = "import time\nprint('start', time.time())\ntime.sleep(3)\nprint('end', time.time())\n"
QUICK = "import time\nprint('now', time.time())\n"


def _env(mode: str) -> dict[str, str]:
    return {**os.environ, "NEXUS_EXECUTION_MODE": mode}


def _text(result: Any) -> str:
    return "\n".join(block.text for block in result.content if block.type == "text")


def _stamps(stdout: str) -> dict[str, float]:
    return {m[1]: float(m[2]) for m in re.finditer(r"^(start|end|now) ([0-9.]+)$", stdout, re.M)}


@asynccontextmanager
async def stdio_session(mode: str) -> AsyncIterator[ClientSession]:
    """``python -m nexus_kernel mcp`` spawned by the SDK's stdio client (which also stops it)."""
    params = StdioServerParameters(command=sys.executable, args=["-m", "nexus_kernel", "mcp"], env=_env(mode))
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


@asynccontextmanager
async def http_session(url: str) -> AsyncIterator[ClientSession]:
    async with streamable_http_client(url) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def http_server(mode: str) -> Iterator[tuple[str, int]]:
    """``nexus-kernel mcp --transport http`` on a free loopback port; yields (URL, pid), stops it after."""
    port = _free_port()
    cmd = [sys.executable, "-m", "nexus_kernel", "mcp", "--transport", "http", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=_env(mode), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"the MCP server exited with {proc.returncode} before listening"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the MCP server did not start listening"
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp", proc.pid
    finally:
        # What a supervisor sends; the server turns it into a clean exit.
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail("the MCP HTTP server did not stop on SIGTERM")


async def check_listing(session: ClientSession) -> None:
    tools = (await session.list_tools()).tools
    assert [t.name for t in tools] == [TOOL_NAME]
    tool = tools[0]
    schema = tool.input_schema
    assert schema["required"] == ["python_code"]
    props = schema["properties"]
    assert props["python_code"]["type"] == "string"
    assert {k: props["timeout"][k] for k in ("type", "minimum", "maximum", "default")} == {
        "type": "integer",
        "minimum": TIMEOUT_MIN_S,
        "maximum": TIMEOUT_MAX_S,
        "default": TIMEOUT_DEFAULT_S,
    }
    assert {k: props["memory_limit_mb"][k] for k in ("type", "minimum", "maximum", "default")} == {
        "type": "integer",
        "minimum": MEMORY_MIN_MB,
        "maximum": MEMORY_MAX_MB,
        "default": MEMORY_DEFAULT_MB,
    }
    # The description teaches what may be imported (from the policy) and what comes back.
    for module in ("datetime", "json", "math", "re"):
        assert re.search(rf"\b{re.escape(module)}\b", tool.description)
    for key in ("security_check", "tool_result", "stdout", "print()"):
        assert key in tool.description
    assert "tool_result" in tool.output_schema["required"]


async def check_date_converter(session: ClientSession, mode: str) -> None:
    # ClientSession also validates the structured content against the tool's output schema.
    result = await session.call_tool(
        TOOL_NAME, {"python_code": DATE_CONVERTER, "timeout": 30, "memory_limit_mb": 64}
    )
    response = result.structured_content
    assert not result.is_error, _text(result)
    assert response["success"] is True
    assert response["execution_mode"] == mode
    assert (response["timeout_seconds"], response["memory_limit_mb"]) == (30, 64)
    assert "ISO: 2025-09-07T14:30:22" in response["tool_result"]["stdout"].splitlines()
    assert "Human: 2025-09-07 14:30:22" in response["tool_result"]["stdout"]
    # Clients that only show text still get the output.
    assert "ISO: 2025-09-07T14:30:22" in _text(result)


async def check_bad_calls(session: ClientSession) -> None:
    """Refusals are tool errors a model can act on; the server keeps answering."""
    unsafe = await session.call_tool(TOOL_NAME, {"python_code": UNSAFE})
    assert unsafe.is_error
    check = unsafe.structured_content["security_check"]
    assert check["safe"] is False and check["violations"]
    assert unsafe.structured_content["execution_mode"] == "not_run"
    assert "violation" in _text(unsafe)

    for args, words in [
        ({"python_code": "print(1)", "timeout": 5}, ["timeout", str(TIMEOUT_MIN_S), str(TIMEOUT_MAX_S)]),
        ({"python_code": "print(1)", "timeout": 301}, ["timeout", str(TIMEOUT_MIN_S), str(TIMEOUT_MAX_S)]),
        ({"python_code": "print(1)", "memory_limit_mb": 4096}, ["memory_limit_mb", "32", "512"]),
    ]:
        result = await session.call_tool(TOOL_NAME, args)
        assert result.is_error
        assert result.structured_content["success"] is False
        message = result.structured_content["tool_result"]["message"]
        assert all(word in message for word in words), message
        assert message in _text(result)

    # Wrong shapes never reach the pipeline: the text says what to fix.
    for args, words in [
        ({"python_code": "print(1)", "timeout": "soon"}, ["timeout", "whole number", "10 to 300"]),
        ({"python_code": "print(1)", "timeout": True}, ["timeout", "a boolean"]),
        ({"timeout": 30}, ["python_code is required"]),
        ({"python_code": 42}, ["python_code must be a string"]),
        ({"python_code": "print(1)", "memory": 64}, ["unknown field 'memory'", "memory_limit_mb"]),
    ]:
        result = await session.call_tool(TOOL_NAME, args)
        assert result.is_error
        assert all(word in _text(result) for word in words), _text(result)

    with pytest.raises(MCPError, match="unknown tool 'rm_rf'"):
        await session.call_tool("rm_rf", {"python_code": "print(1)"})

    # Still answering, with the defaults filled in.
    after = await session.call_tool(TOOL_NAME, {"python_code": "print(6 * 7)"})
    assert not after.is_error, _text(after)
    assert after.structured_content["tool_result"]["stdout"].strip() == "42"
    assert after.structured_content["timeout_seconds"] == TIMEOUT_DEFAULT_S
    assert after.structured_content["memory_limit_mb"] == MEMORY_DEFAULT_MB


def test_stdio_session_fallback() -> None:
    async def scenario() -> None:
        async with stdio_session("fallback") as session:
            await check_listing(session)
            await check_date_converter(session, "fallback")
            pipe = await session.call_tool(TOOL_NAME, {"python_code": PIPE_TO_JSON, "timeout": 45})
            assert json.loads(pipe.structured_content["tool_result"]["stdout"]) == [
                {"name": "JOHN", "age": 25, "city": "NYC", "salary": 50000},
                {"name": "JANE", "age": 30, "city": "LA", "salary": 75000},
            ]
            pent = await session.call_tool(TOOL_NAME, {"python_code": PENTAGONAL, "memory_limit_mb": 64})
            stdout = pent.structured_content["tool_result"]["stdout"]
            assert "P(10) = 145, Valid: True" in stdout and "Is 145 pentagonal? True" in stdout
            await check_bad_calls(session)

    anyio.run(scenario)


def test_http_session_fallback() -> None:
    with http_server("fallback") as (url, _):

        async def scenario() -> None:
            async with http_session(url) as session:
                await check_listing(session)
                await check_date_converter(session, "fallback")
                await check_bad_calls(session)

        anyio.run(scenario)

        # DNS rebinding: a page on another site resolving its name to 127.0.0.1 must not reach the tool.
        initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
        headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
        foreign_host = requests.post(
            url, json=initialize, headers={**headers, "Host": "evil.example"}, timeout=30
        )
        assert foreign_host.status_code == 421
        foreign_origin = requests.post(
            url, json=initialize, headers={**headers, "Origin": "http://evil.example"}, timeout=30
        )
        assert foreign_origin.status_code == 403


@pytest.mark.docker
def test_stdio_session_docker_leaves_nothing_behind() -> None:
    async def scenario() -> int:
        async with stdio_session("auto") as session:
            (pid,) = _children_running("nexus_kernel", "mcp")
            await check_date_converter(session, "docker_isolated")
            await check_bad_calls(session)
        return pid

    pid = anyio.run(scenario)
    # The SDK client closed stdin (and would SIGTERM after 2 s): the server exits and removes its sandboxes.
    _wait_gone(pid)
    assert not _containers_of(pid)


@pytest.mark.docker
def test_http_session_docker_leaves_nothing_behind() -> None:
    with http_server("auto") as (url, pid):

        async def scenario() -> None:
            async with http_session(url) as session:
                await check_date_converter(session, "docker_isolated")

        anyio.run(scenario)
    assert not _containers_of(pid)


@pytest.mark.docker
def test_sigterm_mid_session_still_removes_the_sandboxes() -> None:
    """A desktop app quitting sends SIGTERM with the session open: a clean exit, no container left."""
    env = {**_env("auto"), "NEXUS_POOL_SIZE": "1"}
    cmd = [sys.executable, "-m", "nexus_kernel", "mcp"]
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdin and proc.stdout

    def request(ident: int, method: str, params: dict[str, Any]) -> dict[str, Any]:
        proc.stdin.write(
            json.dumps({"jsonrpc": "2.0", "id": ident, "method": method, "params": params}).encode()
        )
        proc.stdin.write(b"\n")
        proc.stdin.flush()
        while True:  # skip any notification sent before the reply
            message = json.loads(proc.stdout.readline())
            if message.get("id") == ident:
                return message

    try:
        # Raw JSON-RPC at the 2025-06-18 revision, as desktop assistants speak it today.
        hello = {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "raw", "version": "0"},
        }
        assert request(1, "initialize", hello)["result"]["serverInfo"]["name"] == "nexus-kernel"
        proc.stdin.write(b'{"jsonrpc": "2.0", "method": "notifications/initialized"}\n')
        reply = request(2, "tools/call", {"name": TOOL_NAME, "arguments": {"python_code": "print('hi')"}})
        assert reply["result"]["structuredContent"]["execution_mode"] == "docker_isolated"
        deadline = time.monotonic() + 60
        while not _containers_of(proc.pid):  # the pool refills: there is something to clean up
            assert time.monotonic() < deadline, "the warm pool never refilled"
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdin.close()
        proc.stdout.close()
    assert not _containers_of(proc.pid)


def _children_running(*words: str) -> list[int]:
    """PIDs of this process's children whose command line contains every one of ``words``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            argv = (entry / "cmdline").read_text().split("\0")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and all(word in argv for word in words):
            found.append(int(entry.name))
    return found


def _wait_gone(pid: int) -> None:
    deadline = time.monotonic() + 30
    while Path(f"/proc/{pid}").exists():
        assert time.monotonic() < deadline, f"MCP server {pid} is still running"
        time.sleep(0.1)


def _containers_of(pid: int) -> list[str]:
    """Names of sandbox containers (any state) started by process ``pid``."""
    import docker

    from nexus_kernel.executors.docker import LABEL_PID

    client = docker.from_env()
    try:
        return [c.name for c in client.containers.list(all=True, filters={"label": f"{LABEL_PID}={pid}"})]
    finally:
        client.close()


def test_slow_tool_does_not_block_the_server() -> None:
    """While a 3-second tool runs, quick calls on the same session come back (tools run in threads)."""

    async def scenario() -> None:
        async with stdio_session("fallback") as session:
            slow: dict[str, Any] = {}
            quick: list[tuple[dict[str, float], bool]] = []

            async def run_slow() -> None:
                slow["result"] = await session.call_tool(TOOL_NAME, {"python_code": SLOW})

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(run_slow)
                while "result" not in slow:
                    result = await session.call_tool(TOOL_NAME, {"python_code": QUICK})
                    assert not result.is_error, _text(result)
                    quick.append(
                        (_stamps(result.structured_content["tool_result"]["stdout"]), "result" not in slow)
                    )
                    await anyio.sleep(0.2)  # pacing only; nothing below depends on it

            window = _stamps(slow["result"].structured_content["tool_result"]["stdout"])
            assert set(window) == {"start", "end"}, slow["result"]
            overlapped = [
                stamps["now"]
                for stamps, slow_pending in quick
                if slow_pending and window["start"] < stamps["now"] < window["end"]
            ]
            assert overlapped, f"no quick call ran and returned during the slow one: {window} {quick}"

    anyio.run(scenario)


def test_description_follows_the_policy() -> None:
    narrow = Policy(allowed_modules=frozenset({"math", "json"}))
    text = tool_description(narrow)
    assert "json, math." in text
    assert "datetime" not in text
    # Denied modules never show up as allowed, even if a configuration lists them.
    everything = tool_description(load_policy())
    allowed_part = everything.split("Imports allowed (standard library only): ")[1].split(". Any other")[0]
    assert not re.search(r"\b(os|subprocess|socket)\b", allowed_part)
