"""Helpers for the tests that talk to a real Nexus kernel over the Jupyter protocol.

The kernelspecs are written into a private JUPYTER_PATH (never into the user's Jupyter), one per
execution mode, each pinning ``NEXUS_EXECUTION_MODE`` in its ``env``.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path
from queue import Empty
from typing import Any

from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager, start_new_kernel

from nexus_kernel.install import kernelspec_files

MODES = ("fallback", "docker")
KERNEL_NAMES = {mode: f"nexus-test-{mode}" for mode in MODES}
ANSI = re.compile(r"\x1b\[[0-9;]*m")
_PATH: str | None = None


def ensure_kernelspecs() -> str:
    """Write the test kernelspecs once per process and put their directory on JUPYTER_PATH."""
    global _PATH
    if _PATH is None:
        root = tempfile.mkdtemp(prefix="nexus-test-jupyter-")
        for mode, name in KERNEL_NAMES.items():
            target = Path(root, "kernels", name)
            target.mkdir(parents=True)
            for file_name, content in kernelspec_files().items():
                if file_name == "kernel.json":
                    spec = json.loads(content)
                    spec["env"] = {"NEXUS_EXECUTION_MODE": mode}
                    spec["display_name"] += f" [{mode}]"
                    content = json.dumps(spec).encode()
                (target / file_name).write_bytes(content)
        _PATH = root
        atexit.register(remove_kernelspecs)
    paths = os.environ.get("JUPYTER_PATH", "").split(os.pathsep)
    if _PATH not in paths:
        os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in [_PATH, *paths] if p)
    return _PATH


def remove_kernelspecs() -> None:
    """Delete the private JUPYTER_PATH again (at interpreter exit)."""
    global _PATH
    if _PATH is not None:
        import shutil

        shutil.rmtree(_PATH, ignore_errors=True)
        paths = [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p and p != _PATH]
        if paths:
            os.environ["JUPYTER_PATH"] = os.pathsep.join(paths)
        else:
            os.environ.pop("JUPYTER_PATH", None)
        _PATH = None


def start(mode: str) -> tuple[KernelManager, BlockingKernelClient]:
    """A started Nexus kernel in ``mode`` and a client whose channels are ready."""
    ensure_kernelspecs()
    return start_new_kernel(kernel_name=KERNEL_NAMES[mode], startup_timeout=60)


def stop(km: KernelManager, kc: BlockingKernelClient) -> None:
    kc.stop_channels()
    km.shutdown_kernel(now=False)


def kernel_pid(km: KernelManager) -> int:
    return int(km.provisioner.pid)  # type: ignore[union-attr]


def execute(
    kc: BlockingKernelClient, code: str, timeout: float = 60, **kwargs: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run ``code``; returns the execute_reply and the iopub messages it caused (status excluded)."""
    msg_id = kc.execute(code, **kwargs)
    return collect(kc, msg_id, timeout)


def collect(
    kc: BlockingKernelClient, msg_id: str, timeout: float = 60
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The reply to ``msg_id`` and its iopub output, once the kernel is idle again."""
    outputs: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while True:
        msg = kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "status":
            if msg["content"]["execution_state"] == "idle":
                break
            continue
        if msg["msg_type"] != "execute_input":
            outputs.append(msg)
    while True:
        reply = kc.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply, outputs


def drain(kc: BlockingKernelClient) -> None:
    """Drop whatever is still queued on iopub and shell."""
    for get in (kc.get_iopub_msg, kc.get_shell_msg):
        while True:
            try:
                get(timeout=0.2)
            except Empty:
                break


def of_type(outputs: list[dict[str, Any]], *types: str) -> list[dict[str, Any]]:
    return [m for m in outputs if m["msg_type"] in types]


def stdout(outputs: list[dict[str, Any]]) -> str:
    streams = of_type(outputs, "stream")
    return "".join(m["content"]["text"] for m in streams if m["content"]["name"] == "stdout")


def plain(text: str) -> str:
    """Text without ANSI colours."""
    return ANSI.sub("", text)


def response_of(reply: dict[str, Any]) -> dict[str, Any]:
    """The documented response the kernel attaches to every execute_reply of a tool run."""
    return reply["metadata"]["nexus"]


def containers(label: str) -> list[str]:
    """Names of containers (running or not) that carry ``label`` (``key=value``)."""
    out = subprocess.run(
        ["docker", "ps", "-a", "--filter", f"label={label}", "--format", "{{.Names}}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    return out.split()


def kernel_containers(pid: int) -> list[str]:
    """The sandbox containers a kernel process owns (tool containers and its warm pool)."""
    from nexus_kernel.executors.docker import LABEL_PID

    return containers(f"{LABEL_PID}={pid}")


def children(pid: int) -> list[int]:
    """Live descendants of ``pid`` (the fallback's sandbox processes)."""
    import psutil

    try:
        return [p.pid for p in psutil.Process(pid).children(recursive=True) if p.status() != "zombie"]
    except psutil.NoSuchProcess:
        return []
