"""End-to-end latency of a trivial tool (``print(1)``): Nexus warm pool, cold container and fallback,
against cold ``docker run`` (CLI and SDK), an image built per call, bare ``python3 -I`` and the peers,
all sampled round-robin in one run."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from . import baselines, dockerenv, peers
from .config import Settings
from .protocol import Worker, WorkerError
from .stats import ratio
from .variants import Variant, round_robin

ROOT = Path(__file__).resolve().parent.parent

#: Nexus variants: name -> (label, environment). The worker reads the environment at start.
NEXUS = {
    "nexus_warm": ("Nexus, warm pool (docker)", {"NEXUS_EXECUTION_MODE": "docker"}),
    "nexus_cold": (
        "Nexus, cold container (pool off)",
        {"NEXUS_EXECUTION_MODE": "docker", "NEXUS_POOL_SIZE": "0"},
    ),
    "nexus_fallback": ("Nexus, fallback (no docker)", {"NEXUS_EXECUTION_MODE": "fallback"}),
}


def nexus_worker(name: str, extra_env: dict[str, str], log_dir: Path) -> Worker:
    """A ``bench.nexus_worker`` process configured through its environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXUS_")}
    env.update(extra_env)
    return Worker(
        name,
        [sys.executable, "-m", "bench.nexus_worker"],
        env=env,
        cwd=ROOT,
        log_path=log_dir / f"{name}.log",
    )


def pool_size(worker: Worker) -> int:
    """The warm pool's target size as the pool reads its configuration (0 when off or fallback)."""
    return int(worker.info.get("pool_size") or 0)


def pool_size_default() -> int:
    """The pool size a kernel started with our environment (minus NEXUS_*) gets."""
    from nexus_kernel.executors.pool import POOL_SIZE_DEFAULT

    return POOL_SIZE_DEFAULT


def _remote(worker: Worker) -> Callable[[], dict[str, Any]]:
    def run() -> dict[str, Any]:
        try:
            return worker.request("run", timeout=180)
        except WorkerError as exc:
            return {"ok": False, "error": str(exc)}

    return run


def measure(settings: Settings, log: Callable[[str], None]) -> dict[str, Any]:
    image = dockerenv.image_tag()
    client = dockerenv.client()
    skipped: dict[str, str] = {}
    variants: list[Variant] = []
    idle: dict[int, int] = {}  # worker pid -> its warm pool size
    with ExitStack() as stack:
        for name, (label, env) in NEXUS.items():
            try:
                worker = stack.enter_context(nexus_worker(name, env, settings.log_dir))
            except WorkerError as exc:
                skipped[name] = str(exc)
                continue
            repeat = settings.cheap_repeat if name in ("nexus_warm", "nexus_fallback") else 1
            variants.append(Variant(name, label, "nexus", _remote(worker), repeat))
            idle[worker.info["pid"]] = pool_size(worker)
        base = "baseline"
        variants += [
            Variant("docker_run_cli", "cold `docker run` (CLI)", base, baselines.docker_run_cli(image)),
            Variant("docker_run_sdk", "cold `containers.run` (SDK)", base, baselines.docker_run_sdk(image)),
            Variant("image_per_call", "image built per call + run", base, baselines.image_per_call(image)),
            Variant(
                "bare_python",
                "bare `python3 -I -c`",
                base,
                baselines.bare_python("-I"),
                settings.cheap_repeat,
            ),
            # The fallback's own flags (no `site`): the floor under the fallback figure.
            Variant(
                "bare_python_nosite",
                "bare `python3 -I -S -c`",
                base,
                baselines.bare_python("-I", "-S"),
                settings.cheap_repeat,
            ),
        ]
        if settings.peers:
            variants += _peer_variants(settings, image, stack, skipped, log)
        else:
            skipped["peers"] = "--no-peers"

        settle = dockerenv.Settler(client, idle)
        warm_pool = max(idle.values(), default=0)
        log(f"latency: {len(variants)} variants, {settings.latency_rounds} rounds, pool size {warm_pool}")
        settle()
        round_robin(variants, settings.latency_rounds, settings.latency_warmup, settle, log)
    leftovers = dockerenv.remove_bench_containers(client) + baselines.remove_dynamic_images()
    result: dict[str, Any] = {
        "image": image,
        "host_python": baselines.host_python(),
        "pool_size": warm_pool,
        "rounds": settings.latency_rounds,
        "settle_timeouts": settle.timeouts,
        "settle_timeout_states": settle.timeout_states,
        "leftovers_removed_between_samples": settle.leftovers_removed,
        "variants": {v.name: v.summary() for v in variants},
        "skipped": skipped,
        "bench_leftovers_removed": leftovers,
    }
    result["ratios"] = _ratios(result["variants"])
    return result


def _peer_variants(
    settings: Settings, image: str, stack: ExitStack, skipped: dict[str, str], log: Callable[[str], None]
) -> list[Variant]:
    try:
        peers.ensure_venv(log)
        peer_image = peers.build_peer_image(image)
        stack.callback(peers.remove_peer_images)
    except Exception as exc:  # noqa: BLE001 - no PyPI, no build: report, measure the rest
        for peer in peers.PEERS:
            skipped[peer] = f"bench virtualenv or peer image unavailable: {exc}"
        return []
    out = []
    for peer in peers.PEERS:
        try:
            worker = stack.enter_context(peers.start_worker(peer, peer_image, settings.log_dir))
        except WorkerError as exc:
            skipped[peer] = str(exc)
            continue
        version = worker.info.get("version", "?")
        out.append(
            Variant(
                peer, f"{peer} {version} (one-shot)", "peer", _remote(worker), note=peers.DEVIATIONS[peer]
            )
        )
    return out


def _ratios(variants: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """How many times slower each other variant is than each Nexus variant (median over median)."""
    out: dict[str, Any] = {}
    for ours in ("nexus_warm", "nexus_cold", "nexus_fallback"):
        base = (variants.get(ours) or {}).get("median_ms")
        if not base:
            continue
        out[ours] = {name: ratio(v.get("median_ms"), base) for name, v in variants.items() if name != ours}
    return out
