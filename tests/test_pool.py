"""The warm pool: its logic with stand-in sandboxes, then for real with Docker containers."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass, field

import pytest

from nexus_kernel.executors.base import ExecutionRequest
from nexus_kernel.executors.pool import (
    MAX_IDLE_DEFAULT_S,
    POOL_SIZE_DEFAULT,
    WarmPool,
    max_idle_from_env,
    pool_size_from_env,
)
from nexus_kernel.policy import load_policy
from nexus_kernel.response import new_tool_id

# ---------------------------------------------------------------------------- logic (no Docker)


@dataclass(eq=False)
class Fake:
    memory_mb: int
    created: float = field(default_factory=time.monotonic)
    dead: bool = False


class Recorder:
    """start/discard/alive for a pool of ``Fake`` sandboxes, with a gate to hold starts."""

    def __init__(self) -> None:
        self.started: list[Fake] = []
        self.discarded: list[Fake] = []
        self.gate = threading.Event()
        self.gate.set()
        self.fail = False

    def start(self, memory_mb: int) -> Fake:
        self.gate.wait(10)
        if self.fail:
            raise RuntimeError("engine gone")
        fake = Fake(memory_mb)
        self.started.append(fake)
        return fake

    def discard(self, fake: Fake) -> None:
        self.discarded.append(fake)

    def alive(self, fake: Fake) -> bool:
        return not fake.dead


def make_pool(recorder: Recorder, size: int = 2, max_idle_s: float = 600.0) -> WarmPool[Fake]:
    pool = WarmPool(recorder.start, recorder.discard, recorder.alive, size=size, max_idle_s=max_idle_s)
    pool.start()
    return pool


def wait_until(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def test_fills_to_size_and_hands_each_sandbox_out_once() -> None:
    recorder = Recorder()
    pool = make_pool(recorder, size=2)
    try:
        assert pool.wait_ready(10)
        first, second = pool.checkout(128), pool.checkout(128)
        assert first is not None and second is not None and first is not second
        # Refilled in the background with new sandboxes, never with the ones handed out.
        assert wait_until(lambda: len(pool.idle()) == 2)
        assert all(s not in (first, second) for s in pool.idle())
        assert pool.stats()["hits"] == 2
    finally:
        pool.close()


def test_checkout_never_waits_for_a_start() -> None:
    recorder = Recorder()
    recorder.gate.clear()  # every start blocks
    pool = make_pool(recorder, size=2)
    try:
        before = time.monotonic()
        assert pool.checkout(128) is None  # empty pool: the caller goes cold at once
        assert time.monotonic() - before < 5  # generous: it must simply not block on the gate
        assert pool.stats()["misses"] == 1
    finally:
        recorder.gate.set()
        pool.close()


def test_prefers_a_sandbox_with_the_requested_memory_and_learns_it() -> None:
    recorder = Recorder()
    pool = make_pool(recorder, size=2)
    try:
        assert pool.wait_ready(10)
        pool.checkout(64)  # none has 64 MB: any is taken (the executor updates it)
        # Replacements are started with the limit asked for last.
        assert wait_until(lambda: 64 in [s.memory_mb for s in pool.idle()])
        chosen = pool.checkout(64)
        assert chosen is not None and chosen.memory_mb == 64
    finally:
        pool.close()


def test_dead_idle_sandbox_is_discarded_not_handed_out() -> None:
    recorder = Recorder()
    pool = make_pool(recorder, size=1)
    try:
        assert pool.wait_ready(10)
        pool.idle()[0].dead = True
        recorder.gate.clear()  # no replacement yet
        assert pool.checkout(128) is None
        assert len(recorder.discarded) == 1 and recorder.discarded[0].dead
    finally:
        recorder.gate.set()
        pool.close()


def test_idle_sandboxes_are_replaced_after_max_idle() -> None:
    recorder = Recorder()
    pool = make_pool(recorder, size=1, max_idle_s=0.2)
    try:
        assert pool.wait_ready(10)
        first = pool.idle()[0]
        assert wait_until(lambda: first in recorder.discarded and len(pool.idle()) == 1)
        assert pool.idle()[0] is not first
    finally:
        pool.close()


def test_start_failures_back_off_and_recover() -> None:
    recorder = Recorder()
    recorder.fail = True
    pool = make_pool(recorder, size=1)
    try:
        assert wait_until(lambda: pool.stats()["last_error"] is not None)
        assert "engine gone" in pool.stats()["last_error"]
        assert pool.checkout(128) is None
        recorder.fail = False
        assert pool.wait_ready(10)
        assert pool.stats()["last_error"] is None
    finally:
        pool.close()


def test_close_discards_idle_and_stops() -> None:
    recorder = Recorder()
    pool = make_pool(recorder, size=2)
    assert pool.wait_ready(10)
    idle = pool.idle()
    pool.close()
    assert set(map(id, recorder.discarded)) >= set(map(id, idle))
    assert pool.idle() == [] and not pool.stats()["running"]
    assert pool.checkout(128) is None


def test_size_zero_never_starts_anything() -> None:
    recorder = Recorder()
    pool = make_pool(recorder, size=0)
    assert pool.checkout(128) is None
    pool.close()
    assert recorder.started == [] and pool.stats()["misses"] == 0


def test_env_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEXUS_POOL_SIZE", raising=False)
    monkeypatch.delenv("NEXUS_POOL_MAX_IDLE_S", raising=False)
    assert pool_size_from_env() == POOL_SIZE_DEFAULT == 2
    assert max_idle_from_env() == MAX_IDLE_DEFAULT_S
    monkeypatch.setenv("NEXUS_POOL_SIZE", "0")
    assert pool_size_from_env() == 0
    monkeypatch.setenv("NEXUS_POOL_SIZE", "lots")
    assert pool_size_from_env() == POOL_SIZE_DEFAULT
    monkeypatch.setenv("NEXUS_POOL_SIZE", "1000")
    assert pool_size_from_env() == 16
    monkeypatch.setenv("NEXUS_POOL_MAX_IDLE_S", "30")
    assert max_idle_from_env() == 30.0


# ---------------------------------------------------------------------------- with Docker


def _request(code: str, memory: int = 128) -> ExecutionRequest:
    return ExecutionRequest(
        tool_id=new_tool_id(),
        code=textwrap.dedent(code),
        timeout_seconds=30,
        memory_limit_mb=memory,
        runtime_policy=load_policy().runtime_config(),
    )


def _containers(label: str) -> list[dict]:
    from nexus_kernel.executors.docker import _client

    return _client().containers(all=True, filters={"label": label})


@pytest.mark.docker
def test_warm_containers_are_used_once_and_replaced() -> None:
    from nexus_kernel.executors.docker import DockerExecutor

    executor = DockerExecutor(pool_size=2)
    try:
        assert executor.pool.wait_ready(60)
        warm_ids = {box.id for box in executor.pool.idle()}
        # The first tool leaves a file in /tmp; the next one must not find it (fresh container).
        first = executor.run(_request("open('/tmp/mark', 'w').write('x'); print('written')"))
        probe = executor.run(_request("""
            try:
                open('/tmp/mark')
                print('seen')
            except FileNotFoundError:
                print('absent')
        """))
        assert first.success and probe.stdout == "absent\n"
        assert executor.warm_starts == 2
        assert executor.pool.wait_ready(60)
        assert executor.wait_for_cleanup(30)
        remaining = {c["Id"] for c in _containers(f"nexus-kernel.executor={executor._token}")}
        used = warm_ids - {box.id for box in executor.pool.idle()}
        assert used and not used & remaining  # every container that ran a tool is gone
    finally:
        executor.close()
    assert _containers(f"nexus-kernel.executor={executor._token}") == []


@pytest.mark.docker
def test_pool_size_zero_from_env_runs_cold(monkeypatch: pytest.MonkeyPatch) -> None:
    from nexus_kernel.executors.docker import DockerExecutor

    monkeypatch.setenv("NEXUS_POOL_SIZE", "0")
    executor = DockerExecutor()
    try:
        assert executor.pool.size == 0
        result = executor.run(_request("print('cold')"))
        assert result.success and result.stdout == "cold\n"
        assert executor.cold_starts == 1 and executor.warm_starts == 0
        assert executor.wait_for_cleanup(30)
        assert _containers(f"nexus-kernel.executor={executor._token}") == []
    finally:
        executor.close()


@pytest.mark.docker
def test_aged_warm_containers_are_replaced_and_removed() -> None:
    from nexus_kernel.executors.docker import DockerExecutor

    executor = DockerExecutor(pool_size=1, max_idle_s=1.0)
    try:
        assert executor.pool.wait_ready(60)
        first = executor.pool.idle()[0].id
        assert wait_until(lambda: [b.id for b in executor.pool.idle()] not in ([], [first]), timeout=30)
        assert executor.wait_for_cleanup(30)
        assert first not in {c["Id"] for c in _containers(f"nexus-kernel.executor={executor._token}")}
    finally:
        executor.close()


_SCRIPT = """
import os, sys
from nexus_kernel.executors.docker import DockerExecutor
executor = DockerExecutor(pool_size=2)
assert executor.pool.wait_ready(60)
print(executor._token, flush=True)
if sys.argv[1] == "crash":
    os._exit(1)  # no atexit: as if the kernel was killed
"""


def _run_script(how: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _SCRIPT, how], capture_output=True, text=True, timeout=120)


@pytest.mark.docker
def test_interpreter_exit_removes_the_pool() -> None:
    done = _run_script("exit")
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    assert token and _containers(f"nexus-kernel.executor={token}") == []


@pytest.mark.docker
def test_containers_of_a_crashed_process_are_swept_by_the_next_executor() -> None:
    from nexus_kernel.executors.docker import DockerExecutor

    done = _run_script("crash")
    token = done.stdout.strip()
    assert done.returncode == 1 and token
    left = _containers(f"nexus-kernel.executor={token}")
    assert len(left) == 2  # the crash left them behind (labelled with the dead pid)
    assert all(c["Labels"]["nexus-kernel.pid"] != str(os.getpid()) for c in left)
    executor = DockerExecutor(pool_size=0)  # a new executor removes what dead processes left
    executor.close()
    assert _containers(f"nexus-kernel.executor={token}") == []
