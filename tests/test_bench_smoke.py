"""The benchmark harness itself works: `python -m bench --quick` writes the expected JSON and table.

Only the shape of the results is checked, never a time (machines here are too noisy, and a
benchmark is not a test). The peers (llm-sandbox, epicbox) are left out: they need a separate
virtualenv from PyPI, which `make bench` creates.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `bench` is a top-level package of the checkout, not installed
    sys.path.insert(0, str(ROOT))

from bench import report, stats  # noqa: E402
from bench.__main__ import MEASUREMENTS, parse_args  # noqa: E402
from bench.programs import program  # noqa: E402

SUMMARY_KEYS = {"label", "group", "n", "errors", "median_ms", "p95_ms", "mean_ms", "min_ms", "max_ms"}


def run_bench(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--no-peers", "--out", str(tmp_path), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done, json.loads((tmp_path / "latest.json").read_text())


def check_summary(summary: dict, runs: int) -> None:
    assert summary.keys() >= SUMMARY_KEYS | {"samples_ms"}
    # Every run is either a sample or a counted error: nothing is silently dropped.
    assert summary["n"] + summary["errors"] == runs
    assert len(summary["samples_ms"]) == summary["n"]


def test_stats_percentile_and_summary() -> None:
    assert stats.percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50) == 3.0
    assert stats.percentile([0.0, 10.0], 95) == pytest.approx(9.5)
    summary = stats.summarize([0.001, 0.002, 0.003], errors=1)
    assert summary["median_ms"] == 2.0 and summary["n"] == 3 and summary["errors"] == 1
    assert stats.summarize([])["median_ms"] is None
    assert stats.ratio(10.0, 2.0) == 5.0 and stats.ratio(None, 2.0) is None


@pytest.mark.parametrize("lines", [50, 500])
def test_programs_are_valid_varied_and_exact(lines: int) -> None:
    import ast

    code = program(lines)
    ast.parse(code)
    assert len(code.splitlines()) == lines
    assert len(set(code.splitlines())) > lines // 2  # realistic code, not one repeated line


def test_unknown_measurement_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--only", "latency,nonsense"])
    assert "nonsense" in capsys.readouterr().err
    assert parse_args(["--only", "validator", "--only", "kernel"]).only == ["validator", "kernel"]
    assert parse_args([]).only == list(MEASUREMENTS)


def test_targets_are_na_when_not_measured() -> None:
    checks = report.targets({"latency": {"variants": {}, "skipped": {}}})
    assert checks and all(t["passed"] is None for t in checks)


def test_only_validator_quick(tmp_path: Path) -> None:
    done, results = run_bench(tmp_path, "--only", "validator")
    assert {"schema", "machine", "config", "errors", "seconds", "targets", "validator"} <= results.keys()
    assert "latency" not in results and results["errors"] == {}
    for key in ("lines_50", "lines_500", "parse_500"):
        check_summary(results["validator"][key], runs=2)
    assert [t["target"] for t in results["targets"]] == ["validator, 500 lines < 2 ms"]
    assert "| target | measured | result |" in done.stdout
    assert (tmp_path / "latest.md").read_text() in done.stdout


@pytest.mark.docker
def test_quick_bench_everything(tmp_path: Path) -> None:
    done, results = run_bench(tmp_path)
    assert results["errors"] == {}, results["errors"]
    assert {"date", "nproc", "cpu_model", "docker_version", "python"} <= results["machine"].keys()

    latency = results["latency"]
    expected = {"nexus_warm", "nexus_cold", "nexus_fallback", "docker_run_cli", "docker_run_sdk",
                "image_per_call", "bare_python", "bare_python_nosite"}  # fmt: skip
    assert set(latency["variants"]) == expected
    for summary in latency["variants"].values():
        check_summary(summary, runs=latency["rounds"])
    assert latency["skipped"] == {"peers": "--no-peers"}
    assert set(latency["ratios"]["nexus_warm"]) == expected - {"nexus_warm"}

    throughput = results["throughput"]
    assert [lv["callers"] for lv in throughput["levels"]] == [1, 2, 4, 8]
    for level in throughput["levels"]:
        assert {"calls", "wall_s", "tools_per_s", "errors", "latency"} <= level.keys()
    assert throughput["leaked_containers"] == []

    kernel = results["kernel"]
    for key in ("nexus", "ipykernel"):
        check_summary(kernel[key], runs=2)
    assert {"delta_median_ms", "rss_mb"} <= kernel.keys()

    memory = results["memory"]
    assert {"pool_size", "containers", "pool_mb", "per_container_mb"} <= memory["pool"].keys()
    assert set(memory["kernel_rss_mb"]) == {"nexus", "ipykernel"}

    for key in ("nexus_warm", "nexus_fallback"):
        assert {"label", "profiled_ms_per_call", "functions"} <= results["phases"][key].keys()

    names = [t["target"] for t in results["targets"]]
    assert len(names) == 7 and all({"target", "measured", "passed"} <= t.keys() for t in results["targets"])
    assert "| variant | median ms | p95 ms | n | errors | x warm |" in done.stdout
    # The harness removed what it made: no baseline or peer container is left behind.
    leftovers = subprocess.run(
        ["docker", "ps", "-aq", "--filter", "label=nexus.bench"], capture_output=True, text=True, check=True
    )
    assert leftovers.stdout.strip() == ""
