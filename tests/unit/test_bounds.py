"""Every field and message is bounded: an amount, a quantity, an id's length, a document's size, a body's
size; out of bounds is refused by validation (``OutOfBounds`` when decoding), at the runner's edge, and at publish."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from pydantic import ValidationError

from scenarios.edge import admit
from shared.domain.contracts import (
    MAX_AMOUNT_CENTS,
    MAX_DOCUMENT_BYTES,
    MAX_MESSAGE_BYTES,
    MAX_QUANTITY,
    InvokeTask,
    Order,
    OutOfStock,
    PaymentCharged,
    StockReleased,
    TaskFailed,
    TaskSucceeded,
)
from shared.transport.broker import Broker, MessageTooLarge
from shared.transport.topology import Topology
from shared.transport.wire import Outgoing, OutOfBounds, UndecodableMessage, decode

GOOD: dict[str, Any] = dict(order_id="o-1", customer_id="c-1", sku="KEYBOARD", quantity=1, amount_cents=4999,
                            card_number="4242424242424242", destination="Zürich")  # fmt: skip


@pytest.mark.parametrize(("field", "value"), [
    ("amount_cents", MAX_AMOUNT_CENTS + 1), ("amount_cents", 10**30), ("amount_cents", -1),
    ("quantity", 0), ("quantity", MAX_QUANTITY + 1),
    ("order_id", ""), ("order_id", "o" * 129), ("order_id", "o-1\n"), ("order_id", "o 1"),
    ("customer_id", "c" * 10_000_000), ("sku", "k" * 65), ("sku", "KEY BOARD"),
    ("card_number", "4242"), ("card_number", "4242x42424242424"), ("destination", "B" * 201),
    ("destination", "Oslo\x00"), ("destination", ""),
])  # fmt: skip
def test_an_order_field_out_of_bounds_is_refused(field: str, value: object) -> None:
    """Each field of an order has bounds that fit the domain and SQLite's 64-bit integers."""
    with pytest.raises(ValidationError):
        Order(**GOOD | {field: value})


def test_the_bounds_themselves_are_accepted() -> None:
    """The largest amount and quantity, a 128-character id and any language's letters are fine."""
    order = Order(**GOOD | {"amount_cents": MAX_AMOUNT_CENTS, "quantity": MAX_QUANTITY, "customer_id": "c" * 128})
    assert order.amount_cents * 1_000_000 < 2**63  # a million orders at the maximum still sum to an SQLite integer
    assert StockReleased(correlation_id="o", order_id="o", quantity=0).quantity == 0  # nothing was reserved


def test_event_and_generic_fields_are_bounded() -> None:
    """Amounts in events, ids, a task's error, and every free-form document (a generic task's input and output)."""
    with pytest.raises(ValidationError):
        PaymentCharged(correlation_id="o", order=Order(**GOOD), payment_id="p", amount_cents=10**30)
    with pytest.raises(ValidationError):
        TaskFailed(correlation_id="o", error="E" * 257)
    long_cause = TaskFailed(correlation_id="o", error="E", cause="c" * 100_000).cause  # an exception's text
    assert len(long_cause) == MAX_DOCUMENT_BYTES and long_cause.endswith("(shortened)")
    reason = OutOfStock(correlation_id="o", order=Order(**GOOD), reason="r" * 5000).reason
    assert len(reason) == 1024 and reason.endswith("(shortened)")
    for make in (lambda doc: InvokeTask(correlation_id="o", function="f", input=doc),
                 lambda doc: TaskSucceeded(correlation_id="o", output=doc)):  # fmt: skip
        make({"items": ["x"] * 100})
        with pytest.raises(ValidationError, match="document of .* bytes, at most 32768"):
            make({"items": ["x" * 1000] * (MAX_DOCUMENT_BYTES // 1000 + 1)})


def _place_order(**order: Any) -> bytes:
    return json.dumps({"message_id": "m-1", "correlation_id": "o-1", "order": GOOD | order}).encode()


def test_decode_names_out_of_bounds_apart_from_malformed() -> None:
    """A field out of its bounds or a body over MAX_MESSAGE_BYTES is ``OutOfBounds`` (the dead-letter error type
    is the class name); a malformed field stays ``UndecodableMessage``. Both name the field."""
    with pytest.raises(OutOfBounds, match=r"PlaceOrder out of bounds: order.amount_cents: .* 1000000000000"):
        decode("PlaceOrder", _place_order(amount_cents=10**30))
    with pytest.raises(OutOfBounds, match="order.customer_id"):
        decode("PlaceOrder", _place_order(customer_id="c" * 1000))
    with pytest.raises(OutOfBounds, match=f"PlaceOrder of {MAX_MESSAGE_BYTES + 1} bytes"):
        decode("PlaceOrder", b" " * (MAX_MESSAGE_BYTES + 1))
    with pytest.raises(UndecodableMessage, match="order.destination") as malformed:
        decode("PlaceOrder", _place_order(destination="Oslo\n"))
    assert type(malformed.value) is UndecodableMessage
    assert decode("PlaceOrder", _place_order()).correlation_id == "o-1"


def test_the_edge_rejects_orders_out_of_bounds_with_their_reason() -> None:
    """Raw fields and ``Order``s built without validation are both checked; a huge id is shortened for display."""
    sneaky = Order.model_construct(**Order.model_validate(GOOD).model_dump() | {"order_id": "o-2", "amount_cents": 10**30})
    admission = admit([GOOD, sneaky, GOOD | {"order_id": "o" * 5000}, GOOD | {"order_id": None}])
    assert [o.order_id for o in admission.orders] == ["o-1"]
    [amount, long_id, no_id] = admission.rejected
    assert amount.order_id == "o-2" and "order out of bounds: amount_cents" in amount.reason
    assert long_id.order_id.endswith("… (5000 characters)") and len(long_id.order_id) < 100
    assert no_id.order_id == "order #4" and "invalid order: order_id" in no_id.reason


def test_publish_refuses_a_body_over_the_message_limit() -> None:
    """Broker.publish checks the size before it touches the broker (RabbitMQ's max_message_size is broker-wide)."""
    out = Outgoing("events", "x.Y", "Y", "m-1", "o-1", b" " * (MAX_MESSAGE_BYTES + 1))
    broker = Broker(None, Topology("ns"), "test")  # type: ignore[arg-type]
    with pytest.raises(MessageTooLarge, match="at most 65536"):
        asyncio.run(broker.publish(out))
