"""create_and_run_tool end to end: the documented response, bad input, the spec's examples, both modes."""

from __future__ import annotations

import json
import re

import pytest
from spec_examples import (
    DATE_CONVERTER,
    DATE_CONVERTER_OUTPUT,
    PENTAGONAL,
    PENTAGONAL_OUTPUT,
    PIPE_TO_JSON,
    PIPE_TO_JSON_OUTPUT,
)

from nexus_kernel import create_and_run_tool
from nexus_kernel.response import DOCKER_KEYS

MODES = ["fallback", pytest.param("docker", marks=pytest.mark.docker)]

TOP_KEYS = {
    "success": bool,
    "tool_id": str,
    "execution_mode": str,
    "timeout_seconds": int,
    "memory_limit_mb": int,
    "security_check": dict,
    "tool_result": dict,
}
DOCKER_TYPES = {
    "docker_image": str,
    "container_name": str,
    "container_execution_time_seconds": float,
    "container_return_code": int,
    "container_stderr": str,
}
RESULT_KEYS = {
    "success": bool,
    "tool_id": str,
    "execution_time_seconds": float,
    "stdout": str,
    "stderr": str,
    "message": str,
}

@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("NEXUS_EXECUTION_MODE", request.param)
    return request.param


def assert_shape(response: dict, mode: str | None) -> None:
    """Every documented key with its type; docker keys exactly in docker mode."""
    for key, kind in TOP_KEYS.items():
        assert isinstance(response[key], kind), key
    assert re.fullmatch(r"[0-9a-f]{8}", response["tool_id"])
    assert set(response["security_check"]) == {"safe", "violations"}
    assert isinstance(response["security_check"]["safe"], bool)
    assert all(isinstance(v, str) for v in response["security_check"]["violations"])
    result = response["tool_result"]
    assert set(result) == set(RESULT_KEYS)
    for key, kind in RESULT_KEYS.items():
        assert isinstance(result[key], kind), key
    assert result["tool_id"] == response["tool_id"]
    assert result["success"] == response["success"]
    if mode == "docker":
        assert response["execution_mode"] == "docker_isolated"
        for key, kind in DOCKER_TYPES.items():
            assert isinstance(response[key], kind), key
        assert response["container_name"] == f"nexus-dynamic-tool-{response['tool_id']}"
    elif mode == "fallback":
        assert response["execution_mode"] == "fallback"
        assert response["isolation"] in {"bubblewrap", "unshare", "process"}
        assert not set(DOCKER_KEYS) & set(response)
    json.dumps(response)  # the whole response is JSON


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (DATE_CONVERTER, DATE_CONVERTER_OUTPUT),
        (PIPE_TO_JSON, PIPE_TO_JSON_OUTPUT),
        (PENTAGONAL, PENTAGONAL_OUTPUT),
    ],
    ids=["date-converter", "pipe-to-json", "pentagonal"],
)
def test_spec_examples(mode: str, code: str, expected: str) -> None:
    response = create_and_run_tool(code, timeout=30, memory_limit_mb=64)
    assert_shape(response, mode)
    assert response["success"], response
    assert response["security_check"] == {"safe": True, "violations": []}
    assert response["tool_result"]["message"] == "Dynamic tool executed successfully"
    assert response["tool_result"]["stdout"] == expected
    assert response["timeout_seconds"] == 30 and response["memory_limit_mb"] == 64


def test_tool_ids_are_unique(mode: str) -> None:
    ids = {create_and_run_tool("print(1)")["tool_id"] for _ in range(5)}
    assert len(ids) == 5


def test_tool_exception_is_reported_with_its_last_line(mode: str) -> None:
    response = create_and_run_tool("print('before')\nx = 1 / 0\n", timeout=10)
    assert_shape(response, mode)
    assert response["success"] is False
    assert response["tool_result"]["stdout"] == "before\n"
    assert response["tool_result"]["message"] == "ZeroDivisionError: division by zero"
    assert 'File "<tool>", line 2' in response["tool_result"]["stderr"]
    if mode == "docker":
        assert response["container_return_code"] == 1


def test_ordinary_python_keeps_working(mode: str) -> None:
    code = """
import math, sys
from collections import namedtuple
class Shape:
    def __init__(self, n): self.n = n
    def __repr__(self): return f"{type(self).__name__}({self.n})"
P = namedtuple("P", "x y")
try:
    1 / 0
except ZeroDivisionError:
    print("caught")
print(Shape(3), P(1, 2)._asdict(), math.isqrt(17))
with open("/tmp/note.txt", "w") as f:
    f.write("kept in /tmp")
print(open("/tmp/note.txt").read())
print("to stderr", file=sys.stderr)
"""
    response = create_and_run_tool(code, timeout=10)
    assert response["success"], response
    assert response["tool_result"]["stdout"] == "caught\nShape(3) {'x': 1, 'y': 2} 4\nkept in /tmp\n"
    assert response["tool_result"]["stderr"] == "to stderr\n"


def test_sys_exit_zero_is_success_and_nonzero_is_failure(mode: str) -> None:
    assert create_and_run_tool("import sys\nsys.exit(0)")["success"] is True
    failed = create_and_run_tool("import sys\nsys.exit(3)")
    assert failed["success"] is False
    assert failed["tool_result"]["message"] == "Tool exited with status 3"


def test_unsafe_code_is_not_run(mode: str) -> None:
    response = create_and_run_tool("import socket\nprint('ran')\n")
    assert_shape(response, None)
    assert response["success"] is False
    assert response["security_check"]["safe"] is False
    assert response["security_check"]["violations"][0].startswith("line 1:")
    assert response["tool_result"]["stdout"] == ""
    assert "Security validation failed" in response["tool_result"]["message"]


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"timeout": 5}, "timeout must be between 10 and 300 seconds, got 5"),
        ({"timeout": 301}, "timeout must be between 10 and 300 seconds, got 301"),
        ({"timeout": "60"}, "timeout must be a whole number of seconds from 10 to 300"),
        ({"timeout": 12.5}, "timeout must be a whole number of seconds from 10 to 300"),
        ({"timeout": True}, "timeout must be a whole number of seconds from 10 to 300"),
        ({"memory_limit_mb": 16}, "memory_limit_mb must be between 32 and 512 MB, got 16"),
        ({"memory_limit_mb": 1024}, "memory_limit_mb must be between 32 and 512 MB, got 1024"),
        ({"memory_limit_mb": None}, "memory_limit_mb must be a whole number of MB from 32 to 512"),
    ],
)
def test_out_of_range_limits_are_refused(kwargs: dict, needle: str) -> None:
    response = create_and_run_tool("print(1)", **kwargs)
    assert_shape({**response, "timeout_seconds": 0, "memory_limit_mb": 0}, None)
    assert response["success"] is False
    assert needle in response["tool_result"]["message"]
    assert response["execution_mode"] == "not_run"
    json.dumps(response)


@pytest.mark.parametrize(
    ("code", "needle"),
    [
        (None, "python_code must be a str, got NoneType"),
        (b"print(1)", "python_code must be a str, got bytes"),
        (42, "python_code must be a str, got int"),
        ("", "python_code is empty"),
        ("   \n\t", "python_code is empty"),
        ("print('a'\n", "line 1"),
        ("def f(:\n  pass", "invalid syntax"),
    ],
)
def test_bad_code_is_refused(code: object, needle: str) -> None:
    response = create_and_run_tool(code)  # type: ignore[arg-type]
    assert_shape(response, None)
    assert response["success"] is False
    assert needle in response["tool_result"]["message"]


def test_unknown_mode_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEXUS_EXECUTION_MODE", "vm")
    response = create_and_run_tool("print(1)")
    assert response["success"] is False
    assert "NEXUS_EXECUTION_MODE must be one of auto, docker, fallback" in response["tool_result"]["message"]


def test_forced_docker_without_an_engine_does_not_fall_back(monkeypatch: pytest.MonkeyPatch) -> None:
    # A real fault, not a mock: point the SDK at a socket where no engine listens.
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    monkeypatch.setenv("NEXUS_EXECUTION_MODE", "docker")
    from nexus_kernel.executors.docker import DockerExecutor

    monkeypatch.setattr(DockerExecutor, "_shared", None, raising=False)
    response = create_and_run_tool("print(1)")
    assert response["success"] is False
    assert response["execution_mode"] != "fallback"
    assert "Docker" in response["tool_result"]["message"]
