"""The pure parts of the participant rules: message ids, digests, first outcomes, steps and dead-letter headers."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from shared.domain.contracts import ChargePayment, Order, OrderPlaced, PaymentCharged, ReserveStock
from shared.runtime.handlers import failure_of, step_of
from shared.stores.sqlite import Database, refusal_counts
from shared.transport.dead_letter import DeadLetter, reason_of
from shared.transport.wire import (
    MissingMessageId,
    Outgoing,
    UndecodableMessage,
    answered_again,
    decode,
    decode_delivery,
    digest,
    encode,
    headers_json,
)

ORDER = Order(order_id="o-1", customer_id="c-1", sku="KEYBOARD", quantity=1, amount_cents=4999,
              card_number="4242424242424242", destination="Berlin")  # fmt: skip


def test_a_body_without_a_message_id_is_not_given_one() -> None:
    """Decoding never invents a message id: a body without one is a MissingMessageId."""
    body = json.dumps({"correlation_id": "o-1", "order": ORDER.model_dump(mode="json")}).encode()
    with pytest.raises(MissingMessageId, match="no message_id in the ChargePayment body"):
        decode("ChargePayment", body)


def test_the_message_id_property_must_be_there_and_match_the_body() -> None:
    """A delivery needs its message_id property, equal to the body's."""
    command = ChargePayment(correlation_id="o-1", order=ORDER)
    assert decode_delivery("ChargePayment", encode(command), command.message_id) == command
    with pytest.raises(MissingMessageId, match="no message_id property"):
        decode_delivery("ChargePayment", encode(command), None)
    with pytest.raises(UndecodableMessage, match="is not the body's"):
        decode_delivery("ChargePayment", encode(command), "another-id")


def test_the_digest_ignores_the_envelope_but_not_the_content() -> None:
    """The same command sent again (new time, new cause) has the same digest; another order has not."""
    command = ChargePayment(correlation_id="o-1", order=ORDER)
    resent = ChargePayment(message_id=command.message_id, correlation_id="o-1", causation_id="x", order=ORDER)
    other = ChargePayment(message_id=command.message_id, correlation_id="o-2",
                          order=ORDER.model_copy(update={"order_id": "o-2"}))  # fmt: skip
    assert digest(command) == digest(resent)
    assert digest(command) != digest(other)


def test_the_digest_and_the_stored_headers_keep_their_text_across_versions() -> None:
    """An inbox compares a redelivery's digest with the one it stored, perhaps by an older sagalab: the digest of a
    given message, and the outbox's headers text, never change (these are the values the first versions wrote)."""
    order = Order(order_id="o-1", customer_id="c", sku="KEYBOARD", quantity=1, amount_cents=100,
                  card_number="4242424242424242", destination="Berlin ü")  # fmt: skip
    assert digest(OrderPlaced(correlation_id="o-1", order=order)) == "484c255bb2cc18cd1ab7d7513ae04126"
    assert headers_json({"x-b": 1, "x-a": "ü", "d": date(2026, 1, 2)}) == '{"x-b":1,"x-a":"\\u00fc","d":"2026-01-02"}'
    assert headers_json({}) == "{}"


def test_a_first_outcome_answered_again_is_caused_by_the_new_asker() -> None:
    """The stored reply, given again: same outcome, new id, caused by and addressed to the new command."""
    first_command = ChargePayment(correlation_id="o-1", order=ORDER)
    outcome = first_command.caused(PaymentCharged, order=ORDER, payment_id="p-1", amount_cents=4999)
    stored = Outgoing.reply(outcome, "orchestrator")
    again_command = ChargePayment(correlation_id="o-1", order=ORDER)
    again = answered_again(stored, again_command, "orchestrator.2")
    message = decode(again.type, again.body)
    assert isinstance(message, PaymentCharged) and message.payment_id == "p-1"
    assert message.causation_id == again_command.message_id
    assert message.message_id == again.message_id
    assert again.message_id != outcome.message_id
    assert (again.exchange, again.routing_key) == ("replies", "orchestrator.2")


def test_forward_steps_are_fenced_by_their_compensation_and_fail_as_their_business_failure() -> None:
    """Each forward command names the compensation that undoes it and fails with its business failure."""
    step = step_of(ReserveStock, lambda message, reason, tx: [])
    assert (step.name, step.undone_by) == ("ReserveStock", "ReleaseStock")
    failure = failure_of(ReserveStock(correlation_id="o-1", order=ORDER), "refused")
    assert type(failure).__name__ == "OutOfStock" and failure is not None and failure.reason == "refused"


def test_the_inbox_tells_a_duplicate_from_a_reused_id_and_steps_are_claimed_once(tmp_path: Path) -> None:
    """Same id and digest: duplicate; same id, other digest: reused. A step is claimed by its first message."""
    db = Database(tmp_path / "s.db")
    with db.transaction() as conn:
        assert Database.remember(conn, "payment", "m-1", "d-1") == "new"
        assert Database.remember(conn, "payment", "m-1", "d-1") == "duplicate"
        assert Database.remember(conn, "payment", "m-1", "d-2") == "reused"
        assert Database.claim_step(conn, "payment", "o-1", "ChargePayment", "m-1") is None
        assert Database.claim_step(conn, "payment", "o-1", "ChargePayment", "m-2") == "m-1"
        assert Database.step_done(conn, "payment", "o-1", "ChargePayment")
        assert not Database.step_done(conn, "payment", "o-1", "RefundPayment")
        Database.note_refusal(conn, "payment", "m-2", "ignored", "o-1", "already charged")
        Database.note_refusal(conn, "payment", "m-2", "ignored", "o-1", "already charged")
        assert refusal_counts(conn) == {"ignored": 1}
    db.close()


def test_dead_letter_headers_and_reasons() -> None:
    """Our copy carries every x-sagalab-* header; the reason is ours, else the broker's x-death reason."""
    why = DeadLetter("MissingMessageId", "no message_id property", "payment", "ns.payment", 1, "ns.commands",
                     "payment.ChargePayment")  # fmt: skip
    headers = why.headers()
    assert set(headers) == {"x-sagalab-reason", "x-sagalab-error", "x-sagalab-service", "x-sagalab-queue",
                            "x-sagalab-attempts", "x-sagalab-exchange", "x-sagalab-routing-key"}  # fmt: skip
    assert reason_of(headers) == "MissingMessageId"
    assert reason_of({"x-death": [{"reason": "delivery_limit"}]}) == "delivery_limit"


def test_every_choreography_route_names_its_step_and_forward_steps_can_fail() -> None:
    """Choreography keys each reaction by its command; forward reactions are fenced and have a failure event."""
    from choreography.bootstrap import subscriptions

    steps = {(service, event.__name__): route.step for service in ("payment", "inventory", "shipping")
             for sub in subscriptions(service) for event, route in sub.routes.items()}  # fmt: skip
    assert {k: (s.name, s.undone_by, s.fail is not None) for k, s in steps.items() if s is not None} == {
        ("payment", "OrderPlaced"): ("ChargePayment", "RefundPayment", True),
        ("payment", "OutOfStock"): ("RefundPayment", None, True),
        ("payment", "StockReleased"): ("RefundPayment", None, True),
        ("payment", "StockReleaseFailed"): ("RefundPayment", None, True),
        ("inventory", "PaymentCharged"): ("ReserveStock", "ReleaseStock", True),
        ("inventory", "StockReserved"): ("ReserveStock", "ReleaseStock", True),  # the next line
        ("inventory", "ShipmentFailed"): ("ReleaseStock", None, True),
        ("inventory", "OutOfStock"): ("ReleaseStock", None, True),  # the line before
        ("inventory", "StockReleased"): ("ReleaseStock", None, True),
        ("inventory", "StockReleaseFailed"): ("ReleaseStock", None, True),
        ("shipping", "StockReserved"): ("ScheduleShipment", "CancelShipment", True),
    }
