"""Where the time of one call goes: cProfile inside the warm-pool and fallback workers.

Profiling slows Python code, so the figures are shares of a slower call, not exact times; the
rows kept are our own functions and the Docker API calls (by endpoint), heaviest first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .config import Settings
from .latency import NEXUS, nexus_worker

VARIANTS = ("nexus_warm", "nexus_fallback")
KEEP = ("nexus_kernel/", "docker/api/")


def measure(settings: Settings, log: Callable[[str], None]) -> dict[str, Any]:
    calls = 2 if settings.quick else 15
    out: dict[str, Any] = {}
    for name in VARIANTS:
        label, env = NEXUS[name]
        log(f"phases: {label}, {calls} profiled calls")
        with nexus_worker(f"phases-{name}", env, settings.log_dir) as worker:
            reply = worker.request("profile", calls=calls, top=400, gap_s=0.5, timeout=600)
        rows = [r for r in reply["top"] if r["function"].startswith(KEEP)]
        out[name] = {
            "label": label,
            "profiled_ms_per_call": reply["wall_ms_per_run_profiled"],
            "calls": calls,
            "functions": rows[:15],
        }
    return out
