"""The in-sandbox bootstrap: the one program that receives a tool's code, in both modes.

Standard library only, and self-contained: docker mode runs it from the image, the fallback runs
this very file. It must start fast (it runs under ``python -I -S``) and import nothing it can avoid.

Protocol (host -> sandbox, on stdin): one JSON header line, then exactly ``header["code_bytes"]``
bytes of UTF-8 source. The code is data: it is never pasted into a program text.

Protocol (sandbox -> host, on the original stdout): JSON lines ("frames")::

    {"t": "out", "d": "<text>"}          the tool wrote to stdout
    {"t": "err", "d": "<text>"}          the tool wrote to stderr
    {"t": "end", "ok": bool, "elapsed": float, "exit": int | null,
     "error": {"ename", "evalue", "traceback": [...]} | null,
     "truncated": {"stdout": bool, "stderr": bool}}

The raw file descriptor 1 is pointed at stderr, so bytes a tool writes around ``sys.stdout`` cannot
forge frames by accident; they surface as the sandbox's own stderr.

Header keys: ``code_bytes``, ``output_limit`` (bytes per stream), ``tmp_root`` (the directory the
tool sees as /tmp), ``allowed_modules``, ``blocked_builtins``, ``blocked_attributes``.

The restrictions installed here (import guard, guarded ``open``/``getattr``, no ``eval``/``exec``)
enforce the policy at run time, behind the validator. They are a second fence, not the boundary:
the container or the process sandbox around this program is.
"""

import builtins
import json
import os
import sys
import time
import types

TOOL_FILENAME = "<tool>"


class _Reporter:
    """Writes frames to the host, one JSON object per line."""

    def __init__(self, fd: int) -> None:
        self._file = os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace", closefd=True)

    def send(self, frame: dict) -> None:
        self._file.write(json.dumps(frame) + "\n")
        self._file.flush()


class _Stream:
    """A text stream that forwards what the tool writes, line-buffered and capped."""

    encoding = "utf-8"
    errors = "strict"

    def __init__(self, name: str, tag: str, reporter: _Reporter, limit: int) -> None:
        self.name = name
        self._tag = tag
        self._reporter = reporter
        self._limit = limit
        self._sent = 0
        self._buffer: list = []
        self._buffered = 0
        self.truncated = False

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError("write() argument must be str, not %s" % type(text).__name__)
        self._buffer.append(text)
        self._buffered += len(text)
        if "\n" in text or self._buffered > 8192:
            self.flush()
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if not self._buffer:
            return
        text = "".join(self._buffer)
        self._buffer = []
        self._buffered = 0
        if self.truncated:
            return
        size = len(text.encode("utf-8", "surrogatepass"))
        room = self._limit - self._sent
        if size > room:
            text = text.encode("utf-8", "surrogatepass")[:room].decode("utf-8", "ignore")
            self.truncated = True
        self._sent += min(size, room)
        if text:
            self._reporter.send({"t": self._tag, "d": text})

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError("tool streams have no file descriptor")


def _allowed(name: str, allowed: frozenset) -> bool:
    parts = name.split(".")
    return any(".".join(parts[:i]) in allowed for i in range(1, len(parts) + 1))


def _make_sys_facade(stdout: _Stream, stderr: _Stream, stdin) -> types.ModuleType:
    """A ``sys`` with the parts ordinary tools use, and no ``modules``, ``_getframe`` or hooks."""
    facade = types.ModuleType("sys", "The parts of sys available to tools.")
    for name in (
        "version", "version_info", "platform", "maxsize", "maxunicode", "byteorder",
        "float_info", "int_info", "hash_info", "implementation", "float_repr_style",
        "getrecursionlimit", "getsizeof", "intern", "getdefaultencoding",
    ):  # fmt: skip
        setattr(facade, name, getattr(sys, name))
    facade.stdout = facade.__stdout__ = stdout
    facade.stderr = facade.__stderr__ = stderr
    facade.stdin = facade.__stdin__ = stdin
    facade.argv = ["tool"]

    def exit(status=None):
        raise SystemExit(status)

    def setrecursionlimit(limit):
        # Deep recursion can crash the interpreter (a C stack overflow) instead of raising.
        sys.setrecursionlimit(min(int(limit), 20000))

    facade.exit = exit
    facade.setrecursionlimit = setrecursionlimit
    return facade


def _restricted_builtins(header: dict, sys_facade: types.ModuleType) -> dict:
    allowed = frozenset(header["allowed_modules"])
    blocked_attributes = frozenset(header["blocked_attributes"])
    tmp_root = os.path.realpath(header["tmp_root"])
    real_import = builtins.__import__
    real_open = builtins.open
    real_getattr = builtins.getattr

    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level:
            raise ImportError("relative imports are not available to tools")
        if name == "sys":
            return sys_facade
        if not _allowed(name, allowed) and not (
            fromlist and all(_allowed(name + "." + item, allowed) for item in fromlist)
        ):
            raise ImportError(
                "import of %r is not allowed in a one-time tool (standard-library policy)" % name
            )
        return real_import(name, globals, locals, fromlist, level)

    def guarded_open(file, mode="r", *args, **kwargs):
        if isinstance(file, int):
            raise PermissionError("tools may not open file descriptors")
        path = os.fspath(file)
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if path == "/tmp" or path.startswith("/tmp/"):
            # The tool always says /tmp; in the fallback that is a private scratch directory.
            path = tmp_root + path[len("/tmp"):]
        elif not os.path.isabs(path):
            path = os.path.join(tmp_root, path)
        real = os.path.realpath(path)
        if real != tmp_root and not real.startswith(tmp_root + os.sep):
            raise PermissionError("tools may only open files under /tmp, not %r" % (file,))
        return real_open(real, mode, *args, **kwargs)

    def guarded_getattr(obj, name, *default):
        if isinstance(name, str) and name in blocked_attributes:
            raise AttributeError("attribute %r is not available to tools" % name)
        return real_getattr(obj, name, *default)

    table = dict(vars(builtins))
    for name in header["blocked_builtins"]:
        table.pop(name, None)
    table["__import__"] = guarded_import
    table["open"] = guarded_open
    table["getattr"] = guarded_getattr
    return table


def _tool_error(exc: BaseException) -> dict:
    import traceback

    # Drop the bootstrap's own frames: the user's traceback is their code and what it called.
    own = _tool_error.__code__.co_filename
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != own]
    lines = ["Traceback (most recent call last):"] if frames else []
    lines += traceback.StackSummary.from_list(frames).format()
    lines += traceback.format_exception_only(type(exc), exc)
    return {
        "ename": type(exc).__name__,
        "evalue": str(exc),
        "traceback": [line.rstrip("\n") for line in lines],
    }


def main() -> None:
    # Keep a private copy of stdout for frames; the tool's raw fd 1 goes to stderr.
    reporter = _Reporter(os.dup(1))
    os.dup2(2, 1)
    header = json.loads(sys.stdin.buffer.readline())
    source = sys.stdin.buffer.read(header["code_bytes"]).decode("utf-8")
    # The tool gets no stdin: input() sees end of file.
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)

    import io
    import linecache

    limit = header["output_limit"]
    stdout = _Stream("<stdout>", "out", reporter, limit)
    stderr = _Stream("<stderr>", "err", reporter, limit)
    stdin = io.StringIO("")
    sys.stdout, sys.stderr, sys.stdin = stdout, stderr, stdin
    facade = _make_sys_facade(stdout, stderr, stdin)
    lines = source.splitlines(True)
    linecache.cache[TOOL_FILENAME] = (len(source), None, lines, TOOL_FILENAME)
    namespace = {"__name__": "__main__", "__doc__": None,
                 "__builtins__": _restricted_builtins(header, facade)}  # fmt: skip

    ok, error, exit_status = True, None, None
    started = time.perf_counter()
    try:
        exec(compile(source, TOOL_FILENAME, "exec"), namespace)
    except SystemExit as exc:
        code = exc.code
        if code is not None and code != 0:
            ok, exit_status = False, code if isinstance(code, int) else 1
            if not isinstance(code, int):
                stderr.write(str(code) + "\n")
    except BaseException as exc:  # noqa: BLE001 - every failure is reported, none escapes
        ok = False
        try:
            error = _tool_error(exc)
        except MemoryError:
            error = {"ename": "MemoryError", "evalue": "", "traceback": ["MemoryError"]}
    elapsed = time.perf_counter() - started
    for stream in (stdout, stderr):
        try:
            stream.flush()
        except MemoryError:
            pass
    reporter.send({
        "t": "end", "ok": ok, "elapsed": elapsed, "exit": exit_status, "error": error,
        "truncated": {"stdout": stdout.truncated, "stderr": stderr.truncated},
    })  # fmt: skip
    # Skip interpreter teardown: nothing of the tool's (atexit, __del__) runs after its report.
    os._exit(0 if ok else 1)


if __name__ == "__main__":
    main()
