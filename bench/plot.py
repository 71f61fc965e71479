"""Draws ``latency.png`` from ``latest.json``: ``<bench venv>/bin/python -m bench.plot IN OUT``.

Runs in the bench virtualenv (matplotlib lives there, not in the project's .venv); imports nothing
else from this package.
"""

from __future__ import annotations

import json
import sys

COLORS = {"nexus": "#1f77b4", "baseline": "#7f7f7f", "peer": "#d62728"}


def draw(results: dict, out: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = []
    latency = results.get("latency")
    if latency and latency["variants"]:
        panels.append(("Trivial tool print(1), end to end", latency["variants"]))
    kernel = results.get("kernel")
    if kernel:
        panels.append(("Kernel round trip, print(1) cell", {k: kernel[k] for k in ("nexus", "ipykernel")}))
    if not panels:
        raise SystemExit("nothing to plot")
    heights = [max(1.6, 0.45 * len(v) + 0.9) for _, v in panels]
    fig, axes = plt.subplots(
        len(panels), 1, figsize=(9, sum(heights)), squeeze=False, gridspec_kw={"height_ratios": heights}
    )
    for ax, (title, variants) in zip(axes[:, 0], panels, strict=True):
        items = [(v["label"], v["samples_ms"], v["group"]) for v in variants.values() if v["samples_ms"]]
        items.reverse()  # first variant on top
        box = ax.boxplot(
            [s for _, s, _ in items],
            orientation="horizontal",
            whis=(5, 95),
            showfliers=True,
            patch_artist=True,
            widths=0.6,
            flierprops={"markersize": 2},
        )
        for patch, (_, _, group) in zip(box["boxes"], items, strict=True):
            patch.set_facecolor(COLORS.get(group, "#999999"))
            patch.set_alpha(0.6)
        ax.set_yticks(range(1, len(items) + 1), [label for label, _, _ in items], fontsize=8)
        ax.set_xscale("log")
        plain = matplotlib.ticker.FuncFormatter(lambda value, _pos: f"{value:g}")
        ax.xaxis.set_major_formatter(plain)
        # Label 2x and 5x minor ticks too: a panel may span less than one decade.
        some = matplotlib.ticker.FuncFormatter(lambda v, _pos: f"{v:g}" if f"{v:g}"[0] in "25" else "")
        ax.xaxis.set_minor_formatter(some)
        ax.tick_params(axis="x", which="minor", labelsize=7)
        ax.set_xlabel("milliseconds (log scale; box: quartiles, whiskers: p5-p95)")
        ax.set_title(title, fontsize=10)
        ax.grid(axis="x", which="both", alpha=0.3)
    m = results["machine"]
    fig.suptitle(
        f"nexus-kernel bench, {m['date']}, {m['nproc']} cores {m['cpu_model']}, Docker {m['docker_version']}",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        draw(json.load(f), sys.argv[2])
