"""Install the Nexus kernelspec (``python -m nexus_kernel install``), with logos drawn in pure Python.

The kernelspec written here names this interpreter (``sys.executable``), so the kernel runs in the
environment it was installed from. The copy in the repository's ``kernelspec/`` (shipped in the
wheel as ``share/jupyter/kernels/nexus``) says ``python``, which jupyter_client replaces with its
own interpreter; ``kernelspec_files(python="python")`` produces exactly those files.
"""

from __future__ import annotations

import json
import struct
import sys
import tempfile
import zlib
from pathlib import Path

KERNEL_NAME = "nexus"
DISPLAY_NAME = "Nexus (sandboxed Python)"
LOGO_SIZES = (32, 64)

# Logo colours (RGBA): a deep blue tile with a white "N" and a teal underline (the sandbox floor).
_TILE = (13, 42, 94, 255)
_INK = (255, 255, 255, 255)
_ACCENT = (45, 212, 191, 255)


def kernel_json(python: str = sys.executable) -> dict[str, object]:
    """The kernelspec's kernel.json for a given interpreter."""
    return {
        "argv": [python, "-m", "nexus_kernel.kernel", "-f", "{connection_file}"],
        "display_name": DISPLAY_NAME,
        "language": "python",
        "interrupt_mode": "signal",
        # A debugger would attach to the kernel process, which never runs the cell's code.
        "metadata": {"debugger": False},
    }


def kernelspec_files(python: str = sys.executable) -> dict[str, bytes]:
    """File name -> content of the kernelspec directory."""
    files = {"kernel.json": (json.dumps(kernel_json(python), indent=2) + "\n").encode()}
    for size in LOGO_SIZES:
        files[f"logo-{size}x{size}.png"] = logo_png(size)
    return files


def write_kernelspec(directory: str | Path, python: str = sys.executable) -> Path:
    """Write the kernelspec files into ``directory`` (created if needed)."""
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    for name, content in kernelspec_files(python).items():
        (target / name).write_bytes(content)
    return target


def install_kernelspec(user: bool = False, sys_prefix: bool = False, prefix: str | None = None) -> str:
    """Install the kernelspec for this interpreter; returns the directory it was installed to.

    With no option: into ``sys.prefix`` when running in a virtualenv (where Jupyter from the same
    env looks), else for the current user.
    """
    from jupyter_client.kernelspec import KernelSpecManager

    if not (user or sys_prefix or prefix):
        if sys.prefix != sys.base_prefix:
            sys_prefix = True
        else:
            user = True
    if sys_prefix:
        prefix = sys.prefix
    with tempfile.TemporaryDirectory(prefix="nexus-kernelspec-") as tmp:
        source = write_kernelspec(Path(tmp) / KERNEL_NAME)
        return KernelSpecManager().install_kernel_spec(
            str(source), KERNEL_NAME, user=bool(user) and not prefix, prefix=prefix
        )


# ---------------------------------------------------------------- the logo, as a PNG


def logo_png(size: int) -> bytes:
    """The Nexus logo as an RGBA PNG of ``size`` x ``size`` pixels."""
    return png_bytes(size, size, logo_pixels(size))


def logo_pixels(size: int) -> list[list[tuple[int, int, int, int]]]:
    """Rows of RGBA pixels, anti-aliased by 4x4 supersampling."""
    samples = 4
    rows = []
    for y in range(size):
        row = []
        for x in range(size):
            counts = {"tile": 0, "ink": 0, "accent": 0}
            for sy in range(samples):
                for sx in range(samples):
                    u = (x + (sx + 0.5) / samples) / size
                    v = (y + (sy + 0.5) / samples) / size
                    part = _shape(u, v)
                    if part:
                        counts[part] += 1
            row.append(_blend(counts, samples * samples))
        rows.append(row)
    return rows


def _shape(u: float, v: float) -> str | None:
    """Which part of the logo the point (u, v) in [0, 1)^2 falls on."""
    radius, inset = 0.18, 0.02
    lo, hi = inset, 1 - inset
    if not (lo <= u <= hi and lo <= v <= hi):
        return None
    # Rounded corners of the tile.
    cx = min(max(u, lo + radius), hi - radius)
    cy = min(max(v, lo + radius), hi - radius)
    if (u - cx) ** 2 + (v - cy) ** 2 > radius**2:
        return None
    if 0.78 <= v <= 0.85 and 0.22 <= u <= 0.78:
        return "accent"
    stroke = 0.12
    left, right, top, bottom = 0.24, 0.76, 0.2, 0.7
    if top <= v <= bottom:
        if left <= u <= left + stroke or right - stroke <= u <= right:
            return "ink"
        # The diagonal from the top of the left bar to the bottom of the right bar.
        t = (v - top) / (bottom - top)
        centre = left + stroke / 2 + t * (right - left - stroke)
        if abs(u - centre) <= stroke * 0.62:
            return "ink"
    return "tile"


def _blend(counts: dict[str, int], total: int) -> tuple[int, int, int, int]:
    covered = sum(counts.values())
    if not covered:
        return (0, 0, 0, 0)
    colours = {"tile": _TILE, "ink": _INK, "accent": _ACCENT}
    rgb = tuple(round(sum(colours[p][i] * n for p, n in counts.items()) / covered) for i in range(3))
    return (*rgb, round(255 * covered / total))  # type: ignore[return-value]


def png_bytes(width: int, height: int, rows: list[list[tuple[int, int, int, int]]]) -> bytes:
    """Encode RGBA rows as a PNG (8 bits per channel, no filtering)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + bytes(channel for pixel in row for channel in pixel) for row in rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )
