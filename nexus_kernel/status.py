"""What this installation would do right now: mode, engine, image, pool, fallback, policy, limits.

``status()`` backs ``nexus-kernel status``, the kernel's ``%nexus_status`` and the REST status
endpoint. It never raises and returns only JSON types: each section that cannot be determined
says why in an ``error`` key instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from . import limits


def status() -> dict[str, Any]:
    """A JSON-serialisable report; never raises."""
    docker = _section(_docker)
    fallback = _section(_fallback)
    report: dict[str, Any] = {
        "version": _section(_version),
        "requested_mode": _section(_requested_mode),
        "auto_mode": _auto_mode(docker, fallback),
        "docker": docker,
        "pool": _section(_pool),
        "fallback": fallback,
        "policy": _section(_policy),
        "limits": _section(_limits),
    }
    return report


def _section(build: Callable[[], Any]) -> Any:
    try:
        return build()
    except Exception as exc:  # noqa: BLE001 - a status report describes failures, it does not raise them
        return {"error": f"{type(exc).__name__}: {exc}"}


def _version() -> str:
    from . import __version__

    return __version__


def _requested_mode() -> str:
    from .executors.selector import requested_mode

    return requested_mode()


def _auto_mode(docker: dict[str, Any], fallback: dict[str, Any]) -> str | None:
    if docker.get("reachable") and docker.get("image_present"):
        return "docker"
    if fallback.get("available"):
        return "fallback"
    return None


def _docker() -> dict[str, Any]:
    from .executors.docker import LABEL, LABEL_ROLE, _client, _short, engine_address
    from .executors.image import image_tag

    tag = image_tag()
    info: dict[str, Any] = {
        "engine": engine_address(),
        "reachable": False,
        "version": None,
        "image": tag,
        "image_present": False,
    }
    try:
        api = _client(timeout=5)
        info["version"] = api.version(api_version=False).get("Version")
        info["reachable"] = True
    except Exception as exc:  # noqa: BLE001 - "not reachable" is an answer here
        info["error"] = _short(exc)
        return info
    try:
        image = api.inspect_image(tag)
        info["image_present"] = True
        info["image_size_mb"] = round(image.get("Size", 0) / 1e6, 1)
    except Exception as exc:  # noqa: BLE001
        info["image_error"] = _short(exc)
    # Sandboxes on this engine, from every process (a kernel, an MCP server, the REST endpoint).
    containers = api.containers(all=True, filters={"label": LABEL})
    roles: dict[str, int] = {}
    for container in containers:
        role = (container.get("Labels") or {}).get(LABEL_ROLE, "?")
        roles[role] = roles.get(role, 0) + 1
    info["sandbox_containers"] = {"total": len(containers), **roles}
    return info


def _pool() -> dict[str, Any]:
    from .executors.pool import max_idle_from_env, pool_size_from_env

    report: dict[str, Any] = {"configured_size": pool_size_from_env(), "max_idle_s": max_idle_from_env()}
    from .executors.docker import DockerExecutor

    shared = DockerExecutor._shared  # only report a pool that exists: never start one for a status
    report["this_process"] = shared.stats() if shared is not None else None
    return report


def _fallback() -> dict[str, Any]:
    try:
        from .executors.fallback import FallbackExecutor
    except ImportError as exc:
        return {"available": False, "error": f"fallback executor not installed: {exc}"}
    try:
        executor = FallbackExecutor.shared()
    except Exception as exc:  # noqa: BLE001 - e.g. ExecutorUnavailable with its reason
        return {"available": False, "error": str(exc)}
    report: dict[str, Any] = {"available": True}
    for name in ("isolation", "isolation_level", "describe"):
        value = getattr(executor, name, None)
        if callable(value):
            value = value()
        if value is not None:
            jsonable = isinstance(value, (str, int, float, bool, list, dict))
            report["isolation"] = value if jsonable else str(value)
            break
    return report


def _policy() -> dict[str, Any]:
    from .policy import load_policy

    policy = load_policy()
    runtime = policy.runtime_config()
    return {
        "policy_file": os.environ.get("NEXUS_POLICY_FILE") or None,
        "allowed_modules": len(runtime["allowed_modules"]),
        "denied_modules": len(policy.denied_modules),
        "blocked_builtins": len(policy.blocked_builtins),
        "blocked_attributes": len(policy.blocked_attributes),
    }


def _limits() -> dict[str, Any]:
    return {
        "timeout_seconds": {
            "min": limits.TIMEOUT_MIN_S, "max": limits.TIMEOUT_MAX_S, "default": limits.TIMEOUT_DEFAULT_S,
        },
        "memory_limit_mb": {
            "min": limits.MEMORY_MIN_MB, "max": limits.MEMORY_MAX_MB, "default": limits.MEMORY_DEFAULT_MB,
        },
        "cpu_cores": limits.CPU_CORES,
        "tmp_size_mb": limits.TMP_SIZE_MB,
        "pids_limit": limits.PIDS_LIMIT,
        "open_files_limit": limits.OPEN_FILES_LIMIT,
        "output_limit_bytes": limits.OUTPUT_LIMIT_BYTES,
        "sandbox_user": f"{limits.SANDBOX_USER} (uid {limits.SANDBOX_UID})",
    }  # fmt: skip
