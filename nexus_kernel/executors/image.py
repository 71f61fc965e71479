"""The sandbox image: built offline from this machine's Python, or from the shipped Dockerfile.

Offline build (the default, no registry needed): a minimal root filesystem is assembled in memory
from the interpreter behind ``sys.base_prefix`` (the binary, its standard library without test
suites, IDLE, tkinter, ensurepip and site-packages, and every shared library ``ldd`` names,
including the dynamic loader), plus an ``/etc/passwd`` with ``nexus`` (uid 1000), an empty ``/tmp``
and the bootstrap, and handed to ``docker import``.

The bootstrap is baked into the image, and the image tag carries a hash of the bootstrap (and of
this recipe): a changed bootstrap means a new tag, which ``build_image(if_missing=True)`` builds.
Baking it in (rather than sending it with every run) keeps the per-run payload to the tool's code,
and the hash makes it impossible to run a stale bootstrap by accident.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import logging
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import time
from collections.abc import Iterator
from importlib._bootstrap_external import _code_to_timestamp_pyc  # type: ignore[attr-defined]
from pathlib import Path

from ..limits import SANDBOX_UID, SANDBOX_USER
from .base import ExecutorUnavailable

log = logging.getLogger(__name__)

IMAGE_REPOSITORY = "nexus-kernel-sandbox"
#: Where the image keeps the interpreter and the bootstrap (the same in both build recipes).
PYTHON_IN_IMAGE = "/usr/local/bin/python3"
BOOTSTRAP_IN_IMAGE = "/opt/nexus/bootstrap.py"
#: ``-I`` isolates from the environment and the working directory, ``-S`` skips ``site``.
SANDBOX_COMMAND = (PYTHON_IN_IMAGE, "-I", "-S", BOOTSTRAP_IN_IMAGE)
#: Label on the image (and, via the executor, on every container made from it).
IMAGE_LABEL = "nexus-kernel.sandbox-image"
#: Bump when the recipe changes what ends up in the image, so the tag changes with it.
RECIPE_VERSION = "1"
BOOTSTRAP_SOURCE = Path(__file__).with_name("bootstrap.py")
IMAGE_ENV = ("PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8")

#: Parts of the standard library a tool never needs (and the largest ones: test alone is 120 MB).
_STDLIB_SKIP = frozenset((
    "test", "tests", "idlelib", "tkinter", "turtledemo", "ensurepip", "site-packages", "dist-packages",
    "lib2to3", "pydoc_data", "distutils", "venv", "__pycache__", "turtle.py", "idle.py",
))  # fmt: skip
#: Extension modules for tests, terminals and GUIs; some drag in dozens of libraries (X11, krb5).
_DYNLOAD_SKIP = re.compile(
    r"^(_test|_xxtest|_ctypes_test|xxlimited|_tkinter|_curses|readline|nis\.|ossaudiodev)"
)

#: Used by ``dockerfile=True`` and kept identical to the repository's ``Dockerfile`` (a test checks).
DOCKERFILE = f"""\
# The sandbox image for machines that can pull from a registry. Build it with
#   python -m nexus_kernel image build --dockerfile
# (that names it with the tag the executor looks for). Offline machines use the default
# `python -m nexus_kernel image build`, which assembles an equivalent image from the local Python.
FROM python:3.11-slim
RUN groupadd --gid {SANDBOX_UID} {SANDBOX_USER} \\
 && useradd --uid {SANDBOX_UID} --gid {SANDBOX_UID} --no-create-home --home-dir /tmp \\
      --shell /usr/sbin/nologin {SANDBOX_USER} \\
 && rm -rf /usr/local/lib/python3.11/site-packages/pip* /usr/local/lib/python3.11/ensurepip \\
      /usr/local/lib/python3.11/idlelib /usr/local/lib/python3.11/tkinter /usr/local/bin/pip* \\
 && find /usr/local/lib/python3.11 -depth -type d -name test -exec rm -rf {{}} +
COPY nexus_kernel/executors/bootstrap.py {BOOTSTRAP_IN_IMAGE}
LABEL {IMAGE_LABEL}="{RECIPE_VERSION}"
USER {SANDBOX_UID}:{SANDBOX_UID}
WORKDIR /tmp
CMD {list(SANDBOX_COMMAND)!r}
""".replace("'", '"')


def image_tag() -> str:
    """The tag the executor runs: it changes whenever the bootstrap or the recipe changes."""
    digest = hashlib.sha256(RECIPE_VERSION.encode() + b"\0" + BOOTSTRAP_SOURCE.read_bytes()).hexdigest()
    return f"{IMAGE_REPOSITORY}:{digest[:12]}"


def build_image(force: bool = False, if_missing: bool = False, dockerfile: bool = False) -> str:
    """Build the sandbox image and return its tag.

    With ``if_missing`` (and by default) an existing image is kept; ``force`` rebuilds it.
    ``dockerfile`` builds from ``DOCKERFILE`` (needs ``python:3.11-slim``, i.e. a registry);
    otherwise the image is assembled offline from this machine's Python.
    """
    import docker

    tag = image_tag()
    try:
        client = docker.from_env(timeout=300)
        client.ping()
    except Exception as exc:  # any failure to connect means "no engine"
        raise ExecutorUnavailable(
            f"Docker engine not reachable ({exc}): start dockerd to build the sandbox image"
        ) from exc
    try:
        prune_untagged(client.api)
        previous = _image_id(client, tag)
        if previous and not force:
            return tag
        started = time.perf_counter()
        if dockerfile:
            _build_from_dockerfile(client, tag)
        else:
            data = rootfs_tar()
            repository, _, version = tag.partition(":")
            client.api.import_image_from_data(data, repository=repository, tag=version, changes=_changes())
        current = _image_id(client, tag)
        if not current:
            raise ExecutorUnavailable(f"building {tag} reported no error, yet the image is missing")
        log.info("built %s in %.1f s", tag, time.perf_counter() - started)
        _remove_stale(client, tag)
        if previous and previous != current:
            _remove_untagged(client, previous)  # a forced rebuild left the old image without a tag
        return tag
    finally:
        client.close()


def _image_id(client, tag: str) -> str | None:  # client: a docker.DockerClient
    import docker

    try:
        return client.api.inspect_image(tag)["Id"]
    except docker.errors.ImageNotFound:
        return None


def prune_untagged(api) -> None:  # api: a docker.APIClient
    """Remove sandbox images that lost their tag (forced rebuilds) and no container uses any more."""
    try:
        api.prune_images(filters={"dangling": True, "label": IMAGE_LABEL})
    except Exception as exc:  # noqa: BLE001 - housekeeping only
        log.info("could not prune old sandbox images: %s", exc)


def _remove_untagged(client, image_id: str) -> None:
    try:
        if not client.api.inspect_image(image_id).get("RepoTags"):
            client.api.remove_image(image_id, force=False)
    except Exception as exc:  # noqa: BLE001 - still used by a container: it goes with the container
        log.info("kept the previous sandbox image %s: %s", image_id, exc)


def _changes() -> list[str]:
    return [
        f"USER {SANDBOX_UID}:{SANDBOX_UID}",
        "WORKDIR /tmp",
        *(f"ENV {item}" for item in IMAGE_ENV),
        f'LABEL {IMAGE_LABEL}="{RECIPE_VERSION}"',
        "CMD " + repr(list(SANDBOX_COMMAND)).replace("'", '"'),
    ]


def _remove_stale(client, keep: str) -> list[str]:
    """Untag older sandbox tags (a previous bootstrap) so images do not pile up; returns them."""
    removed = []
    for image in client.api.images(name=IMAGE_REPOSITORY):
        for stale in image.get("RepoTags") or []:
            if stale == keep or not stale.startswith(IMAGE_REPOSITORY + ":"):
                continue
            try:
                client.api.remove_image(stale, force=False)
                removed.append(stale)
            except Exception as exc:  # noqa: BLE001 - still used by a container: keep it for now
                log.info("kept old sandbox image %s: %s", stale, exc)
    return removed


def _build_from_dockerfile(client, tag: str) -> None:
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        files = _RootFS(tar)
        files.data("Dockerfile", DOCKERFILE.encode())
        files.data("nexus_kernel/executors/bootstrap.py", BOOTSTRAP_SOURCE.read_bytes())
    context.seek(0)
    try:
        client.images.build(fileobj=context, custom_context=True, tag=tag, rm=True, forcerm=True)
    except Exception as exc:  # typically: python:3.11-slim cannot be pulled
        raise ExecutorUnavailable(
            f"building {tag} from the Dockerfile failed ({exc}); without registry access use "
            "`python -m nexus_kernel image build` (offline)"
        ) from exc


# ---------------------------------------------------------------------------- offline root filesystem


def rootfs_tar() -> bytes:
    """The image's root filesystem as an uncompressed tar, assembled in memory (about 45 MB)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        _RootFS(tar).assemble()
    return buffer.getvalue()


class _RootFS:
    """Writes the sandbox's files into a tar, owned by root and read-only for everyone else."""

    def __init__(self, tar: tarfile.TarFile) -> None:
        self.tar = tar
        self.now = int(time.time())
        self._dirs: set[str] = set()
        self._files: set[str] = set()

    def assemble(self) -> None:
        version = f"python{sys.version_info.major}.{sys.version_info.minor}"
        executable = _base_executable()
        stdlib = Path(sysconfig.get_paths(vars={"installed_base": sys.base_prefix})["stdlib"])
        for directory in ("proc", "sys", "dev", "etc"):
            self.directory(directory)
        self.directory("tmp", mode=0o1777)

        self.file(executable, f"usr/local/bin/{version}", strip=True)
        self.symlink("usr/local/bin/python3", version)
        libs: set[str] = set(_ldd(executable))
        target = f"usr/local/lib/{version}"
        for path in _stdlib_files(stdlib):
            relative = path.relative_to(stdlib).as_posix()
            if path.suffix == ".py":
                self.python(path, f"{target}/{relative}")
            else:
                self.file(path, f"{target}/{relative}")
        for path in _dynload_files(stdlib):
            self.file(path, f"{target}/lib-dynload/{path.name}", strip=True)
            libs.update(_ldd(path))
        self.libraries(libs)
        self.data(BOOTSTRAP_IN_IMAGE.lstrip("/"), BOOTSTRAP_SOURCE.read_bytes())
        self.data("etc/passwd", (
            "root:x:0:0:root:/root:/usr/sbin/nologin\n"
            f"{SANDBOX_USER}:x:{SANDBOX_UID}:{SANDBOX_UID}:{SANDBOX_USER}:/tmp:/usr/sbin/nologin\n"
            "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
        ).encode())  # fmt: skip
        self.data("etc/group", f"root:x:0:\n{SANDBOX_USER}:x:{SANDBOX_UID}:\nnogroup:x:65534:\n".encode())
        self.zoneinfo(Path("/usr/share/zoneinfo"))

    def libraries(self, libs: set[str]) -> None:
        # Libraries found through the interpreter's RUNPATH (libpython in a pyenv or /opt prefix)
        # go next to libc, a directory the loader searches by default, so no RUNPATH is needed.
        libc = next((p for p in libs if os.path.basename(p).startswith("libc.so")), "/usr/lib/libc.so.6")
        for lib in sorted(libs):
            name = lib
            if not lib.startswith(("/lib", "/usr/lib")):
                name = f"{os.path.dirname(libc)}/{os.path.basename(lib)}"
            # The loader itself must not be stripped (its symbols are how libc finds it).
            self.file(Path(os.path.realpath(lib)), name.lstrip("/"), strip="ld-linux" not in name)

    def zoneinfo(self, root: Path) -> None:
        """``zoneinfo`` is an allowed module: ship the time zone database (about 2 MB) if we have it."""
        if not root.is_dir():
            return
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(root)
            if relative.parts[0] in ("right", "posix"):  # leap-second variants and a self-link
                continue
            name = path.as_posix().lstrip("/")
            if path.is_symlink():
                self.symlink(name, os.readlink(path))
            elif path.is_file():
                self.file(path, name)

    def directory(self, name: str, mode: int = 0o755) -> None:
        if not name or name in self._dirs:
            return
        self.directory(os.path.dirname(name))
        self._dirs.add(name)
        info = tarfile.TarInfo(name)
        info.type, info.mode, info.mtime = tarfile.DIRTYPE, mode, self.now
        self.tar.addfile(info)

    def symlink(self, name: str, target: str) -> None:
        self.directory(os.path.dirname(name))
        info = tarfile.TarInfo(name)
        info.type, info.linkname, info.mode, info.mtime = tarfile.SYMTYPE, target, 0o777, self.now
        self.tar.addfile(info)

    def data(self, name: str, data: bytes, mode: int = 0o644, mtime: int | None = None) -> None:
        if name in self._dirs or name in self._files:
            return
        self._files.add(name)
        self.directory(os.path.dirname(name))
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = len(data), mode, self.now if mtime is None else mtime
        self.tar.addfile(info, io.BytesIO(data))

    def file(self, path: Path, name: str, strip: bool = False) -> None:
        data = path.read_bytes()
        if strip:
            data = _stripped(path, data)
        mode = 0o755 if os.access(path, os.X_OK) else 0o644
        self.data(name, data, mode, int(path.stat().st_mtime))

    def python(self, path: Path, name: str) -> None:
        """The source and a .pyc compiled for its path in the image (the root is read-only)."""
        source = path.read_bytes()
        mtime = int(path.stat().st_mtime)
        self.data(name, source, 0o644, mtime)
        try:
            code = compile(source, "/" + name, "exec", dont_inherit=True)
        except (SyntaxError, ValueError):  # a data file named .py: ship the source only
            return
        directory, _, filename = name.rpartition("/")
        cached = f"{directory}/__pycache__/{filename[:-3]}.{sys.implementation.cache_tag}.pyc"
        self.data(cached, bytes(_code_to_timestamp_pyc(code, mtime, len(source))), 0o644, mtime)



def _base_executable() -> Path:
    candidate = getattr(sys, "_base_executable", None) or sys.executable
    path = Path(os.path.realpath(candidate))
    if not path.is_file():
        raise ExecutorUnavailable(f"cannot find this machine's Python interpreter ({candidate})")
    return path


def _stdlib_files(stdlib: Path) -> Iterator[Path]:
    for directory, subdirs, files in os.walk(stdlib):
        here = Path(directory)
        # config-3.x holds the static libpython (40 MB), only needed to build extensions.
        subdirs[:] = sorted(
            d for d in subdirs
            if d not in _STDLIB_SKIP and not d.startswith("config-")
            and not (here == stdlib and d == "lib-dynload")
        )  # fmt: skip
        for name in sorted(files):
            if name in _STDLIB_SKIP or name.endswith((".pyc", ".pyo", ".exe")):
                continue
            yield here / name


def _dynload_files(stdlib: Path) -> list[Path]:
    """Extension modules: lib-dynload under the stdlib, or wherever ``_json`` was found."""
    spec = importlib.util.find_spec("_json")
    directory = stdlib / "lib-dynload"
    if spec and spec.origin and spec.origin.endswith(".so"):
        directory = Path(spec.origin).parent
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix == ".so" and not _DYNLOAD_SKIP.match(p.name))


def _ldd(path: Path) -> list[str]:
    """The shared libraries ``path`` needs (resolved by this machine's loader), incl. the loader."""
    try:
        output = subprocess.run(["ldd", str(path)], capture_output=True, text=True, check=False).stdout
    except OSError as exc:
        raise ExecutorUnavailable(f"`ldd` is needed to build the sandbox image offline: {exc}") from exc
    return re.findall(r"(?:=>\s*)?(/\S+)\s+\(0x", output)


def _stripped(path: Path, data: bytes) -> bytes:
    """Debug symbols make libpython 23 MB instead of 4: strip a copy when ``strip`` exists."""
    if not shutil.which("strip"):
        return data
    with tempfile.NamedTemporaryFile(suffix=path.suffix) as copy:
        copy.write(data)
        copy.flush()
        done = subprocess.run(["strip", "--strip-unneeded", copy.name], capture_output=True, check=False)
        return Path(copy.name).read_bytes() if done.returncode == 0 else data
