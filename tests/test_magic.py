"""``%%nexus_tool`` in an ordinary IPython kernel (python3), over the real Jupyter protocol.

The magic must render a run exactly as the Nexus kernel does (both use display.run_cell), leave
the response in the notebook (``_nexus``, ``--out``), and never run the cell in the notebook's own
process.
"""

from __future__ import annotations

import pytest
from jupyter_client.manager import start_new_kernel
from kernel_helpers import execute, of_type, plain, start, stdout, stop

MODES = ["fallback", pytest.param("docker", marks=pytest.mark.docker)]


@pytest.fixture(scope="module")
def ipython():
    km, kc = start_new_kernel(kernel_name="python3", startup_timeout=60)
    reply, _ = execute(kc, "%load_ext nexus_kernel")
    assert reply["content"]["status"] == "ok", reply["content"]
    yield kc
    stop(km, kc)


@pytest.fixture(scope="module")
def nexus():
    km, kc = start("fallback")
    yield kc
    stop(km, kc)


def _last_line_removed(traceback: list[str]) -> list[str]:
    # The status line (tool id, timings) differs from run to run; the rest must be identical.
    return [plain(line) for line in traceback[:-1]]


@pytest.mark.parametrize("mode", MODES)
def test_magic_runs_the_cell_as_a_tool(ipython, mode: str) -> None:
    header = f"%%nexus_tool --timeout 30 --memory 64 --out result --mode {mode}"
    code = header + "\nprint('hi from the sandbox')\n6 * 7"
    reply, outputs = execute(ipython, code)
    assert reply["content"]["status"] == "ok", reply["content"]
    assert stdout(outputs) == "hi from the sandbox\n"
    displays = of_type(outputs, "display_data")
    # The value of the final expression, then the status display with the whole response.
    assert displays[0]["content"]["data"] == {"text/plain": "42"}
    status = displays[-1]["content"]["data"]
    response = status["application/json"]
    assert status["text/plain"].startswith("nexus ✓ succeeded")
    assert (response["timeout_seconds"], response["memory_limit_mb"]) == (30, 64)
    assert response["execution_mode"] == ("docker_isolated" if mode == "docker" else "fallback")
    # The response is the notebook's afterwards, as --out and as _nexus.
    _, outputs = execute(
        ipython, "print(result['tool_result']['stdout'].strip(), _nexus is result, result['success'])"
    )
    assert stdout(outputs) == "hi from the sandbox True True\n"


def test_cell_body_never_runs_in_the_notebook_process(ipython) -> None:
    reply, _ = execute(ipython, "%%nexus_tool --mode fallback\nassigned_in_sandbox = 1")
    assert reply["content"]["status"] == "ok", reply["content"]
    _, outputs = execute(ipython, "print('assigned_in_sandbox' in globals())")
    assert stdout(outputs) == "False\n"


def test_failure_renders_exactly_as_in_the_nexus_kernel(ipython, nexus) -> None:
    body = "def f():\n    return {}['missing']\nf()"
    magic_reply, magic_outputs = execute(ipython, "%%nexus_tool --mode fallback\n" + body)
    kernel_reply, kernel_outputs = execute(nexus, body)
    magic, kernel = magic_reply["content"], kernel_reply["content"]
    assert magic["status"] == kernel["status"] == "error"
    assert magic["ename"] == kernel["ename"] == "KeyError"
    assert magic["evalue"] == kernel["evalue"] == "'missing'"
    # The tool sees the same body in both, so its traceback is the same, line for line.
    assert _last_line_removed(magic["traceback"]) == _last_line_removed(kernel["traceback"])
    assert plain(magic["traceback"][-1]).startswith("nexus ✗ failed")
    assert [m["msg_type"] for m in magic_outputs] == [m["msg_type"] for m in kernel_outputs] == ["error"]
    _, outputs = execute(ipython, "print(_nexus['success'], _nexus['tool_result']['message'])")
    assert stdout(outputs) == "False KeyError: 'missing'\n"


def test_rejected_and_invalid_cells(ipython) -> None:
    reply, _ = execute(ipython, "%%nexus_tool --mode fallback\nimport subprocess")
    assert reply["content"]["ename"] == "SecurityViolation"
    assert "line 1" in plain("\n".join(reply["content"]["traceback"]))
    # Limits are checked by the pipeline (not re-implemented by the magic): a clear refusal.
    reply, _ = execute(ipython, "%%nexus_tool --timeout 5\nprint(1)")
    assert reply["content"]["status"] == "error"
    assert "between 10 and 300" in reply["content"]["evalue"]
