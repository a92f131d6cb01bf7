"""How a dead letter is read from either kind of headers: sagalab's own x-sagalab-* copy, or RabbitMQ's x-death."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from shared.transport.dead_letter_queue import letter_id, read


def _message(headers: dict[str, Any], message_id: str | None = "m-1", routing_key: str = "orders.OrderPlaced") -> Any:
    return SimpleNamespace(headers=headers, message_id=message_id, body=b'{"n": 1}', type="OrderPlaced",
                           correlation_id="o-1", app_id="orders", user_id=None, reply_to=None,
                           content_type="application/json", timestamp=None, routing_key=routing_key)  # fmt: skip


def test_sagalab_headers_say_why_and_where_it_came_from() -> None:
    """The contract's headers give error, reason, service, attempts and the original exchange and key; an
    exchange given as a kind ("events") is the namespace's."""
    letter = read(_message({"x-sagalab-error": "OutOfBounds", "x-sagalab-reason": "too big",
                            "x-sagalab-service": "payment", "x-sagalab-queue": "ns.payment", "x-sagalab-attempts": 2,
                            "x-sagalab-exchange": "events", "x-sagalab-routing-key": "orders.OrderPlaced",
                            "x-published-us": 1_700_000_000_000_000}), "ns")  # fmt: skip
    assert (letter.error, letter.reason, letter.service, letter.attempts) == ("OutOfBounds", "too big", "payment", 2)
    assert (letter.exchange, letter.routing_key) == ("ns.events", "orders.OrderPlaced")
    assert letter.when == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


def test_x_death_gives_rabbitmq_s_reason_queue_and_original_routing() -> None:
    """The newest x-death entry: its reason is the error, its queue names the service, and its exchange and
    first routing key are where the message goes back."""
    died = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    letter = read(_message({"x-death": [{"count": 1, "reason": "delivery_limit", "queue": "ns.orchestrator.starts",
                                         "time": died, "exchange": "ns.commands", "routing-keys": ["orders.PlaceOrder"]}]},
                           routing_key="whatever"), "ns")  # fmt: skip
    assert (letter.error, letter.service, letter.queue) == ("delivery_limit", "orchestrator", "ns.orchestrator.starts")
    assert letter.reason == "RabbitMQ: delivery_limit in ns.orchestrator.starts (1x)"
    assert (letter.exchange, letter.routing_key, letter.when, letter.attempts) == (
        "ns.commands", "orders.PlaceOrder", died, None)


def test_a_letter_without_either_header_cannot_be_requeued() -> None:
    """Nothing says where it was first published, so requeue leaves it (exchange None)."""
    letter = read(_message({}), "ns")
    assert (letter.error, letter.exchange) == ("unknown", None)


def test_an_id_is_the_message_id_when_it_can_be_typed() -> None:
    """Else (none, spaced, over 64 characters) it is `sha-` and the start of the body's digest."""
    assert letter_id("m-1", b"x") == "m-1"
    assert letter_id(None, b"x") == letter_id("a b", b"x") == letter_id("m" * 65, b"x") != letter_id(None, b"y")
    assert letter_id(None, b"x").startswith("sha-")
