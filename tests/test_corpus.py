"""Every corpus and red-team program, through the whole pipeline and straight through the sandboxes.

1. ``tests/corpus/benign``: through ``create_and_run_tool`` in both modes they succeed and print
   exactly what ``python3 -I`` prints on the host (run with a private /tmp, so nothing is left).
2. ``tests/corpus/attacks`` and ``tests/redteam``: through ``create_and_run_tool`` in both modes
   they are refused or fail, print no evidence (``ESCAPED:``/``BYPASSED:``, see
   ``tests/redteam/README.md``) and never make the host fail ("internal error").
3. Red-team programs with a ``# policy:`` line also run straight through each executor with that
   runtime policy, as if the validator had been fooled: the sandbox must hold (no ``ESCAPED:``, no
   exception from the executor, nothing left on the host). Programs with ``# policy: normal`` also
   measure the bootstrap's runtime fence (no ``BYPASSED:``). Every fallback isolation level
   (bubblewrap, unshare, process) gets the same runs, not only the one this host picks.

Holes found by the red team and still open are listed in ``HOLES``: the tests that hit one are
marked ``xfail(strict=True)`` with the finding as the reason. Fix the code, watch the test XPASS
(which fails the run), then delete the entry.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from nexus_kernel import create_and_run_tool
from nexus_kernel.executors.base import ExecutionRequest, ExecutionResult, ExecutorUnavailable
from nexus_kernel.policy import load_policy
from nexus_kernel.response import new_tool_id

IN_CI = os.environ.get("CI", "").lower() == "true"
TESTS = Path(__file__).resolve().parent
BENIGN = sorted((TESTS / "corpus" / "benign").glob("*.py"))
ATTACKS = sorted((TESTS / "corpus" / "attacks").glob("*.py"))
REDTEAM = sorted((TESTS / "redteam").glob("*.py"))
MODES = ("fallback", "docker")
#: Fallback isolation levels, each run on its own (``FallbackExecutor.shared()`` picks one of them).
LEVELS = ("bubblewrap", "unshare", "process")
TIMEOUT = 10  # the minimum; no program here needs more
MEMORY_MB = 64  # what the red-team programs that test memory assume
EVIDENCE = ("ESCAPED:", "BYPASSED:")
#: The red-team programs name what they leave "nexus-redteam-..."; each session makes the names its
#: own (``_code``), so two test sessions on one host never judge (or remove) each other's files.
TOKEN = uuid.uuid4().hex[:8]
MARK = f"nexus-redteam-{TOKEN}-"
SECRET = MARK + "secret-" + uuid.uuid4().hex
#: Where a tool that reached the host would leave its files (named nexus-redteam-*).
HOST_DIRS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/", "/usr", "/etc", str(TESTS.parent))
WIDE_MODULES = ("os", "socket", "subprocess", "ctypes", "pathlib", "signal", "resource", "errno", "select")
#: Red-team programs that need a victim running next to them: only their own test runs them directly.
CONCURRENT = ("sandbox_forge_other_tools_result.py",)
#: Red-team programs whose run must end with this message (with any policy, in any sandbox).
EXPECTED_MESSAGE = {
    "sandbox_frame_flood_no_newline.py": "Tool wrote more output than allowed and was stopped"
}

_VALIDATOR = "FINDING: validator bypass (nexus_kernel/validator.py): {what}. Fix: {fix}"

#: (target, program) -> the open finding that makes a test fail. Targets: "pipeline" (through
#: create_and_run_tool, any mode); "fence" (the runtime fence, straight through any executor); for the
#: sandbox itself, straight through an executor: "any", "docker" or a fallback isolation level.
HOLES: dict[tuple[str, str], str] = {}


# ---------------------------------------------------------------------------------- helpers


def _header(path: Path) -> dict[str, str]:
    """The ``# key: value`` lines a red-team program starts with (continuations start ``#   ``)."""
    fields: dict[str, str] = {}
    key = None
    for line in path.read_text().splitlines():
        if line.startswith("#   ") and key:
            fields[key] += " " + line[4:].strip()
        elif match := re.match(r"# ([a-z-]+): (.*)", line):
            key = match.group(1)
            fields[key] = match.group(2).strip()
        else:
            break
    return fields


def _policy_programs(kind: str | None = None) -> list[Path]:
    """Programs to run straight through the executors (with their policy, or only with ``kind``)."""
    return [
        p
        for p in REDTEAM
        if "policy" in _header(p) and kind in (None, _header(p)["policy"]) and p.name not in CONCURRENT
    ]


def _params(paths: list[Path], modes: tuple[str, ...] = MODES) -> list[Any]:
    params = []
    for mode in modes:
        for path in paths:
            marks = [pytest.mark.docker] if mode == "docker" else []
            params.append(pytest.param(mode, path, marks=marks, id=f"{mode}-{path.stem}"))
    return params


def _expect_hole(request: pytest.FixtureRequest, name: str, *targets: str) -> None:
    """Mark the running test as an expected failure when (target, name) is an open finding."""
    for target in targets:
        reason = HOLES.get((target, name))
        if reason:
            request.applymarker(pytest.mark.xfail(strict=True, reason=reason))
            return


def _runtime_policy(kind: str) -> dict[str, Any]:
    base = load_policy().runtime_config()
    if kind == "normal":
        return base
    assert kind == "wide", kind
    return {**base, "allowed_modules": sorted({*base["allowed_modules"], *WIDE_MODULES})}


def _code(path: Path) -> str:
    """A program's source with this session's names (see ``MARK``)."""
    return path.read_text().replace("nexus-redteam-", MARK)


def _evidence(text: str, markers: tuple[str, ...] = EVIDENCE) -> list[str]:
    return [line for line in text.splitlines() if line.lstrip().startswith(markers)]


@cache
def _host_stdout(path: Path) -> str:
    """What plain ``python3 -I`` prints for ``path`` on the host, with a private /tmp."""
    # The source goes in on stdin, and the interpreter is the real one rather than the venv's link
    # (with -I only the standard library is used): a checkout under /tmp, as a CI clone may be,
    # would otherwise vanish under bubblewrap's private /tmp.
    python = os.path.realpath(sys.executable)
    command = [python, "-I", "-"]
    source = path.read_text()
    bwrap = shutil.which("bwrap")
    if bwrap and not python.startswith("/tmp/"):
        # The benign programs write under /tmp: give them a /tmp of their own, so nothing is left.
        done = subprocess.run(
            [bwrap, "--dev-bind", "/", "/", "--tmpfs", "/tmp", "--chdir", "/tmp", *command],
            input=source, capture_output=True, text=True, timeout=60,
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        )  # fmt: skip
    else:
        # Without bubblewrap: a scratch working directory, and the /tmp paths the source names go.
        named = set(re.findall(r"/tmp/[\w.-]+", source))
        existing = {p for p in named if os.path.lexists(p)}
        with tempfile.TemporaryDirectory(prefix="nexus-corpus-") as cwd:
            try:
                done = subprocess.run(
                    command, input=source, capture_output=True, text=True, timeout=60, cwd=cwd
                )
            finally:
                for leftover in named - existing:
                    _remove(leftover)
    assert done.returncode == 0, f"{path.name} fails on the host itself:\n{done.stderr}"
    return done.stdout


def _response_problems(response: dict[str, Any]) -> list[str]:
    """What is wrong with any response, whatever the program: host failures and bad encoding."""
    problems = []
    result = response["tool_result"]
    if "internal error" in result["message"]:
        problems.append(f"the host failed: {result['message']}")
    try:
        json.dumps(response, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        problems.append(f"the response is not valid UTF-8: {exc}")
    return problems


def _contained_problems(response: dict[str, Any]) -> list[str]:
    """An attack's response: refused or failed, no evidence, no host failure."""
    problems = _response_problems(response)
    result = response["tool_result"]
    if response["success"]:
        problems.append(f"the attack succeeded: {result['message']}")
    problems += [f"evidence: {line}" for line in _evidence(result["stdout"] + "\n" + result["stderr"])]
    return problems


# ------------------------------------------------------------------------- host-side checks


def _host_markers() -> set[str]:
    found = set()
    for directory in HOST_DIRS:
        try:
            names = os.listdir(directory)
        except OSError:
            continue
        found.update(os.path.join(directory, n) for n in names if n.startswith(MARK))
    return found


def _lingering() -> list[int]:
    """Host processes started by sandbox_forged_end_linger.py (marker in the command line)."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if (MARK + "linger").encode() in Path(f"/proc/{name}/cmdline").read_bytes():
                    found.append(int(name))
            except OSError:
                continue
    return found


def _children() -> set[int]:
    mine, found = str(os.getpid()).encode(), set()
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                fields = Path(f"/proc/{name}/stat").read_bytes().rsplit(b")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if fields[1] == mine:
                found.add(int(name))
    return found


def _scratch_dirs(output: str) -> set[str]:
    """Host scratch directories (the process level's /tmp) a run's output names."""
    from nexus_kernel.executors.fallback import SCRATCH_PREFIX

    pattern = re.escape(os.path.join(tempfile.gettempdir(), SCRATCH_PREFIX)) + r"\w+"
    return set(re.findall(pattern, output))


def _remove(path: str) -> None:
    # rm copes with trees nested deeper than Python's recursion limit (sandbox_deep_tmp_nesting.py).
    subprocess.run(["rm", "-rf", "--one-file-system", "--", path], check=False)


class _HostWatch:
    """Notes the host's state before a run, reports (and removes) what the run left behind."""

    def __init__(self) -> None:
        self.markers = _host_markers()
        self.children = _children()

    def problems(self, executor: Any, tool_id: str, output: str = "") -> list[str]:
        problems = []
        if getattr(executor, "mode", "") == "docker_isolated":
            from nexus_kernel.executors.docker import _client, container_name

            executor.wait_for_cleanup(30)
            left = _client().containers(all=True, filters={"name": f"^/{container_name(tool_id)}$"})
            if left:
                problems.append(f"container {container_name(tool_id)} was not removed")
        deadline = time.monotonic() + 5
        while (linger := _lingering()) and time.monotonic() < deadline:
            time.sleep(0.05)
        for pid in linger:
            problems.append(f"process {pid} started by the tool outlived it")
            subprocess.run(["kill", "-9", str(pid)], check=False)
        for path in sorted(_host_markers() - self.markers):
            problems.append(f"the tool left {path} on the host")
            _remove(path)
        for path in sorted(_scratch_dirs(output)):
            if os.path.lexists(path):
                problems.append(f"scratch directory {path} was left on the host")
                _remove(path)
        if _children() - self.children:
            problems.append("a sandbox process of this test was left behind (or not reaped)")
        return problems


# ------------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True, scope="module")
def host_secrets() -> Iterator[None]:
    """A secret in our environment and in a host process's command line, for tools to look for."""
    os.environ["NEXUS_REDTEAM_SECRET"] = SECRET
    decoy = subprocess.Popen(
        [sys.executable, "-I", "-S", "-c", "import sys; sys.stdin.read()", SECRET],
        stdin=subprocess.PIPE,
    )
    try:
        yield
    finally:
        os.environ.pop("NEXUS_REDTEAM_SECRET", None)
        assert decoy.stdin is not None
        decoy.stdin.close()
        decoy.wait(timeout=30)


def _executor(target: str) -> Any:
    """The executor a mode uses (the shared one), or a fallback executor forced to a level."""
    if target == "docker":
        from nexus_kernel.executors.docker import DockerExecutor

        return DockerExecutor.shared()
    from nexus_kernel.executors.fallback import FallbackExecutor

    if target == "fallback":
        return FallbackExecutor.shared()
    try:
        return _level_executor(target)
    except ExecutorUnavailable as exc:
        if IN_CI:
            pytest.fail(f"the {target} isolation level must work here: {exc}")
        pytest.skip(f"isolation level {target} is not available here: {exc}")


@cache
def _level_executor(level: str) -> Any:
    from nexus_kernel.executors.fallback import FallbackExecutor

    return FallbackExecutor(level)


def _target_of(executor: Any) -> str:
    """The key of HOLES for an executor: "docker" or the fallback's isolation level."""
    return "docker" if executor.mode == "docker_isolated" else executor.isolation


#: (target, program) -> (result, problems): each program runs once per sandbox, for all its tests.
_RUNS: dict[tuple[str, str], tuple[ExecutionResult | None, list[str]]] = {}


def _run_direct(target: str, path: Path) -> tuple[Any, ExecutionResult | None, list[str]]:
    """Run a red-team program straight through an executor (once per target); (result, problems)."""
    executor = _executor(target)
    key = (_target_of(executor), path.name)  # the shared fallback is one of the levels: run it once
    if key not in _RUNS:
        watch = _HostWatch()
        request = ExecutionRequest(
            tool_id=new_tool_id(),
            code=_code(path),
            timeout_seconds=TIMEOUT,
            memory_limit_mb=MEMORY_MB,
            runtime_policy=_runtime_policy(_header(path)["policy"]),
        )
        result, problems = None, []
        try:
            result = executor.run(request)
        except Exception as exc:  # noqa: BLE001 - an executor must turn every ending into a result
            problems.append(f"executor.run raised {type(exc).__name__}: {exc}")
        output = "" if result is None else result.stdout + result.stderr
        problems += watch.problems(executor, request.tool_id, output)
        _RUNS[key] = (result, problems)
    return executor, *_RUNS[key]


# ---------------------------------------------------------------------------------- tests


def test_every_redteam_program_has_its_header() -> None:
    assert REDTEAM, "no red-team programs found"
    for path in REDTEAM:
        header = _header(path)
        assert header.get("attack") and header.get("escaped-if"), f"{path.name} lacks its header"
        assert header.get("policy", "normal") in ("normal", "wide"), f"{path.name}: unknown policy"


@pytest.mark.parametrize(("mode", "path"), _params(BENIGN))
def test_benign_program_runs_as_on_the_host(mode: str, path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEXUS_EXECUTION_MODE", mode)
    expected = _host_stdout(path)
    response = create_and_run_tool(path.read_text(), timeout=TIMEOUT)
    result = response["tool_result"]
    assert response["success"], (result["message"], result["stderr"])
    assert result["stdout"] == expected
    assert not _response_problems(response)


@pytest.mark.parametrize(("mode", "path"), _params(ATTACKS))
def test_corpus_attack_is_refused_or_contained(
    mode: str, path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEXUS_EXECUTION_MODE", mode)
    watch = _HostWatch()
    response = create_and_run_tool(_code(path), timeout=TIMEOUT)
    problems = _contained_problems(response)
    if response["execution_mode"] != "not_run":
        output = response["tool_result"]["stdout"] + response["tool_result"]["stderr"]
        problems += watch.problems(_executor(mode), response["tool_id"], output)
    assert not problems, problems


@pytest.mark.parametrize(("mode", "path"), _params(REDTEAM))
def test_redteam_program_is_refused_or_contained(
    mode: str, path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    _expect_hole(request, path.name, "pipeline")
    monkeypatch.setenv("NEXUS_EXECUTION_MODE", mode)
    watch = _HostWatch()
    response = create_and_run_tool(_code(path), timeout=TIMEOUT)
    problems = _contained_problems(response)
    if response["execution_mode"] != "not_run":
        output = response["tool_result"]["stdout"] + response["tool_result"]["stderr"]
        problems += watch.problems(_executor(mode), response["tool_id"], output)
    assert not problems, problems


@pytest.mark.parametrize(("mode", "path"), _params(_policy_programs()))
def test_sandbox_holds_when_the_validator_is_fooled(
    mode: str, path: Path, request: pytest.FixtureRequest
) -> None:
    executor, result, problems = _run_direct(mode, path)
    _expect_hole(request, path.name, _target_of(executor), "any")
    _assert_sandbox_held(path, result, problems)


@pytest.mark.parametrize(("level", "path"), _params(_policy_programs(), LEVELS))
def test_every_fallback_level_holds(level: str, path: Path, request: pytest.FixtureRequest) -> None:
    _, result, problems = _run_direct(level, path)
    _expect_hole(request, path.name, level, "any")
    _assert_sandbox_held(path, result, problems)


def _assert_sandbox_held(path: Path, result: ExecutionResult | None, problems: list[str]) -> None:
    """No sandbox escape (the runtime fence's BYPASSED is judged by its own test), no host trouble."""
    problems = list(problems)
    if result is not None:
        text = result.stdout + "\n" + result.stderr
        problems += [f"evidence: {line}" for line in _evidence(text, ("ESCAPED:",))]
        expected = EXPECTED_MESSAGE.get(path.name)
        if expected and result.message != expected:
            problems.append(f"ended with {result.message!r}, not {expected!r}")
    assert not problems, problems


@pytest.mark.parametrize(("mode", "path"), _params(_policy_programs("normal")))
def test_runtime_fence_holds_when_the_validator_is_fooled(
    mode: str, path: Path, request: pytest.FixtureRequest
) -> None:
    _, result, problems = _run_direct(mode, path)
    _expect_hole(request, path.name, "fence")
    assert result is not None, problems
    assert not _evidence(result.stdout), result.stdout


@pytest.mark.parametrize("mode", [pytest.param("fallback"), pytest.param("docker", marks=pytest.mark.docker)])
def test_output_is_always_valid_unicode(
    mode: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    monkeypatch.setenv("NEXUS_EXECUTION_MODE", mode)
    response = create_and_run_tool('print("lone surrogates: \\ud800 \\udcff")', timeout=TIMEOUT)
    assert not _response_problems(response)
    assert response["success"]
    assert response["tool_result"]["stdout"].startswith("lone surrogates: ")


@pytest.mark.parametrize("mode", [pytest.param("fallback"), pytest.param("docker", marks=pytest.mark.docker)])
def test_many_short_lines_under_the_cap_are_not_a_flood(
    mode: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    monkeypatch.setenv("NEXUS_EXECUTION_MODE", mode)
    code = "for i in range(150000):\n    print(i)\n"
    expected = "".join(f"{i}\n" for i in range(150000))
    assert len(expected.encode()) < 1024 * 1024  # under the documented output cap
    response = create_and_run_tool(code, timeout=TIMEOUT)
    assert response["tool_result"]["message"] == "Dynamic tool executed successfully"
    assert response["tool_result"]["stdout"] == expected


@pytest.mark.parametrize(
    "target",
    [pytest.param("fallback"), pytest.param("process"), pytest.param("docker", marks=pytest.mark.docker)],
)
def test_a_tool_cannot_forge_another_tools_result(target: str) -> None:
    # The process level is the one where other runs' processes are even visible (no pid namespace).
    import threading

    executor = _executor(target)
    attacker = TESTS / "redteam" / "sandbox_forge_other_tools_result.py"
    victim_code = "import time\nprint('victim started', flush=True)\ntime.sleep(2.5)\nraise SystemExit(3)\n"
    started = threading.Event()
    outcome: dict[str, Any] = {}

    def run_victim() -> None:
        request = ExecutionRequest(
            new_tool_id(), victim_code, TIMEOUT, MEMORY_MB, _runtime_policy("normal"),
            on_output=lambda stream, text: started.set(),
        )  # fmt: skip
        try:
            outcome["victim"] = executor.run(request)
        finally:
            started.set()

    victim = threading.Thread(target=run_victim)
    victim.start()
    try:
        assert started.wait(30), "the victim tool never started"
        request = ExecutionRequest(
            new_tool_id(), _code(attacker), TIMEOUT, MEMORY_MB, _runtime_policy("wide")
        )
        attack = executor.run(request)
    finally:
        victim.join(60)
    result = outcome["victim"]
    assert not _evidence(attack.stdout, ("ESCAPED:",)), attack.stdout
    assert "FORGED" not in result.stdout + result.stderr
    assert not result.success and result.message == "Tool exited with status 3", result.message
