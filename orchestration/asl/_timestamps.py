"""RFC 3339 timestamps as the States Language uses them (Wait Timestamp, Choice Timestamp* rules)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

_RFC3339 = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})"
)


def parse_timestamp(value: object) -> datetime | None:
    """The aware datetime a string denotes, or None if it is not an RFC 3339 timestamp with a zone."""
    if not isinstance(value, str):
        return None
    match = _RFC3339.fullmatch(value)
    if match is None:
        return None
    date, time, fraction, zone = match.groups()
    micro = f".{(fraction or '0')[:6].ljust(6, '0')}"
    offset = "+00:00" if zone in ("Z", "z") else zone
    try:
        return datetime.fromisoformat(f"{date}T{time}{micro}{offset}")
    except ValueError:
        return None


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 text in UTC with a `Z`, as pydantic and AWS write timestamps."""
    text = moment.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
