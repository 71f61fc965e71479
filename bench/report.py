"""Targets (PASS/MISS) and the Markdown tables printed for the README."""

from __future__ import annotations

from typing import Any

TARGET_WARM_MS = 30.0
TARGET_COLD_RATIO = 6.0
TARGET_FALLBACK_MS = 15.0
TARGET_VALIDATOR_MS = 2.0
TARGET_KERNEL_DELTA_MS = 40.0
PEERS = ("llm-sandbox", "epicbox")


def _get(node: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target with its measured value and ``passed`` (None when not measured)."""
    out: list[dict[str, Any]] = []

    def add(name: str, measured: str | None, passed: bool) -> None:
        # Nothing measured is "n/a", never a PASS or a MISS.
        out.append(
            {"target": name, "measured": measured or "not measured", "passed": passed if measured else None}
        )

    if "latency" in results:
        variants = _get(results, "latency", "variants") or {}
        warm = _get(variants, "nexus_warm", "median_ms")
        add(
            f"warm docker tool median <= {TARGET_WARM_MS:g} ms",
            warm and f"{warm:.1f} ms",
            bool(warm) and warm <= TARGET_WARM_MS,
        )
        cli = _get(variants, "docker_run_cli", "median_ms")
        sdk = _get(variants, "docker_run_sdk", "median_ms")
        measured = None
        if warm and cli:
            measured = f"{cli / warm:.1f}x vs CLI" + (f", {sdk / warm:.1f}x vs SDK" if sdk else "")
        add(
            f"warm >= {TARGET_COLD_RATIO:g}x faster than cold `docker run`",
            measured,
            bool(warm and cli) and cli / warm >= TARGET_COLD_RATIO,
        )
        peer_medians = {p: _get(variants, p, "median_ms") for p in PEERS}
        measured = None
        if warm and any(peer_medians.values()):
            measured = ", ".join(
                f"{p} {m / warm:.1f}x slower" if m else f"{p} not run" for p, m in peer_medians.items()
            )
        add(
            "warm faster than every peer",
            measured,
            bool(warm) and all(m and m > warm for m in peer_medians.values()),
        )
        fallback = _get(variants, "nexus_fallback", "median_ms")
        add(
            f"fallback median <= {TARGET_FALLBACK_MS:g} ms",
            fallback and f"{fallback:.1f} ms",
            bool(fallback) and fallback <= TARGET_FALLBACK_MS,
        )
    if "validator" in results:
        validator = _get(results, "validator", "lines_500", "median_ms")
        parse = _get(results, "validator", "parse_500", "median_ms")
        measured = validator and f"{validator:.2f} ms" + (
            f" (`ast.parse` alone {parse:.2f} ms)" if parse else ""
        )
        add(
            f"validator, 500 lines < {TARGET_VALIDATOR_MS:g} ms",
            measured,
            validator is not None and validator < TARGET_VALIDATOR_MS,
        )
    levels = _get(results, "throughput", "levels")
    if "throughput" in results:
        top = max(levels, key=lambda lv: lv["callers"]) if levels else None
        leaked = _get(results, "throughput", "leaked_containers") or []
        measured = top and f"{top['errors']} errors / {top['calls']} calls, {len(leaked)} leaked"
        add(
            "8 concurrent callers: no errors, no leaked containers",
            measured,
            bool(top) and top["errors"] == 0 and not leaked,
        )
    if "kernel" in results:
        delta = _get(results, "kernel", "delta_median_ms")
        add(
            f"Nexus kernel cell within {TARGET_KERNEL_DELTA_MS:g} ms of ipykernel",
            None if delta is None else f"{delta:+.1f} ms",
            delta is not None and delta <= TARGET_KERNEL_DELTA_MS,
        )
    return out


def _latency(latency: dict[str, Any]) -> list[str]:
    warm = _get(latency, "variants", "nexus_warm", "median_ms")
    lines = [
        f"Trivial tool `print(1)`, end to end ({latency['rounds']} interleaved rounds; warm pool size "
        f"{latency['pool_size']}; x warm = median / warm median):",
        "",
        "| variant | median ms | p95 ms | n | errors | x warm |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for v in latency["variants"].values():
        times = f"{v['median_ms'] / warm:.1f}" if warm and v.get("median_ms") else "-"
        mark = " \\*" if v.get("note") else ""
        lines.append(
            f"| {v['label']}{mark} | {_fmt(v['median_ms'])} | {_fmt(v['p95_ms'])} | {v['n']} | "
            f"{v['errors']} | {times} |"
        )
    for name, reason in (latency.get("skipped") or {}).items():
        lines.append(f"| {name}: not run ({reason}) | | | | | |")
    lines += [
        "",
        "Nexus figures end when the result is back; the used container is removed in the "
        "background after that (the benchmark waits for the engine to be quiet, untimed, "
        "between samples). `docker run --rm` includes the removal.",
    ]
    lines += [f"\\* {v['label']}: {v['note']}." for v in latency["variants"].values() if v.get("note")]
    if latency.get("settle_timeouts"):
        lines.append(
            f"Warning: {latency['settle_timeouts']} times the engine did not get quiet between samples "
            "within 10 s (something else was creating or removing containers)."
        )
    phases = _get(latency, "variants", "nexus_warm", "phases")
    if phases and warm:
        lines += [
            "",
            f"Warm run, where the time goes (medians): end to end {warm:.1f} ms; executor "
            f"(checkout, code in, frames out) {_fmt(phases.get('container_median_ms'))} ms; the tool's "
            f"own code {_fmt(phases.get('tool_median_ms'), 1)} ms.",
        ]
    return [*lines, ""]


def _throughput(throughput: dict[str, Any]) -> list[str]:
    lines = [
        f"Throughput: threads calling `create_and_run_tool`, warm pool size {throughput['pool_size']}, "
        "batches several times the pool:",
        "",
        "| callers | calls | tools/s | errors | median ms | p95 ms |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for lv in throughput["levels"]:
        lat = lv["latency"]
        lines.append(
            f"| {lv['callers']} | {lv['calls']} | {_fmt(lv['tools_per_s'], 1)} | {lv['errors']} | "
            f"{_fmt(lat['median_ms'])} | {_fmt(lat['p95_ms'])} |"
        )
    return [*lines, "", f"Containers of ours left afterwards: {len(throughput['leaked_containers'])}.", ""]


def _others(results: dict[str, Any]) -> list[str]:
    rows = []
    for v in (results.get("validator") or {}).values():
        rows.append(f"| {v['label']} | {_fmt(v['median_ms'], 3)} ms | {_fmt(v['p95_ms'], 3)} ms |")
    kernel = results.get("kernel")
    if kernel:
        for key in ("nexus", "ipykernel"):
            v = kernel[key]
            rows.append(
                f"| {v['label']}, execute_request -> execute_reply | {_fmt(v['median_ms'])} ms | "
                f"{_fmt(v['p95_ms'])} ms |"
            )
    memory = results.get("memory")
    if memory:
        pool = memory["pool"]
        rows.append(
            f"| warm pool resident size, {pool['containers']} idle containers (`docker stats`) | "
            f"{_fmt(pool['pool_mb'])} MB | |"
        )
        for key, value in (memory.get("kernel_rss_mb") or {}).items():
            rows.append(f"| {key} kernel RSS | {_fmt(value)} MB | |")
    return ["| measure | median | p95 |", "|---|---:|---:|", *rows, ""] if rows else []


def _phases(phases: dict[str, Any]) -> list[str]:
    lines = []
    for item in phases.values():
        top = ", ".join(
            f"`{f['function'].split('/')[-1]}` {f['cum_ms_per_run']:.1f}" for f in item["functions"][:8]
        )
        lines.append(
            f"Where the time goes, {item['label']} (cProfile, ms per call of a "
            f"{item['profiled_ms_per_call']:.1f} ms profiled call, nested): {top}."
        )
    return [*lines, ""]


def markdown(results: dict[str, Any]) -> str:
    """The tables, ready to paste into the README."""
    m = results["machine"]
    lines = [
        f"Measured {m['date']} on {m['nproc']} cores ({m['cpu_model']}), Docker {m['docker_version']}, "
        f"Python {m['python']}, Linux {m['kernel']}; load average {m.get('load_at_start', '?')} at the "
        f"start, {m.get('load_at_end', '?')} at the end{'; --quick' if results['config']['quick'] else ''}.",
        "",
    ]
    if results.get("latency"):
        lines += _latency(results["latency"])
    if results.get("throughput"):
        lines += _throughput(results["throughput"])
    lines += _others(results)
    if results.get("phases"):
        lines += _phases(results["phases"])
    if results.get("targets"):
        lines += ["| target | measured | result |", "|---|---|---|"]
        for t in results["targets"]:
            verdict = {True: "PASS", False: "MISS", None: "n/a"}[t["passed"]]
            lines.append(f"| {t['target']} | {t['measured']} | {verdict} |")
    return "\n".join(lines) + "\n"
