"""Chooses the executor: ``NEXUS_EXECUTION_MODE=docker|fallback|auto`` (default auto)."""

from __future__ import annotations

import os

from .base import Executor, ExecutorUnavailable

MODES = ("auto", "docker", "fallback")
DOCKER_MODE = "docker_isolated"


def requested_mode(mode: str | None = None) -> str:
    """The mode asked for, by argument or by ``NEXUS_EXECUTION_MODE``; raises on an unknown one."""
    chosen = (mode or os.environ.get("NEXUS_EXECUTION_MODE") or "auto").strip().lower()
    if chosen not in MODES:
        raise ExecutorUnavailable(
            f"unknown execution mode {chosen!r}: NEXUS_EXECUTION_MODE must be one of {', '.join(MODES)}"
        )
    return chosen


def select_executor(mode: str | None = None) -> Executor:
    """The executor for ``mode``. Forced docker never falls back: it raises with the reason."""
    chosen = requested_mode(mode)
    if chosen in ("docker", "auto"):
        from .docker import DockerExecutor  # the docker SDK is only imported when asked for

        try:
            return DockerExecutor.shared()
        except ExecutorUnavailable:
            if chosen == "docker":
                raise
    from .fallback import FallbackExecutor

    return FallbackExecutor.shared()
