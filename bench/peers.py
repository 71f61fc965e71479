"""The peers (llm-sandbox, epicbox): their virtualenv, their image, their workers.

Both run in ``bench/.venv-peers`` (created from ``peers-requirements.txt`` when missing), as
``bench.peer_worker`` subprocesses. They run the executor's sandbox image with three additions they
cannot work without, in an image of their own: ``/bin/sh`` (epicbox runs every command through
``sh -c``; llm-sandbox's docker exec calls too), ``mkdir`` and ``chown`` (llm-sandbox prepares its
work directory with them) and a ``python`` name (llm-sandbox runs ``python <file>``). The interpreter,
standard library and limits are the executor's.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

from . import dockerenv
from .protocol import Worker

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("NEXUS_BENCH_VENV", ROOT / "bench" / ".venv-peers"))
REQUIREMENTS = Path(__file__).with_name("peers-requirements.txt")
PEER_REPOSITORY = "nexus-bench-peer"
#: Host programs copied into the peers' image, with the libraries ``ldd`` names.
HOST_TOOLS = {"/bin/sh": "dash", "/bin/mkdir": "mkdir", "/bin/chown": "chown"}
PEERS = ("llm-sandbox", "epicbox")
WORKDIR = "/sandbox"


def venv_python() -> Path:
    return VENV / "bin" / "python"


def ensure_venv(log: Any = print) -> Path:
    """The bench virtualenv's python, created and filled on first use (needs PyPI)."""
    python = venv_python()
    stamp = VENV / ".installed"
    wanted = REQUIREMENTS.read_text()
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    log(f"bench: creating the bench virtualenv {VENV} (llm-sandbox, epicbox, matplotlib) ...")
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    # Never committed by accident, whatever the repository's .gitignore says (Python 3.13's venv
    # writes this file itself).
    (VENV / ".gitignore").write_text("*\n")
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", str(REQUIREMENTS)], check=True)
    stamp.write_text(wanted)
    return python


def _shutil_which(name: str) -> str:
    for directory in os.environ.get("PATH", "/usr/bin:/bin").split(":"):
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate.resolve())
    raise FileNotFoundError(f"{name} not found on PATH (needed for the peers' image)")


def _ldd(path: str) -> list[str]:
    out = subprocess.run(["ldd", path], capture_output=True, text=True, check=False).stdout
    return re.findall(r"(?:=>\s*)?(/\S+)\s+\(0x", out)


def build_peer_image(base_tag: str) -> str:
    """The sandbox image plus sh, mkdir, chown and ``python``; tagged after the base image."""
    client = dockerenv.client()
    tag = f"{PEER_REPOSITORY}:{base_tag.partition(':')[2] or 'latest'}"
    try:
        client.images.get(tag)
        return tag
    except Exception:  # noqa: BLE001 - not built yet
        pass
    context = io.BytesIO()
    lines = [f"FROM {base_tag}", "USER 0:0"]
    with tarfile.open(fileobj=context, mode="w") as tar:
        files: dict[str, str] = {}
        for target, name in HOST_TOOLS.items():
            source = _shutil_which(name)
            files[target] = source
            for lib in _ldd(source):
                files.setdefault(lib, os.path.realpath(lib))
        for index, (target, source) in enumerate(sorted(files.items())):
            arcname = f"f{index}"
            tar.add(source, arcname=arcname)
            lines.append(f"COPY {arcname} {target}")
        python = dockerenv.python_in_image()
        # llm-sandbox's work directory, writable by the sandbox user (it cannot mkdir under /).
        setup = (
            f"import os; os.symlink('python3', '{Path(python).parent}/python'); "
            f"os.mkdir('{WORKDIR}'); os.chown('{WORKDIR}', 1000, 1000)"
        )
        lines.append(f'RUN ["{python}", "-c", "{setup}"]')
        lines += [f"LABEL {dockerenv.BENCH_LABEL}=peer-image", "USER 1000:1000"]
        dockerfile = ("\n".join(lines) + "\n").encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))
    context.seek(0)
    client.images.build(fileobj=context, custom_context=True, tag=tag, rm=True, forcerm=True)
    return tag


def remove_peer_images() -> None:
    client = dockerenv.client()
    for image in client.images.list(name=PEER_REPOSITORY):
        with contextlib.suppress(Exception):  # in use or gone: nothing to do
            client.images.remove(image.id, force=True)


#: What each peer cannot do with the executor's settings, and what it gets instead.
DEVIATIONS = {
    "llm-sandbox": (
        "writable root filesystem: it copies the code in with `docker cp` (put_archive), which the "
        "engine refuses on a read-only root and which cannot write into a tmpfs /tmp; CAP_CHOWN given "
        "back and no no-new-privileges, since it chowns the copied file (root-owned, 0600) to the sandbox "
        "user with `docker exec --user root`"
    ),
    "epicbox": (
        "no CPU quota, no tmpfs /tmp, capabilities not dropped, no no-new-privileges: its API has no "
        "knob for them"
    ),
}


def start_worker(peer: str, image: str, log_dir: Path) -> Worker:
    """A worker running ``peer`` with the executor's limits on ``image`` (as far as it allows)."""
    config = {
        "peer": peer,
        "image": image,
        "python": dockerenv.python_in_image(),
        "limits": dockerenv.limits(),
        "read_only": peer != "llm-sandbox",
        "workdir": WORKDIR,
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    return Worker(
        peer,
        [str(venv_python()), "-m", "bench.peer_worker", json.dumps(config)],
        env=env,
        cwd=ROOT,
        log_path=log_dir / f"{peer}.log",
    )
