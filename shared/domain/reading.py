"""How the saga's messages read in traces, tables and reports: which undo a step (compensation), which report a
failure, and the order the story tells them in."""

from __future__ import annotations

from shared.domain.contracts import MESSAGE_TYPES, Command, Failure, TaskFailed

COMPENSATING: frozenset[str] = frozenset(
    {"RefundPayment", "PaymentRefunded", "ReleaseStock", "StockReleased", "CancelShipment", "ShipmentCancelled"}
)
"""The messages that undo a step: what traces and reports colour as compensation."""


def _story_order() -> tuple[str, ...]:
    """The forward messages as ``MESSAGE_TYPES`` lists them, step by step, then the compensations the other
    way round, the latest step undone first. ``MESSAGE_TYPES`` lists a step's compensation right after the
    step: the compensating command, then its answers (done, or failed for good)."""
    forward: list[str] = []
    undo: list[list[str]] = []
    compensation: list[str] | None = None  # the compensation being listed, while its answers follow
    for name, cls in MESSAGE_TYPES.items():
        if name in COMPENSATING and issubclass(cls, Command):
            compensation = [name]
            undo.append(compensation)
        elif compensation is not None and (name in COMPENSATING or issubclass(cls, Failure)):
            compensation.append(name)
        else:
            compensation = None
            forward.append(name)
    return (*forward, *(name for step in reversed(undo) for name in step))


SAGA_ORDER: tuple[str, ...] = _story_order()
"""Every message type in the order the saga's story tells it: what tables and reports list messages by."""


def kind_of(type_name: str) -> str:
    """``forward``, ``failure`` or ``compensation``: how a message type reads in a trace."""
    if type_name in COMPENSATING:
        return "compensation"
    cls = MESSAGE_TYPES.get(type_name)
    if cls is not None and (issubclass(cls, Failure) or cls is TaskFailed):
        return "failure"
    return "forward"
