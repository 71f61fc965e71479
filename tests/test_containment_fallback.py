"""The fallback sandbox holds when the validator is fooled: each guard against the attack it stops.

These tests call ``FallbackExecutor.run`` directly with a runtime policy that allows ``os``,
``subprocess``, ``socket``, ``ctypes``..., so the tool's code can do what a validator bypass would
let it do; only the sandbox stands in the way. Each runs at every isolation level this host
supports (with CI=true a missing level is a failure, not a skip; the process level must always
work). Every test also checks that nothing of the run survives it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fallback_helpers import (
    alive,
    children,
    landlock_abi,
    processes_of,
    scratch_dirs,
    stale_cgroups,
    ticks,
)

from nexus_kernel.executors import cgroups, seccomp
from nexus_kernel.executors.base import ExecutionRequest, ExecutionResult, ExecutorUnavailable
from nexus_kernel.executors.fallback import FallbackExecutor
from nexus_kernel.executors.scratch import SCRATCH_PREFIX, WORLD_WRITABLE
from nexus_kernel.limits import OPEN_FILES_LIMIT, PIDS_LIMIT, TMP_SIZE_MB
from nexus_kernel.policy import load_policy

IN_CI = os.environ.get("CI", "").lower() == "true"
PROJECT = Path(__file__).resolve().parents[1]
SECRET = "nexus-containment-secret-" + uuid.uuid4().hex
EXTRA_MODULES = {"os", "subprocess", "socket", "ctypes", "signal", "resource", "io", "errno", "time", "sys"}

# Reads files and lists directories the way a tool that got past every Python-level guard would.
PRELUDE = '''
import json, os
def read(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        return "ERR " + type(exc).__name__
    try:
        return os.read(fd, 1 << 20).decode("utf-8", "replace")
    except OSError as exc:
        return "ERR " + type(exc).__name__
    finally:
        os.close(fd)
def listing(path):
    try:
        return sorted(os.listdir(path))
    except OSError as exc:
        return "ERR " + type(exc).__name__
def create(path):
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        return "created"
    except OSError as exc:
        return "ERR " + type(exc).__name__
'''


@pytest.fixture(scope="module", params=["bubblewrap", "unshare", "process"])
def executor(request: pytest.FixtureRequest) -> FallbackExecutor:
    """A fallback executor forced to one isolation level."""
    try:
        return FallbackExecutor(request.param)
    except ExecutorUnavailable as exc:
        if IN_CI or request.param == "process":
            pytest.fail(f"the {request.param} isolation level must work here: {exc}")
        pytest.skip(f"isolation level {request.param} is not available here: {exc}")


@pytest.fixture(autouse=True)
def nothing_left_behind() -> Iterator[None]:
    """No scratch directory, cgroup or child process of ours survives a test."""
    scratch_before, children_before, cgroups_before = scratch_dirs(), children(), stale_cgroups()
    yield
    assert children() <= children_before, "a sandbox process was left behind (or not reaped)"
    assert scratch_dirs() <= scratch_before, "a scratch directory was left behind"
    assert stale_cgroups() <= cgroups_before, "a cgroup was left behind"


def run(executor: FallbackExecutor, code: str, *, timeout: int = 10, **kwargs) -> ExecutionResult:
    base = load_policy().runtime_config()
    policy = {**base, "allowed_modules": sorted({*base["allowed_modules"], *EXTRA_MODULES})}
    request = ExecutionRequest(
        tool_id="containment",
        code=PRELUDE + textwrap.dedent(code),
        timeout_seconds=timeout,
        memory_limit_mb=kwargs.pop("memory_limit_mb", 128),
        runtime_policy=policy,
        **kwargs,
    )
    return executor.run(request)


def report(result: ExecutionResult) -> dict:
    """The JSON object the tool printed last."""
    assert result.success, (result.message, result.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_no_host_environment_anywhere(executor: FallbackExecutor, monkeypatch: pytest.MonkeyPatch) -> None:
    # The secret is in our environment (so a sandbox started without a clean one would pass it on,
    # to the tool or to bwrap's pid 1) and in the initial environment of a host process.
    monkeypatch.setenv("NEXUS_TEST_SECRET", SECRET)
    decoy = subprocess.Popen(
        [sys.executable, "-I", "-S", "-c", "import time; print('ready', flush=True); time.sleep(60)"],
        env={"NEXUS_TEST_SECRET": SECRET},
        stdout=subprocess.PIPE,
    )
    try:
        assert decoy.stdout is not None and decoy.stdout.readline() == b"ready\n"
        assert SECRET.encode() in Path(f"/proc/{decoy.pid}/environ").read_bytes()
        result = run(
            executor,
            f"""
            paths = ["/proc/1/environ", "/proc/self/environ", f"/proc/{{os.getppid()}}/environ",
                     "/proc/{os.getpid()}/environ", "/proc/{decoy.pid}/environ"]
            visible = listing("/proc")  # refused outright where Landlock confines the tool
            if type(visible) is list:
                paths += [f"/proc/{{pid}}/environ" for pid in visible if pid.isdigit()]
            print(json.dumps({{"env": dict(os.environ), "files": {{p: read(p) for p in paths}}}}))
            """,
        )
    finally:
        decoy.kill()
        decoy.wait()
        decoy.stdout.close()
    seen = report(result)
    assert SECRET not in result.stdout + result.stderr
    assert set(seen["env"]) <= {"LANG", "PATH", "HOME", "TMPDIR", "PWD"}
    # Every environ file is unreadable or free of the secret (checked above); pid 1's is no copy of ours.
    assert "NEXUS_TEST_SECRET" not in seen["files"]["/proc/1/environ"]


def test_runs_unprivileged(executor: FallbackExecutor) -> None:
    seen = report(
        run(
            executor,
            """
            status = dict(line.split(":", 1) for line in read("/proc/self/status").splitlines())
            print(json.dumps({"ids": [os.getuid(), os.geteuid(), os.getgid(), os.getegid()],
                              "groups": os.getgroups(),
                              "status": {k: v.strip() for k, v in status.items()}}))
            """,
        )
    )
    assert 0 not in seen["ids"]
    assert 0 not in seen["groups"]
    status = seen["status"]
    for caps in ("CapEff", "CapPrm", "CapAmb"):
        assert int(status[caps], 16) == 0, (caps, status[caps])
    assert status["NoNewPrivs"] == "1"
    if seccomp.program() is not None:
        assert status["Seccomp"] == "2"


def test_limits_in_force(executor: FallbackExecutor) -> None:
    seen = report(
        run(
            executor,
            """
            import resource
            names = ["AS", "CPU", "NPROC", "FSIZE", "NOFILE", "CORE"]
            limits = {n: resource.getrlimit(getattr(resource, "RLIMIT_" + n)) for n in names}
            visible = listing("/proc")  # refused outright where Landlock confines the tool
            pids = [p for p in visible if p.isdigit()] if type(visible) is list else []
            print(json.dumps({"limits": limits, "pid": os.getpid(), "pids": pids}))
            """,
            timeout=20,
            memory_limit_mb=64,
        )
    )
    limits = {name: tuple(pair) for name, pair in seen["limits"].items()}
    for name, (soft, hard) in limits.items():
        assert soft == hard, f"{name}: the tool could raise its soft limit"
    assert limits["CPU"][0] == 21
    assert limits["NPROC"][0] == PIDS_LIMIT
    assert limits["FSIZE"][0] == TMP_SIZE_MB * 1024 * 1024
    assert limits["NOFILE"][0] == OPEN_FILES_LIMIT
    assert limits["CORE"][0] == 0
    # The interpreter's own mappings plus the 64 MB the tool asked for.
    assert 64 * 1024 * 1024 < limits["AS"][0] < 256 * 1024 * 1024
    if executor.isolation != "process":  # a pid namespace of its own: nothing else to see
        assert seen["pid"] <= 2
        assert len(seen["pids"]) <= 2


MEMORY_HOGS = """
import time
EACH_MB, report_r, report_w = 40, *os.pipe()
for _ in range(4):
    if os.fork() == 0:
        block = b"x" * (EACH_MB * 1024 * 1024)  # every page touched: resident
        os.write(report_w, b"%8d" % os.getpid())
        time.sleep(600)
os.close(report_w)
os.set_blocking(report_r, False)
reported, deadline = b"", time.monotonic() + 3
while len(reported) < 4 * 8 and time.monotonic() < deadline:
    try:
        reported += os.read(report_r, 64)
    except BlockingIOError:
        time.sleep(0.05)  # still allocating, or killed by the memory cgroup
holding = [pid for pid in map(int, reported.split()) if os.waitpid(pid, os.WNOHANG)[0] == 0]
print(json.dumps({"held_mb": EACH_MB * len(holding)}))
"""


@pytest.mark.parametrize(
    "code",
    [
        pytest.param(MEMORY_HOGS, id="forked-children"),
        pytest.param(
            "files = []\nfor _ in range(12):\n    files.append(os.memfd_create('hog'))\n"
            "    os.write(files[-1], b'm' * (8 * 1024 * 1024))\n"
            'print(json.dumps({"held_mb": 8 * len(files)}))\n',
            id="memory-files",
        ),
    ],
)
def test_memory_limit_covers_the_whole_run(executor: FallbackExecutor, code: str) -> None:
    # rlimits are per process and see no memory files: only the run's memory cgroup holds this.
    if not cgroups.available():
        pytest.skip("no cgroup can be made here (not root, or cgroup v2 only): rlimits only")
    result = run(executor, code, memory_limit_mb=64)
    if result.success:
        assert report(result)["held_mb"] <= 64
    else:
        assert result.message == "Tool exceeded its memory limit of 64 MB", result.message


def test_no_network(executor: FallbackExecutor) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        seen = report(
            run(
                executor,
                f"""
                import socket
                try:
                    socket.create_connection(("127.0.0.1", {port}), timeout=3).close()
                    outcome = "connected"
                except OSError as exc:
                    outcome = type(exc).__name__ + ": " + str(exc)
                print(json.dumps({{"outcome": outcome}}))
                """,
            )
        )
        server.setblocking(False)
        with pytest.raises(BlockingIOError):
            server.accept()  # nothing ever knocked
    assert seen["outcome"] != "connected"


def test_host_files_out_of_reach(executor: FallbackExecutor) -> None:
    # Without namespaces only Landlock keeps a tool from what its uid may read (the project here).
    confined = executor.isolation != "process" or landlock_abi() > 0
    home = Path.home()
    probes = {
        "read": ["/etc/shadow", str(home / ".bashrc"), "/root/.profile"],
        "list": ["/root", str(home)],
        "create": ["/usr/nexus-escape", "/etc/nexus-escape", str(PROJECT / "nexus-escape"), "/nexus-escape"],
    }
    if confined:
        probes["read"].append(str(PROJECT / "pyproject.toml"))
        probes["list"].append(str(PROJECT))
    seen = report(
        run(
            executor,
            f"""
            probes = {probes!r}
            print(json.dumps({{"read": {{p: read(p) for p in probes["read"]}},
                              "list": {{p: listing(p) for p in probes["list"]}},
                              "create": {{p: create(p) for p in probes["create"]}}}}))
            """,
        )
    )
    for path, text in seen["read"].items():
        assert text.startswith("ERR "), f"the tool read {path}"
    for path, entries in seen["list"].items():
        if isinstance(entries, list):
            # An empty stand-in, or just the path to the interpreter bound in.
            assert set(entries) <= {".pyenv", ".local"}, f"the tool listed {path}: {entries}"
    for path, outcome in seen["create"].items():
        assert outcome.startswith("ERR "), f"the tool created {path}"
        assert not os.path.exists(path)


def test_nothing_written_outside_survives(executor: FallbackExecutor) -> None:
    # The world-writable places of the host, written with raw system calls (no /tmp mapping): a
    # namespace shows the tool its own /tmp and read-only mounts; at the process level Landlock
    # refuses, and what gets through all the same is removed with the run.
    name = "nexus-leftover-" + uuid.uuid4().hex
    places = [os.path.join(root, name) for root in (*WORLD_WRITABLE, tempfile.gettempdir())]
    seen = report(run(executor, f"print(json.dumps({{p: create(p) for p in {places!r}}}))"))
    for path in places:
        assert not os.path.lexists(path), f"{path} outlived the run"
    if executor.isolation == "process" and landlock_abi() > 0:
        assert all(outcome.startswith("ERR ") for outcome in seen.values()), seen


def test_tmp_is_private(executor: FallbackExecutor) -> None:
    name = "nexus-private-" + uuid.uuid4().hex
    host_marker = Path(tempfile.gettempdir(), "nexus-host-marker-" + uuid.uuid4().hex)
    host_marker.write_text("host")
    try:
        seen = report(
            run(
                executor,
                f"""
                import tempfile
                with open("/tmp/{name}", "w") as handle:  # the guarded open
                    handle.write("tool")
                with open("/tmp/{name}") as handle:
                    back = handle.read()
                fd, temp = tempfile.mkstemp()
                os.close(fd)
                own_tmp = "{executor.isolation}" != "process"
                print(json.dumps({{"back": back, "tmpdir": os.environ["TMPDIR"], "temp": temp,
                                  "host_marker": read("{host_marker}"),
                                  "listing": listing("/tmp") if own_tmp else []}}))
                """,
            )
        )
    finally:
        host_marker.unlink()
    assert seen["back"] == "tool"
    assert not Path(tempfile.gettempdir(), name).exists()
    assert not Path(seen["temp"]).exists()
    if executor.isolation == "process":
        # Its /tmp was a scratch directory, now gone.
        assert seen["tmpdir"].startswith(os.path.join(tempfile.gettempdir(), SCRATCH_PREFIX))
        assert not Path(seen["tmpdir"]).exists()
    else:
        assert seen["host_marker"].startswith("ERR ")
        assert host_marker.name not in seen["listing"]


def test_fork_bomb_is_contained(executor: FallbackExecutor) -> None:
    counted = report(
        run(
            executor,
            """
            import time
            children = 0
            try:
                while True:
                    if os.fork() == 0:
                        time.sleep(600)
                        os._exit(0)
                    children += 1
            except OSError as exc:
                print(json.dumps({"children": children, "error": type(exc).__name__, "uid": os.getuid()}))
            """,
        )
    )
    assert counted["children"] < PIDS_LIMIT, counted
    assert counted["error"] == "BlockingIOError", counted
    assert not processes_of(counted["uid"])


def test_real_fork_bomb_ends_at_the_timeout(executor: FallbackExecutor) -> None:
    outputs: list[str] = []
    result = run(
        executor,
        """
        print(os.getuid(), flush=True)
        while True:
            try:
                os.fork()
            except OSError:
                pass
        """,
        timeout=2,
        on_output=lambda stream, text: outputs.append(text),
    )
    assert not result.success
    uid = int(outputs[0].split()[0])
    assert not processes_of(uid)


DETACH = """
import sys, time
read_end, write_end = os.pipe()
if os.fork() == 0:
    os.setsid()  # out of the tool's session and process group
    if os.fork() == 0:
        os.write(write_end, str(os.getpid()).encode())
        while True:  # a python loop, holding every pipe the tool had
            time.sleep(1)
    os._exit(0)
os.wait()
os.close(write_end)
grandchild = int(os.read(read_end, 64))
"""


def test_detached_grandchild_dies_with_the_run(executor: FallbackExecutor) -> None:
    result = run(executor, DETACH + 'print(json.dumps({"uid": os.getuid(), "pid": grandchild}))')
    seen = report(result)
    assert not processes_of(seen["uid"])
    if executor.isolation == "process":  # a host pid: gone (or a zombie nobody reaps)
        assert not alive(seen["pid"])


def test_timeout_kills_the_whole_tree(executor: FallbackExecutor) -> None:
    outputs: list[str] = []
    result = run(
        executor,
        DETACH + "print(os.getuid(), grandchild, flush=True)\nwhile True:\n    pass\n",
        timeout=2,
        on_output=lambda stream, text: outputs.append(text),
    )
    assert not result.success
    assert result.message == "Tool timed out after 2 s and was stopped"
    uid, grandchild = map(int, outputs[0].split())
    assert not processes_of(uid)
    if executor.isolation == "process":
        assert not alive(grandchild)


def test_keyboard_interrupt_kills_and_cleans_up(executor: FallbackExecutor) -> None:
    # How the Jupyter kernel delivers the stop button: SIGINT to the process, KeyboardInterrupt in
    # the thread that waits in run(). Sent once the tool is surely running.
    seen: list[str] = []
    timers: list[threading.Timer] = []

    def on_output(stream: str, text: str) -> None:
        seen.append(text)
        if not timers:
            timers.append(threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)))
            timers[0].start()

    with pytest.raises(KeyboardInterrupt):
        run(
            executor,
            DETACH + 'print(os.getuid(), grandchild, os.environ["TMPDIR"], flush=True)\nwhile 1:\n    pass\n',
            timeout=30,
            on_output=on_output,
        )
    timers[0].join()
    uid, grandchild, tmpdir = seen[0].split()
    assert not processes_of(int(uid))
    if executor.isolation == "process":
        assert not alive(int(grandchild))
        assert not Path(tmpdir).exists()


@pytest.mark.parametrize("fd", [1, 2])
def test_raw_descriptor_flood_is_stopped(executor: FallbackExecutor, fd: int) -> None:
    # Around sys.stdout/sys.stderr (which the bootstrap caps), straight to the descriptor.
    result = run(executor, f'chunk = b"x" * 65536\nwhile True:\n    os.write({fd}, chunk)\n')
    assert not result.success
    assert result.message == "Tool wrote more output than allowed and was stopped"
    assert len(result.stderr) < 1024 * 1024


def test_no_namespaces_no_mounts(executor: FallbackExecutor) -> None:
    # In a user namespace of its own a tool could mount a tmpfs past its /tmp and memory limits.
    if seccomp.program() is None or os.uname().machine != "x86_64":
        pytest.skip("no seccomp filter for this architecture (and the numbers below are x86-64's)")
    seen = report(
        run(
            executor,
            """
            import ctypes, subprocess
            libc = ctypes.CDLL(None, use_errno=True)
            def call(*args):
                return "ok" if libc.syscall(*args) == 0 else os.strerror(ctypes.get_errno())
            tried = {
                "unshare(CLONE_NEWUSER)": call(272, 0x10000000),
                "unshare(CLONE_NEWNS)": call(272, 0x00020000),
                "mount tmpfs": call(165, b"none", b"/tmp", b"tmpfs", 0, None),
            }
            shell = subprocess.run(["unshare", "-Ur", "true"], capture_output=True, text=True)
            tried["unshare -Ur"] = shell.returncode
            print(json.dumps(tried))
            """,
        )
    )
    assert seen == {
        "unshare(CLONE_NEWUSER)": "Operation not permitted",
        "unshare(CLONE_NEWNS)": "Operation not permitted",
        "mount tmpfs": "Operation not permitted",
        "unshare -Ur": 1,
    }


def test_bootstrap_cannot_be_poisoned(executor: FallbackExecutor) -> None:
    # Every sandbox inherits the descriptor the bootstrap is run from; writing to it would change
    # what the next tool's sandbox runs.
    seen = report(
        run(
            executor,
            """
            tried = {}
            for name in os.listdir("/proc/self/fd"):
                try:
                    target = os.readlink(f"/proc/self/fd/{name}")
                except OSError:
                    continue
                if "nexus-bootstrap" in target or target.endswith("bootstrap.py"):
                    fd = int(name)
                    for how, attempt in {
                        "write": lambda: os.write(fd, b"raise SystemExit"),
                        "pwrite": lambda: os.pwrite(fd, b"raise SystemExit", 0),
                        "truncate": lambda: os.ftruncate(fd, 0),
                        "reopen": lambda: os.write(os.open(f"/proc/self/fd/{fd}", os.O_WRONLY), b"x"),
                    }.items():
                        try:
                            attempt()
                            tried[how] = "ok"
                        except OSError as exc:
                            tried[how] = type(exc).__name__
            print(json.dumps(tried))
            """,
        )
    )
    assert seen, "the bootstrap descriptor was not found"
    assert "ok" not in seen.values(), seen
    assert report(run(executor, 'print(json.dumps("still fine"))')) == "still fine"


HOST = """
import sys
from nexus_kernel.executors.base import ExecutionRequest
from nexus_kernel.executors.fallback import FallbackExecutor
from nexus_kernel.policy import load_policy
base = load_policy().runtime_config()
policy = {**base, "allowed_modules": [*base["allowed_modules"], "os"]}
code = "import os, time\\nprint(os.getuid(), os.environ['TMPDIR'], flush=True)\\ntime.sleep(600)"
echo = lambda stream, text: print(text, end="", flush=True)
FallbackExecutor(sys.argv[1]).run(ExecutionRequest("host", code, 300, 64, policy, on_output=echo))
"""


def test_tool_dies_with_a_killed_host(executor: FallbackExecutor) -> None:
    # A kernel killed mid-run (a restart, the OOM killer) cleans up nothing itself.
    command = [sys.executable, "-c", HOST, executor.isolation]
    host = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert host.stdout is not None
        uid, tmpdir = host.stdout.readline().split()
    finally:
        host.kill()
        host.wait()
        if host.stdout is not None:
            host.stdout.close()
    # The uid was the dead host's until now: processes under it started before are its tool's.
    died = ticks()
    for _ in range(500):  # the parent-death signal is delivered as the host's exit completes
        if not processes_of(int(uid), started_before=died):
            break
        time.sleep(0.01)
    assert not processes_of(int(uid), started_before=died)
    # Its scratch directory and cgroups stay until a new executor sweeps them away.
    name = f"{cgroups.PREFIX}{host.pid}-{uid}"
    if cgroups.available():
        assert any(path.endswith(name) for path in stale_cgroups())
    FallbackExecutor(executor.isolation)
    assert not any(path.endswith(name) for path in stale_cgroups())
    if executor.isolation == "process":
        assert not Path(tmpdir).exists()
