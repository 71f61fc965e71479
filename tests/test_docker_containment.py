"""Docker mode holds with the validator out of the way: each setting against the attack it stops.

Every tool here runs through ``DockerExecutor().run`` directly, with a runtime policy that allows
``os``, ``socket``, ``subprocess``, ``ctypes``... and no blocked builtins: only the container
stands between the tool and the host.
"""

from __future__ import annotations

import os
import socket
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from nexus_kernel.executors.base import ExecutionRequest, ExecutionResult, OutputCallback
from nexus_kernel.response import new_tool_id

pytestmark = pytest.mark.docker

PERMISSIVE = {
    "allowed_modules": sorted(sys.stdlib_module_names),
    "blocked_builtins": [],
    "blocked_attributes": [],
}


@pytest.fixture(scope="module")
def executor() -> Iterator:
    from nexus_kernel.executors.docker import DockerExecutor

    executor = DockerExecutor(pool_size=2)
    executor.pool.wait_ready(60)
    yield executor
    executor.close()


def run(executor, code: str, *, memory: int = 64, timeout: int = 30, on_output: OutputCallback | None = None):
    req = ExecutionRequest(new_tool_id(), textwrap.dedent(code), timeout, memory, PERMISSIVE, on_output)
    result = executor.run(req)
    # Whatever happened, the container is gone (removal may finish in the background).
    assert executor.wait_for_cleanup(30)
    from nexus_kernel.executors.docker import _client

    assert _client().containers(all=True, filters={"name": f"^/nexus-dynamic-tool-{req.tool_id}$"}) == []
    return result


def lines(result: ExecutionResult) -> list[str]:
    assert result.success, f"{result.message}\n{result.stderr}"
    return result.stdout.splitlines()


def test_no_network(executor) -> None:
    # A server on the host's loopback: the container's loopback is its own, so it cannot reach it.
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.setblocking(False)
    port = server.getsockname()[1]
    try:
        out = lines(
            run(
                executor,
                f"""
            import os, socket
            fd = os.open("/proc/self/net/dev", os.O_RDONLY)  # if_nameindex() needs netlink: refused
            print([line.split(":")[0].strip() for line in os.read(fd, 65536).decode().splitlines()[2:]])
            try:
                socket.create_connection(("127.0.0.1", {port}), timeout=3)
                print("connected")
            except OSError as exc:
                print("connect failed:", type(exc).__name__)
            try:
                socket.getaddrinfo("pypi.org", 443)
                print("resolved")
            except OSError as exc:
                print("dns failed:", type(exc).__name__)
        """,
            )
        )
        with pytest.raises(BlockingIOError):
            server.accept()  # nothing arrived
    finally:
        server.close()
    assert out == ["['lo']", "connect failed: ConnectionRefusedError", "dns failed: gaierror"]


def test_host_files_are_not_visible(executor, tmp_path: Path) -> None:
    secret = Path("/tmp") / f"nexus-host-secret-{new_tool_id()}"
    secret.write_text("host secret")
    try:
        out = lines(
            run(
                executor,
                f"""
            import os
            for path in ({str(secret)!r}, {str(Path.cwd())!r}, "/root", "/home", "/work", "/etc/shadow",
                         "/var/run/docker.sock", {sys.base_prefix!r}):
                print(path, os.path.exists(path))
            print(sorted(os.listdir("/tmp")))
            fd = os.open("/etc/passwd", os.O_RDONLY)
            print([line.split(":")[0] for line in os.read(fd, 4096).decode().splitlines()])
        """,
            )
        )
    finally:
        secret.unlink()
    assert all(line.endswith(" False") for line in out[:-2]), out
    assert out[-2:] == ["[]", "['root', 'nexus', 'nobody']"]


def test_host_environment_is_not_visible(executor, monkeypatch: pytest.MonkeyPatch) -> None:
    token = f"hunter2-{new_tool_id()}"
    monkeypatch.setenv("NEXUS_TEST_SECRET", token)
    result = run(
        executor,
        """
        import os
        def read(path):
            fd = os.open(path, os.O_RDONLY)
            try:
                return os.read(fd, 65536).decode()
            finally:
                os.close(fd)
        print(sorted(os.environ))
        print(read("/proc/1/environ").replace("\\0", " "))
        print(read("/proc/self/environ").replace("\\0", " "))
    """,
    )
    out = lines(result)
    assert token not in result.stdout
    assert out[0] == "['HOME', 'HOSTNAME', 'LANG', 'PATH']"


def test_unprivileged_user_without_capabilities(executor) -> None:
    out = lines(
        run(
            executor,
            """
        import os, socket
        fd = os.open("/proc/self/status", os.O_RDONLY)
        status = dict(line.split(":\\t", 1) for line in os.read(fd, 8192).decode().splitlines())
        print(os.getuid(), os.getgid(), os.geteuid(), status["CapEff"], status["CapBnd"],
              status["NoNewPrivs"])
        for attempt in (
            lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP),  # CAP_NET_RAW
            lambda: os.chown("/tmp", 0, 0),  # CAP_CHOWN
            lambda: os.setuid(0),  # CAP_SETUID
        ):
            try:
                attempt()
                print("allowed")
            except PermissionError:
                print("denied")
    """,
        )
    )
    assert out == ["1000 1000 1000 0000000000000000 0000000000000000 1", "denied", "denied", "denied"]


#: Raw system calls for the socket tests. The numbers and machine code are x86-64's (this project's
#: machines); the profile itself is the same on aarch64.
_SYSCALLS = """
import ctypes, errno, mmap, os, socket, struct

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t, *[ctypes.c_int] * 3, ctypes.c_long)
AF_VSOCK = 40

def outcome(fd):
    if fd >= 0:
        os.close(fd)
        return "OPENED"
    return errno.errorcode.get(-fd, str(-fd))

def syscall(*args):
    result = libc.syscall(*args)
    return result if result >= 0 else -ctypes.get_errno()
"""


def test_sockets_only_of_unix_and_inet_families(executor) -> None:
    # AF_VSOCK is the one that matters on a VM (the host's vsock services; no network namespace
    # confines it); the others are kernel attack surface a tool never needs.
    code = (
        _SYSCALLS
        + """
def socket_of(family, kind=socket.SOCK_STREAM):
    try:
        return socket.socket(family, kind).detach()
    except OSError as exc:
        return -exc.errno

def io_uring_socket():
    # IORING_OP_SOCKET (Linux 5.19+) makes a socket without the socket() system call.
    params = ctypes.create_string_buffer(120)  # struct io_uring_params
    fd = syscall(425, 1, params)  # io_uring_setup
    if fd < 0:
        return fd
    sq_entries, cq_entries = struct.unpack_from("<2I", params, 0)
    _, sq_tail, sq_mask, _, _, _, sq_array = struct.unpack_from("<7I", params, 40)
    cq_head, _, cq_mask, _, _, cqes = struct.unpack_from("<6I", params, 80)
    size = max(sq_array + 4 * sq_entries, cqes + 16 * cq_entries)
    rw = mmap.PROT_READ | mmap.PROT_WRITE
    ring = mmap.mmap(fd, size, mmap.MAP_SHARED, rw, offset=0)
    sqes = mmap.mmap(fd, 64 * sq_entries, mmap.MAP_SHARED, rw, offset=0x10000000)
    sqes[0:64] = struct.pack("<BBHiQQII", 45, 0, 0, AF_VSOCK, socket.SOCK_STREAM, 0, 0, 0).ljust(64, b"\\0")
    tail = struct.unpack_from("<I", ring, sq_tail)[0]
    struct.pack_into("<I", ring, sq_array + 4 * (tail & sq_mask), 0)
    struct.pack_into("<I", ring, sq_tail, tail + 1)
    result = syscall(426, fd, 1, 1, 1, None, 0)  # io_uring_enter, waiting for the completion
    if result >= 0:
        head = struct.unpack_from("<I", ring, cq_head)[0]
        result = struct.unpack_from("<i", ring, cqes + 16 * (head & cq_mask) + 8)[0]
    os.close(fd)
    return result

for name, family, kind in (
    ("AF_VSOCK", AF_VSOCK, socket.SOCK_STREAM),
    ("AF_NETLINK", socket.AF_NETLINK, socket.SOCK_RAW),
    ("AF_PACKET", socket.AF_PACKET, socket.SOCK_DGRAM),
    ("AF_ALG", 38, socket.SOCK_SEQPACKET),
    ("AF_KEY", 15, socket.SOCK_RAW),
    ("AF_XDP", 44, socket.SOCK_RAW),
    ("AF_UNIX", socket.AF_UNIX, socket.SOCK_STREAM),
    ("AF_INET", socket.AF_INET, socket.SOCK_STREAM),
    ("AF_INET6", socket.AF_INET6, socket.SOCK_DGRAM),
):
    print(name, outcome(socket_of(family, kind)))
# The kernel reads the family as an int: junk in the upper half must not turn a refusal around.
print("AF_VSOCK + 1 << 32", outcome(syscall(41, ctypes.c_long(AF_VSOCK | 1 << 32), 1, 0)))
for end in socket.socketpair():  # AF_UNIX: asyncio and multiprocessing need it
    end.close()
print("socketpair AF_UNIX OPENED")
print("io_uring AF_VSOCK", outcome(io_uring_socket()))
"""
    )
    out = lines(run(executor, code))
    assert out == [
        "AF_VSOCK EPERM",
        "AF_NETLINK EPERM",
        "AF_PACKET EPERM",
        "AF_ALG EPERM",
        "AF_KEY EPERM",
        "AF_XDP EPERM",
        "AF_UNIX OPENED",
        "AF_INET OPENED",
        "AF_INET6 OPENED",
        "AF_VSOCK + 1 << 32 EPERM",
        "socketpair AF_UNIX OPENED",
        "io_uring AF_VSOCK EPERM",
    ]


def test_only_the_native_system_call_abi(executor) -> None:
    # `int 0x80` makes i386 system calls from a 64-bit process. i386's socketcall(SYS_SOCKET, args)
    # reads the family from memory, where seccomp cannot look: the whole ABI must be refused.
    code = (
        _SYSCALLS
        + """
import signal, sys

def int80(make_code):
    page = libc.mmap(None, 4096, 7, 0x22 | 0x40, -1, 0)  # rwx, private | anonymous | MAP_32BIT
    args = page + 256  # i386 pointers are 32 bits
    ctypes.memmove(args, struct.pack("<3I", AF_VSOCK, socket.SOCK_STREAM, 0), 12)
    text = make_code(args)
    ctypes.memmove(page, text, len(text))
    return ctypes.CFUNCTYPE(ctypes.c_int)(page)()

attacks = {
    # push rbx; mov eax, 102 (socketcall); mov ebx, 1 (SYS_SOCKET); mov ecx, args; int 0x80; pop rbx; ret
    "socketcall": lambda a: bytes.fromhex("53 b8 66000000 bb 01000000 b9") + struct.pack("<I", a)
    + bytes.fromhex("cd80 5b c3"),
    # push rbx; mov eax, 359 (socket); mov ebx, 40; mov ecx, 1; xor edx, edx; int 0x80; pop rbx; ret
    "i386 socket": lambda a: bytes.fromhex("53 b8 67010000 bb 28000000 b9 01000000 31d2 cd80 5b c3"),
    # push rbx; mov eax, 20 (getpid); int 0x80; pop rbx; ret - harmless: the ABI itself is refused
    "i386 getpid": lambda a: bytes.fromhex("53 b8 14000000 cd80 5b c3"),
}
for name, make_code in attacks.items():
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:  # in a child: a refused ABI kills the process
        result = int80(make_code)
        print(name, "allowed" if result >= 0 else errno.errorcode.get(-result))
        sys.stdout.flush()
        os._exit(0)
    status = os.waitpid(pid, 0)[1]
    if os.WIFSIGNALED(status):
        print(name, "killed by", signal.Signals(os.WTERMSIG(status)).name)
"""
    )
    out = lines(run(executor, code))
    assert out == [f"{name} killed by SIGSYS" for name in ("socketcall", "i386 socket", "i386 getpid")]


def test_root_filesystem_is_read_only(executor) -> None:
    out = lines(
        run(
            executor,
            """
        import errno, os
        for path in ("/etc/evil", "/opt/nexus/evil", "/usr/local/bin/evil", "/evil"):
            try:
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY))
                print("written")
            except OSError as exc:
                print(errno.errorcode[exc.errno])
    """,
        )
    )
    assert out == ["EROFS"] * 4


def test_tmp_is_capped_at_10_mb(executor) -> None:
    out = lines(
        run(
            executor,
            """
        import errno
        written = 0
        try:
            with open("/tmp/big", "wb") as handle:
                for _ in range(20):
                    handle.write(b"x" * 1024 * 1024)
                    handle.flush()
                    written += 1
        except OSError as exc:
            print(errno.errorcode[exc.errno])
        print(written)
    """,
        )
    )
    assert out[0] == "ENOSPC" and 8 <= int(out[1]) <= 10  # 20 MB asked, at most 10 MB written


def test_memory_hog_is_killed_and_reported(executor) -> None:
    result = run(executor, "hog = 'x' * (200 * 1024 * 1024)\nprint('survived')", memory=64)
    assert not result.success
    assert result.message == "Tool exceeded its memory limit of 64 MB"
    assert "survived" not in result.stdout
    assert result.details["container_return_code"] == 137


def test_fork_bomb_is_contained(executor) -> None:
    out = lines(
        run(
            executor,
            """
        import os, time
        children = failures = 0
        for _ in range(300):
            try:
                pid = os.fork()
            except OSError:
                failures += 1
                continue
            if pid == 0:
                time.sleep(60)
                os._exit(0)
            children += 1
        print(children, failures)
    """,
        )
    )
    children, failures = map(int, out[0].split())
    assert children < 64 and failures > 0


def test_output_floods_are_capped(executor) -> None:
    printed = run(executor, "for i in range(100000):\n    print('y' * 99)")  # 10 MB through print
    assert printed.success
    assert len(printed.stdout.encode()) <= 1024 * 1024
    assert "[nexus: stdout was cut at 1024 KB]" in printed.stderr

    # Around the streams, straight to the file descriptors: the host stops it.
    raw = run(executor, "import os\nwhile True:\n    os.write(1, b'z' * 65536)", timeout=60)
    assert not raw.success
    assert raw.message == "Tool wrote more output than allowed and was stopped"
    assert len(raw.details["container_stderr"]) <= 70 * 1024


def test_detached_grandchild_does_not_outlive_the_tool(executor) -> None:
    marker = f"nexus-grandchild-{new_tool_id()}"
    seen_during: list[bool] = []

    def alive() -> bool:
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                    return True
            except OSError:
                continue
        return False

    def on_output(stream: str, text: str) -> None:
        if "spawned" in text:
            seen_during.append(alive())

    out = lines(
        run(
            executor,
            f"""
        import os, time
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                sleeper = ["python3", "-c", "import time; time.sleep(300)", {marker!r}]
                os.execv("/usr/local/bin/python3", sleeper)
            os._exit(0)
        os.wait()
        def running():  # wait until the grandchild has become the sleeper
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    fd = os.open(f"/proc/{{pid}}/cmdline", os.O_RDONLY)
                except OSError:
                    continue
                try:
                    if {marker!r}.encode() in os.read(fd, 4096):
                        return True
                finally:
                    os.close(fd)
            return False
        deadline = time.monotonic() + 20
        while not running() and time.monotonic() < deadline:
            time.sleep(0.05)
        print("spawned")
        time.sleep(1)  # the host looks for the grandchild now
    """,
            on_output=on_output,
        )
    )
    assert out == ["spawned"]
    assert seen_during == [True]  # the grandchild was running (seen from the host)...
    assert not alive()  # ...and went with the tool's container


def test_no_stdin_beyond_the_code(executor) -> None:
    out = lines(
        run(
            executor,
            """
        import os
        print(repr(os.read(0, 100)))
        try:
            input()
        except EOFError:
            print("EOF")
    """,
        )
    )
    assert out == ["b''", "EOF"]


def test_cpu_is_limited_to_half_a_core(executor) -> None:
    out = lines(
        run(
            executor,
            """
        import os, time
        def read(name):
            fd = os.open("/sys/fs/cgroup/cpu/" + name, os.O_RDONLY)
            try:
                return int(os.read(fd, 64))
            finally:
                os.close(fd)
        print(read("cpu.cfs_quota_us") / read("cpu.cfs_period_us"))
        wall, cpu = time.monotonic(), time.process_time()
        while time.monotonic() - wall < 1.5:
            pass
        print(round((time.process_time() - cpu) / (time.monotonic() - wall), 2))
    """,
        )
    )
    assert float(out[0]) == 0.5
    assert float(out[1]) <= 0.75  # a busy loop gets about half a core, never a whole one
