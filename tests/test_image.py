"""The sandbox image: the offline root filesystem, its Docker config, and the shipped Dockerfile."""

from __future__ import annotations

import io
import json
import shlex
import sys
import tarfile
import textwrap
from pathlib import Path

import pytest

from nexus_kernel.executors import image
from nexus_kernel.executors.base import ExecutionRequest
from nexus_kernel.response import new_tool_id

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def rootfs() -> tarfile.TarFile:
    return tarfile.open(fileobj=io.BytesIO(image.rootfs_tar()))


def test_rootfs_has_python_its_libraries_and_nothing_extra(rootfs: tarfile.TarFile) -> None:
    names = set(rootfs.getnames())
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    stdlib = f"usr/local/lib/{version}"
    assert {"usr/local/bin/python3", f"usr/local/bin/{version}", f"{stdlib}/os.py", "tmp"} <= names
    assert any(n.startswith(f"{stdlib}/lib-dynload/_json") for n in names)
    # The dynamic loader at the path the binary asks for, and libc beside the other libraries.
    assert "lib64/ld-linux-x86-64.so.2" in names or any("ld-linux" in n for n in names)
    assert any(n.endswith("/libc.so.6") for n in names)
    # Precompiled for their in-image path: the root is read-only, nothing is compiled at run time.
    assert f"{stdlib}/json/__pycache__/__init__.{sys.implementation.cache_tag}.pyc" in names
    for unwanted in ("test", "idlelib", "tkinter", "ensurepip", "site-packages", "lib2to3", "turtledemo"):
        assert not any(n.startswith(f"{stdlib}/{unwanted}/") for n in names), unwanted
    assert not any("config-3" in n for n in names)  # the 40 MB static libpython
    assert not any(n.startswith(("root/", "home/", "work/")) for n in names)
    assert all(member.uid == 0 and member.gid == 0 for member in rootfs.getmembers())
    assert not any(m.mode & 0o002 and not m.issym() and m.name != "tmp" for m in rootfs.getmembers())


def test_rootfs_user_tmp_and_bootstrap(rootfs: tarfile.TarFile) -> None:
    passwd = rootfs.extractfile("etc/passwd").read().decode()
    assert "nexus:x:1000:1000:" in passwd
    assert "nexus:x:1000:" in rootfs.extractfile("etc/group").read().decode()
    tmp = rootfs.getmember("tmp")
    assert tmp.isdir() and tmp.mode == 0o1777
    baked = rootfs.extractfile(image.BOOTSTRAP_IN_IMAGE.lstrip("/")).read()
    assert baked == image.BOOTSTRAP_SOURCE.read_bytes()


def test_tag_follows_the_bootstrap(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    tag = image.image_tag()
    assert tag.startswith(image.IMAGE_REPOSITORY + ":") and tag == image.image_tag()
    changed = tmp_path / "bootstrap.py"
    changed.write_bytes(image.BOOTSTRAP_SOURCE.read_bytes() + b"\n# changed\n")
    monkeypatch.setattr(image, "BOOTSTRAP_SOURCE", changed)
    assert image.image_tag() != tag


def test_repository_dockerfile_is_the_one_dockerfile_builds_use() -> None:
    assert (ROOT / "Dockerfile").read_text() == image.DOCKERFILE


def test_dockerfile_syntax() -> None:
    """All that can be checked offline: instructions, paths, user and command (no build: no registry)."""
    lines = image.DOCKERFILE.replace("\\\n", " ").splitlines()
    instructions = [line.split(None, 1) for line in lines if line.strip() and not line.startswith("#")]
    known = {"FROM", "RUN", "COPY", "LABEL", "USER", "WORKDIR", "CMD", "ENV"}
    assert all(len(parts) == 2 and parts[0] in known for parts in instructions), instructions
    by_name = {name: arg for name, arg in instructions}
    assert instructions[0] == ["FROM", "python:3.11-slim"]
    source, target = shlex.split(by_name["COPY"])
    assert (ROOT / source).is_file() and target == image.BOOTSTRAP_IN_IMAGE
    assert by_name["USER"] == "1000:1000" and by_name["WORKDIR"] == "/tmp"
    assert json.loads(by_name["CMD"]) == list(image.SANDBOX_COMMAND)
    assert "useradd --uid 1000" in by_name["RUN"]


@pytest.mark.docker
def test_built_image_config() -> None:
    from nexus_kernel.executors.docker import _client

    config = _client().inspect_image(image.image_tag())["Config"]
    assert config["User"] == "1000:1000"
    assert config["WorkingDir"] == "/tmp"
    assert sorted(e.split("=")[0] for e in config["Env"]) == ["LANG", "PATH"]
    assert config["Labels"][image.IMAGE_LABEL] == image.RECIPE_VERSION
    assert config["Cmd"] == list(image.SANDBOX_COMMAND)


@pytest.mark.docker
def test_build_if_missing_keeps_the_existing_image() -> None:
    from nexus_kernel.executors.docker import _client

    before = _client().inspect_image(image.image_tag())["Id"]
    assert image.build_image(if_missing=True) == image.image_tag()
    assert _client().inspect_image(image.image_tag())["Id"] == before


@pytest.mark.docker
def test_stale_sandbox_tags_are_removed_and_the_current_one_kept() -> None:
    import docker

    client = docker.from_env()
    try:
        current = image.image_tag()
        stale = f"{image.IMAGE_REPOSITORY}:000000000000"
        client.api.tag(current, image.IMAGE_REPOSITORY, "000000000000")
        assert stale in image._remove_stale(client, current)
        tags = [t for i in client.api.images(name=image.IMAGE_REPOSITORY) for t in i["RepoTags"] or []]
        assert current in tags and stale not in tags
    finally:
        client.close()


@pytest.mark.docker
def test_image_runs_the_standard_library_offline() -> None:
    from nexus_kernel.executors.docker import DockerExecutor

    code = textwrap.dedent("""
        import datetime, decimal, hashlib, json, sqlite3, unicodedata, uuid, zlib, zoneinfo, ctypes
        paris = datetime.datetime(2025, 9, 7, 12, tzinfo=zoneinfo.ZoneInfo("Europe/Paris"))
        print(paris.utcoffset(), hashlib.sha256(b"x").hexdigest()[:8], decimal.Decimal("1.1") * 2)
        print(unicodedata.name("é"), zlib.crc32(b"nexus"), json.dumps({"a": 1}))
        for name in ("pip", "idlelib", "tkinter", "ensurepip", "test.support"):
            try:
                __import__(name)
                print("present:", name)
            except ImportError:
                pass
    """)
    policy = {"allowed_modules": sorted(sys.stdlib_module_names | {"pip", "test"}),
              "blocked_builtins": [], "blocked_attributes": []}  # fmt: skip
    executor = DockerExecutor(pool_size=0)
    try:
        request = ExecutionRequest(new_tool_id(), code, 30, 128, runtime_policy=policy)
        result = executor.run(request)
    finally:
        executor.close()
    assert result.success, result.stderr
    assert result.stdout.splitlines() == [
        "2:00:00 2d711642 2.2",
        'LATIN SMALL LETTER E WITH ACUTE 763276765 {"a": 1}',
    ]


@pytest.mark.docker
def test_forced_rebuild_leaves_no_untagged_image() -> None:
    from nexus_kernel.executors.docker import _client

    api = _client()
    before = api.inspect_image(image.image_tag())["Id"]
    assert image.build_image(force=True) == image.image_tag()
    assert api.inspect_image(image.image_tag())["Id"] != before
    dangling = api.images(filters={"dangling": True, "label": image.IMAGE_LABEL}, quiet=True)
    in_use = {c["ImageID"] for c in api.containers(all=True)}
    assert before not in dangling or before in in_use  # kept only while a container still uses it
    assert all(image_id in in_use for image_id in dangling)
