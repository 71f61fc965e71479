"""Round-robin sampling of several variants, with warm-up, and the per-variant summaries."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .stats import summarize

Sample = dict[str, Any]


@dataclass
class Variant:
    """One way of running the trivial tool, sampled ``repeat`` times per round."""

    name: str
    label: str
    group: str  # "nexus", "baseline" or "peer"
    run: Callable[[], Sample]
    repeat: int = 1
    note: str = ""
    samples: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    extras: list[Sample] = field(default_factory=list)

    def sample(self) -> Sample:
        """One run; an exception is an error sample (a stuck engine must not end the benchmark)."""
        try:
            return self.run()
        except Exception as exc:  # noqa: BLE001 - counted and reported, not raised
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}

    def record(self, sample: Sample) -> None:
        if sample.get("ok"):
            self.samples.append(float(sample["s"]))
            self.extras.append(sample)
        else:
            self.errors.append(str(sample.get("error") or sample))

    def summary(self) -> dict[str, Any]:
        out = {"label": self.label, "group": self.group, **summarize(self.samples, len(self.errors))}
        if self.note:
            out["note"] = self.note
        if self.errors:
            out["error_messages"] = sorted(set(self.errors))[:5]
        phases = {}
        for key in ("container_s", "tool_s"):
            values = [e[key] for e in self.extras if isinstance(e.get(key), (int, float))]
            if values:
                phases[key.replace("_s", "_median_ms")] = round(statistics.median(values) * 1000, 3)
        if phases:
            out["phases"] = phases
        return out


def round_robin(
    variants: list[Variant],
    rounds: int,
    warmup: int,
    between: Callable[[], None] = lambda: None,
    progress: Callable[[str], None] = lambda _: None,
) -> None:
    """Warm every variant up, then sample them in turn, rotating the order each round.

    Rotating keeps any variant from always following the same neighbour (a container being
    removed, a pool refilling); ``between`` runs untimed after every sample to let the engine settle.
    """
    for _ in range(warmup):
        for variant in variants:
            variant.sample()
            between()
    for index in range(rounds):
        shift = index % len(variants)
        for variant in variants[shift:] + variants[:shift]:
            for _ in range(variant.repeat):
                variant.record(variant.sample())
                between()
        progress(f"round {index + 1}/{rounds}")
