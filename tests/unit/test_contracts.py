"""Message contracts: frozen, strict, enveloped, one routing key per class, decoded with clear errors."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.domain.contracts import (
    MESSAGE_TYPES,
    ChargePayment,
    Command,
    Event,
    Failure,
    Order,
    OrderPlaced,
    OutOfStock,
    PaymentRefunded,
    StockReserved,
    has_field,
    line_of,
    routing_key,
)
from shared.transport.wire import UndecodableMessage, decode, encode

ORDER = Order(order_id="o-1", customer_id="c", sku="KEYBOARD", quantity=1, amount_cents=100,
              card_number="4242424242424242", destination="Berlin")  # fmt: skip


def test_messages_are_frozen_and_forbid_unknown_fields() -> None:
    """A message cannot be changed after creation, nor carry a field its contract does not name."""
    msg = ChargePayment(correlation_id="o-1", order=ORDER)
    with pytest.raises(ValidationError):
        msg.correlation_id = "other"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        ChargePayment(correlation_id="o-1", order=ORDER, surprise=1)  # type: ignore[call-arg]


def test_every_message_has_the_envelope() -> None:
    """message_id and occurred_at default; correlation_id is required; causation links the saga."""
    placed = OrderPlaced(correlation_id="o-1", order=ORDER)
    assert placed.message_id and placed.occurred_at.tzinfo is not None
    charge = placed.caused(ChargePayment, order=ORDER)
    assert (charge.correlation_id, charge.causation_id) == ("o-1", placed.message_id)
    with pytest.raises(ValidationError):
        OrderPlaced(order=ORDER)  # type: ignore[call-arg]


def test_commands_are_imperative_and_events_past_tense() -> None:
    """Command names start with a verb; event names end in a past participle or name a failure (or, for
    TaskHeartbeat, the signal Step Functions' SendTaskHeartbeat names)."""
    verbs = ("Place", "Charge", "Refund", "Reserve", "Release", "Schedule", "Cancel", "Invoke")
    for name, cls in MESSAGE_TYPES.items():
        if issubclass(cls, Command):
            assert name.startswith(verbs), name
        elif issubclass(cls, Failure):
            assert "reason" in cls.model_fields
        else:
            assert issubclass(cls, Event)
            assert name.endswith(("ed", "Succeeded", "Failed", "Notification", "Heartbeat")), name


def test_one_routing_key_per_message_class() -> None:
    """Routing keys are <owner>.<Type>, distinct for every class."""
    keys = [routing_key(cls) for cls in MESSAGE_TYPES.values()]
    assert len(keys) == len(set(keys))
    assert routing_key(OutOfStock) == "inventory.OutOfStock"
    assert routing_key(ChargePayment, "payment") == "payment.ChargePayment"


def test_decode_round_trips_and_explains_what_is_wrong() -> None:
    """A valid body decodes to its class; a bad one raises UndecodableMessage saying why."""
    msg = OrderPlaced(correlation_id="o-1", order=ORDER)
    assert decode("OrderPlaced", encode(msg)) == msg
    with pytest.raises(UndecodableMessage, match="unknown message type 'Nope'"):
        decode("Nope", b"{}")
    with pytest.raises(UndecodableMessage, match="no 'type'"):
        decode(None, b"{}")
    with pytest.raises(UndecodableMessage, match="order: Field required"):
        decode("OrderPlaced", b'{"correlation_id": "x"}')
    with pytest.raises(UndecodableMessage, match="invalid OrderPlaced"):
        decode("OrderPlaced", b"\x00not json")


def test_line_of_reads_the_line_and_is_none_for_a_message_type_without_lines() -> None:
    """A message's order line, None for the whole order or a type that has no line field (asked without the
    AttributeError that ``getattr`` on a pydantic model would raise and catch)."""
    assert line_of(StockReserved(correlation_id="o-1", order=ORDER, line=2)) == 2
    assert line_of(StockReserved(correlation_id="o-1", order=ORDER)) is None
    assert line_of(OrderPlaced(correlation_id="o-1", order=ORDER)) is None
    assert has_field(OrderPlaced, "order") and not has_field(PaymentRefunded, "order")
