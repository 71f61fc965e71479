"""Tools per second with 1, 2, 4 and 8 concurrent callers (threads calling create_and_run_tool on
the warm-pool configuration), errors counted, and no container of ours left behind."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import dockerenv
from .config import Settings
from .latency import NEXUS, nexus_worker, pool_size
from .stats import summarize


def measure(settings: Settings, log: Callable[[str], None]) -> dict[str, Any]:
    dockerenv.image_tag()
    client = dockerenv.client()
    _, env = NEXUS["nexus_warm"]
    levels = {
        n: {"calls": 0, "wall_s": 0.0, "errors": 0, "messages": set(), "lat": []}
        for n in settings.throughput_callers
    }
    unsettled: list[str] = []
    with nexus_worker("throughput", env, settings.log_dir) as worker:
        idle = pool_size(worker)
        pid = worker.info["pid"]
        settle = dockerenv.Settler(client, {pid: idle})
        log(
            f"throughput: callers {settings.throughput_callers}, {settings.throughput_rounds} round(s), "
            f"pool size {idle}"
        )
        for callers in settings.throughput_callers:  # warm-up: one call per caller
            worker.request("throughput", callers=callers, calls=callers, timeout=600)
            settle()
        for index in range(settings.throughput_rounds):
            order = list(settings.throughput_callers)
            if index % 2:
                order.reverse()  # alternate the order so no level always follows the heaviest one
            for callers in order:
                calls = settings.batch_calls(callers)
                reply = worker.request("throughput", callers=callers, calls=calls, timeout=600)
                level = levels[callers]
                level["calls"] += calls
                level["wall_s"] += reply["wall_s"]
                level["errors"] += reply["errors"]
                level["messages"].update(reply["error_messages"])
                level["lat"] += reply["latencies_s"]
                if not settle():
                    # Something other than the idle pool is still there 30 s after the batch.
                    states = [dockerenv.describe(c) for c in dockerenv.executor_containers(client, pid)]
                    unsettled.append(f"after {callers} callers: {states}")
    # The worker has quit (closing its executor): nothing of its own may remain.
    dockerenv.wait_until(lambda: not dockerenv.executor_containers(client, pid), timeout=30, interval=0.1)
    leaked = [dockerenv.describe(c) for c in dockerenv.executor_containers(client, pid)]
    return {
        "pool_size": idle,
        "levels": [
            {
                "callers": n,
                "calls": lv["calls"],
                "wall_s": round(lv["wall_s"], 3),
                "tools_per_s": round(lv["calls"] / lv["wall_s"], 2) if lv["wall_s"] else None,
                "errors": lv["errors"],
                "error_messages": sorted(lv["messages"])[:5],
                "latency": {k: v for k, v in summarize(lv["lat"]).items() if k != "samples_ms"},
            }
            for n, lv in levels.items()
        ],
        "leaked_containers": leaked,
        "unsettled": unsettled,
    }
