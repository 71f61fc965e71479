"""The fallback executor: ordinary tools work, limits hold, output streams, every ending is a result.

End-to-end tests go through ``create_and_run_tool`` with ``NEXUS_EXECUTION_MODE=fallback`` (the
validator on, the level this host supports best). Tests of a limit at each isolation level call
``FallbackExecutor(level).run`` with the default runtime policy. The attacks (validator bypassed)
are in test_containment_fallback.py.
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fallback_helpers import children, scratch_dirs, stale_cgroups

from nexus_kernel import create_and_run_tool
from nexus_kernel.api import run_tool
from nexus_kernel.executors.base import ExecutionRequest, ExecutionResult, ExecutorUnavailable
from nexus_kernel.executors.fallback import FallbackExecutor
from nexus_kernel.executors.isolation import LEVELS
from nexus_kernel.limits import OUTPUT_LIMIT_BYTES
from nexus_kernel.policy import load_policy
from nexus_kernel.response import DOCKER_KEYS

IN_CI = os.environ.get("CI", "").lower() == "true"

ORDINARY = '''
import math
from collections import namedtuple
from decimal import Decimal
from datetime import datetime

class Shape:
    def describe(self):
        return type(self).__name__

class Square(Shape):
    def __init__(self, side):
        self.side = side
    def area(self):
        return self.side ** 2

Point = namedtuple("Point", "x y")
try:
    1 / 0
except ZeroDivisionError as exc:
    caught = f"caught {exc}"
print(math.isqrt(144), Square(3).describe(), Square(3).area())
print(Point(1, 2)._asdict())
print(caught)
print(Decimal("0.1") + Decimal("0.2"), datetime(2025, 9, 7, 14, 30, 22).isoformat())
print('a """quoted""" string', end="!\\n")
'''
ORDINARY_OUTPUT = (
    "12 Square 9\n{'x': 1, 'y': 2}\ncaught division by zero\n0.3 2025-09-07T14:30:22\n"
    'a """quoted""" string!\n'
)


@pytest.fixture
def fallback_mode(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("NEXUS_EXECUTION_MODE", "fallback")
    return FallbackExecutor.shared().isolation


@pytest.fixture(scope="module", params=LEVELS)
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
    scratch_before, children_before, cgroups_before = scratch_dirs(), children(), stale_cgroups()
    yield
    assert children() <= children_before, "a sandbox process was left behind (or not reaped)"
    assert scratch_dirs() <= scratch_before, "a scratch directory was left behind"
    assert stale_cgroups() <= cgroups_before, "a cgroup was left behind"


def run(executor: FallbackExecutor, code: str, **kwargs) -> ExecutionResult:
    request = ExecutionRequest(
        tool_id="fallback-test",
        code=textwrap.dedent(code),
        timeout_seconds=kwargs.pop("timeout_seconds", 10),
        memory_limit_mb=kwargs.pop("memory_limit_mb", 128),
        runtime_policy=load_policy().runtime_config(),
        **kwargs,
    )
    return executor.run(request)


# End to end


def test_print_end_to_end(fallback_mode: str) -> None:
    response = create_and_run_tool("print(1)")
    assert response["success"] is True, response
    assert response["execution_mode"] == "fallback"
    assert response["isolation"] == fallback_mode
    assert not set(DOCKER_KEYS) & set(response)
    assert response["tool_result"]["stdout"] == "1\n"
    assert response["tool_result"]["message"] == "Dynamic tool executed successfully"


def test_shared_executor_uses_the_best_level() -> None:
    shared = FallbackExecutor.shared()
    assert shared is FallbackExecutor.shared()
    if IN_CI and "NEXUS_FALLBACK_ISOLATION" not in os.environ:
        assert shared.isolation == "bubblewrap"  # CI installs bubblewrap and runs as root


def test_ordinary_python_works(fallback_mode: str) -> None:
    response = create_and_run_tool(ORDINARY)
    assert response["success"] is True, response
    assert response["tool_result"]["stdout"] == ORDINARY_OUTPUT


def test_ordinary_python_works_at_every_level(executor: FallbackExecutor) -> None:
    result = run(executor, ORDINARY)
    assert result.success, (result.message, result.stderr)
    assert result.stdout == ORDINARY_OUTPUT
    assert result.details == {"isolation": executor.isolation}


def test_tool_exception_is_a_result(fallback_mode: str) -> None:
    response = create_and_run_tool("def f(x):\n    return x[3]\n\nf([1])\n")
    assert response["success"] is False
    result = response["tool_result"]
    assert result["message"] == "IndexError: list index out of range"
    assert 'File "<tool>", line 2, in f' in result["stderr"]
    assert "return x[3]" in result["stderr"]  # the tool's own source line


def test_exit_status_is_reported(fallback_mode: str) -> None:
    response = create_and_run_tool("import sys\nprint('bye')\nsys.exit(3)\n")
    assert response["success"] is False
    assert response["tool_result"]["stdout"] == "bye\n"
    assert response["tool_result"]["message"] == "Tool exited with status 3"


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("import os", "ImportError: import of 'os' is not allowed in a one-time tool"),
        ("__import__('subprocess')", "ImportError: import of 'subprocess' is not allowed"),
        ("from importlib import import_module", "ImportError: import of 'importlib' is not allowed"),
        ("eval('1')", "NameError: name 'eval' is not defined"),
        ("open('/etc/passwd')", "PermissionError: tools may only open files under /tmp"),
        ("getattr(print, '__self__')", "AttributeError: attribute '__self__' is not available"),
    ],
)
def test_runtime_guards_behind_the_validator(executor: FallbackExecutor, code: str, message: str) -> None:
    # Straight to the executor: the guards in the bootstrap, not the validator, refuse these.
    result = run(executor, code)
    assert not result.success
    assert result.message.startswith(message), result.message


def test_output_streams_while_the_tool_runs(fallback_mode: str) -> None:
    # The tool never ends on its own: the callback can only see "started" if frames are passed
    # on as they arrive. It stops the run by raising (and run() must still clean up).
    class Seen(Exception):
        pass

    chunks: list[tuple[str, str]] = []

    def on_output(stream: str, text: str) -> None:
        chunks.append((stream, text))
        raise Seen

    code = "print('started', flush=True)\nwhile True:\n    pass\n"
    with pytest.raises(Seen):
        run(FallbackExecutor.shared(), code, timeout_seconds=60, on_output=on_output)
    assert chunks == [("stdout", "started\n")]


def test_streamed_output_matches_the_response(fallback_mode: str) -> None:
    chunks: list[tuple[str, str]] = []
    code = "import sys\nfor i in range(3):\n    print(i)\n    print('e', i, file=sys.stderr)\n"
    tool = run_tool(code, on_output=lambda stream, text: chunks.append((stream, text)))
    assert tool.response["success"] is True
    streamed = {name: "".join(t for s, t in chunks if s == name) for name in ("stdout", "stderr")}
    assert streamed["stdout"] == tool.response["tool_result"]["stdout"] == "0\n1\n2\n"
    assert streamed["stderr"] == tool.response["tool_result"]["stderr"] == "e 0\ne 1\ne 2\n"


def test_timeout_end_to_end(fallback_mode: str) -> None:
    response = create_and_run_tool("print('spinning', flush=True)\nwhile True:\n    pass\n", timeout=10)
    assert response["success"] is False
    assert response["timeout_seconds"] == 10
    assert response["tool_result"]["message"] == "Tool timed out after 10 s and was stopped"
    assert response["tool_result"]["stdout"] == "spinning\n"


@pytest.mark.parametrize(
    "code",
    ["data = bytearray(512 * 1024 * 1024)", "hog = []\nwhile True:\n    hog.append(' ' * 1_000_000)\n"],
)
def test_memory_limit(fallback_mode: str, code: str) -> None:
    response = create_and_run_tool(code, memory_limit_mb=64)
    assert response["success"] is False
    assert "memory limit of 64 MB" in response["tool_result"]["message"]


def test_memory_limit_at_every_level(executor: FallbackExecutor) -> None:
    result = run(executor, "data = bytearray(256 * 1024 * 1024)", memory_limit_mb=32)
    assert not result.success
    assert "memory limit of 32 MB" in result.message
    # Within the limit is fine.
    assert run(executor, "data = bytearray(16 * 1024 * 1024)\nprint(len(data))", memory_limit_mb=32).success


def test_stdout_flood_is_capped_with_a_note(fallback_mode: str) -> None:
    response = create_and_run_tool("line = 'x' * 1023\nfor _ in range(3000):\n    print(line)\n")
    result = response["tool_result"]
    assert response["success"] is True
    assert len(result["stdout"].encode()) == OUTPUT_LIMIT_BYTES
    assert f"stdout was cut at {OUTPUT_LIMIT_BYTES // 1024} KB" in result["stderr"]


def test_tmp_is_private_and_not_kept(fallback_mode: str) -> None:
    name = f"nexus-fallback-{uuid.uuid4().hex}.txt"
    first = create_and_run_tool(
        f"with open('/tmp/{name}', 'w') as f:\n    f.write('mine')\nprint(open('/tmp/{name}').read())\n"
    )
    assert first["success"] is True, first
    assert first["tool_result"]["stdout"] == "mine\n"
    assert not Path(tempfile.gettempdir(), name).exists()
    second = create_and_run_tool(f"open('/tmp/{name}')")  # no persistent storage
    assert second["tool_result"]["message"].startswith("FileNotFoundError")


BIG_FILE = (
    "chunk = b'x' * (1024 * 1024)\n"
    "with open('/tmp/big', 'wb') as f:\n"
    "    for _ in range(20):\n"
    "        f.write(chunk)\n"
)


def test_tmp_holds_ten_megabytes(fallback_mode: str) -> None:
    response = create_and_run_tool(BIG_FILE)
    assert response["success"] is False
    assert "(/tmp holds at most 10 MB)" in response["tool_result"]["message"]


def test_tmp_cap_at_every_level(executor: FallbackExecutor) -> None:
    # One big file, then many smaller ones (at the process level: the total is checked from outside).
    result = run(executor, BIG_FILE)
    assert not result.success
    assert result.message.endswith("(/tmp holds at most 10 MB)"), result.message
    many = (
        "import time\nchunk = b'x' * (1024 * 1024)\nfor i in range(4):\n"
        "    with open(f'/tmp/part{i}', 'wb') as f:\n        for _ in range(5):\n            f.write(chunk)\n"
        "time.sleep(5)\n"  # time for the outside check; a tmpfs refuses at once
    )
    result = run(executor, many)
    assert not result.success
    assert "10 MB" in result.message, result.message
    assert "timed out" not in result.message


def test_concurrent_tools_from_many_threads(fallback_mode: str) -> None:
    barrier = threading.Barrier(8)

    def one(i: int) -> dict:
        barrier.wait()
        return create_and_run_tool(f"import json\nprint(json.dumps({{'tool': {i}, 'square': {i} * {i}}}))")

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(one, range(8)))
    for i, response in enumerate(responses):
        assert response["success"] is True, response
        assert json.loads(response["tool_result"]["stdout"]) == {"tool": i, "square": i * i}
    assert len({r["tool_id"] for r in responses}) == 8


def test_code_that_is_not_unicode_is_refused(executor: FallbackExecutor) -> None:
    result = run(executor, "print('\ud800')")
    assert not result.success
    assert "not valid Unicode" in result.message


def test_unknown_isolation_level() -> None:
    with pytest.raises(ExecutorUnavailable, match="unknown isolation level 'chroot'"):
        FallbackExecutor("chroot")


def test_sandbox_command_is_minimal(executor: FallbackExecutor) -> None:
    command = executor.sandbox.command(3)
    python = command.index(executor.sandbox.python)
    # Isolated mode, no site module, the bootstrap from a descriptor (code comes on stdin).
    assert command[python + 1 : python + 5] == ["-I", "-S", "-B", "/proc/self/fd/3"]


def test_sandbox_started_for_an_interrupted_caller_is_undone() -> None:
    # The sandbox is started from its run slot's thread (born in the slot's cgroups); a caller
    # interrupted while it waits for that thread leaves no sandbox behind.
    from nexus_kernel.executors import cgroups
    from nexus_kernel.executors.uids import UID_BASE

    if not cgroups.available():
        pytest.skip("no cgroup can be made here (not root, or cgroup v2 only)")
    slot = cgroups.slot(UID_BASE + 4000)  # a slot no run of this session uses
    assert slot is not None
    started, release, undone = threading.Event(), threading.Event(), []

    def slow_start() -> str:
        started.set()
        release.wait(10)
        return "sandbox"

    def interrupt() -> None:
        started.wait(10)
        os.kill(os.getpid(), signal.SIGINT)

    interrupter = threading.Thread(target=interrupt)
    interrupter.start()
    with pytest.raises(KeyboardInterrupt):
        slot.call(slow_start, abandon=undone.append)
    interrupter.join()
    release.set()
    for _ in range(1000):  # the slot's thread hands the late result over as it finishes
        if undone:
            break
        time.sleep(0.005)
    assert undone == ["sandbox"]


def test_close_releases_the_run_slots(fallback_mode: str) -> None:
    from nexus_kernel.executors import cgroups

    executor = FallbackExecutor.shared()
    assert create_and_run_tool("print(1)")["success"] is True
    executor.close()  # what the kernel does as it shuts down
    assert not [key for key in cgroups.existing() if key[0] == os.getpid()]
    assert create_and_run_tool("print(2)")["tool_result"]["stdout"] == "2\n"  # slots come back


# The runtime fence's audit hook (validator bypassed, default policy)

#: Library code that uses open() itself, and a walk to the real os (attribute syntax, no getattr()).
FENCE_PROBE = """
import random
import xml.etree.ElementTree as ET

real_os = random._os
attempts = {
    "os.system": lambda: real_os.system("true"),
    "os.open /etc/passwd": lambda: real_os.close(real_os.open("/etc/passwd", real_os.O_RDONLY)),
    "os.kill": lambda: real_os.kill(real_os.getpid(), 0),
    "os.listdir /": lambda: real_os.listdir("/"),
    "os.remove outside /tmp": lambda: real_os.remove("/nonexistent-nexus-file"),
    "ET.write /etc": lambda: ET.ElementTree(ET.Element("r")).write("/etc/nexus-x"),
    "ET.parse /etc/passwd": lambda: ET.parse("/etc/passwd"),
}
for name, attempt in attempts.items():
    try:
        attempt()
        print(name, "RAN")
    except PermissionError as exc:
        print(name, "refused" if "the sandbox refuses" in str(exc) else exc)
"""
FENCE_PROBE_OUTPUT = "".join(
    f"{name} refused\n"
    for name in (
        "os.system", "os.open /etc/passwd", "os.kill", "os.listdir /", "os.remove outside /tmp",
        "ET.write /etc", "ET.parse /etc/passwd",
    )
)  # fmt: skip
#: What ordinary tools do with the standard library under the hook: all of it must keep working.
LIBRARY_WORK = """
import csv, enum, io, json, re, tempfile, sys
import xml.etree.ElementTree as ET
from collections import namedtuple
from dataclasses import dataclass

@dataclass
class Item:
    name: str
    size: int = 0

Color = enum.Enum("Color", "RED GREEN")
Pair = namedtuple("Pair", "a b")
buffer = io.StringIO()
csv.writer(buffer).writerow(["a", 1])
with open("/tmp/data.json", "w") as f:
    json.dump({"k": [1, 2]}, f)
with tempfile.NamedTemporaryFile("w+", suffix=".txt") as f:
    f.write("temp")
    f.seek(0)
    temp = f.read()
# Library code opens with the real open(): at the process level /tmp is the host's, so it is told
# the private one (TMPDIR); the tool's own open() maps /tmp there itself.
doc = tempfile.gettempdir() + "/doc.xml"
ET.ElementTree(ET.Element("root", a="1")).write(doc)
print(Item("x"), Color.RED.name, Pair(1, 2), buffer.getvalue().strip(), temp)
print(json.load(open("/tmp/data.json")), ET.parse(doc).getroot().attrib)
print(re.sub(r"\\d", "#", "a1b2"), hasattr(sys.stdout, "_reporter"))
"""
LIBRARY_WORK_OUTPUT = (
    "Item(name='x', size=0) RED Pair(a=1, b=2) a,1 temp\n{'k': [1, 2]} {'a': '1'}\na#b# False\n"
)


def test_what_a_fence_walk_reaches_is_useless(executor: FallbackExecutor) -> None:
    result = run(executor, FENCE_PROBE)
    assert result.success, (result.message, result.stderr)
    assert result.stdout == FENCE_PROBE_OUTPUT


def test_library_code_works_under_the_audit_hook(executor: FallbackExecutor) -> None:
    result = run(executor, LIBRARY_WORK)
    assert result.success, (result.message, result.stderr)
    assert result.stdout == LIBRARY_WORK_OUTPUT


def test_lone_surrogates_reach_the_host_replaced(executor: FallbackExecutor) -> None:
    chunks: list[str] = []
    code = "print('a\\ud800b')\nraise ValueError('\\udcff')\n"
    result = run(executor, code, on_output=lambda stream, text: chunks.append(text))
    assert result.stdout == "a\ufffdb\n" and chunks[0] == "a\ufffdb\n"
    assert result.message == "ValueError: \ufffd"
    json.dumps(result.stderr, ensure_ascii=False).encode("utf-8")  # the kernel's packer does this


# Flood counting: the frames' text counts, not their JSON (unit tests of FrameReader)


def _frames(tag: str, texts: list[str]) -> bytes:
    return "".join(json.dumps({"t": tag, "d": text}) + "\n" for text in texts).encode()


def test_many_short_lines_are_not_a_flood() -> None:
    from nexus_kernel.executors.frames import FrameReader

    reader = FrameReader()
    lines = [f"{i}\n" for i in range(150000)]
    data = _frames("out", lines)
    assert len(data) > 3 * OUTPUT_LIMIT_BYTES  # raw JSON well past what the text may be
    assert all(reader.feed(data[i : i + 65536]) for i in range(0, len(data), 65536))
    result = reader.finish(mode="fallback", returncode=0, timeout_seconds=10, memory_limit_mb=64)
    assert not reader.flooded and result.stdout == "".join(lines)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(_frames("out", ["x" * 65536] * 64), id="text-past-the-caps"),
        pytest.param(b'{"t": "out", "d": ""}\n' * 3_000_000, id="empty-frames"),
        pytest.param(b"x" * (20 * OUTPUT_LIMIT_BYTES), id="one-endless-line"),
        pytest.param(b"not a frame\n" * 400_000, id="stray-lines"),
    ],
)
def test_a_real_flood_is_still_stopped(data: bytes) -> None:
    from nexus_kernel.executors.frames import FrameReader

    reader = FrameReader()
    fed = [reader.feed(data[i : i + 65536]) for i in range(0, len(data), 65536)]
    assert reader.flooded and fed[-1] is False
    result = reader.finish(mode="fallback", returncode=-9, timeout_seconds=10, memory_limit_mb=64)
    assert result.message == "Tool wrote more output than allowed and was stopped"
