"""The choreography table is complete: every event someone emits is either reacted to or ends a saga."""

from __future__ import annotations

from choreography.bootstrap import SERVICES, subscriptions
from choreography.reactions import ENDINGS, REACTIONS, watched_events
from shared.domain.contracts import (
    Event,
    OutOfStock,
    PaymentRefunded,
    RefundFailed,
    ShipmentFailed,
    StockReleased,
    StockReleaseFailed,
)
from shared.transport.topology import key_matches


def _compensations_after(failure: type[Event]) -> list[type[Event]]:
    """The outcomes of the compensations a failure sets off, following chained reactions, in order."""
    answers: dict[str, type[Event]] = {"RefundPayment": PaymentRefunded, "ReleaseStock": StockReleased}
    reached, frontier = [], [failure]
    while frontier:
        event = frontier.pop(0)
        for r in REACTIONS:
            if r.when is event and answers[r.does.__name__] not in reached:
                reached.append(answers[r.does.__name__])
                frontier.append(answers[r.does.__name__])
    return reached


def test_every_failure_is_compensated_by_the_reactions_it_waits_for() -> None:
    """The order service waits for exactly the outcomes of the compensations each failure sets off."""
    for failure in (OutOfStock, ShipmentFailed):
        assert ENDINGS[failure].once_seen == set(_compensations_after(failure))


def test_compensations_run_in_reverse_order_of_the_steps() -> None:
    """After a failed shipment the stock is released first and the refund follows from StockReleased:
    the reverse of charge-then-reserve, a chain and not a fan-out."""
    assert _compensations_after(ShipmentFailed) == [StockReleased, PaymentRefunded]
    assert [r.when for r in REACTIONS if r.does.__name__ == "RefundPayment"] == [
        OutOfStock, StockReleased, StockReleaseFailed]


def test_a_compensation_that_fails_for_good_lets_the_others_run_and_parks_the_order() -> None:
    """A release that failed for good still leads to the refund (money is never left behind a broken release),
    and the order is parked once the refund is seen; a refund that failed for good parks it at once."""
    assert [r.does.__name__ for r in REACTIONS if r.when is StockReleaseFailed] == ["RefundPayment"]
    assert ENDINGS[StockReleaseFailed].status == "needs-attention"
    assert ENDINGS[StockReleaseFailed].once_seen == {PaymentRefunded}
    assert ENDINGS[RefundFailed].status == "needs-attention" and not ENDINGS[RefundFailed].once_seen


def test_each_service_queue_is_bound_to_what_it_reacts_to() -> None:
    """A service's queue bindings match the events of its reactions, and the order service sees every ending."""
    for service in SERVICES:
        (sub,) = subscriptions(service)
        keys = {b.routing_key for b in sub.queue.bindings}
        assert len(keys) == len(sub.routes)
    (orders,) = subscriptions("orders")
    assert set(orders.routes) - watched_events() == {next(iter(set(orders.routes) - watched_events()))}


def test_topic_matching() -> None:
    """* is one word, # is any number of words."""
    assert key_matches("payment.*", "payment.ChargePayment")
    assert not key_matches("payment.*", "payment.a.b")
    assert key_matches("#", "a.b.c") and key_matches("notifications.#", "notifications.Notification")
    assert not key_matches("orders.PlaceOrder", "orders.OrderPlaced")
