"""Shared fixtures. Docker tests run for real; with CI=true a missing engine is a failure, not a skip."""

from __future__ import annotations

import os

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"


def _docker_problem() -> str | None:
    try:
        from nexus_kernel.executors.docker import DockerExecutor
        from nexus_kernel.executors.image import build_image

        build_image(if_missing=True)
        DockerExecutor.shared()
    except Exception as exc:  # noqa: BLE001 - any failure means "no docker here"
        return f"{type(exc).__name__}: {exc}"
    return None


@pytest.fixture(scope="session")
def docker_ready() -> None:
    """The engine answers and the sandbox image exists (built offline if it was missing)."""
    problem = _docker_problem()
    if problem:
        if IN_CI:
            pytest.fail(f"CI=true but Docker is not usable: {problem}")
        pytest.skip(f"no Docker engine: {problem}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Every test marked `docker` gets the fixture, so none can forget it.
    for item in items:
        if item.get_closest_marker("docker"):
            # A new list: parametrized items share one, and the fallback variants must not get the fixture.
            item.fixturenames = ["docker_ready", *item.fixturenames]
