"""The REST API in a real ``jupyter server`` subprocess: auth, the documented response, 400s, concurrency."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests
from spec_examples import DATE_CONVERTER

from nexus_kernel import __version__
from nexus_kernel.limits import MEMORY_DEFAULT_MB, TIMEOUT_DEFAULT_S, TIMEOUT_MAX_S, TIMEOUT_MIN_S
from nexus_kernel.response import DOCKER_KEYS
from nexus_kernel.rest import _jupyter_server_extension_points, openapi_document
from nexus_kernel.tool_schema import ToolArguments, input_schema, output_schema, parse_arguments

TOKEN = secrets.token_hex(16)
MODES = ["fallback", pytest.param("auto", marks=pytest.mark.docker)]
EXPECTED_MODE = {"fallback": "fallback", "auto": "docker_isolated"}

UNSAFE = "import os\nprint(os.listdir('/'))\n"
# The tools' own clocks prove overlap: the quick tool's timestamp falls inside both slow runs.
SLOW = "import time\nprint('start', time.time())\ntime.sleep(3)\nprint('end', time.time())\n"
QUICK = "import time\nprint('now', time.time())\n"


@dataclass
class Server:
    url: str
    root: Path
    runtime: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def jupyter_server(mode: str) -> Iterator[Server]:
    """``jupyter server`` on a free loopback port with a known token; stopped and cleaned up after."""
    with tempfile.TemporaryDirectory(prefix="nexus-rest-") as tmp:
        root, runtime, config = Path(tmp, "root"), Path(tmp, "runtime"), Path(tmp, "config")
        root.mkdir()
        port = _free_port()
        env = {
            **os.environ,
            "NEXUS_EXECUTION_MODE": mode,
            # Keep the user's Jupyter config out, and the server's runtime files in the temp dir.
            "JUPYTER_CONFIG_DIR": str(config),
            "JUPYTER_RUNTIME_DIR": str(runtime),
        }
        cmd = [
            sys.executable,
            "-m",
            "jupyter_server",
            "--no-browser",
            "--allow-root",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={root}",
            f"--IdentityProvider.token={TOKEN}",
            "--ServerApp.jpserver_extensions=nexus_kernel.rest=True",
        ]
        with Path(tmp, "server.log").open("w") as log:
            proc = subprocess.Popen(
                cmd, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
            try:
                url = _wait_until_answering(proc, port, tmp)
                yield Server(url, root, runtime)
            finally:
                # SIGTERM is Jupyter's non-interactive "stop" (SIGINT would ask for confirmation).
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                    pytest.fail(f"jupyter server did not stop on SIGTERM:\n{_tail(tmp)}")
            # It stopped cleanly: it removed its server-info file and every sandbox it started.
            assert not list(runtime.glob("jpserver-*.json")), _tail(tmp)
            if mode != "fallback":
                assert not _containers_of(proc.pid), _tail(tmp)


def _wait_until_answering(proc: subprocess.Popen[bytes], port: int, tmp: str) -> str:
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            pytest.fail(f"jupyter server exited with {proc.returncode}:\n{_tail(tmp)}")
        try:
            if requests.get(f"{url}/api", timeout=5).ok:
                return url
        except requests.ConnectionError:
            pass
        assert time.monotonic() < deadline, f"jupyter server did not answer:\n{_tail(tmp)}"
        time.sleep(0.2)


def _containers_of(pid: int) -> list[str]:
    """Names of sandbox containers (any state) started by process ``pid``."""
    import docker

    from nexus_kernel.executors.docker import LABEL_PID

    client = docker.from_env()
    try:
        return [c.name for c in client.containers.list(all=True, filters={"label": f"{LABEL_PID}={pid}"})]
    finally:
        client.close()


def _tail(tmp: str) -> str:
    return "\n".join(Path(tmp, "server.log").read_text(errors="replace").splitlines()[-40:])


@pytest.fixture(scope="module")
def jupyter() -> Iterator[Callable[[str], Server]]:
    """``jupyter(mode)``: one server per mode for the module, started on first use."""
    started: dict[str, Server] = {}
    with ExitStack() as stack:

        def get(mode: str) -> Server:
            if mode not in started:
                started[mode] = stack.enter_context(jupyter_server(mode))
            return started[mode]

        yield get


def call(
    server: Server, method: str, path: str, token: str | None = TOKEN, **kwargs: Any
) -> requests.Response:
    headers = {"Authorization": f"token {token}"} if token else {}
    return requests.request(method, f"{server.url}/nexus/api/{path}", headers=headers, timeout=120, **kwargs)


def run(server: Server, body: dict[str, Any]) -> dict[str, Any]:
    reply = call(server, "POST", "tools", json=body)
    assert reply.status_code == 200, reply.text
    response = reply.json()
    jsonschema.validate(response, openapi_document()["components"]["schemas"]["ToolResponse"])
    return response


def _stamps(response: dict[str, Any]) -> dict[str, float]:
    stdout = response["tool_result"]["stdout"]
    return {m[1]: float(m[2]) for m in re.finditer(r"^(start|end|now) ([0-9.]+)$", stdout, re.M)}


def test_requests_without_jupyters_token_are_refused(jupyter: Callable[[str], Server]) -> None:
    server = jupyter("fallback")
    body = {"python_code": "print('should not run')"}
    for token in (None, "not-the-token"):
        for method, path, kwargs in [
            ("POST", "tools", {"json": body}),
            ("GET", "status", {}),
            ("GET", "openapi.json", {}),
        ]:
            reply = call(server, method, path, token=token, **kwargs)
            assert reply.status_code in (401, 403), (method, path, token, reply.status_code)
            assert "should not run" not in reply.text


def test_a_logged_in_browser_session_works_but_needs_the_xsrf_token(jupyter: Callable[[str], Server]) -> None:
    server = jupyter("fallback")
    browser = requests.Session()
    # Opening a Jupyter URL with ?token= logs the browser in (a cookie); /login hands out the _xsrf cookie.
    assert browser.get(f"{server.url}/api/status", params={"token": TOKEN}, timeout=30).ok
    assert browser.get(f"{server.url}/login", timeout=30).ok
    xsrf = browser.cookies.get("_xsrf")
    assert xsrf
    tools = f"{server.url}/nexus/api/tools"
    assert browser.get(f"{server.url}/nexus/api/openapi.json", timeout=60).status_code == 200
    # Cookies alone are what a cross-site form post would carry: refused before anything runs.
    forged = browser.post(tools, json={"python_code": "print('forged')"}, timeout=60)
    assert forged.status_code == 403
    assert "forged" not in forged.text
    own = browser.post(
        tools, json={"python_code": "print('mine')"}, headers={"X-XSRFToken": xsrf}, timeout=60
    )
    assert own.status_code == 200, own.text
    assert own.json()["tool_result"]["stdout"].strip() == "mine"


@pytest.mark.parametrize("mode", MODES)
def test_authenticated_request_runs_the_tool(jupyter: Callable[[str], Server], mode: str) -> None:
    server = jupyter(mode)
    response = run(server, {"python_code": DATE_CONVERTER, "timeout": 30, "memory_limit_mb": 64})
    assert response["success"] is True, response
    assert response["execution_mode"] == EXPECTED_MODE[mode]
    assert (response["timeout_seconds"], response["memory_limit_mb"]) == (30, 64)
    assert "ISO: 2025-09-07T14:30:22" in response["tool_result"]["stdout"].splitlines()
    if mode == "auto":
        assert set(DOCKER_KEYS) <= set(response)
    # timeout and memory_limit_mb are optional: limits.py's defaults apply.
    defaults = run(server, {"python_code": "print(6 * 7)"})
    assert defaults["tool_result"]["stdout"].strip() == "42"
    assert (defaults["timeout_seconds"], defaults["memory_limit_mb"]) == (
        TIMEOUT_DEFAULT_S,
        MEMORY_DEFAULT_MB,
    )


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"", "request body is empty"),
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe{}", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'"print(1)"', "got a string"),
        (b"{}", "python_code is required"),
        (b'{"python_code": 5}', "python_code must be a string"),
        (b'{"python_code": null}', "python_code must be a string"),
        (b'{"python_code": "print(1)", "timeout": "60"}', "timeout must be a whole number of seconds"),
        (b'{"python_code": "print(1)", "timeout": 12.5}', "timeout must be a whole number of seconds"),
        (b'{"python_code": "print(1)", "memory_limit_mb": false}', "memory_limit_mb must be a whole number"),
        (b'{"python_code": "print(1)", "memory": 64}', "unknown field 'memory'"),
    ],
)
def test_malformed_requests_get_400_with_a_message(
    jupyter: Callable[[str], Server], body: bytes, words: str
) -> None:
    reply = requests.post(
        f"{jupyter('fallback').url}/nexus/api/tools",
        data=body,
        headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"},
        timeout=60,
    )
    assert reply.status_code == 400, reply.text
    assert reply.headers["Content-Type"].startswith("application/json")
    assert words in reply.json()["message"]


def test_refused_and_failed_tools_are_data_not_errors(jupyter: Callable[[str], Server]) -> None:
    server = jupyter("fallback")
    out_of_range = run(server, {"python_code": "print(1)", "timeout": 5})
    assert out_of_range["success"] is False
    assert f"between {TIMEOUT_MIN_S} and {TIMEOUT_MAX_S}" in out_of_range["tool_result"]["message"]

    unsafe = run(server, {"python_code": UNSAFE})
    assert unsafe["success"] is False
    assert unsafe["security_check"]["safe"] is False and unsafe["security_check"]["violations"]
    assert unsafe["execution_mode"] == "not_run"

    crashed = run(server, {"python_code": "print('before')\n1 / 0\n"})
    assert crashed["success"] is False
    assert crashed["tool_result"]["stdout"].strip() == "before"
    assert "ZeroDivisionError" in crashed["tool_result"]["message"] + crashed["tool_result"]["stderr"]


@pytest.mark.parametrize("mode", MODES)
def test_status_reports_mode_engine_image_and_pool(jupyter: Callable[[str], Server], mode: str) -> None:
    reply = call(jupyter(mode), "GET", "status")
    assert reply.status_code == 200, reply.text
    report = reply.json()
    jsonschema.validate(report, openapi_document()["components"]["schemas"]["Status"])
    # The server's own mode, not the test process's.
    assert report["requested_mode"] == mode
    assert {"engine", "image"} <= set(report["docker"])
    assert "pool" in report
    if mode == "auto":
        assert report["auto_mode"] == "docker"
        assert report["docker"]["reachable"] is True


def test_openapi_document_is_served_and_matches_the_code(jupyter: Callable[[str], Server]) -> None:
    reply = call(jupyter("fallback"), "GET", "openapi.json")
    assert reply.status_code == 200
    document = reply.json()
    assert document == openapi_document()
    assert document["openapi"].startswith("3.")
    assert document["info"]["version"] == __version__
    assert {"/nexus/api/tools", "/nexus/api/status", "/nexus/api/openapi.json"} == set(document["paths"])
    schemas = document["components"]["schemas"]
    # One source of truth: the shipped file carries exactly the schemas built from limits.py.
    stale = "nexus_kernel/openapi.json is stale: run python -m nexus_kernel.tool_schema"
    assert schemas["ToolRequest"] == input_schema(), stale
    assert schemas["ToolResponse"] == output_schema(), stale
    example = document["paths"]["/nexus/api/tools"]["post"]["requestBody"]["content"]["application/json"]
    for item in example["examples"].values():
        jsonschema.validate(item["value"], schemas["ToolRequest"])


@pytest.mark.parametrize("mode", MODES)
def test_slow_tools_do_not_block_a_quick_one(jupyter: Callable[[str], Server], mode: str) -> None:
    server = jupyter(mode)
    quick: list[tuple[dict[str, float], bool]] = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        slow = [pool.submit(run, server, {"python_code": SLOW}) for _ in range(2)]
        while not any(future.done() for future in slow):
            response = run(server, {"python_code": QUICK})
            assert response["success"], response
            quick.append((_stamps(response), not any(future.done() for future in slow)))
            time.sleep(0.2)  # pacing only; the assertion below is about ordering
        windows = [_stamps(future.result()) for future in slow]
    assert all(set(window) == {"start", "end"} for window in windows), windows
    overlapped = [
        stamps["now"]
        for stamps, both_pending in quick
        if both_pending and all(w["start"] < stamps["now"] < w["end"] for w in windows)
    ]
    assert overlapped, f"no quick tool ran and returned while both slow ones were running: {windows} {quick}"


def test_installing_the_package_enables_the_extension() -> None:
    from jupyter_core.paths import jupyter_config_path

    assert _jupyter_server_extension_points() == [{"module": "nexus_kernel.rest"}]
    shipped = Path(__file__).parents[1] / "jupyter-config/jupyter_server_config.d/nexus_kernel.json"
    assert json.loads(shipped.read_text())["ServerApp"]["jpserver_extensions"] == {"nexus_kernel.rest": True}
    installed = [Path(d, "jupyter_server_config.d", "nexus_kernel.json") for d in jupyter_config_path()]
    assert any(path.is_file() for path in installed), "pip install the package: the server config is missing"


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"python_code": "x"}, ToolArguments("x", TIMEOUT_DEFAULT_S, MEMORY_DEFAULT_MB)),
        ({"python_code": "x", "timeout": None, "memory_limit_mb": None}, ToolArguments("x")),
        # JSON Schema counts 30.0 as an integer; some clients send every number as a float.
        ({"python_code": "x", "timeout": 30.0, "memory_limit_mb": 64}, ToolArguments("x", 30, 64)),
        # Out of range is the pipeline's call (a success-false response), not a malformed request.
        ({"python_code": "x", "timeout": 9999}, ToolArguments("x", 9999, MEMORY_DEFAULT_MB)),
    ],
)
def test_parse_arguments_accepts(arguments: dict[str, Any], expected: ToolArguments) -> None:
    assert parse_arguments(arguments) == expected


def test_response_schema_covers_the_docker_keys() -> None:
    assert set(DOCKER_KEYS) <= set(output_schema()["properties"])
