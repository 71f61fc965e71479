"""Validator time for a 50-line and a 500-line ordinary program, sampled alternately."""

from __future__ import annotations

import ast
import time
from collections.abc import Callable
from typing import Any

from .config import Settings
from .programs import program
from .variants import Variant, round_robin

SIZES = (50, 500)


def _runner(lines: int) -> Callable[[], dict[str, Any]]:
    from nexus_kernel import validator
    from nexus_kernel.policy import load_policy

    policy = load_policy()
    base = program(lines - 1)
    counter = iter(range(10**9))

    def run() -> dict[str, Any]:
        # A distinct last line each call: a validator that caches by source text cannot cheat.
        code = base + f"# sample {next(counter)}\n"
        start = time.perf_counter()
        result = validator.check(code, policy)
        elapsed = time.perf_counter() - start
        ok = bool(result.get("safe"))
        return {"s": elapsed, "ok": ok, "error": None if ok else f"flagged: {result.get('violations')[:3]}"}

    return run


def _parse_only(lines: int) -> Callable[[], dict[str, Any]]:
    """The floor under any AST validator: ``ast.parse`` of the same program."""
    base = program(lines - 1)
    counter = iter(range(10**9))

    def run() -> dict[str, Any]:
        code = base + f"# sample {next(counter)}\n"
        start = time.perf_counter()
        ast.parse(code)
        return {"s": time.perf_counter() - start, "ok": True}

    return run


def measure(settings: Settings, log: Callable[[str], None]) -> dict[str, Any]:
    variants = [Variant(f"lines_{n}", f"validator, {n}-line program", "nexus", _runner(n)) for n in SIZES]
    variants.append(Variant("parse_500", "`ast.parse` alone, 500-line program", "baseline", _parse_only(500)))
    log(f"validator: {settings.validator_rounds} rounds")
    round_robin(variants, settings.validator_rounds, warmup=5)
    return {v.name: v.summary() for v in variants}
