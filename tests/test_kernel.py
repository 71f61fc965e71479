"""The Nexus kernel over the real Jupyter protocol: output, errors, directives, widgets, interrupts.

One kernel per mode for the module (fallback always; docker where an engine answers). Lifecycle
tests (interrupt, shutdown, restart) check that no sandbox process or container survives.
"""

from __future__ import annotations

import platform
import uuid
from pathlib import Path
from queue import Empty
from typing import Any

import pytest
from kernel_helpers import (
    children,
    collect,
    drain,
    execute,
    kernel_containers,
    kernel_pid,
    of_type,
    plain,
    response_of,
    start,
    stdout,
    stop,
)

from nexus_kernel.executors.docker import NAME_PREFIX

MODES = ["fallback", pytest.param("docker", marks=pytest.mark.docker)]
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


@pytest.fixture(scope="module", params=MODES)
def kernel(request: pytest.FixtureRequest):
    km, kc = start(request.param)
    kc.mode = request.param  # type: ignore[attr-defined]
    kc.pid = kernel_pid(km)  # type: ignore[attr-defined]
    yield kc
    stop(km, kc)
    assert not kernel_containers(kc.pid), "the kernel left containers behind"  # type: ignore[attr-defined]


def _mode_name(kc: Any) -> str:
    return "docker_isolated" if kc.mode == "docker" else "fallback"


# ---------------------------------------------------------------- output


def test_success_streams_then_status_display(kernel) -> None:
    reply, outputs = execute(kernel, "import sys\nprint('to stdout')\nprint('to stderr', file=sys.stderr)")
    assert reply["content"]["status"] == "ok", reply["content"]
    streams = [(m["content"]["name"], m["content"]["text"]) for m in of_type(outputs, "stream")]
    assert streams == [("stdout", "to stdout\n"), ("stderr", "to stderr\n")]
    # The cell ends with the status display: readable text, HTML, and the documented response.
    assert outputs[-1]["msg_type"] == "display_data"
    data = outputs[-1]["content"]["data"]
    response = data["application/json"]
    assert response == response_of(reply)
    assert response["success"] is True and response["execution_mode"] == _mode_name(kernel)
    assert response["tool_result"]["stdout"] == "to stdout\n"
    text = data["text/plain"]
    assert text.startswith("nexus ✓ succeeded") and response["tool_id"] in text
    assert "timeout 60 s" in text and "memory 128 MB" in text
    assert "succeeded" in data["text/html"] and response["tool_id"] in data["text/html"]


def test_final_expression_is_the_execute_result(kernel) -> None:
    reply, outputs = execute(kernel, "print('side')\n{'a': 1, 'b': [1, 2]}")
    results = of_type(outputs, "execute_result")
    assert [m["content"]["data"]["text/plain"] for m in results] == ["{'a': 1, 'b': [1, 2]}"]
    assert results[0]["content"]["execution_count"] == reply["content"]["execution_count"]
    # Order: the tool's output, its result, then the status display.
    assert [m["msg_type"] for m in outputs] == ["stream", "execute_result", "display_data"]
    # The response itself is unchanged by the echo: same documented keys, same stdout.
    assert response_of(reply)["tool_result"]["stdout"] == "side\n"
    _, outputs = execute(kernel, "x = 1\nNone")
    assert not of_type(outputs, "execute_result")


def test_long_tool_streams_live_and_shows_a_live_status(kernel) -> None:
    code = "import time\nprint('first', flush=True)\ntime.sleep(2)\nprint('second')"
    reply, outputs = execute(kernel, code)
    assert reply["content"]["status"] == "ok", reply["content"]
    kinds = [m["msg_type"] for m in outputs]
    streams = [m["content"]["text"] for m in of_type(outputs, "stream")]
    # Two separate stream messages: the first arrived while the tool still ran (not batched at the end).
    assert streams == ["first\n", "second\n"]
    # The live status widget appeared while the tool ran, between the two outputs...
    opened = of_type(outputs, "comm_open")
    html_models = [m for m in opened if m["content"]["data"]["state"]["_model_name"] == "HTMLModel"]
    assert len(html_models) == 1
    live = next(m for m in of_type(outputs, "display_data") if WIDGET_MIME in m["content"]["data"])
    assert live["content"]["data"]["text/plain"].startswith("nexus ⏳ running")
    display_id = live["content"]["transient"]["display_id"]
    assert kinds.index("display_data") < len(kinds) - 1 - kinds[::-1].index("stream")
    # ...and settled into the final status in place, then its widget was closed.
    final = of_type(outputs, "update_display_data")[-1]["content"]
    assert final["transient"]["display_id"] == display_id
    assert final["data"]["application/json"] == response_of(reply)
    assert final["data"]["text/plain"].startswith("nexus ✓ succeeded")
    closed = {m["content"]["comm_id"] for m in of_type(outputs, "comm_close")}
    assert html_models[0]["content"]["comm_id"] in closed


# ---------------------------------------------------------------- errors


def test_failing_tool_is_an_error_reply_with_its_traceback(kernel) -> None:
    reply, outputs = execute(kernel, "def f():\n    return 1 / 0\n\nf()")
    content = reply["content"]
    assert content["status"] == "error"
    assert content["ename"] == "ZeroDivisionError" and content["evalue"] == "division by zero"
    # The error is the cell's only output (what Jupyter front ends expect).
    assert [m["msg_type"] for m in outputs] == ["error"]
    traceback = plain("\n".join(outputs[0]["content"]["traceback"]))
    assert 'File "<tool>", line 2, in f' in traceback and "return 1 / 0" in traceback
    assert "ZeroDivisionError: division by zero" in traceback
    # Its last line is the status, and the reply carries the whole response.
    assert traceback.splitlines()[-1].startswith("nexus ✗ failed")
    response = response_of(reply)
    assert response["success"] is False and response["execution_mode"] == _mode_name(kernel)


def test_rejected_cell_lists_violations_with_line_numbers(kernel) -> None:
    reply, outputs = execute(kernel, "x = 1\nimport socket\nprint(x)")
    content = reply["content"]
    assert content["status"] == "error" and content["ename"] == "SecurityViolation"
    assert [m["msg_type"] for m in outputs] == ["error"]
    traceback = plain("\n".join(content["traceback"]))
    assert "line 2" in traceback and "socket" in traceback
    assert "   2 | import socket" in traceback  # the offending source line, under its violation
    assert traceback.splitlines()[-1].startswith("nexus ⛔ blocked")
    response = response_of(reply)
    assert response["security_check"]["safe"] is False and response["execution_mode"] == "not_run"
    assert any(v.startswith("line 2") for v in response["security_check"]["violations"])


def test_directive_lines_keep_the_line_numbers(kernel) -> None:
    reply, _ = execute(kernel, "%timeout 30\n%memory 64\nimport socket")
    assert reply["content"]["ename"] == "SecurityViolation"
    assert response_of(reply)["security_check"]["violations"][0].startswith("line 3")
    reply, _ = execute(kernel, "%timeout 60\n%memory 128\n\n1 / 0")
    assert "line 4" in plain("\n".join(reply["content"]["traceback"]))


def test_an_error_stops_run_all(kernel) -> None:
    failing = kernel.execute("raise RuntimeError('stop here')")
    queued = kernel.execute("print('must not run')")
    reply, _ = collect(kernel, failing)
    assert reply["content"]["status"] == "error"
    reply, outputs = collect(kernel, queued)
    assert reply["content"]["status"] == "aborted"
    assert "must not run" not in stdout(outputs)
    assert "nexus" not in reply["metadata"]


def test_no_state_is_kept_between_cells(kernel) -> None:
    execute(kernel, "kept = 41")
    reply, _ = execute(kernel, "print(kept + 1)")
    assert reply["content"]["ename"] == "NameError"


def test_code_never_runs_in_the_kernel_process(kernel, tmp_path: Path) -> None:
    marker = Path("/tmp") / f"nexus-kernel-test-{uuid.uuid4().hex}"
    reply, _ = execute(kernel, f"open({str(marker)!r}, 'w').write('x')\nprint('written')")
    assert reply["content"]["status"] == "ok", reply["content"]
    # The tool wrote to its own private /tmp, not the host's.
    assert not marker.exists()
    # IPython is not reachable from a cell.
    reply, _ = execute(kernel, "get_ipython()")
    assert reply["content"]["ename"] == "NameError"
    for code, words in (
        ("!ls", "shell commands"),
        ("%%bash\nls", "cell magics"),
        ("x = 1\n%timeout 30", "must come before"),
    ):
        reply, outputs = execute(kernel, code)
        assert reply["content"]["status"] == "error", code
        assert words in reply["content"]["evalue"], code
        assert [m["msg_type"] for m in outputs] == ["error"]


# ---------------------------------------------------------------- directives and widgets


def test_directives_set_the_limits_of_the_following_cells(kernel) -> None:
    reply, outputs = execute(kernel, "%timeout 30\n%memory 64")
    assert reply["content"]["status"] == "ok", reply["content"]
    assert stdout(outputs) == (
        "timeout: 30 s (this and the following cells)\nmemory: 64 MB (this and the following cells)\n"
    )
    reply, _ = execute(kernel, "print(1)")
    assert (response_of(reply)["timeout_seconds"], response_of(reply)["memory_limit_mb"]) == (30, 64)
    # In front of code, directives apply to that cell too, and say nothing.
    reply, outputs = execute(kernel, "%timeout 45\nprint('ran')")
    assert stdout(outputs) == "ran\n" and response_of(reply)["timeout_seconds"] == 45
    reply, outputs = execute(kernel, "%timeout")
    assert stdout(outputs) == "timeout: 45 s\n"
    for code, words in (
        ("%timeout 5", "between 10 and 300"),
        ("%memory lots", "whole number"),
        ("%mode sideways", "one of auto, docker, fallback"),
        ("%frobnicate", "%timeout, %memory, %mode, %limits, %nexus_status"),
        ("%limits now", "takes no argument"),
    ):
        reply, outputs = execute(kernel, code)
        assert reply["content"]["status"] == "error", code
        assert reply["content"]["ename"] == "DirectiveError" and words in reply["content"]["evalue"], code
    execute(kernel, "%timeout 60\n%memory 128")


def test_nexus_status_directive(kernel) -> None:
    reply, outputs = execute(kernel, "%nexus_status")
    assert reply["content"]["status"] == "ok", reply["content"]
    data = of_type(outputs, "display_data")[0]["content"]["data"]
    for row in ("mode", "engine", "fallback", "policy", "limits"):
        assert any(line.startswith(row) for line in data["text/plain"].splitlines()), row
    info = data["application/json"]
    assert info["kernel"]["timeout_seconds"] == 60 and "docker" in info and "policy" in info


def test_mode_directive_switches_the_sandbox(kernel) -> None:
    reply, _ = execute(kernel, "%mode fallback\nprint(1)")
    assert response_of(reply)["execution_mode"] == "fallback"
    _, outputs = execute(kernel, "%mode")
    assert stdout(outputs) == "mode: fallback\n"
    reply, _ = execute(kernel, f"%mode {kernel.mode}\nprint(1)")
    assert response_of(reply)["execution_mode"] == _mode_name(kernel)


def _comm_states(outputs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {m["content"]["comm_id"]: m["content"]["data"]["state"] for m in of_type(outputs, "comm_open")}


def test_limit_widgets_drive_the_next_cells(kernel) -> None:
    reply, outputs = execute(kernel, "%limits")
    assert reply["content"]["status"] == "ok", reply["content"]
    shown = of_type(outputs, "display_data")[0]["content"]["data"]
    assert WIDGET_MIME in shown
    assert "%timeout N" in shown["text/plain"]  # the fallback where no widget front end exists
    states = _comm_states(outputs)
    by_description = {s.get("description"): cid for cid, s in states.items() if s.get("description")}
    timeout, memory = states[by_description["timeout (s)"]], states[by_description["memory (MB)"]]
    assert timeout["_model_name"] == memory["_model_name"] == "IntSliderModel"
    assert (timeout["min"], timeout["max"], memory["min"], memory["max"]) == (10, 300, 32, 512)
    assert states[by_description["mode"]]["_model_name"] == "ToggleButtonsModel"
    status_ids = [c for c, s in states.items() if s["_model_name"] == "HTMLModel" and "nexus" in s["value"]]
    assert status_ids, "the panel has a status line"

    # The front end moves the timeout slider: a comm_msg "update" to the slider's comm.
    slider = by_description["timeout (s)"]
    data = {"method": "update", "state": {"value": 30}, "buffer_paths": []}
    msg = kernel.session.msg("comm_msg", {"comm_id": slider, "data": data})
    kernel.shell_channel.send(msg)
    reply, outputs = execute(kernel, "print('limited')")
    assert response_of(reply)["timeout_seconds"] == 30
    # The panel's status line followed the run.
    updates = [
        m["content"]["data"]["state"].get("value", "")
        for m in of_type(outputs, "comm_msg")
        if m["content"]["comm_id"] in status_ids
    ]
    assert any("succeeded" in u for u in updates)

    # A directive moves the slider in the front end.
    reply, outputs = execute(kernel, "%timeout 60")
    moved = [
        m["content"]["data"]["state"]
        for m in of_type(outputs, "comm_msg")
        if m["content"]["comm_id"] == slider and "value" in m["content"]["data"].get("state", {})
    ]
    assert moved and moved[-1]["value"] == 60
    drain(kernel)


# ---------------------------------------------------------------- protocol details


def test_kernel_info_reports_python_and_the_sandbox(kernel) -> None:
    kernel.kernel_info()
    info = kernel.get_shell_msg(timeout=10)["content"]
    assert info["language_info"]["name"] == "python"
    assert info["language_info"]["version"] == platform.python_version()
    assert info["implementation"] == "nexus_kernel"
    assert "sandbox" in info["banner"] and "%timeout" in info["banner"]
    assert info["nexus"]["execution_mode"] == kernel.mode
    assert "debugger" not in info["supported_features"]


def test_silent_execution_sends_no_output(kernel) -> None:
    reply, outputs = execute(kernel, "print('quiet')\n1", silent=True)
    assert reply["content"]["status"] == "ok", reply["content"]
    assert outputs == []


def test_user_expressions_are_refused_politely(kernel) -> None:
    reply, _ = execute(kernel, "x = 1", user_expressions={"x": "x"})
    assert reply["content"]["user_expressions"]["x"]["status"] == "error"
    assert reply["content"]["user_expressions"]["x"]["ename"] == "NotSupported"


def test_completion_inspection_and_directive_completion(kernel) -> None:
    kernel.complete("%mode d", 7)
    reply = kernel.get_shell_msg(timeout=30)["content"]
    assert reply["matches"] == ["docker"] and reply["cursor_start"] == 6
    code = "import math\nmath.sq"
    kernel.complete(code, len(code))
    reply = kernel.get_shell_msg(timeout=30)["content"]
    assert "sqrt" in reply["matches"] and reply["cursor_start"] == len(code) - 2
    kernel.inspect("len(", 4)
    reply = kernel.get_shell_msg(timeout=30)["content"]
    assert reply["found"] and "len" in reply["data"]["text/plain"]


def test_help_syntax_pages_the_docstring(kernel) -> None:
    reply, _ = execute(kernel, "len?")
    payload = reply["content"]["payload"]
    assert payload and payload[0]["source"] == "page" and "len" in payload[0]["data"]["text/plain"]


# ---------------------------------------------------------------- interrupt, shutdown, restart


def _start_endless_tool(kc) -> str:
    msg_id = kc.execute("print('spinning', flush=True)\nwhile True:\n    pass")
    seen = []
    while True:  # wait until the tool is really running: its first output arrived
        try:
            msg = kc.get_iopub_msg(timeout=60)
        except Empty:
            raise AssertionError(f"the endless tool never started; iopub said {seen}") from None
        mine = msg["parent_header"].get("msg_id") == msg_id
        seen.append((msg["msg_type"], mine, str(msg["content"])[:200]))
        if mine and msg["msg_type"] == "stream":
            return msg_id


def _tool_containers(pid: int) -> list[str]:
    return [name for name in kernel_containers(pid) if name.startswith(NAME_PREFIX)]


@pytest.mark.parametrize("mode", MODES)
def test_interrupt_kills_the_tool_and_the_kernel_stays_usable(mode: str) -> None:
    km, kc = start(mode)
    pid = kernel_pid(km)
    try:
        msg_id = _start_endless_tool(kc)
        if mode == "docker":
            assert len(_tool_containers(pid)) == 1
        else:
            assert children(pid)
        km.interrupt_kernel()
        reply, outputs = collect(kc, msg_id, timeout=30)
        assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "KeyboardInterrupt"
        assert "interrupted" in reply["content"]["evalue"]
        # By the time the reply is there, the sandbox is gone.
        assert _tool_containers(pid) == []
        assert children(pid) == []
        reply, outputs = execute(kc, "print('still here')")
        assert reply["content"]["status"] == "ok" and stdout(outputs) == "still here\n"
    finally:
        stop(km, kc)
    assert kernel_containers(pid) == []


@pytest.mark.parametrize("mode", MODES)
def test_shutdown_and_restart_leave_nothing_behind(mode: str) -> None:
    km, kc = start(mode)
    try:
        first = kernel_pid(km)
        _start_endless_tool(kc)
        km.restart_kernel(now=False)
        assert not km.provisioner.has_process or kernel_pid(km) != first  # type: ignore[union-attr]
        assert kernel_containers(first) == []
        kc.wait_for_ready(timeout=60)
        drain(kc)
        second = kernel_pid(km)
        _, outputs = execute(kc, "print('after restart')")
        assert stdout(outputs) == "after restart\n"
        _start_endless_tool(kc)
    finally:
        stop(km, kc)
    assert kernel_containers(second) == []
    assert children(second) == []


# ---------------------------------------------------------------- the result echo (bootstrap protocol)


@pytest.mark.parametrize("mode", MODES)
def test_result_echo_is_opt_in_and_leaves_the_response_alone(mode: str) -> None:
    from nexus_kernel.api import run_tool

    plain_run = run_tool("print('x')\n6 * 7", 30, 64, mode=mode)
    echoed = run_tool("print('x')\n6 * 7", 30, 64, mode=mode, echo_last_expression=True)
    assert plain_run.value is None and echoed.value == "42"
    assert set(echoed.response) == set(plain_run.response)
    assert echoed.response["tool_result"]["stdout"] == plain_run.response["tool_result"]["stdout"] == "x\n"
    # No value for code that ends in a statement, or in an expression that is None.
    assert run_tool("x = 1", 30, 64, mode=mode, echo_last_expression=True).value is None
    assert run_tool("print('y')", 30, 64, mode=mode, echo_last_expression=True).value is None
