"""The kernelspec: ``nexus-kernel install``, the logos, the wheel's shared data, and the demo."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from kernel_helpers import execute, stdout

from nexus_kernel import __version__
from nexus_kernel.cli import main as cli
from nexus_kernel.install import DISPLAY_NAME, LOGO_SIZES, kernelspec_files

REPO = Path(__file__).resolve().parents[1]


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG, after checking its chunks and that its pixels decompress."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, chunks, idat = 8, [], b""
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        chunks.append(kind)
        idat += body if kind == b"IDAT" else b""
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert (depth, colour) == (8, 6)  # RGBA, 8 bits per channel
        offset += 12 + length
    assert chunks[0] == b"IHDR" and chunks[-1] == b"IEND"
    assert len(zlib.decompress(idat)) == height * (1 + 4 * width)
    return width, height


def test_install_with_prefix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["install", "--prefix", str(tmp_path)]) == 0
    installed = Path(capsys.readouterr().out.strip())
    assert installed == tmp_path / "share" / "jupyter" / "kernels" / "nexus"
    spec = json.loads((installed / "kernel.json").read_text())
    assert spec["argv"] == [sys.executable, "-m", "nexus_kernel.kernel", "-f", "{connection_file}"]
    assert spec["display_name"] == DISPLAY_NAME == "Nexus (sandboxed Python)"
    assert spec["language"] == "python" and spec["interrupt_mode"] == "signal"
    for size in LOGO_SIZES:
        assert png_size((installed / f"logo-{size}x{size}.png").read_bytes()) == (size, size)
    found = KernelSpecManager(kernel_dirs=[str(installed.parent)]).get_kernel_spec("nexus")
    assert found.display_name == DISPLAY_NAME and found.interrupt_mode == "signal"


def test_install_for_the_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path))
    from nexus_kernel.install import install_kernelspec

    assert Path(install_kernelspec(user=True)) == tmp_path / "kernels" / "nexus"


def test_installed_kernelspec_starts_a_working_kernel(tmp_path: Path) -> None:
    from nexus_kernel.install import install_kernelspec

    installed = Path(install_kernelspec(prefix=str(tmp_path)))
    km = KernelManager(kernel_name="nexus")
    km.kernel_spec_manager = KernelSpecManager(kernel_dirs=[str(installed.parent)])
    km.start_kernel(env={**os.environ, "NEXUS_EXECUTION_MODE": "fallback"})
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        reply, outputs = execute(kc, "print('installed and working')")
        assert reply["content"]["status"] == "ok" and stdout(outputs) == "installed and working\n"
    finally:
        kc.stop_channels()
        km.shutdown_kernel()


def test_repository_kernelspec_is_the_generated_one() -> None:
    # kernelspec/ is what the wheel ships; it must be exactly what install.py writes for "python"
    # (jupyter_client runs "python" as its own interpreter).
    shipped = {p.name: p.read_bytes() for p in (REPO / "kernelspec").iterdir()}
    assert shipped == kernelspec_files(python="python")


def test_wheel_ships_the_kernelspec_and_pip_install_makes_jupyter_see_it(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(REPO)],
        check=True,
        timeout=300,
    )
    (wheel,) = wheels.glob("nexus_kernel-*.whl")
    data = f"nexus_kernel-{__version__}.data/data/share/jupyter/kernels/nexus/"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert {data + name for name in kernelspec_files(python="python")} <= names
        assert json.loads(archive.read(data + "kernel.json"))["argv"][0] == "python"
    # A plain pip install (into a scratch prefix here) puts it where `jupyter kernelspec list` looks.
    # --ignore-installed: without it pip would first uninstall this very checkout from the venv.
    prefix = tmp_path / "prefix"
    before = _installed_location()
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--ignore-installed", "-q",
         "--prefix", str(prefix), str(wheel)],
        check=True,
        timeout=300,
    )  # fmt: skip
    assert _installed_location() == before, "the test must not touch the environment it runs in"
    env = {**os.environ, "JUPYTER_PATH": str(prefix / "share" / "jupyter")}
    listed = subprocess.run(
        [sys.executable, "-m", "jupyter", "kernelspec", "list", "--json"],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    specs = json.loads(listed.stdout)["kernelspecs"]
    assert Path(specs["nexus"]["resource_dir"]) == prefix / "share" / "jupyter" / "kernels" / "nexus"
    assert specs["nexus"]["spec"]["display_name"] == DISPLAY_NAME


def _installed_location() -> str:
    out = subprocess.run(
        [sys.executable, "-c", "import nexus_kernel; print(nexus_kernel.__file__)"],
        capture_output=True, text=True, check=True, cwd="/", timeout=60,
    )  # fmt: skip
    return out.stdout.strip()


def test_demo_prints_the_spec_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from nexus_kernel.demo import main as demo

    assert demo(prefix=str(tmp_path)) == 0
    out = capsys.readouterr().out
    assert "ISO: 2025-09-07T14:30:22\nHuman: 2025-09-07 14:30:22\n" in out
    assert '[\n  {\n    "name": "JOHN",\n    "age": 25,' in out and '"salary": 75000\n  }\n]\n' in out
    assert "P(10) = 145, Valid: True\n\nIs 145 pentagonal? True\n" in out
    mode_line = out.strip().splitlines()[-1]
    assert mode_line.startswith(("mode: docker_isolated", "mode: fallback"))
