"""``python -m bench [--quick] [--only NAME[,NAME]] [--no-peers] [--out DIR]``: run the benchmarks,
print the Markdown tables, write ``latest.json`` (+ ``latest.md``) and ``latency.png``."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import machine, report
from .config import RESULTS, Settings

ROOT = Path(__file__).resolve().parent.parent
#: Measurement name -> module with ``measure(settings, log)``; run in this order.
MEASUREMENTS = ("validator", "latency", "throughput", "kernel", "memory", "phases")
MODULES = {
    "validator": "validation",
    "latency": "latency",
    "throughput": "throughput",
    "kernel": "kernel_rt",
    "memory": "memory",
    "phases": "phases",
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="two iterations of everything (smoke test)")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help=f"run only these measurements (repeat or comma-separate): {', '.join(MEASUREMENTS)}",
    )
    parser.add_argument(
        "--no-peers",
        action="store_true",
        help="skip llm-sandbox and epicbox (no bench virtualenv is created)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"results directory (default {RESULTS})")
    args = parser.parse_args(argv)
    only = [name.strip() for item in args.only for name in item.split(",") if name.strip()]
    unknown = sorted(set(only) - set(MEASUREMENTS))
    if unknown:
        parser.error(f"unknown measurement(s) {', '.join(unknown)}; choose from {', '.join(MEASUREMENTS)}")
    args.only = only or list(MEASUREMENTS)
    return args


def _plot(results_file: Path, png: Path) -> str | None:
    """Draws the PNG with the bench virtualenv's matplotlib; returns why not when it cannot."""
    from . import peers

    python = peers.venv_python()
    if not python.exists():
        return f"no bench virtualenv at {peers.VENV} (run without --no-peers once to create it)"
    done = subprocess.run(
        [str(python), "-m", "bench.plot", str(results_file), str(png)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if done.returncode != 0:
        return f"plot failed: {done.stderr.strip()[-500:]}"
    return None


def run(args: argparse.Namespace) -> tuple[dict[str, Any], bool]:
    import importlib

    settings = Settings(quick=args.quick, peers=not args.no_peers, out_dir=args.out)
    settings.out_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "schema": 1,
        "machine": machine.describe(),
        "config": {"quick": args.quick, "only": args.only, "peers": settings.peers},
        "errors": {},
        "seconds": {},
    }
    clean = True
    for name in MEASUREMENTS:
        if name not in args.only:
            continue
        measure: Callable[[Settings, Callable[[str], None]], dict[str, Any]] = importlib.import_module(
            f"bench.{MODULES[name]}"
        ).measure
        started = time.perf_counter()
        try:
            results[name] = measure(settings, log)
        except Exception as exc:  # noqa: BLE001 - one broken measurement must not lose the others
            clean = False
            results["errors"][name] = f"{type(exc).__name__}: {exc}"
            log(f"{name} FAILED:\n{traceback.format_exc()}")
        results["seconds"][name] = round(time.perf_counter() - started, 1)
        log(f"{name}: done in {results['seconds'][name]} s")
    results["targets"] = report.targets(results)
    return results, clean


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    results, clean = run(args)
    results["seconds"]["total"] = round(time.perf_counter() - started, 1)
    results["machine"]["load_at_end"] = machine.load_average()
    out_json = args.out / "latest.json"
    out_json.write_text(json.dumps(results, indent=1) + "\n")
    png = args.out / "latency.png"
    why = _plot(out_json, png) if ("latency" in results or "kernel" in results) else "nothing to plot"
    results["plot"] = str(png) if why is None else None
    if why:
        results["plot_skipped"] = why
    out_json.write_text(json.dumps(results, indent=1) + "\n")
    table = report.markdown(results)
    (args.out / "latest.md").write_text(table)
    print(table)
    for name, error in results["errors"].items():
        print(f"ERROR in {name}: {error}")
    print(f"results: {out_json}" + (f", {png}" if why is None else f" (no plot: {why})"))
    print(f"total {results['seconds']['total']} s")
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
