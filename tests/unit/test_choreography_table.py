"""The choreography table is complete: every event someone emits is either reacted to or ends a saga."""

from __future__ import annotations

from choreography.bootstrap import SERVICES, subscriptions
from choreography.reactions import ENDINGS, REACTIONS, watched_events
from shared.domain.contracts import (
    Command,
    Event,
    Order,
    OutOfStock,
    PaymentCharged,
    PaymentRefunded,
    RefundFailed,
    RefundPayment,
    ReleaseStock,
    ReserveStock,
    ShipmentFailed,
    StockReleased,
    StockReleaseFailed,
    StockReserved,
)
from shared.transport.topology import key_matches


def _order(lines: int = 1) -> Order:
    return Order(order_id="o-1", customer_id="c-1", lines=[{"sku": "KEYBOARD", "quantity": 1}] * lines,
                 amount_cents=4999, card_number="4242424242424242", destination="Lisbon")  # fmt: skip


def _failure(cls: type[Event], lines: int = 1, line: int | None = None) -> Event:
    order = _order(lines)
    if cls is OutOfStock:
        return OutOfStock(correlation_id="o-1", order=order, line=line, reason="none left")
    if cls is ShipmentFailed:
        return ShipmentFailed(correlation_id="o-1", order=order, reason="no road")
    return StockReleaseFailed(correlation_id="o-1", order_id="o-1", line=line, reason="broken")


def _answer(command: Command) -> Event:
    """The compensation's outcome, had it succeeded."""
    if isinstance(command, ReleaseStock):
        return command.caused(StockReleased, order_id=command.order_id, line=command.line, quantity=1)
    assert isinstance(command, RefundPayment)
    return command.caused(PaymentRefunded, order_id=command.order_id, amount_cents=4999)


def _compensations_after(failure: Event) -> list[tuple[str, int | None]]:
    """The compensations a failure sets off, following the chained reactions, in order: (command, line)."""
    done: list[tuple[str, int | None]] = []
    frontier = [failure]
    while frontier:
        event = frontier.pop(0)
        for r in REACTIONS:
            if r.when is type(event) and r.applies_to(event):
                command = r.command_for(event)
                done.append((type(command).__name__, getattr(command, "line", None)))
                frontier.append(_answer(command))
    return done


def test_every_failure_is_compensated_by_the_reactions_it_waits_for() -> None:
    """The order service waits for exactly the outcomes of the compensations each failure sets off."""
    outcome = {"RefundPayment": PaymentRefunded, "ReleaseStock": StockReleased}
    for failure in (OutOfStock, ShipmentFailed):
        reached = {outcome[name] for name, _ in _compensations_after(_failure(failure))}
        assert ENDINGS[failure].once_seen == reached


def test_compensations_run_in_reverse_order_of_the_steps() -> None:
    """After a failed shipment the stock is released first and the refund follows from StockReleased:
    the reverse of charge-then-reserve, a chain and not a fan-out."""
    assert _compensations_after(_failure(ShipmentFailed)) == [("ReleaseStock", None), ("RefundPayment", None)]
    assert {r.when for r in REACTIONS if r.does.__name__ == "RefundPayment"} == {
        OutOfStock, StockReleased, StockReleaseFailed}


def test_a_line_out_of_stock_releases_the_lines_before_it_latest_first_then_refunds() -> None:
    """Line 3 of 4 out of stock: lines 2 and 1 go back (the latest first), then the refund; line 4 was never
    reserved. A failed shipment of a four-line order releases every line, from the last."""
    assert _compensations_after(_failure(OutOfStock, lines=4, line=2)) == [
        ("ReleaseStock", 1), ("ReleaseStock", 0), ("RefundPayment", None)]
    assert _compensations_after(_failure(OutOfStock, lines=4, line=0)) == [("RefundPayment", None)]
    assert _compensations_after(_failure(ShipmentFailed, lines=4)) == [
        ("ReleaseStock", 3), ("ReleaseStock", 2), ("ReleaseStock", 1), ("ReleaseStock", 0), ("RefundPayment", None)]


def test_the_lines_are_reserved_one_after_another_and_shipping_waits_for_the_last() -> None:
    order = _order(3)
    charged = PaymentCharged(correlation_id="o-1", order=order, payment_id="p-1", amount_cents=4999)
    (reserve,) = [r.command_for(charged) for r in REACTIONS if r.when is PaymentCharged and r.applies_to(charged)]
    assert isinstance(reserve, ReserveStock) and reserve.line == 0
    for line in range(3):
        reserved = StockReserved(correlation_id="o-1", order=order, line=line)
        reactions = [(r.service, r.command_for(reserved)) for r in REACTIONS
                     if r.when is StockReserved and r.applies_to(reserved)]  # fmt: skip
        if line < 2:
            assert [(s, type(c).__name__, c.line) for s, c in reactions] == [("inventory", "ReserveStock", line + 1)]  # type: ignore[attr-defined]
        else:
            assert [(s, type(c).__name__) for s, c in reactions] == [("shipping", "ScheduleShipment")]
    whole = PaymentCharged(correlation_id="o-1", order=_order(1), payment_id="p-1", amount_cents=4999)
    assert [r.command_for(whole).line for r in REACTIONS if r.when is PaymentCharged] == [None]  # type: ignore[attr-defined]


def test_a_compensation_that_fails_for_good_lets_the_others_run_and_parks_the_order() -> None:
    """A release that failed for good still leads to the refund (money is never left behind a broken release),
    and the order is parked once the refund is seen; a refund that failed for good parks it at once. With
    several lines, the lines before the broken one are still released."""
    assert _compensations_after(_failure(StockReleaseFailed)) == [("RefundPayment", None)]
    assert _compensations_after(_failure(StockReleaseFailed, lines=3, line=1)) == [
        ("ReleaseStock", 0), ("RefundPayment", None)]
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
