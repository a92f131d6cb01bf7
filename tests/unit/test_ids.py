"""The ids sagalab's services mint: time-ordered UUIDs, so the stores keyed by them grow at one edge."""

import time
import uuid

from shared.domain.ids import new_id


def test_a_new_id_is_a_version_7_uuid() -> None:
    """The standard UUID text form, version 7, RFC variant: anything that parses UUIDs reads it."""
    text = new_id()
    value = uuid.UUID(text)
    assert str(value) == text  # the canonical text, as str(UUID) writes it
    assert value.version == 7
    assert value.variant == uuid.RFC_4122
    assert len({new_id() for _ in range(10_000)}) == 10_000


def test_ids_minted_later_sort_after_earlier_ones() -> None:
    """Ids from a later millisecond sort after all ids from an earlier one, as strings too (what the inbox's
    index compares); a random UUIDv4 would put each insert on a random page of a large index."""
    earlier = [new_id() for _ in range(100)]
    deadline = time.monotonic() + 1.0
    start = int(earlier[-1][:8] + earlier[-1][9:13], 16)
    while int((later := new_id())[:8] + later[9:13], 16) == start and time.monotonic() < deadline:
        pass
    assert all(e < later for e in earlier)
    assert abs(int(later[:8] + later[9:13], 16) - time.time() * 1000) < 5_000  # its first 48 bits are Unix ms
