"""Resource limits: the one place that knows the allowed ranges and defaults."""

from __future__ import annotations

from dataclasses import dataclass

TIMEOUT_DEFAULT_S = 60
TIMEOUT_MIN_S = 10
TIMEOUT_MAX_S = 300

MEMORY_DEFAULT_MB = 128
MEMORY_MIN_MB = 32
MEMORY_MAX_MB = 512

CPU_CORES = 0.5
TMP_SIZE_MB = 10
PIDS_LIMIT = 64
OPEN_FILES_LIMIT = 64
# Each of the tool's stdout and stderr is cut at this many bytes (a note says so).
OUTPUT_LIMIT_BYTES = 1024 * 1024
SANDBOX_UID = 1000
SANDBOX_USER = "nexus"
# Tools one server front door (MCP, REST) runs at once; more wait their turn (each takes 0.5 CPU).
MAX_CONCURRENT_TOOLS = 4


@dataclass(frozen=True)
class Limits:
    """Validated limits for one tool run."""

    timeout_seconds: int = TIMEOUT_DEFAULT_S
    memory_limit_mb: int = MEMORY_DEFAULT_MB

    @classmethod
    def check(cls, timeout: object, memory_limit_mb: object) -> Limits | str:
        """Return ``Limits`` when both values are in range, else a message naming the problem."""
        problems = [
            p
            for p in (
                _range_problem("timeout", timeout, TIMEOUT_MIN_S, TIMEOUT_MAX_S, "seconds"),
                _range_problem("memory_limit_mb", memory_limit_mb, MEMORY_MIN_MB, MEMORY_MAX_MB, "MB"),
            )
            if p
        ]
        if problems:
            return "; ".join(problems)
        return cls(int(timeout), int(memory_limit_mb))  # type: ignore[arg-type]


def _range_problem(name: str, value: object, low: int, high: int, unit: str) -> str | None:
    # bool is an int subclass, and 12.5 s would silently become 12: refuse both.
    if isinstance(value, bool) or not isinstance(value, int):
        return f"{name} must be a whole number of {unit} from {low} to {high}, got {value!r}"
    if not low <= value <= high:
        return f"{name} must be between {low} and {high} {unit}, got {value}"
    return None
