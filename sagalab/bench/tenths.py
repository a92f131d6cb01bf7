"""Whether a run's cost grows with its work: throughput and CPU per saga per tenth of the run, and each
process's memory at the start and the end of the drive.

The measured span (first placement to last settlement) is split into ten parts by completions: the
first tenth ends at the settlement of the ``n/10``-th order, and so on. Each tenth's throughput is its
orders over its own duration, so a run that slows down as its tables and memory grow shows a last tenth
below its first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from pydantic import BaseModel, Field

TENTHS = 10


def per_tenth(first_placed: float, settled_at: Iterable[float], parts: int = TENTHS) -> list[float | None]:
    """Orders per second in each of ``parts`` consecutive slices of the completions (None for a slice
    with no duration or no orders; an empty list when there are fewer orders than slices)."""
    times = sorted(settled_at)
    n = len(times)
    if n < parts:
        return []
    rates: list[float | None] = []
    start, done = first_placed, 0
    for i in range(1, parts + 1):
        upto = round(n * i / parts)
        end = times[upto - 1]
        count = upto - done
        rates.append(round(count / (end - start), 1) if count and end > start else None)
        start, done = end, upto
    return rates


def last_over_first(rates: list[float | None]) -> float | None:
    """The last tenth's throughput over the first's: under 1.0, the run slowed down as it went."""
    if len(rates) < 2 or not rates[0] or rates[-1] is None:
        return None
    return round(rates[-1] / rates[0], 3)


def rss_mb(pid: int | None, proc: Path = Path("/proc")) -> float | None:
    """Resident memory of a live process in MB (VmRSS of /proc/<pid>/status); None once it is gone."""
    if not pid:
        return None
    try:
        for line in (proc / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError, IndexError):
        return None
    return None


def rss_of(pids: Mapping[str, int | None]) -> dict[str, float | None]:
    return {name: rss_mb(pid) for name, pid in pids.items()}


class Memory(BaseModel):
    """One process's resident memory (MB) when the drive started and when it ended."""

    start_mb: float | None
    end_mb: float | None

    @property
    def growth_mb(self) -> float | None:
        if self.start_mb is None or self.end_mb is None:
            return None
        return round(self.end_mb - self.start_mb, 1)


def memory(start: Mapping[str, float | None], end: Mapping[str, float | None]) -> dict[str, Memory]:
    return {name: Memory(start_mb=start.get(name), end_mb=end.get(name)) for name in start}


class Growth(BaseModel):
    """What a run says about cost growing with work (JSON key ``growth`` of each run)."""

    tenths_per_s: list[float | None] = Field(default_factory=list)
    """Orders per second in each tenth of the run (split by completions)."""
    last_over_first: float | None = None
    cpu_ms_per_saga_tenths: list[float | None] = Field(default_factory=list)
    """The system's CPU milliseconds per saga in each tenth (every process of the run but the broker and the
    driver): the figure that shows a growing cost even when other work on the machine moves the throughput."""
    rss: dict[str, Memory] = Field(default_factory=dict)
    """Resident memory of each process of the run (and the broker), at the start and the end of the drive."""

    @property
    def max_rss_growth_mb(self) -> float | None:
        grown = [m.growth_mb for m in self.rss.values() if m.growth_mb is not None]
        return max(grown) if grown else None


def growth(first_placed: float | None, settled_at: Iterable[float], rss_start: Mapping[str, float | None],
           rss_end: Mapping[str, float | None], cpu_tenths_ms: list[float | None] | None = None) -> Growth:  # fmt: skip
    rates = per_tenth(first_placed, settled_at) if first_placed is not None else []
    return Growth(tenths_per_s=rates, last_over_first=last_over_first(rates), rss=memory(rss_start, rss_end),
                  cpu_ms_per_saga_tenths=cpu_tenths_ms or [])  # fmt: skip
