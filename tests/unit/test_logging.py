"""The services' log lines: the timestamp keeps the text structlog's ISO stamper wrote."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.logging import _UtcTimeStamper


def _iso(ns: int) -> str:
    """What ``structlog.processors.TimeStamper(fmt="iso", utc=True)`` writes for that instant."""
    return datetime.fromtimestamp(ns // 1000 / 1e6, UTC).isoformat().replace("+00:00", "Z")


def test_the_timestamp_reads_as_structlogs_iso_stamp_within_and_across_seconds() -> None:
    """Instants in one second reuse its formatted date and time; the next second is formatted afresh; a whole
    second has no fraction, as ``isoformat`` writes it."""
    base = 1_764_742_532 * 1_000_000_000
    instants = [base + 123_456_789, base + 999_999_999, base + 1_000_000_000, base + 1_000_000_999, base + 1_000_001_000,
                base + 60_000_000_000 + 7_000]  # fmt: skip
    clock = iter(instants)
    stamp = _UtcTimeStamper(clock=lambda: next(clock))
    got = [stamp(None, "info", {})["timestamp"] for _ in instants]
    assert got == [_iso(ns) for ns in instants]
    assert got[0] == "2025-12-03T06:15:32.123456Z"
    assert got[2] == "2025-12-03T06:15:33Z"
