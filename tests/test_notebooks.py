"""Every notebook in notebooks/ executed headless with nbclient, its outputs asserted.

The notebooks are stored with outputs cleared. Cells expected to fail carry the
``raises-exception`` tag; every other cell must succeed (nbclient stops on an untagged error).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from kernel_helpers import KERNEL_NAMES, ensure_kernelspecs, plain
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
MODES = ["fallback", pytest.param("docker", marks=pytest.mark.docker)]
MODE_NAMES = {"fallback": "fallback", "docker": "docker_isolated"}

DATE_OUTPUT = "ISO: 2025-09-07T14:30:22\nHuman: 2025-09-07 14:30:22\n"
JSON_OUTPUT = (
    json.dumps(
        [
            {"name": "JOHN", "age": 25, "city": "NYC", "salary": 50000},
            {"name": "JANE", "age": 30, "city": "LA", "salary": 75000},
        ],
        indent=2,
    )
    + "\n"
)
PENTAGONAL_OUTPUT = (
    "".join(f"P({n}) = {n * (3 * n - 1) // 2}, Valid: True\n" for n in range(1, 11))
    + "\nIs 145 pentagonal? True\n"
)


def run(name: str, kernel_name: str) -> dict[str, Any]:
    """Execute a notebook; returns its code cells by id."""
    ensure_kernelspecs()
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(nb, kernel_name=kernel_name, timeout=120, startup_timeout=60).execute()
    cells = {cell.id: cell for cell in nb.cells if cell.cell_type == "code"}
    for cell in cells.values():
        errors = [o for o in cell.outputs if o.output_type == "error"]
        expected = "raises-exception" in cell.metadata.get("tags", [])
        assert bool(errors) == expected, f"{name} [{cell.id}]: error expected: {expected}, got {errors}"
    return cells


def text(cell: Any, name: str = "stdout") -> str:
    return "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == name)


def result(cell: Any) -> str:
    (found,) = [o.data["text/plain"] for o in cell.outputs if o.output_type == "execute_result"]
    return found


def response(cell: Any) -> dict[str, Any]:
    """The documented response from the cell's status display."""
    (found,) = [o.data["application/json"] for o in cell.outputs if "application/json" in o.get("data", {})]
    return found


def error(cell: Any) -> tuple[str, str]:
    (found,) = [o for o in cell.outputs if o.output_type == "error"]
    return found.ename, plain("\n".join(found.traceback))


def test_notebooks_are_stored_without_outputs() -> None:
    names = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
    assert names == ["magic.ipynb", "quickstart.ipynb", "security-tour.ipynb", "teaching.ipynb"]
    for path in NOTEBOOKS.glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{path.name} [{cell.id}]"


@pytest.mark.parametrize("mode", MODES)
def test_quickstart(mode: str) -> None:
    cells = run("quickstart.ipynb", KERNEL_NAMES[mode])
    assert text(cells["hello"]) == "Hello from a one-time tool\n"
    for cell_id, output, limits in (
        ("date-converter", DATE_OUTPUT, (30, 64)),
        ("pipe-to-json", JSON_OUTPUT, (45, 128)),
        ("pentagonal", PENTAGONAL_OUTPUT, (30, 64)),
    ):
        cell = cells[cell_id]
        assert text(cell) == output, cell_id
        found = response(cell)
        assert found["success"] is True and found["execution_mode"] == MODE_NAMES[mode]
        assert (found["timeout_seconds"], found["memory_limit_mb"]) == limits
        assert found["tool_result"]["stdout"] == output
    assert result(cells["final-expression"]) == "550"
    (panel,) = [o.data for o in cells["limits"].outputs if o.output_type == "display_data"]
    assert "application/vnd.jupyter.widget-view+json" in panel
    assert "timeout 30 s" in panel["text/plain"] and "%timeout N" in panel["text/plain"]


@pytest.mark.parametrize("mode", MODES)
def test_magic_notebook_in_an_ordinary_python_kernel(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEXUS_EXECUTION_MODE", mode)  # the python3 kernel inherits it
    cells = run("magic.ipynb", "python3")
    assert text(cells["date-converter"]) == DATE_OUTPUT
    assert response(cells["date-converter"])["execution_mode"] == MODE_NAMES[mode]
    assert result(cells["use-response"]) == "['ISO: 2025-09-07T14:30:22', 'Human: 2025-09-07 14:30:22']"
    assert text(cells["pipe-to-json"]) == JSON_OUTPUT
    assert result(cells["consume"]) == "[('JOHN', 50000), ('JANE', 75000)]"
    ename, traceback = error(cells["blocked"])
    assert ename == "SecurityViolation" and "line 1: import of 'os' is not allowed" in traceback
    assert "import of 'os'" in result(cells["violations"])


@pytest.mark.parametrize("mode", MODES)
def test_security_tour(mode: str) -> None:
    cells = run("security-tour.ipynb", KERNEL_NAMES[mode])
    for cell_id, words in (
        ("subprocess", ["line 1: import of 'subprocess' is not allowed"]),
        ("network", ["line 1: import of 'urllib.request' is not allowed"]),
        ("etc-passwd", ["line 1: open() of path '/etc/passwd' is not allowed"]),
        ("escape", ["line 2: eval is not allowed", "line 3: access to attribute '__subclasses__'"]),
    ):
        ename, traceback = error(cells[cell_id])
        assert ename == "SecurityViolation", cell_id
        for word in words:
            assert word in traceback, (cell_id, word)
        assert "nexus ⛔ blocked" in traceback
    assert text(cells["tmp"]) == "scratch\n"
    assert error(cells["tmp-gone"])[0] == "FileNotFoundError"
    ename, traceback = error(cells["bad-timeout"])
    assert ename == "DirectiveError" and "between 10 and 300" in traceback
    ename, traceback = error(cells["memory"])
    # The sandbox stops it: a MemoryError inside (fallback's address-space limit) or the container
    # killed by its cgroup (docker); either way the kernel says which limit it hit.
    assert ename in ("MemoryError", "ToolFailed")
    assert "exceeded its memory limit of 64 MB" in traceback


@pytest.mark.parametrize("mode", MODES)
def test_teaching(mode: str) -> None:
    cells = run("teaching.ipynb", KERNEL_NAMES[mode])
    assert result(cells["squares"]) == "[1, 4, 9, 16, 25]"
    assert result(cells["fib"]) == "[0, 1, 1, 2, 3, 5, 8, 13, 21, 34]"
    ename, traceback = error(cells["typo"])
    assert ename == "NameError" and "line 2, in average" in traceback
    assert error(cells["no-state"])[0] == "NameError"
    assert result(cells["exercise"]) == "[('the', 3), ('and', 2)]"
