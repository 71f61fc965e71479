"""Kernel round trip: execute_request -> execute_reply for ``print(1)`` in the Nexus kernel and in a
plain ipykernel, sampled alternately over the Jupyter protocol; and both kernels' resident size.

The Nexus kernel is started from the kernelspec ``python -m nexus_kernel install`` writes, placed in
a temporary kernel directory (nothing is installed), with ``NEXUS_EXECUTION_MODE=docker`` so a
broken engine cannot silently turn the figure into a fallback one.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import dockerenv
from .config import Settings
from .variants import Variant, round_robin

CELL = "print(1)"


@contextmanager
def running_kernel(name: str, env: dict[str, str]) -> Iterator[tuple[Any, Any]]:
    """(KernelManager, BlockingKernelClient) for ``nexus`` (this checkout) or ``python3``."""
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    with tempfile.TemporaryDirectory(prefix="nexus-bench-kernels-") as tmp:
        if name == "nexus":
            from nexus_kernel.install import write_kernelspec

            write_kernelspec(Path(tmp) / "nexus")
            ksm = KernelSpecManager(kernel_dirs=[tmp])
        else:
            ksm = KernelSpecManager()
        km = KernelManager(kernel_name=name, kernel_spec_manager=ksm)
        km.start_kernel(env=env)
        kc = km.client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=120)
            yield km, kc
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=False)
            km.cleanup_resources()


def kernel_env() -> dict[str, str]:
    """Our environment without NEXUS_* overrides (default pool), in docker mode."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXUS_")}
    env["NEXUS_EXECUTION_MODE"] = "docker"
    return env


def execute(kc: Any, code: str = CELL, timeout: float = 120) -> dict[str, Any]:
    """One timed execute_request -> execute_reply; then (untimed) the outputs up to idle."""
    start = time.perf_counter()
    msg_id = kc.execute(code, store_history=False)
    while True:
        reply = kc.get_shell_msg(timeout=timeout)
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    elapsed = time.perf_counter() - start
    text = []
    while True:
        msg = kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            text.append(content["text"])
        elif kind in ("display_data", "execute_result"):
            text.append(content["data"].get("text/plain", ""))
        elif kind == "status" and content["execution_state"] == "idle":
            break
    status = reply["content"]["status"]
    output = "".join(text)
    ok = status == "ok" and "1" in output
    return {"s": elapsed, "ok": ok, "error": None if ok else f"status {status}, output {output[:200]!r}"}


def rss_mb(km: Any) -> float | None:
    """Resident size of the kernel process (psutil, else /proc/<pid>/status)."""
    pid = getattr(km.provisioner, "pid", None)
    if not pid:
        return None
    try:
        import psutil

        return round(psutil.Process(pid).memory_info().rss / 2**20, 1)
    except ImportError:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except Exception:  # noqa: BLE001 - the kernel is gone
        return None
    return None


def measure(settings: Settings, log: Callable[[str], None]) -> dict[str, Any]:
    from .latency import pool_size_default

    client = dockerenv.client()
    env = kernel_env()
    with (
        running_kernel("nexus", env) as (nexus_km, nexus_kc),
        running_kernel("python3", env) as (py_km, py_kc),
    ):
        variants = [
            Variant("nexus", "Nexus kernel, `print(1)` cell", "nexus", lambda: execute(nexus_kc)),
            Variant("ipykernel", "plain ipykernel, `print(1)` cell", "baseline", lambda: execute(py_kc)),
        ]
        log(f"kernel: {settings.kernel_rounds} rounds")
        # The Nexus kernel's own warm pool (default size: the kernel runs as a user starts it).
        settle = dockerenv.Settler(client, {nexus_km.provisioner.pid: pool_size_default()})
        round_robin(variants, settings.kernel_rounds, warmup=2, between=settle)
        rss = {"nexus": rss_mb(nexus_km), "ipykernel": rss_mb(py_km)}
    settings.shared["kernel_rss_mb"] = rss
    out: dict[str, Any] = {v.name: v.summary() for v in variants}
    nexus, plain = out["nexus"].get("median_ms"), out["ipykernel"].get("median_ms")
    out["delta_median_ms"] = round(nexus - plain, 3) if nexus is not None and plain is not None else None
    out["rss_mb"] = rss
    return out
