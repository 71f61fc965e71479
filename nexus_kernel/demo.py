"""``make demo`` / ``python -m nexus_kernel demo``: the spec's three examples through the Nexus kernel.

Installs the kernelspec (into ``sys.prefix``), executes ``notebooks/quickstart.ipynb`` headless with
nbclient through a real Nexus kernel, and prints each cell's output as text, followed by the mode
the cells ran in (docker when an engine answers, fallback otherwise).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

QUICKSTART = Path(__file__).resolve().parents[1] / "notebooks" / "quickstart.ipynb"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_MODES = {
    "docker_isolated": "docker_isolated (a Docker engine answered)",
    "fallback": "fallback (no Docker engine answered, or NEXUS_EXECUTION_MODE=fallback)",
}


def main(prefix: str | None = None, notebook: Path = QUICKSTART) -> int:
    """Run the demo; 0 when every cell ran as expected."""
    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    from .install import KERNEL_NAME, install_kernelspec

    if not notebook.is_file():
        print(f"demo: {notebook} not found (the quickstart notebook ships with the source tree)")
        return 1
    installed = install_kernelspec(prefix=prefix) if prefix else install_kernelspec(sys_prefix=True)
    print(f"Nexus kernelspec installed in {installed}")
    # Use exactly the kernelspec just installed, whatever other "nexus" specs Jupyter may know.
    specs = KernelSpecManager(kernel_dirs=[str(Path(installed).parent)])
    manager = AsyncKernelManager(kernel_name=KERNEL_NAME, kernel_spec_manager=specs)
    nb = nbformat.read(notebook, as_version=4)
    print(f"Running {notebook.name} through the Nexus kernel (headless)...\n")
    failed = False
    try:
        # cleanup_kc: with a kernel manager of ours, nbclient would otherwise leave the kernel running.
        NotebookClient(nb, km=manager, timeout=120, startup_timeout=60).execute(cleanup_kc=True)
    except CellExecutionError as exc:
        failed = True
        print(f"demo: a cell failed: {exc}")
    modes = _print_cells(nb.cells)
    shown = ", ".join(_MODES.get(m, m) for m in sorted(modes)) or "none (no tool ran)"
    print(f"\nmode: {shown}")
    return 1 if failed or not modes else 0


def _print_cells(cells: list[Any]) -> set[str]:
    """Print each code cell's outputs as text; returns the execution modes the tools ran in."""
    modes: set[str] = set()
    for cell in cells:
        if cell.cell_type != "code":
            continue
        print(f"── [{cell.get('id', '?')}] " + "─" * 40)
        text = ""  # a tool's output may arrive in several stream messages: print it as one text
        for output in [*cell.outputs, None]:
            kind = output.output_type if output is not None else None
            if kind == "stream":
                text += output.text
                continue
            if text:
                print(text, end="" if text.endswith("\n") else "\n")
                text = ""
            if kind in ("display_data", "execute_result"):
                data = output.get("data", {})
                response = data.get("application/json")
                if isinstance(response, dict) and "execution_mode" in response:
                    modes.add(response["execution_mode"])
                print(data.get("text/plain", ""))
            elif kind == "error":
                print(_ANSI.sub("", "\n".join(output.traceback)))
    return modes


if __name__ == "__main__":
    sys.exit(main())
