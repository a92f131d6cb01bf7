"""The choreography table is complete: every event someone emits is either reacted to or ends a saga."""

from __future__ import annotations

from choreography.bootstrap import SERVICES, subscriptions
from choreography.reactions import ENDINGS, REACTIONS, watched_events
from shared.contracts import OutOfStock, PaymentRefunded, ShipmentFailed, StockReleased
from shared.messaging.topology import key_matches


def test_every_failure_is_compensated_by_the_reactions_it_waits_for() -> None:
    """The order service waits for exactly the outcomes of the compensations each failure triggers."""
    answers = {"RefundPayment": PaymentRefunded, "ReleaseStock": StockReleased}
    for failure in (OutOfStock, ShipmentFailed):
        compensations = {answers[r.does.__name__] for r in REACTIONS if r.when is failure}
        assert ENDINGS[failure].once_seen == compensations


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
