"""How the fallback starts its child process: one command line per isolation level.

``bubblewrap``: ``bwrap`` with new pid, network, IPC, UTS (and cgroup) namespaces; the filesystem
is a read-only view holding only the interpreter and the shared libraries (``/usr``, the ``/lib``
links, the interpreter's prefix, ``/etc/ld.so.cache`` and ``/etc/localtime``), ``/proc`` of the
new pid namespace, five device nodes and a 10 MB tmpfs as ``/tmp``. Nothing else of the host
(``/root``, ``/home``, the rest of ``/etc``, the project) exists in there. ``--die-with-parent``;
started with a clean environment, because the sandbox's pid 1 is bwrap itself and its
``/proc/1/environ`` is whatever bwrap got. Needs a bwrap with ``--size`` (for the tmpfs cap).

``unshare`` (root only, for hosts without bubblewrap): the same namespaces from util-linux
``unshare``; a small shell mounts a 10 MB tmpfs on ``/tmp`` and empty read-only tmpfs over the
places that hold secrets (``/root``, ``/home``, the project, the caller's home and working
directory, the world-writable ``/var/tmp`` and ``/dev/shm``), and the bootstrap makes every other
mount read-only (the header's ``read_only_except``). The rest of the host filesystem stays
visible, read-only, with the permissions of the tool's unprivileged uid.

``process``: no namespaces; rlimits, the unprivileged uid, the seccomp filter and a private
scratch directory that the bootstrap maps ``/tmp`` onto. The rest of the host filesystem is
visible with the permissions of that uid (the policy's guards are all that keep ``os`` out).

When we are root the sandbox starts as root (bubblewrap keeps only CAP_SETUID and CAP_SETGID,
``setpriv`` does the same for the other levels and sets no-new-privs) and the bootstrap drops to
the run's own uid before the tool's code exists. Run as another user, bubblewrap maps that user
to uid 1000 in a new user namespace, and the other levels run the tool as that user.

The bootstrap reaches every level the same way: compiled once per interpreter into a sealed
in-memory file, inherited as a descriptor and run as ``/proc/self/fd/N``. Nothing of the project
directory has to be visible, and no start-up pays for compiling it (``python`` never caches the
byte code of the script it runs, and that was a fifth of the start-up time).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..limits import SANDBOX_UID, TMP_SIZE_MB

BUBBLEWRAP, UNSHARE, PROCESS = "bubblewrap", "unshare", "process"
LEVELS = (BUBBLEWRAP, UNSHARE, PROCESS)
TMP_BYTES = TMP_SIZE_MB * 1024 * 1024
BOOTSTRAP_FILE = str(Path(__file__).with_name("bootstrap.py"))
#: The file name the bootstrap's code carries (in its own tracebacks).
BOOTSTRAP_NAME = "/nexus/bootstrap.py"
_DEVICES = ("null", "zero", "full", "random", "urandom")
# -I: no user site, no PYTHON* variables, no script directory on sys.path; -S: no site module
# (it costs more than half of start-up); -B: the view is read-only, do not try to write .pyc.
_PYTHON_FLAGS = ("-I", "-S", "-B")
_UNSHARE_SCRIPT = f"""set -e
mount -t tmpfs -o size={TMP_BYTES},mode=1777,nosuid,nodev nexus-tmp /tmp
while [ "$1" != -- ]; do
  mount -t tmpfs -o ro,nosuid,nodev,size=4k,mode=755 nexus-hidden "$1"
  shift
done
shift
cd /tmp && unset OLDPWD
exec "$@"
"""


@dataclass(frozen=True)
class Sandbox:
    """One way of starting the bootstrap: an isolation level and the interpreter it uses."""

    level: str
    python: str
    #: True when the sandbox starts as root and the bootstrap drops to the run's uid.
    as_root: bool
    tools: dict[str, str] = field(default_factory=dict)

    @property
    def private_tmp(self) -> bool:
        """True when /tmp is a tmpfs of the sandbox's own (else the host keeps a scratch dir)."""
        return self.level != PROCESS

    def command(
        self, bootstrap_fd: int, *, info_fd: int | None = None, seccomp_fd: int | None = None
    ) -> list[str]:
        """The argv that starts the bootstrap (which then reads the header on stdin).

        bubblewrap loads the seccomp filter from ``seccomp_fd``; the other levels have the
        bootstrap load it (the header's ``seccomp`` key).
        """
        python = [self.python, *_PYTHON_FLAGS, f"/proc/self/fd/{bootstrap_fd}"]
        if self.level == BUBBLEWRAP:
            extra = ["--info-fd", str(info_fd)] if info_fd is not None else []
            if seccomp_fd is not None:
                extra += ["--seccomp", str(seccomp_fd)]
            return [*self._bubblewrap(), *extra, "--", *python]
        # At the unshare level the bootstrap also needs CAP_SYS_ADMIN, to make the mounts read-only.
        inner = [*self._setpriv(admin=self.level == UNSHARE), *python]
        if self.level == UNSHARE:
            # unshare waits for the namespace's pid 1 (the bootstrap, which re-arms its own
            # parent-death signal after the uid drop); this makes unshare die with us.
            return [
                *self._setpriv(keep_privileges=True), self.tools["unshare"], "--pid", "--fork",
                "--kill-child", "--mount", "--propagation", "private", "--mount-proc", "--net", "--ipc",
                "--uts", "--",
                self.tools["sh"], "-c", _UNSHARE_SCRIPT, "nexus-sandbox", *_hidden_dirs(self.python), "--",
                *inner,
            ]  # fmt: skip
        return inner

    def _setpriv(self, *, keep_privileges: bool = False, admin: bool = False) -> list[str]:
        if "setpriv" not in self.tools:
            return []
        if keep_privileges:
            return [self.tools["setpriv"], "--pdeathsig=KILL", "--"]
        if not self.as_root:
            return []
        # The bootstrap needs CAP_SETUID/CAP_SETGID to drop to the run's uid (which clears every
        # capability); nothing else survives the exec, and no-new-privs keeps set-uid programs
        # inert for everything the tool starts.
        caps = "-all,+setuid,+setgid" + (",+sys_admin" if admin else "")
        return [
            self.tools["setpriv"], f"--bounding-set={caps}", "--inh-caps=-all", "--no-new-privs", "--",
        ]  # fmt: skip

    def _bubblewrap(self) -> list[str]:
        args = [
            self.tools["bwrap"], "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--hostname", "nexus", "--die-with-parent", "--new-session",
        ]  # fmt: skip
        if self.as_root:
            args += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        else:
            uid = str(SANDBOX_UID)
            args += ["--unshare-user", "--uid", uid, "--gid", uid]
            if "--disable-userns" in _bwrap_options(self.tools["bwrap"]):  # bwrap 0.8 and later
                args.append("--disable-userns")
        for path in _system_view(self.python):
            args += path
        for device in _DEVICES:
            args += ["--dev-bind", f"/dev/{device}", f"/dev/{device}"]
        args += [
            "--proc", "/proc", "--size", str(TMP_BYTES), "--perms", "1777", "--tmpfs", "/tmp",
            "--chdir", "/tmp",
        ]  # fmt: skip
        return args


def candidates(level: str | None = None) -> Iterator[Sandbox]:
    """Every sandbox this host might support, best first (``level`` keeps only that level)."""
    as_root = os.geteuid() == 0
    tools = {name: path for name in ("bwrap", "unshare", "setpriv", "sh") if (path := _which(name))}
    for lvl in LEVELS if level is None else (level,):
        # Without --size the tmpfs would have no cap: then another level it is.
        if lvl == BUBBLEWRAP and ("bwrap" not in tools or "--size" not in _bwrap_options(tools["bwrap"])):
            continue
        # unshare without a user namespace needs root; a user namespace would make the tool root in it.
        if lvl == UNSHARE and not (as_root and "unshare" in tools and "sh" in tools and _which("mount")):
            continue
        for python in interpreters():
            yield Sandbox(lvl, python, as_root, tools)


def requirements(level: str) -> str:
    """What ``level`` needs, for the message when no candidate of it exists here."""
    return {
        BUBBLEWRAP: "a bubblewrap (bwrap) that knows --size",
        UNSHARE: "root, and util-linux unshare, mount and sh",
        PROCESS: "a Python interpreter",
    }[level]


def interpreters() -> list[str]:
    """Interpreters to try: the one running us (without its venv), then the system's."""
    base = getattr(sys, "_base_executable", None) or sys.executable
    found = [os.path.realpath(base)]
    for path in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.path.exists(path) and os.path.realpath(path) not in found:
            found.append(os.path.realpath(path))
    return found


_OPTIONS: dict[str, frozenset[str]] = {}


def _bwrap_options(bwrap: str) -> frozenset[str]:
    """The options this bwrap knows, from its --help (read once)."""
    if bwrap not in _OPTIONS:
        try:
            shown = subprocess.run([bwrap, "--help"], capture_output=True, text=True, env={}, timeout=10)
            text = shown.stdout + shown.stderr
        except (OSError, subprocess.SubprocessError):
            text = ""
        _OPTIONS[bwrap] = frozenset(word for word in text.split() if word.startswith("--"))
    return _OPTIONS[bwrap]


def landlock_paths(python: str, tmp_root: str) -> dict[str, list[str]]:
    """What a tool outside bubblewrap may still reach (the bootstrap's ``landlock`` header key):
    the same as bubblewrap shows it, read-only, and its /tmp."""
    read = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc/ld.so.cache"]
    read += ["/etc/localtime", *_prefixes(python), "/dev/zero", "/dev/random", "/dev/urandom", "/proc/self"]
    return {"read": [path for path in read if os.path.exists(path)], "write": [tmp_root, "/dev/null"]}


def _which(name: str) -> str | None:
    # A fixed search path: the caller's PATH must not choose what runs as root.
    return shutil.which(name, path="/usr/bin:/bin:/usr/sbin:/sbin")


def _system_view(python: str) -> list[list[str]]:
    """bwrap arguments for a read-only view holding what the interpreter needs and nothing else."""
    view = [["--ro-bind", "/usr", "/usr"], *_parents("/etc/x")]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            view.append(["--symlink", os.readlink(top), top])
        elif os.path.isdir(top):
            view.append(["--ro-bind", top, top])
    for path in ("/etc/ld.so.cache", "/etc/localtime"):
        view.append(["--ro-bind-try", path, path])
    for prefix in _prefixes(python):
        if not _inside(prefix, "/usr"):
            view += _parents(prefix)
            view.append(["--ro-bind", prefix, prefix])
    return view


def _parents(path: str) -> list[list[str]]:
    # bubblewrap would create them 0700 (root's): the tool's uid could not reach what is inside.
    parents = []
    for parent in reversed(Path(path).parents[:-1]):
        parents.append(["--perms", "0755", "--dir", str(parent)])
    return parents


def _prefixes(python: str) -> list[str]:
    """Directories the interpreter needs: its prefix (stdlib, libpython) and its own directory."""
    found: list[str] = []
    bindir = os.path.dirname(python)
    prefix = os.path.dirname(bindir) if os.path.basename(bindir) == "bin" else bindir
    for path in (prefix, bindir):
        if not any(_inside(path, known) for known in found):
            found.append(path)
    return found


def _hidden_dirs(python: str) -> list[str]:
    """Host directories the unshare level covers with an empty read-only tmpfs."""
    project = str(Path(__file__).resolve().parents[2])
    wanted = ["/root", "/home", project, os.path.expanduser("~"), "/var/tmp", "/dev/shm"]
    with contextlib.suppress(OSError):
        wanted.append(os.getcwd())
    keep = [*_prefixes(python), "/tmp"]
    hidden: list[str] = []
    for path in map(os.path.realpath, wanted):
        # Never hide what the interpreter needs, nor a parent of it or of /tmp (the root, say);
        # anything under /tmp is already hidden by the new tmpfs.
        if not os.path.isdir(path) or _inside(path, "/tmp") or any(_inside(k, path) for k in keep):
            continue
        if not any(_inside(path, h) for h in hidden):
            hidden.append(path)
    return hidden


def _inside(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


_COMPILE = """import marshal, sys
from importlib.util import MAGIC_NUMBER
code = compile(sys.stdin.buffer.read(), sys.argv[1], "exec", dont_inherit=True)
sys.stdout.buffer.write(MAGIC_NUMBER + bytes(12) + marshal.dumps(code))
"""
_BOOTSTRAP_FDS: dict[str, int] = {}
_BOOTSTRAP_LOCK = threading.Lock()


def bootstrap_fd(python: str) -> int:
    """A descriptor of the bootstrap for ``python``, open for the life of this process.

    Byte code compiled by that very interpreter (a .pyc runs as a script when its magic number
    matches), in a memfd sealed against writes: every sandbox inherits the descriptor, and none
    may change what the next one runs. Falls back to the source file, opened read-only.
    """
    with _BOOTSTRAP_LOCK:
        fd = _BOOTSTRAP_FDS.get(python)
        if fd is None:
            fd = _BOOTSTRAP_FDS[python] = _compiled_bootstrap(python) or os.open(
                BOOTSTRAP_FILE, os.O_RDONLY | os.O_CLOEXEC
            )
        return fd


def _compiled_bootstrap(python: str) -> int | None:
    with open(BOOTSTRAP_FILE, "rb") as source:
        text = source.read()
    try:
        done = subprocess.run(
            [python, *_PYTHON_FLAGS, "-c", _COMPILE, BOOTSTRAP_NAME],
            input=text, capture_output=True, env={}, timeout=30, check=True,
        )  # fmt: skip
        fd = os.memfd_create("nexus-bootstrap", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    except (OSError, subprocess.SubprocessError, AttributeError):
        return None
    try:
        view = memoryview(done.stdout)
        while view:
            view = view[os.write(fd, view) :]
        seals = fcntl.F_SEAL_WRITE | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_SEAL
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, seals)
        os.fchmod(fd, 0o444)  # and no one may even open it for writing
    except (OSError, AttributeError):  # no file sealing here
        os.close(fd)
        return None
    return fd
