"""Baselines measured in the same run: cold ``docker run`` (CLI and SDK), an image built per call
(the spec's ``nexus-dynamic-tool-<id>`` naming), and bare ``python3 -I``.

Each returns a callable that performs one run and returns ``{"s", "ok", "error"}``; the latency
module interleaves them with the Nexus variants and the peers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import dockerenv

Sample = dict[str, Any]
Runner = Callable[[], Sample]
CODE = "print(1)"


def _timed(argv: list[str], expect: str = "1", timeout: float = 120, stdin: str | None = None) -> Sample:
    start = time.perf_counter()
    try:
        done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"s": time.perf_counter() - start, "ok": False, "error": f"timed out after {timeout} s"}
    elapsed = time.perf_counter() - start
    ok = done.returncode == 0 and done.stdout.strip() == expect
    return {"s": elapsed, "ok": ok, "error": None if ok else f"exit {done.returncode}: {done.stderr[-300:]}"}


def host_python() -> str:
    """The system's ``python3`` (what the fallback runs tools with when it can), else the one
    behind our virtualenv. Never a shim found on PATH: a pyenv shim is a shell script (~70 ms)."""
    if os.path.exists("/usr/bin/python3"):
        return os.path.realpath("/usr/bin/python3")
    return os.path.realpath(getattr(sys, "_base_executable", None) or sys.executable)


def bare_python(*flags: str) -> Runner:
    """``python3 <flags> -c "print(1)"``: the floor any sandbox adds to."""
    argv = [host_python(), *flags, "-c", CODE]
    return lambda: _timed(argv)


def docker_run_cli(image: str) -> Runner:
    """``docker run --rm`` with the executor's limits: what a user would type."""
    argv = ["docker", "run", *dockerenv.cli_run_flags(), image, dockerenv.python_in_image(), "-I", "-c", CODE]
    return lambda: _timed(argv)


def docker_run_sdk(image: str) -> Runner:
    """``containers.run(..., remove=True)`` from the docker SDK, same limits: no CLI start-up."""
    client = dockerenv.client()
    kwargs = dockerenv.sdk_run_kwargs()
    command = [dockerenv.python_in_image(), "-I", "-c", CODE]

    def run() -> Sample:
        start = time.perf_counter()
        try:
            out = client.containers.run(image, command, remove=True, **kwargs)
        except Exception as exc:  # noqa: BLE001 - a failed run is a data point
            return {"s": time.perf_counter() - start, "ok": False, "error": f"{type(exc).__name__}: {exc}"}
        elapsed = time.perf_counter() - start
        ok = out.decode().strip() == "1"
        return {"s": elapsed, "ok": ok, "error": None if ok else f"stdout {out[:200]!r}"}

    return run


def image_per_call(image: str) -> Runner:
    """Build ``nexus-dynamic-tool-<id>`` FROM the sandbox image with the code file, run it, remove it.

    The spec names both an image and a container per tool; this is that design done literally
    (offline: FROM a local image needs no pull).
    """

    def run() -> Sample:
        tool_id = uuid.uuid4().hex[:8]
        tag = f"nexus-dynamic-tool-{tool_id}"
        start = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="nexus-bench-") as ctx:
            Path(ctx, "tool.py").write_text(CODE + "\n")
            Path(ctx, "Dockerfile").write_text(
                f"FROM {image}\nCOPY tool.py /opt/tool.py\nLABEL {dockerenv.BENCH_LABEL}=image-per-call\n"
            )
            built = subprocess.run(
                ["docker", "build", "-q", "--force-rm", "-t", tag, ctx],
                capture_output=True,
                text=True,
                check=False,
                timeout=300,
            )
            if built.returncode != 0:
                return {"s": time.perf_counter() - start, "ok": False, "error": built.stderr[-300:]}
            try:
                sample = _timed(
                    [
                        "docker",
                        "run",
                        *dockerenv.cli_run_flags(),
                        "--name",
                        tag,
                        tag,
                        dockerenv.python_in_image(),
                        "-I",
                        "/opt/tool.py",
                    ]
                )
            finally:
                subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, check=False, timeout=120)
        sample["s"] = time.perf_counter() - start
        return sample

    return run


def remove_dynamic_images() -> int:
    """Images a failed per-call build left behind."""
    out = subprocess.run(
        ["docker", "images", "-q", "--filter", f"label={dockerenv.BENCH_LABEL}=image-per-call"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    if out:
        subprocess.run(["docker", "rmi", "-f", *sorted(set(out))], capture_output=True, check=False)
    return len(set(out))
