"""The Docker executor against the real engine: results, naming, limits, pool paths, cleanup."""

from __future__ import annotations

import os
import signal
import sys
import textwrap
import threading
from collections.abc import Iterator

import pytest

from nexus_kernel.executors.base import ExecutionRequest, ExecutorUnavailable, OutputCallback
from nexus_kernel.policy import load_policy
from nexus_kernel.response import DOCKER_KEYS, new_tool_id

pytestmark = pytest.mark.docker

#: The validator is bypassed in these tests; this policy lets the tool use what it likes.
PERMISSIVE = {
    "allowed_modules": sorted(sys.stdlib_module_names),
    "blocked_builtins": [],
    "blocked_attributes": [],
}


def request(
    code: str,
    *,
    timeout: int = 30,
    memory: int = 128,
    on_output: OutputCallback | None = None,
    policy: dict | None = None,
) -> ExecutionRequest:
    return ExecutionRequest(
        tool_id=new_tool_id(),
        code=textwrap.dedent(code),
        timeout_seconds=timeout,
        memory_limit_mb=memory,
        runtime_policy=policy or load_policy().runtime_config(),
        on_output=on_output,
    )


def api():
    from nexus_kernel.executors.docker import _client

    return _client()


def exists(name: str) -> bool:
    return bool(api().containers(all=True, filters={"name": f"^/{name}$"}))


def tool_containers(executor) -> list[str]:
    """Containers of this executor that ran (or were created for) a tool: must be none after a run."""
    found = api().containers(all=True, filters={"label": f"nexus-kernel.executor={executor._token}"})
    return [c["Names"][0] for c in found if c["Names"][0].startswith("/nexus-dynamic-tool-")]


def assert_cleaned(executor) -> None:
    assert executor.wait_for_cleanup(30)
    assert tool_containers(executor) == []


@pytest.fixture(scope="module")
def executor() -> Iterator:
    from nexus_kernel.executors.docker import DockerExecutor

    executor = DockerExecutor(pool_size=2)
    executor.pool.wait_ready(60)
    yield executor
    executor.close()
    assert api().containers(all=True, filters={"label": f"nexus-kernel.executor={executor._token}"}) == []


@pytest.fixture(scope="module")
def cold() -> Iterator:
    from nexus_kernel.executors.docker import DockerExecutor

    executor = DockerExecutor(pool_size=0)
    yield executor
    executor.close()


@pytest.fixture(autouse=True)
def _no_tool_container_left(request: pytest.FixtureRequest) -> Iterator[None]:
    """After every test: `docker ps -a` shows no container that ran a tool of ours."""
    yield
    for name in ("executor", "cold"):
        if name in request.fixturenames:
            assert_cleaned(request.getfixturevalue(name))


def test_success_has_exactly_the_docker_keys(executor) -> None:
    from nexus_kernel.executors.image import image_tag

    req = request("print('hello from the sandbox')")
    result = executor.run(req)
    assert result.success and result.message == "Dynamic tool executed successfully"
    assert result.mode == "docker_isolated" and executor.mode == "docker_isolated"
    assert result.stdout == "hello from the sandbox\n" and result.stderr == ""
    assert tuple(result.details) == DOCKER_KEYS
    assert result.details["container_name"] == f"nexus-dynamic-tool-{req.tool_id}"
    assert result.details["docker_image"] == image_tag()
    assert result.details["container_return_code"] == 0
    assert result.details["container_stderr"] == ""
    assert result.details["container_execution_time_seconds"] >= result.execution_time_seconds >= 0
    assert_cleaned(executor)


@pytest.mark.parametrize("path", ["warm", "cold"])
def test_container_is_named_for_the_tool_while_it_runs(path: str, executor, cold) -> None:
    chosen = executor if path == "warm" else cold
    seen: dict = {}

    def on_output(stream: str, text: str) -> None:
        if "running" in text:
            found = api().containers(filters={"name": f"^/nexus-dynamic-tool-{req.tool_id}$"})
            seen["state"] = found[0]["State"] if found else None

    if path == "warm":
        assert executor.pool.wait_ready(60)
    req = request("import time\nprint('running')\ntime.sleep(0.5)", on_output=on_output)
    starts = (chosen.warm_starts, chosen.cold_starts)
    result = chosen.run(req)
    assert result.success and seen["state"] == "running"
    if path == "warm":
        assert chosen.warm_starts == starts[0] + 1
    else:
        assert chosen.cold_starts == starts[1] + 1
    assert_cleaned(chosen)


def test_live_output_arrives_in_order(executor) -> None:
    chunks: list[tuple[str, str]] = []
    result = executor.run(
        request(
            """
        import sys
        print("one")
        print("two", file=sys.stderr)
        print("three")
    """,
            on_output=lambda stream, text: chunks.append((stream, text)),
        )
    )
    assert result.success
    assert chunks == [("stdout", "one\n"), ("stderr", "two\n"), ("stdout", "three\n")]
    assert result.stdout == "one\nthree\n" and result.stderr == "two\n"


def test_tool_exception_is_reported(executor) -> None:
    result = executor.run(request("def f():\n    return 1 / 0\nf()"))
    assert not result.success
    assert result.error is not None and result.error.ename == "ZeroDivisionError"
    assert result.message == "ZeroDivisionError: division by zero"
    assert "<tool>" in result.stderr and "return 1 / 0" in result.stderr
    assert result.details["container_return_code"] == 1
    assert_cleaned(executor)


def test_code_is_passed_as_data(executor) -> None:
    # Triple quotes, Docker's detach keys (ctrl-p ctrl-q), non-ASCII and a large body all arrive intact.
    filler = "\n".join(f"x{i} = {i}" for i in range(20000))
    code = 'print("""a\\"""b""")\nprint("\x10\x11" == chr(16) + chr(17))\nprint("héllo ✓")\n' + filler
    result = executor.run(request(code + "\nprint(x19999)"))
    assert result.success, result.stderr
    assert result.stdout == 'a"""b\nTrue\nhéllo ✓\n19999\n'


@pytest.mark.parametrize("memory", [32, 200, 512])
@pytest.mark.parametrize("path", ["warm", "cold"])
def test_memory_limit_is_the_tools_with_no_swap(memory: int, path: str, executor, cold) -> None:
    chosen = executor if path == "warm" else cold
    if path == "warm":
        assert executor.pool.wait_ready(60)
    result = chosen.run(
        request(
            """
        import os
        def read(name):
            fd = os.open("/sys/fs/cgroup/memory/" + name, os.O_RDONLY)
            try:
                return int(os.read(fd, 64))
            finally:
                os.close(fd)
        print(read("memory.limit_in_bytes"), read("memory.memsw.limit_in_bytes"))
    """,
            memory=memory,
            policy=PERMISSIVE,
        )
    )
    assert result.success, result.stderr
    assert result.stdout.split() == [str(memory * 1024 * 1024)] * 2


def test_container_settings(executor) -> None:
    """The engine's view of a running tool's container: every isolation setting in place."""
    from nexus_kernel.executors.docker_seccomp import security_opt

    seen: dict = {}

    def on_output(stream: str, text: str) -> None:
        seen.update(api().inspect_container(f"nexus-dynamic-tool-{req.tool_id}"))

    req = request("import time\nprint('x')\ntime.sleep(0.3)", memory=96, on_output=on_output)
    assert executor.run(req).success
    host, config = seen["HostConfig"], seen["Config"]
    assert host["NetworkMode"] == "none" and config["NetworkDisabled"] is True
    assert host["ReadonlyRootfs"] is True
    assert host["Tmpfs"] == {"/tmp": "rw,nosuid,nodev,noexec,size=10m,uid=1000,gid=1000"}
    assert host["NanoCpus"] == 500_000_000
    assert host["Memory"] == host["MemorySwap"] == 96 * 1024 * 1024
    assert host["PidsLimit"] == 64
    assert host["CapDrop"] == ["ALL"] and not host["CapAdd"] and not host["Privileged"]
    assert host["SecurityOpt"] == ["no-new-privileges", security_opt()]  # our seccomp profile
    assert host["IpcMode"] == "none" and host["LogConfig"]["Type"] == "none"
    assert not host["Binds"] and not seen["Mounts"]
    assert config["User"] == "1000:1000" and config["Labels"]["nexus-kernel.sandbox"] == "1"
    assert all(e.split("=")[0] in ("PATH", "LANG", "HOSTNAME", "HOME") for e in config["Env"])


def test_seccomp_profile_is_dockers_default_with_sockets_narrowed() -> None:
    """What the profile changes in Docker's; what it does is in test_docker_containment.py."""
    import json

    from nexus_kernel.executors.docker_seccomp import DEFAULT_PROFILE, build_profile, profile_json

    default = json.loads(DEFAULT_PROFILE.read_text())
    ours = json.loads(profile_json())
    assert ours["defaultAction"] == default["defaultAction"] == "SCMP_ACT_ERRNO"
    assert all(arch["subArchitectures"] == [] for arch in ours["archMap"])  # native ABI only
    allowed = {name for rule in ours["syscalls"] if not rule["args"] for name in rule["names"]}
    before = {name for rule in default["syscalls"] if not rule["args"] for name in rule["names"]}
    assert before - allowed == {
        "socket", "socketpair", "socketcall", "io_uring_setup", "io_uring_enter", "io_uring_register"
    }  # fmt: skip
    assert allowed <= before
    narrowed = {(r["names"][0], r["args"][0]["value"]) for r in ours["syscalls"][len(default["syscalls"]) :]}
    assert narrowed == {("socket", 1), ("socket", 2), ("socket", 10), ("socketpair", 1)}
    with pytest.raises(ValueError, match="must refuse"):
        build_profile({**default, "defaultAction": "SCMP_ACT_ALLOW"})


def test_eight_concurrent_callers(executor) -> None:
    results: dict[str, object] = {}

    def one() -> None:
        tool_id = new_tool_id()
        req = ExecutionRequest(tool_id, f"print({tool_id!r})", 60, 64, load_policy().runtime_config())
        results[tool_id] = executor.run(req)

    threads = [threading.Thread(target=one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(results) == 8
    for tool_id, result in results.items():
        assert result.success and result.stdout == f"{tool_id}\n"
        assert result.details["container_name"] == f"nexus-dynamic-tool-{tool_id}"
    assert_cleaned(executor)


def test_timeout_kills_and_removes(executor) -> None:
    req = request("print('spinning')\nwhile True:\n    pass", timeout=10)
    result = executor.run(req)
    assert not result.success
    assert result.message == "Tool timed out after 10 s and was stopped"
    assert result.stdout == "spinning\n"
    assert result.details["container_return_code"] == 137
    assert not exists(f"nexus-dynamic-tool-{req.tool_id}")  # removed before run() returned


def test_keyboard_interrupt_kills_and_removes(executor) -> None:
    """The Jupyter stop button: SIGINT in the waiting thread. The container must go with it."""
    started = threading.Event()

    def interrupter() -> None:
        if started.wait(60):
            os.kill(os.getpid(), signal.SIGINT)

    thread = threading.Thread(target=interrupter)
    thread.start()
    req = request(
        "print('spinning')\nwhile True:\n    pass",
        timeout=120,
        on_output=lambda stream, text: started.set(),
    )
    try:
        with pytest.raises(KeyboardInterrupt):
            executor.run(req)
    finally:
        started.set()
        thread.join()
    assert not exists(f"nexus-dynamic-tool-{req.tool_id}")


def test_failure_in_our_own_code_still_removes(executor) -> None:
    def broken(stream: str, text: str) -> None:
        raise RuntimeError("front door bug")

    req = request("print('hi')\nimport time\ntime.sleep(60)", timeout=120, on_output=broken)
    with pytest.raises(RuntimeError, match="front door bug"):
        executor.run(req)
    assert not exists(f"nexus-dynamic-tool-{req.tool_id}")


def test_exit_without_report_is_a_crash(executor) -> None:
    req = request("import os\nos._exit(7)", policy=PERMISSIVE)
    result = executor.run(req)
    assert not result.success and "exit code 7" in result.message
    assert result.details["container_return_code"] == 7
    assert not exists(f"nexus-dynamic-tool-{req.tool_id}")


def test_dead_warm_container_is_not_used(executor) -> None:
    assert executor.pool.wait_ready(60)
    for box in executor.pool.idle():
        api().kill(box.id)  # e.g. the engine was restarted, or someone ran `docker kill`
    result = executor.run(request("print('still fine')"))
    assert result.success and result.stdout == "still fine\n"
    assert_cleaned(executor)


def test_unavailable_engine_says_how_to_fix_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from nexus_kernel.executors.docker import DockerExecutor

    monkeypatch.setattr(DockerExecutor, "_shared", None)
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(ExecutorUnavailable) as caught:
        DockerExecutor.shared()
    message = str(caught.value)
    assert message.startswith("Docker engine not reachable at unix:///nonexistent/docker.sock")
    assert message.endswith("start dockerd or set NEXUS_EXECUTION_MODE=fallback")
    with pytest.raises(ExecutorUnavailable, match="Docker engine not reachable"):
        DockerExecutor.shared()  # auto mode asks for every tool: answered from the recent failure


def test_missing_image_says_how_to_build_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from nexus_kernel.executors import docker as docker_mode

    monkeypatch.setattr(docker_mode.DockerExecutor, "_shared", None)
    monkeypatch.setattr(docker_mode, "image_tag", lambda: "nexus-kernel-sandbox:missing00000")
    with pytest.raises(ExecutorUnavailable) as caught:
        docker_mode.DockerExecutor.shared()
    assert str(caught.value) == (
        "sandbox image nexus-kernel-sandbox:missing00000 not found: "
        "build it with `python -m nexus_kernel image build`"
    )


def test_shared_is_one_instance_and_rechecks_after_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    from nexus_kernel.executors import docker as docker_mode

    shared = docker_mode.DockerExecutor.shared()
    assert docker_mode.DockerExecutor.shared() is shared
    # The engine going away mid-session is a fault we cannot cause here: point the client elsewhere.
    with monkeypatch.context() as patched:
        patched.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        import docker

        patched.setattr(shared, "_api", docker.APIClient("unix:///nonexistent/docker.sock", version="1.41"))
        with pytest.raises(ExecutorUnavailable, match="Docker engine not reachable"):
            shared.run(request("print(1)"))
        # The failure is remembered: the hot-path check does not keep saying "available".
        with pytest.raises(ExecutorUnavailable, match="Docker engine not reachable"):
            docker_mode.DockerExecutor.shared()
    monkeypatch.setattr(docker_mode, "_RECHECK_FAILED_S", 0.0)
    assert docker_mode.DockerExecutor.shared() is shared  # asked again: the engine answers
    assert shared.run(request("print(2)")).stdout == "2\n"


def test_cleanup_orphans_removes_only_labelled_containers(executor) -> None:
    from nexus_kernel.executors.docker import LABEL, cleanup_orphans
    from nexus_kernel.executors.image import image_tag

    client = api()
    labelled = client.create_container(image_tag(), labels={LABEL: "1"}, name=f"nexus-orphan-{new_tool_id()}")
    other = client.create_container(image_tag(), name=f"not-ours-{new_tool_id()}")
    try:
        assert cleanup_orphans() >= 1
        ids = {c["Id"] for c in client.containers(all=True)}
        assert labelled["Id"] not in ids and other["Id"] in ids
    finally:
        client.remove_container(other["Id"], force=True)
    # The executor's warm containers went too; it notices and carries on.
    result = executor.run(request("print('after cleanup')"))
    assert result.success and result.stdout == "after cleanup\n"


def test_status_reports_engine_image_pool_policy_and_limits(executor) -> None:
    import json

    from nexus_kernel.executors.image import image_tag
    from nexus_kernel.executors.pool import pool_size_from_env
    from nexus_kernel.status import status

    report = status()
    json.dumps(report)  # JSON all the way down
    docker = report["docker"]
    assert docker["reachable"] and docker["version"] and docker["image_present"]
    assert docker["image"] == image_tag() and docker["image_size_mb"] > 0
    assert report["auto_mode"] == "docker"
    assert report["pool"]["configured_size"] == pool_size_from_env()
    assert report["policy"]["allowed_modules"] > 10 and report["policy"]["blocked_builtins"] > 0
    assert report["limits"]["memory_limit_mb"] == {"min": 32, "max": 512, "default": 128}
    assert isinstance(report["fallback"]["available"], bool)


def test_status_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from nexus_kernel.status import status

    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    monkeypatch.setenv("NEXUS_EXECUTION_MODE", "teleport")
    report = status()
    json.dumps(report)
    assert report["docker"]["reachable"] is False and "error" in report["docker"]
    assert report["auto_mode"] in ("fallback", None)
    assert "NEXUS_EXECUTION_MODE must be one of" in report["requested_mode"]["error"]


def test_runtime_fence_audit_hook_in_the_container(executor) -> None:
    # The same probes as the fallback's: the real os reached by attribute syntax, then refused calls;
    # library code that opens files itself still works under /tmp and is refused elsewhere.
    from test_fallback import FENCE_PROBE, FENCE_PROBE_OUTPUT, LIBRARY_WORK, LIBRARY_WORK_OUTPUT

    result = executor.run(request(FENCE_PROBE))
    assert result.success, result.stderr
    assert result.stdout == FENCE_PROBE_OUTPUT
    result = executor.run(request(LIBRARY_WORK))
    assert result.success, result.stderr
    assert result.stdout == LIBRARY_WORK_OUTPUT
    assert_cleaned(executor)


def test_lone_surrogates_reach_the_host_replaced(executor) -> None:
    result = executor.run(request("print('a\\ud800b')"))
    assert result.success and result.stdout == "a\ufffdb\n"
