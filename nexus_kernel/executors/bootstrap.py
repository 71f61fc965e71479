"""The in-sandbox bootstrap: the one program that receives a tool's code, in both modes.

Standard library only, and self-contained: docker mode runs it from the image, the fallback runs
this very file. It must start fast (it runs under ``python -I -S``) and import nothing it can avoid.

Protocol (host -> sandbox, on stdin): one JSON header line, then exactly ``header["code_bytes"]``
bytes of UTF-8 source. The code is data: it is never pasted into a program text.

Protocol (sandbox -> host, on the original stdout): JSON lines ("frames")::

    {"t": "out", "d": "<text>"}          the tool wrote to stdout
    {"t": "err", "d": "<text>"}          the tool wrote to stderr
    {"t": "val", "d": "<repr>"}          the code's final expression (only if the header asks)
    {"t": "end", "ok": bool, "elapsed": float, "exit": int | null,
     "error": {"ename", "evalue", "traceback": [...]} | null,
     "truncated": {"stdout": bool, "stderr": bool}}

The raw file descriptor 1 is pointed at stderr, so bytes a tool writes around ``sys.stdout`` cannot
forge frames by accident; they surface as the sandbox's own stderr.

Header keys: ``code_bytes``, ``output_limit`` (bytes per stream), ``tmp_root`` (the directory the
tool sees as /tmp), ``allowed_modules``, ``blocked_builtins``, ``blocked_attributes``.

Optional header keys, for a sandbox that starts this program with more rights than the tool may
have (the fallback starts it as root inside its namespaces); all are applied before the tool's
code is even compiled, and a failure to apply one ends the run without running the tool:
``read_only_except`` (a path: every mount of this mount namespace becomes read-only but that one),
``rlimits`` ({"CPU": s, "NPROC": n, "FSIZE": bytes, "NOFILE": n, "CORE": bytes}, each set as both
soft and hard limit), ``memory_limit_mb`` (RLIMIT_AS: the interpreter's own address space at that
moment plus this many MB), ``uid`` and ``gid`` (drop to them, with no supplementary groups),
``landlock`` ({"read": [paths], "write": [paths]}: where Linux has Landlock, the tool may then
open, list and run only what lies below those paths (read-only or not), send no signal and reach
no abstract unix socket outside its own processes; skipped where the kernel has no Landlock),
``seccomp`` (hex of a classic-BPF filter program, loaded last, with no-new-privs),
``die_with_parent`` (SIGKILL when the process that started this one dies; set after the uid drop,
which clears it).

Optional ``echo_last_expression`` (bool): when the code ends with an expression, it is evaluated
as such and, unless it is None, its ``repr()`` (cut at ``output_limit`` characters) is sent as a
``val`` frame before the end frame: what a notebook shows as the cell's result. Hosts that do not
ask get exactly the frames above.

The restrictions installed here (import guard, guarded ``open``/``getattr``, no ``eval``/``exec``)
enforce the policy at run time, behind the validator. Attribute walks get around them (the real
``os`` is one ``random._os`` away), so just before the tool runs an audit hook, which nothing can
remove, refuses what the policy does not grant whoever calls it: running programs, signals,
sockets, ctypes, files outside ``tmp_root`` (reads also where Python's own modules are), tracing
and more (``_AUDIT_GROUPS``); refused calls raise ``PermissionError`` ("the sandbox refuses ...").
Library code opens files with the real ``open``, which does not map ``/tmp`` to ``tmp_root`` as the
tool's own ``open`` does: where they differ (the fallback's process level), libraries are given
``TMPDIR``. All of this is a second fence, not the boundary: the container or the process sandbox
around this program is.

Stream frames carry at most ``output_limit`` bytes of text per stream; one frame per line written
(or per 8 KB), so output shows up as it is printed. The host counts the frames' text, not their
JSON, against its flood limit.
"""

import _signal
import builtins
import os
import sys
import time

TOOL_FILENAME = "<tool>"

try:
    # The C accelerator alone: ``import json`` pulls in ``re`` and ``enum`` and doubles start-up time.
    from _json import encode_basestring_ascii as _quote
    from _json import make_scanner as _make_scanner
except ImportError:  # another Python implementation: the plain module, only slower
    import json as _json

    _quote = _make_scanner = None


class _ScanContext:
    """What ``_json.make_scanner`` reads from a ``json.JSONDecoder``."""

    strict = True
    object_hook = object_pairs_hook = None
    parse_float = parse_constant = float
    parse_int = int
    memo: dict = {}


def _loads(text: str):
    if _make_scanner is None:
        return _json.loads(text)
    return _make_scanner(_ScanContext())(text.strip(), 0)[0]


def _dumps(obj) -> str:
    """``json.dumps`` for what frames hold: str, int, float, bool, None, lists and dicts of them."""
    if _quote is None:
        return _json.dumps(obj)
    if isinstance(obj, str):
        return _quote(obj)
    if obj is None:
        return "null"
    if obj is True or obj is False:
        return "true" if obj else "false"
    if isinstance(obj, int):
        return int.__repr__(obj)
    if isinstance(obj, float):
        return float.__repr__(obj)
    if isinstance(obj, dict):
        return "{" + ", ".join(_quote(str(k)) + ": " + _dumps(v) for k, v in obj.items()) + "}"
    if isinstance(obj, (list, tuple)):
        return "[" + ", ".join(_dumps(v) for v in obj) + "]"
    return _quote(str(obj))


class _Reporter:
    """Writes frames to the host, one JSON object per line."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._file = os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace", closefd=True)

    def send(self, frame: dict) -> None:
        self._file.write(_dumps(frame) + "\n")
        self._file.flush()


class _Stream:
    """A text stream that forwards what the tool writes, line-buffered and capped."""

    encoding = "utf-8"
    errors = "strict"

    def __init__(self, name: str, tag: str, reporter: _Reporter, limit: int) -> None:
        self.name = name
        self._tag = tag
        send = reporter.send

        def emit(frame: dict) -> None:
            send(frame)

        # A closure, not the reporter: ``sys.stdout._reporter`` would hand a tool the frame writer.
        self._emit = emit
        self._limit = limit
        self._sent = 0
        self._buffer: list = []
        self._buffered = 0
        self.truncated = False

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
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
            self._emit({"t": self._tag, "d": text})

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


def _make_sys_facade(stdout: _Stream, stderr: _Stream, stdin):
    """A ``sys`` with the parts ordinary tools use, and no ``modules``, ``_getframe`` or hooks."""
    facade = type(sys)("sys", "The parts of sys available to tools.")
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


def _restricted_builtins(header: dict, sys_facade) -> dict:
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
                f"import of {name!r} is not allowed in a one-time tool (standard-library policy)"
            )
        module = real_import(name, globals, locals, fromlist, level)
        if name in ("traceback", "linecache"):
            _prime_linecache()
        return module

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
            raise PermissionError(f"tools may only open files under /tmp, not {file!r}")
        return real_open(real, mode, *args, **kwargs)

    def guarded_getattr(obj, name, *default):
        if isinstance(name, str) and name in blocked_attributes:
            raise AttributeError(f"attribute {name!r} is not available to tools")
        return real_getattr(obj, name, *default)

    table = dict(vars(builtins))
    for name in header["blocked_builtins"]:
        table.pop(name, None)
    table["__import__"] = guarded_import
    table["open"] = guarded_open
    table["getattr"] = guarded_getattr
    return table


_SOURCE_LINES: list = []


def _prime_linecache() -> None:
    """Let tracebacks show the tool's source lines. Done on demand: linecache imports ``re``."""
    import linecache

    if TOOL_FILENAME not in linecache.cache:
        size = sum(len(line) for line in _SOURCE_LINES)
        linecache.cache[TOOL_FILENAME] = (size, None, _SOURCE_LINES, TOOL_FILENAME)


def _confine(header: dict) -> None:
    """Apply the resource limits and mount settings, drop to the uid (see the module docstring)."""
    if header.get("read_only_except"):
        _read_only_mounts(header["read_only_except"])
    rlimits = header.get("rlimits") or {}
    memory_mb = header.get("memory_limit_mb")
    if rlimits or memory_mb:
        import resource

        for name, value in rlimits.items():
            # Soft and hard alike: the tool cannot raise a limit back.
            resource.setrlimit(getattr(resource, "RLIMIT_" + name), (value, value))
        if memory_mb:
            try:
                with open("/proc/self/statm", "rb") as statm:
                    base = int(statm.read().split()[0]) * resource.getpagesize()
            except (OSError, ValueError, IndexError):
                base = 0
            limit = base + int(memory_mb) * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if "FSIZE" in rlimits:
        # Writing past the size limit then fails with "File too large" instead of killing the tool.
        _signal.signal(_signal.SIGXFSZ, _signal.SIG_IGN)
    uid = header.get("uid")
    if uid is not None:
        gid = header.get("gid", uid)
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
        if os.getresuid() != (uid, uid, uid) or os.getresgid() != (gid, gid, gid) or os.getgroups():
            raise PermissionError(f"the sandbox could not drop to uid {uid}")
    if header.get("die_with_parent") or header.get("seccomp") or header.get("landlock"):
        _prctl(header)


def _read_only_mounts(writable: str) -> None:
    """mount_setattr(2) (Linux 5.12): all mounts read-only, recursively, then ``writable`` not."""
    import ctypes

    class MountAttr(ctypes.Structure):
        _fields_ = [(name, ctypes.c_uint64) for name in ("set", "clear", "propagation", "userns_fd")]

    libc = ctypes.CDLL(None, use_errno=True)
    # syscall 442 on every architecture; AT_FDCWD = -100, AT_RECURSIVE = 0x8000, MOUNT_ATTR_RDONLY = 1
    for path, flags, attr in (("/", 0x8000, MountAttr(1, 0, 0, 0)), (writable, 0, MountAttr(0, 1, 0, 0))):
        if libc.syscall(442, -100, path.encode(), flags, ctypes.byref(attr), ctypes.sizeof(attr)) != 0:
            raise OSError(ctypes.get_errno(), f"mount_setattr({path!r}) failed")


def _prctl(header: dict) -> None:
    """The parent-death signal, then no-new-privs and the seccomp filter (a BPF program)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)

    def prctl(*args) -> None:
        if libc.prctl(*args) != 0:
            raise OSError(ctypes.get_errno(), f"prctl{args[:2]} failed")

    if header.get("die_with_parent"):
        prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG, SIGKILL
        if os.getppid() != _STARTED_BY:  # the parent died before that: nobody waits for us
            os._exit(1)
    prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS: needed by both of the below
    if header.get("landlock"):
        _landlock(ctypes, libc, header["landlock"])
    if header.get("seccomp"):
        program = bytes.fromhex(header["seccomp"])

        class SockFprog(ctypes.Structure):
            _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

        code = ctypes.create_string_buffer(program, len(program))
        fprog = SockFprog(len(program) // 8, ctypes.addressof(code))
        prctl(22, 2, ctypes.byref(fprog), 0, 0)  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER


def _landlock(ctypes, libc, rules: dict) -> None:
    """Restrict this process to the given paths (Landlock, Linux 5.13; see the module docstring)."""
    abi = libc.syscall(444, None, 0, 1)  # landlock_create_ruleset(NULL, 0, ..._VERSION)
    if abi < 1:
        return  # no Landlock here: the sandbox's other walls stand alone
    # Every filesystem right this ABI knows is handled, so whatever no rule grants is refused.
    handled = (1 << 13) - 1 | (1 << 13 if abi >= 2 else 0) | (1 << 14 if abi >= 3 else 0)
    handled |= 1 << 15 if abi >= 5 else 0
    file_rights = 1 | 2 | 4 | (1 << 14 if abi >= 3 else 0) | (1 << 15 if abi >= 5 else 0)
    read = 1 | 4 | 8  # EXECUTE, READ_FILE, READ_DIR

    class RulesetAttr(ctypes.Structure):
        _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]

    class PathBeneath(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]

    # No TCP bind or connect (ABI 4); no signals or abstract unix sockets beyond this tool (ABI 6).
    attr = RulesetAttr(handled, 3 if abi >= 4 else 0, 3 if abi >= 6 else 0)
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    ruleset = libc.syscall(444, ctypes.byref(attr), size, 0)
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        for rights, paths in ((read, rules.get("read", ())), (handled, rules.get("write", ()))):
            for path in paths:
                try:
                    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                except FileNotFoundError:
                    continue
                try:
                    directory = os.fstat(fd).st_mode & 0o170000 == 0o040000
                    beneath = PathBeneath(rights if directory else rights & file_rights, fd)
                    if libc.syscall(445, ruleset, 1, ctypes.byref(beneath), 0) != 0:
                        raise OSError(ctypes.get_errno(), f"landlock_add_rule({path!r}) failed")
                finally:
                    os.close(fd)
        if libc.syscall(446, ruleset, 0) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(ruleset)


_STARTED_BY = os.getppid()

#: Audit events the tool may not raise, by what they do, each with the modules whose grant by the
#: policy grants them too. The import guard and the guarded builtins are a fence that attribute walks
#: get around (``object.__subclasses__()``, a frame's ``f_back`` or ``f_builtins``, ``random._os``...);
#: an audit hook cannot be removed, so whatever real ``os``, ``sys`` or ``builtins`` a tool reaches,
#: what the policy does not grant still fails. A policy that grants these modules (the test suite's
#: "wide" one) leaves the sandbox alone to stop them. Entries: (granted by, events, event prefixes,
#: modules whose import is refused; only modules not loaded yet raise the event, the rest is events).
_AUDIT_GROUPS = (
    (("os", "subprocess", "pty", "multiprocessing"),
     ("os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty", "subprocess.Popen",
      "pty.spawn", "os.startfile"),
     (), ("_posixsubprocess", "subprocess", "pty", "multiprocessing", "_multiprocessing", "_posixshmem")),
    (("os", "signal"), ("os.kill", "os.killpg", "signal.pthread_kill"), (), ()),
    (("socket", "ssl", "asyncio"), (), ("socket.",), ("socket", "_socket", "ssl", "_ssl")),
    (("ctypes",), (), ("ctypes.",), ("ctypes", "_ctypes")),
    (("mmap",), ("mmap.__new__",), (), ("mmap",)),
    (("resource",), ("resource.setrlimit", "resource.prlimit"), (), ("resource",)),
    (("fcntl", "termios"), ("fcntl.ioctl",), (), ("fcntl", "termios")),
    (("gc",), ("gc.get_objects", "gc.get_referrers", "gc.get_referents"), (), ("gc",)),
    ((), ("sys.settrace", "sys.setprofile", "sys.addaudithook", "sys._current_frames", "code.__new__",
          "builtins.breakpoint", "os.add_dll_directory"),
     ("syslog.", "winreg.", "msvcrt.", "_winapi."),
     ("faulthandler", "tracemalloc", "_testcapi", "_testinternalcapi", "_xxsubinterpreters")),
)  # fmt: skip
#: Modules whose grant lets the tool work on any path: then the sandbox alone confines files.
_FILE_MODULES = ("os", "pathlib", "shutil", "glob")
#: Events that change the file system at their string arguments: allowed under tmp_root only.
_WRITE_EVENTS = frozenset({
    "os.chmod", "os.chown", "os.remove", "os.rename", "os.mkdir", "os.rmdir", "os.symlink", "os.link",
    "os.truncate", "os.utime", "os.chflags", "os.lchflags", "os.setxattr", "os.removexattr",
    "shutil.rmtree", "shutil.copyfile", "shutil.copymode", "shutil.copystat", "shutil.copytree",
    "shutil.move", "shutil.chown",
})  # fmt: skip
#: Events that read at their string arguments: allowed under tmp_root and the readable roots.
_READ_EVENTS = frozenset({"os.listdir", "os.scandir", "glob.glob", "os.listxattr", "os.getxattr"})
#: What ``open`` means to write (``os.open`` gives only flags; ``io.open`` gives a mode).
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _install_audit_hook(tmp_root: str, reporter_fd: int, allowed: frozenset) -> None:
    """Refuse the audit events the policy does not grant, for the rest of the run (``_AUDIT_GROUPS``).

    Files (unless the policy grants ``os`` or the like): written only under ``tmp_root``; read there
    and where Python reads its own modules (imports and tracebacks need that) and the time zone
    database; no links made (their targets would escape a check by path). Called just before the
    tool's code runs, after the bootstrap has loaded what it needs; nothing keeps a reference to it.
    The hook calls no Python code and looks up no global or builtin when it runs: everything it
    uses is bound here, so a tool that patches modules it reached cannot reach into the check.
    """
    sep = os.sep

    def roots_of(paths) -> tuple:
        # The paths as given and as resolved: the tool names them either way (/tmp may be a link).
        return tuple({os.path.normpath(p) for p in paths} | {os.path.realpath(p) for p in paths})

    # The interpreter's module directories (``-I -S``: the standard library only).
    read_roots = roots_of([p for p in sys.path if p] + ["/usr/share/zoneinfo", os.devnull, tmp_root])
    write_roots = roots_of([tmp_root])
    refused, prefixes, imports = set(), (), set()
    for granted_by, events, event_prefixes, modules in _AUDIT_GROUPS:
        if not any(_allowed(name, allowed) for name in granted_by):
            refused.update(events)
            prefixes += event_prefixes
            imports.update(modules)
    files = not any(_allowed(name, allowed) for name in _FILE_MODULES)
    if files:
        refused.update(("os.symlink", "os.link"))
        watched = frozenset(refused | {"import", "open"} | _WRITE_EVENTS | _READ_EVENTS)
    else:
        watched = frozenset(refused | {"import"})
    refused = frozenset(refused)
    imports = frozenset(imports)
    write_events, read_events, write_flags = _WRITE_EVENTS, _READ_EVENTS, _WRITE_FLAGS
    getcwd, fspath = os.getcwd, os.fspath
    _isinstance, _str, _bytes, _int = isinstance, str, bytes, int
    _PermissionError, _ImportError, _TypeError, _UnicodeError = (
        PermissionError, ImportError, TypeError, UnicodeError
    )  # fmt: skip

    def inside(path, roots) -> bool:
        if _isinstance(path, _int):
            return path != reporter_fd  # an open descriptor; the frame pipe stays the bootstrap's
        if path is None:
            path = "."
        try:
            path = fspath(path)
        except _TypeError:
            return False
        if _isinstance(path, _bytes):
            try:
                path = path.decode("utf-8", "surrogateescape")
            except _UnicodeError:
                return False
        if not path.startswith(sep):
            path = getcwd() + sep + path
        # normpath by hand, with str methods only (see above)
        parts = []
        for part in path.split(sep):
            if part == "..":
                if parts:
                    parts.pop()
            elif part and part != ".":
                parts.append(part)
        path = sep + sep.join(parts)
        for root in roots:  # noqa: SIM110 - any() is a builtin, which the tool could replace
            if path == root or path.startswith(root + sep if root != sep else sep):
                return True
        return False

    def refuse(event: str, what) -> None:
        raise _PermissionError(f"the sandbox refuses {event} ({what!r}) to tools")

    def hook(event: str, args: tuple) -> None:
        if event not in watched:
            if prefixes and event.startswith(prefixes):
                refuse(event, args[:1])
            return
        if event == "open":
            path, mode, flags = args
            if _isinstance(mode, _str):
                write = "w" in mode or "a" in mode or "x" in mode or "+" in mode
            else:
                write = _isinstance(flags, _int) and flags & write_flags
            if not inside(path, write_roots if write else read_roots):
                refuse("writing" if write else "reading", path)
        elif event == "import":
            if args[0] in imports:
                raise _ImportError(f"the sandbox refuses to load module {args[0]!r}")
        elif event in refused:
            refuse(event, args[:1])
        else:
            roots = write_roots if event in write_events else read_roots
            for arg in args:
                if _isinstance(arg, (_str, _bytes)) and not inside(arg, roots):
                    refuse(event, arg)
            if event in read_events and (not args or args[0] is None) and not inside(None, roots):
                refuse(event, ".")

    sys.addaudithook(hook)


def _tool_error(exc: BaseException) -> dict:
    import traceback

    _prime_linecache()

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


def _execute(source: str, namespace: dict, echo: bool, limit: int):
    """Run the tool; with ``echo``, return the repr of a final expression (None when there is none)."""
    if not echo:
        exec(compile(source, TOOL_FILENAME, "exec"), namespace)
        return None
    import _ast  # the C module: cheap, and only for hosts that ask for the value

    tree = compile(source, TOOL_FILENAME, "exec", _ast.PyCF_ONLY_AST)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], _ast.Expr) else None
    exec(compile(tree, TOOL_FILENAME, "exec"), namespace)
    if last is None:
        return None
    result = eval(compile(_ast.Expression(last.value), TOOL_FILENAME, "eval"), namespace)
    return None if result is None else repr(result)[:limit]


def main() -> None:
    # Keep a private copy of stdout for frames; the tool's raw fd 1 goes to stderr.
    reporter = _Reporter(os.dup(1))
    os.dup2(2, 1)
    header = _loads(sys.stdin.buffer.readline().decode("utf-8"))
    source = sys.stdin.buffer.read(header["code_bytes"]).decode("utf-8")
    # The tool gets no stdin: input() sees end of file.
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    try:
        _confine(header)
    except BaseException as exc:  # noqa: BLE001 - a sandbox that cannot confine runs nothing
        error = {"ename": "SandboxSetupError", "evalue": f"{type(exc).__name__}: {exc}"}
        error["traceback"] = ["SandboxSetupError: " + error["evalue"]]
        reporter.send({"t": "end", "ok": False, "elapsed": 0.0, "exit": None, "error": error,
                       "truncated": {"stdout": False, "stderr": False}})  # fmt: skip
        os._exit(1)

    import io

    limit = header["output_limit"]
    stdout = _Stream("<stdout>", "out", reporter, limit)
    stderr = _Stream("<stderr>", "err", reporter, limit)
    stdin = io.StringIO("")
    sys.stdout, sys.stderr, sys.stdin = stdout, stderr, stdin
    facade = _make_sys_facade(stdout, stderr, stdin)
    _SOURCE_LINES[:] = source.splitlines(True)
    namespace = {"__name__": "__main__", "__doc__": None,
                 "__builtins__": _restricted_builtins(header, facade)}  # fmt: skip

    _install_audit_hook(
        os.path.realpath(header["tmp_root"]), reporter.fd, frozenset(header["allowed_modules"])
    )
    ok, error, exit_status, value = True, None, None, None
    started = time.perf_counter()
    try:
        value = _execute(source, namespace, bool(header.get("echo_last_expression")), limit)
    except SystemExit as exc:
        code = exc.code
        if code is not None and code != 0:
            ok, exit_status = False, int(code) if isinstance(code, int) else 1
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
        try:  # noqa: SIM105 - contextlib would be one more import at start-up
            stream.flush()
        except MemoryError:
            pass
    if value is not None:
        reporter.send({"t": "val", "d": value})
    reporter.send({
        "t": "end", "ok": ok, "elapsed": elapsed, "exit": exit_status, "error": error,
        "truncated": {"stdout": stdout.truncated, "stderr": stderr.truncated},
    })  # fmt: skip
    # Skip interpreter teardown: nothing of the tool's (atexit, __del__) runs after its report.
    os._exit(0 if ok else 1)


if __name__ == "__main__":
    main()
