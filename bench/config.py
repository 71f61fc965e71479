"""Run settings: iteration counts for a full run (about 5 minutes on 2 cores) and for ``--quick``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Settings:
    quick: bool = False
    peers: bool = True
    out_dir: Path = RESULTS
    #: Mutable scratch shared between measurements (e.g. the sandbox image tag).
    shared: dict[str, Any] = field(default_factory=dict)

    @property
    def log_dir(self) -> Path:
        return self.out_dir / "logs"

    # Latency: rounds of every variant; the cheap variants run `cheap_repeat` times per round.
    @property
    def latency_rounds(self) -> int:
        return 2 if self.quick else 40

    @property
    def latency_warmup(self) -> int:
        return 1 if self.quick else 2

    @property
    def cheap_repeat(self) -> int:
        return 1 if self.quick else 3

    # Throughput: rounds over the caller counts; each batch is several times the warm pool, so the
    # figure is sustained throughput (pool refills included), not a burst served by the pool alone.
    throughput_callers: tuple[int, ...] = (1, 2, 4, 8)

    @property
    def throughput_rounds(self) -> int:
        return 1 if self.quick else 3

    def batch_calls(self, callers: int) -> int:
        return callers if self.quick else max(8, 4 * callers)

    @property
    def validator_rounds(self) -> int:
        return 2 if self.quick else 500

    @property
    def kernel_rounds(self) -> int:
        return 2 if self.quick else 50
