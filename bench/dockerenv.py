"""Docker facts the benchmarks share: the sandbox image, the limits as flags, our containers.

The limits mirror what ``nexus_kernel.executors.docker`` passes to the engine, so the baselines and
the peers run under the same constraints as the executor they are compared with.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from nexus_kernel.limits import CPU_CORES, MEMORY_DEFAULT_MB, PIDS_LIMIT, SANDBOX_UID, TMP_SIZE_MB

#: Every container or image the benchmarks create carries this label, so none can leak unnoticed.
BENCH_LABEL = "nexus.bench"
TMPFS_OPTIONS = f"size={TMP_SIZE_MB}m,uid={SANDBOX_UID},gid={SANDBOX_UID}"


def image_tag() -> str:
    """The executor's sandbox image (built offline when missing, as the test suite does)."""
    from nexus_kernel.executors.image import build_image

    return build_image(if_missing=True)


def python_in_image() -> str:
    from nexus_kernel.executors.image import PYTHON_IN_IMAGE

    return PYTHON_IN_IMAGE


def limits(memory_mb: int = MEMORY_DEFAULT_MB) -> dict[str, Any]:
    """The executor's limits, in the words the peers and the docker SDK use."""
    return {
        "memory_mb": memory_mb,
        "nano_cpus": int(CPU_CORES * 1e9),
        "pids": PIDS_LIMIT,
        "tmpfs": TMPFS_OPTIONS,
        "user": f"{SANDBOX_UID}:{SANDBOX_UID}",
    }


def cli_run_flags(memory_mb: int = MEMORY_DEFAULT_MB) -> list[str]:
    """``docker run`` flags equal to the executor's container settings."""
    return [
        "--rm", "--network", "none", "--read-only", "--tmpfs", f"/tmp:{TMPFS_OPTIONS}",
        "--user", f"{SANDBOX_UID}:{SANDBOX_UID}", "--cpus", str(CPU_CORES),
        "--memory", f"{memory_mb}m", "--memory-swap", f"{memory_mb}m", "--pids-limit", str(PIDS_LIMIT),
        "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--label", f"{BENCH_LABEL}=baseline",
    ]  # fmt: skip


def sdk_run_kwargs(memory_mb: int = MEMORY_DEFAULT_MB) -> dict[str, Any]:
    """``containers.run`` keyword arguments equal to the executor's container settings."""
    return {
        "network_mode": "none", "read_only": True, "tmpfs": {"/tmp": TMPFS_OPTIONS},
        "user": f"{SANDBOX_UID}:{SANDBOX_UID}", "nano_cpus": int(CPU_CORES * 1e9),
        "mem_limit": f"{memory_mb}m", "memswap_limit": f"{memory_mb}m", "pids_limit": PIDS_LIMIT,
        "cap_drop": ["ALL"], "security_opt": ["no-new-privileges"], "labels": {BENCH_LABEL: "baseline"},
    }  # fmt: skip


def client() -> Any:
    import docker

    return docker.from_env(timeout=120)


def _list(docker_client: Any, label: str) -> list[dict[str, Any]]:
    # The low-level list: the high-level one inspects each container and races with removals.
    return docker_client.api.containers(all=True, filters={"label": label})


def bench_containers(docker_client: Any) -> list[dict[str, Any]]:
    """Containers the benchmarks themselves made (baselines, peers), running or not."""
    return _list(docker_client, BENCH_LABEL)


def remove_bench_containers(docker_client: Any) -> int:
    """Remove what a failed baseline or peer run left behind; returns how many."""
    leftovers = bench_containers(docker_client)
    for container in leftovers:
        with contextlib.suppress(Exception):  # already gone
            docker_client.api.remove_container(container["Id"], force=True)
    return len(leftovers)


def describe(container: dict[str, Any]) -> str:
    """``name (state)`` of a low-level container listing."""
    return f"{(container.get('Names') or ['?'])[0].lstrip('/')} ({container.get('State')})"


def wait_until(predicate: Any, timeout: float, interval: float = 0.02) -> bool:
    """Poll ``predicate`` until true or ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def owner_label() -> str:
    """The executor's label naming the process that owns a container."""
    from nexus_kernel.executors.docker import LABEL_PID

    return LABEL_PID


def executor_containers(docker_client: Any, owner: int | None = None) -> list[dict[str, Any]]:
    """Containers the executor made (pool and tool runs), of one process or of all."""
    from nexus_kernel.executors.docker import LABEL

    return _list(docker_client, LABEL if owner is None else f"{owner_label()}={owner}")


def _idle_warm(container: dict[str, Any]) -> bool:
    """A pool container still waiting for a tool: running, and not yet renamed for a tool."""
    from nexus_kernel.executors.docker import NAME_PREFIX

    names = [n.lstrip("/") for n in container.get("Names") or []]
    return container.get("State") == "running" and not any(n.startswith(NAME_PREFIX) for n in names)


class Settler:
    """Waits, untimed, between samples until the engine is quiet.

    Quiet: each process we watch has exactly its idle pool of running containers (none without a
    pool), the benchmarks' own containers are gone, and the youngest pool container has been up for
    ``min_age_s`` (a container that just turned 'running' is still starting its interpreter). So a
    pool refilling or a container being removed after one sample does not slow the next sample of
    another variant. Containers of other processes (say, a test suite) are ignored. The benchmarks'
    own runs remove their containers before they return, so one still there after a few seconds is
    a leftover of a failed run: it is removed (and counted) rather than waited for.
    """

    LEFTOVER_GRACE_S = 5.0

    def __init__(
        self, docker_client: Any, idle: dict[int, int], min_age_s: float = 0.3, timeout: float = 10.0
    ) -> None:
        self.client = docker_client
        self.idle = dict(idle)
        self.min_age_s = min_age_s
        self.timeout = timeout
        self._first_seen: dict[str, float] = {}
        self.timeouts = 0
        #: What the engine looked like at the first few timeouts (to explain them).
        self.timeout_states: list[list[str]] = []
        self.leftovers_removed = 0

    def _quiet(self) -> bool:
        now = time.monotonic()
        for owner, idle in self.idle.items():
            mine = executor_containers(self.client, owner)
            for c in mine:
                self._first_seen.setdefault(c["Id"], now)
            if len(mine) != idle or not all(_idle_warm(c) for c in mine):
                return False
            if any(now - self._first_seen[c["Id"]] < self.min_age_s for c in mine):
                return False
        leftovers = bench_containers(self.client)
        for c in leftovers:
            if now - self._first_seen.setdefault(c["Id"], now) > self.LEFTOVER_GRACE_S:
                with contextlib.suppress(Exception):  # being removed already
                    self.client.api.remove_container(c["Id"], force=True)
                    self.leftovers_removed += 1
        return not leftovers

    def __call__(self) -> bool:
        ok = wait_until(self._quiet, self.timeout, interval=0.05)
        if not ok:
            self.timeouts += 1
            if len(self.timeout_states) < 5:
                found = [c for owner in self.idle for c in executor_containers(self.client, owner)]
                self.timeout_states.append([describe(c) for c in found + bench_containers(self.client)])
        return ok
