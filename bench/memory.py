"""Memory: the warm pool's resident size (its idle containers, as ``docker stats`` counts them) and
the kernels' RSS."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import dockerenv
from .config import Settings
from .latency import NEXUS, nexus_worker, pool_size


def container_memory_mb(docker_client: Any, container_id: str) -> dict[str, float]:
    """Usage as ``docker stats`` shows it (usage minus inactive page cache), and the raw usage."""
    stats = docker_client.api.stats(container_id, stream=False)["memory_stats"]
    usage = stats.get("usage", 0)
    detail = stats.get("stats", {})
    # cgroup v1 reports total_inactive_file, v2 inactive_file; the CLI subtracts whichever exists.
    inactive = detail.get("total_inactive_file", detail.get("inactive_file", 0))
    return {"mb": round((usage - inactive) / 2**20, 2), "raw_mb": round(usage / 2**20, 2)}


def pool_memory(settings: Settings) -> dict[str, Any]:
    client = dockerenv.client()
    _, env = NEXUS["nexus_warm"]
    with nexus_worker("memory", env, settings.log_dir) as worker:
        idle = pool_size(worker)
        pid = worker.info["pid"]
        settle = dockerenv.Settler(client, {pid: idle}, min_age_s=1.0)
        for _ in range(2):  # containers that have served are replaced: measure the steady state
            worker.request("run", timeout=180)
            settle()
        containers = dockerenv.executor_containers(client, pid)
        per = [container_memory_mb(client, c["Id"]) for c in containers]
    return {
        "pool_size": idle,
        "containers": len(per),
        "pool_mb": round(sum(p["mb"] for p in per), 2),
        "per_container_mb": [p["mb"] for p in per],
        "pool_raw_mb": round(sum(p["raw_mb"] for p in per), 2),
    }


def measure(settings: Settings, log: Callable[[str], None]) -> dict[str, Any]:
    log("memory: pool containers and kernels")
    out: dict[str, Any] = {"pool": pool_memory(settings)}
    rss = settings.shared.get("kernel_rss_mb")
    if rss is None:
        from .kernel_rt import execute, kernel_env, rss_mb, running_kernel

        rss = {}
        for name, key in (("nexus", "nexus"), ("python3", "ipykernel")):
            with running_kernel(name, kernel_env()) as (km, kc):
                for _ in range(3):
                    execute(kc)
                rss[key] = rss_mb(km)
    out["kernel_rss_mb"] = rss
    return out
