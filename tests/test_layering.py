"""The core is usable from a plain script: importing it pulls in no Jupyter, IPython or widgets."""

from __future__ import annotations

import subprocess
import sys

CORE = [
    "nexus_kernel",
    "nexus_kernel.api",
    "nexus_kernel.cli",
    "nexus_kernel.status",
    "nexus_kernel.tool_schema",
    "nexus_kernel.executors.docker",
    "nexus_kernel.executors.fallback",
    "nexus_kernel.executors.image",
    "nexus_kernel.executors.pool",
]
FRONT_END = ("IPython", "ipykernel", "ipywidgets", "jupyter_client", "jupyter_server", "comm", "zmq")


def test_core_imports_no_jupyter() -> None:
    probe = (
        "import importlib, sys\n"
        f"for name in {CORE!r}: importlib.import_module(name)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {FRONT_END!r}))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
