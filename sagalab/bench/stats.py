"""The pure arithmetic of a benchmark: throughput, latency percentiles, ratios to the raw chain, targets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from scenarios.result import Latency

THROUGHPUT_TARGET = 0.7
"""Each mode reaches at least this share of the raw chain's throughput for its hop count ..."""
THROUGHPUT_AT = (100, 0.1)
"""... at concurrency 100 with 10% out-of-stock orders (issue 6)."""
LATENCY_TARGET = 1.3
"""At concurrency 1, each mode's p50 latency is at most this multiple of the raw chain's (issue 15 tightened
issue 6's 1.5)."""
LATENCY_AT_CONCURRENCY = 1


def percentiles(samples_s: Sequence[float]) -> Latency:
    """p50, p95 and p99 in milliseconds (inclusive quantiles, as ``sagalab run`` reports them)."""
    return Latency.of([s * 1000 for s in samples_s])


def throughput(orders: int, first_placed: float, last_settled: float) -> float | None:
    """Orders per second from the first placement to the last settlement (None if there is no span)."""
    span = last_settled - first_placed
    return orders / span if orders and span > 0 else None


def ratio(value: float | None, bar: float | None) -> float | None:
    """``value / bar`` rounded for reading, or None when either side is missing or the bar is zero."""
    if value is None or not bar:
        return None
    return round(value / bar, 3)


def median(values: Sequence[float | None]) -> float | None:
    """The median of the values present (the mean of the middle two for an even count)."""
    present = sorted(v for v in values if v is not None)
    if not present:
        return None
    middle = len(present) // 2
    return present[middle] if len(present) % 2 else round((present[middle - 1] + present[middle]) / 2, 3)


def median_index(values: Sequence[float | None]) -> int:
    """Which of the values is the (lower) median, so its whole run can stand for the set; 0 if none is present."""
    present = sorted((v, i) for i, v in enumerate(values) if v is not None)
    return present[(len(present) - 1) // 2][1] if present else 0


@dataclass(frozen=True)
class TargetCheck:
    """One of the issue's targets as this run measured it; ``met`` is None when the run does not measure it."""

    name: str
    wanted: str
    ratio: float | None
    met: bool | None
    note: str = ""


def throughput_target(throughput_ratio: float | None, concurrency: int, failure_rate: float) -> TargetCheck:
    at_c, at_f = THROUGHPUT_AT
    wanted = f">= {THROUGHPUT_TARGET} at C={at_c}, {at_f:.0%} failures"
    if concurrency != at_c or abs(failure_rate - at_f) > 1e-9:
        return TargetCheck("throughput ratio", wanted, throughput_ratio, None,
                           f"measured at C={concurrency}, {failure_rate:.0%} failures")  # fmt: skip
    met = throughput_ratio is not None and throughput_ratio >= THROUGHPUT_TARGET
    return TargetCheck("throughput ratio", wanted, throughput_ratio, met)


def latency_target(latency_ratio: float | None, concurrency: int) -> TargetCheck:
    wanted = f"<= {LATENCY_TARGET} at C={LATENCY_AT_CONCURRENCY}"
    if concurrency != LATENCY_AT_CONCURRENCY:
        return TargetCheck("p50 latency ratio", wanted, latency_ratio, None, f"measured at C={concurrency}")
    met = latency_ratio is not None and latency_ratio <= LATENCY_TARGET
    return TargetCheck("p50 latency ratio", wanted, latency_ratio, met)
