"""Runs nexus-kernel's public API in its own process: ``python -m bench.nexus_worker``.

The parent chooses the variant through the environment (``NEXUS_EXECUTION_MODE``,
``NEXUS_POOL_SIZE``) before the worker starts, so warm pool, cold container and fallback each keep
their own executor and can still be sampled round-robin.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.protocol import serve

TRIVIAL = "print(1)"


def _one(code: str, expect: str) -> dict[str, Any]:
    from nexus_kernel import create_and_run_tool

    start = time.perf_counter()
    try:
        response = create_and_run_tool(code)
    except Exception as exc:  # noqa: BLE001 - the API promises never to raise; count it if it does
        return {"s": time.perf_counter() - start, "ok": False, "error": f"raised {type(exc).__name__}: {exc}"}
    elapsed = time.perf_counter() - start
    result = response.get("tool_result") or {}
    ok = bool(response.get("success")) and (result.get("stdout") or "").strip() == expect
    error = None if ok else (result.get("message") or "no message") + f" | stdout={result.get('stdout')!r}"
    return {
        "s": elapsed,
        "ok": ok,
        "error": error,
        "mode": response.get("execution_mode"),
        # Where the time goes, as the response itself reports it.
        "container_s": response.get("container_execution_time_seconds"),
        "tool_s": result.get("execution_time_seconds"),
    }


def run(code: str = TRIVIAL, expect: str = "1") -> dict[str, Any]:
    """One timed ``create_and_run_tool`` call."""
    return _one(code, expect)


def throughput(callers: int, calls: int, code: str = TRIVIAL, expect: str = "1") -> dict[str, Any]:
    """``calls`` tools spread over ``callers`` threads; wall time, errors and per-call latency."""
    results: list[dict[str, Any]] = []
    lock = threading.Lock()

    def task(_: int) -> None:
        outcome = _one(code, expect)
        with lock:
            results.append(outcome)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=callers) as pool:
        list(pool.map(task, range(calls)))
    wall = time.perf_counter() - start
    errors = [r["error"] for r in results if not r["ok"]]
    return {
        "wall_s": wall,
        "latencies_s": [r["s"] for r in results],
        "errors": len(errors),
        "error_messages": sorted(set(errors))[:5],
    }


def profile(calls: int = 20, top: int = 25, gap_s: float = 0.6, code: str = TRIVIAL) -> dict[str, Any]:
    """Where a call's time goes: cProfile over ``calls`` runs, cumulative ms per call of the
    heaviest functions (profiling slows Python code down, so read the shares, not the sums).
    ``gap_s`` of unprofiled idle time before each call lets a warm pool refill, as between samples."""
    import cProfile
    import pstats

    from nexus_kernel import create_and_run_tool

    create_and_run_tool(code)  # not profiled: executor creation, first imports
    profiler = cProfile.Profile()
    wall = 0.0
    for _ in range(calls):
        time.sleep(gap_s)
        start = time.perf_counter()
        profiler.enable()
        create_and_run_tool(code)
        profiler.disable()
        wall += time.perf_counter() - start
    wall /= calls
    stats = pstats.Stats(profiler)
    rows = []
    for (filename, line, name), (_, ncalls, _tt, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
        where = filename.split("site-packages/")[-1].split("/work/main/")[-1]
        rows.append(
            {
                "function": f"{where}:{line}({name})",
                "calls_per_run": round(ncalls / calls, 1),
                "cum_ms_per_run": round(cumtime / calls * 1000, 3),
            }
        )
    rows.sort(key=lambda r: -r["cum_ms_per_run"])
    return {"wall_ms_per_run_profiled": round(wall * 1000, 3), "top": rows[:top]}


def main() -> None:
    import logging

    # The executor's own log (pool refills, failures) goes to the worker's log file.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    def setup() -> dict[str, Any]:
        import nexus_kernel

        mode = os.environ.get("NEXUS_EXECUTION_MODE", "auto")
        pool = 0
        if mode != "fallback":
            from nexus_kernel.executors.pool import pool_size_from_env

            pool = pool_size_from_env()  # the pool's own reading of NEXUS_POOL_SIZE
        return {"version": nexus_kernel.__version__, "mode": mode, "pool_size": pool, "pid": os.getpid()}

    serve({"run": run, "throughput": throughput, "profile": profile}, setup)


if __name__ == "__main__":
    main()
