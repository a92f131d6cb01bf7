"""``sagalab watch``'s fold, with no broker: messages as a tap sees them, in each mode, turned into each order's
step, what it waits for, its compensations and how it ended."""

from __future__ import annotations

import json
import time

from rich.console import Console

from sagalab.watch.fold import Fold, Saga
from sagalab.watch.view import render
from shared.transport.observed import Observed
from shared.transport.topology import Topology

NS = "w"
TOPOLOGY = Topology(NS)


def _msg(kind: str, type_name: str, key: str, message_id: str, cause: str | None = None, order: str = "o1",
         **headers: object) -> Observed:  # fmt: skip
    exchange = TOPOLOGY.dead_letter_exchange if kind == "dead-letter" else TOPOLOGY.exchange(kind)  # type: ignore[arg-type]
    body = json.dumps({"message_id": message_id, "correlation_id": order, "causation_id": cause}).encode()
    return Observed(exchange, key, type_name, "x", message_id, order, None, dict(headers), body, time.time())


def _fold(*messages: Observed) -> tuple[Fold, list[Saga]]:
    fold = Fold(TOPOLOGY)
    states = []
    for m in messages:
        saga = fold.apply(m)
        if saga is not None:
            states.append(Saga(**{k: (list(v) if isinstance(v, list) else v) for k, v in vars(saga).items()}))
    return fold, states


PLACE = _msg("commands", "PlaceOrder", "orders.PlaceOrder", "p")


def test_choreography_out_of_stock_is_followed_step_by_step_to_compensated() -> None:
    """Each event says what it asks of which service; the refund is a compensation running until its event."""
    _, states = _fold(
        PLACE,
        _msg("events", "OrderPlaced", "orders.OrderPlaced", "e1", "p"),
        _msg("events", "PaymentCharged", "payment.PaymentCharged", "e2", "e1"),
        _msg("events", "OutOfStock", "inventory.OutOfStock", "e3", "e2"),
        _msg("events", "PaymentRefunded", "payment.PaymentRefunded", "e4", "e3"),
    )
    assert [s.status for s in states] == ["placed", "running", "running", "compensating", "compensated"]
    assert states[1].mode == "choreography"
    assert states[1].pending == "payment: ChargePayment on OrderPlaced"
    assert states[2].step == "ReserveStock" and states[2].done == ["ChargePayment"]
    assert states[3].compensating == ["RefundPayment"] and states[3].failure == "OutOfStock"
    assert states[4].undone == ["ChargePayment"] and states[4].pending is None


def test_choreography_happy_path_completes_on_the_last_step() -> None:
    fold, states = _fold(
        PLACE,
        _msg("events", "OrderPlaced", "orders.OrderPlaced", "e1", "p"),
        _msg("events", "PaymentCharged", "payment.PaymentCharged", "e2", "e1"),
        _msg("events", "StockReserved", "inventory.StockReserved", "e3", "e2"),
        _msg("events", "ShipmentScheduled", "shipping.ShipmentScheduled", "e4", "e3"),
    )
    assert states[-1].status == "completed"
    assert states[-1].done == ["ChargePayment", "ReserveStock", "ScheduleShipment"]


def _orchestrated_shipping_failure() -> list[Observed]:
    return [
        PLACE,
        _msg("commands", "ChargePayment", "payment.ChargePayment", "c1", "p", **{"x-state": "ChargePayment"}),
        _msg("replies", "PaymentCharged", "orchestrator", "r1", "c1"),
        _msg("commands", "ReserveStock", "inventory.ReserveStock", "c2", "r1", **{"x-state": "ReserveStock"}),
        _msg("replies", "StockReserved", "orchestrator", "r2", "c2"),
        _msg("commands", "ScheduleShipment", "shipping.ScheduleShipment", "c3", "r2", **{"x-state": "ScheduleShipment"}),
        _msg("replies", "ShipmentFailed", "orchestrator", "r3", "c3"),
        _msg("commands", "ReleaseStock", "inventory.ReleaseStock", "c4", "r3", **{"x-state": "ReleaseStock"}),
        _msg("replies", "StockReleased", "orchestrator", "r4", "c4"),
        _msg("commands", "RefundPayment", "payment.RefundPayment", "c5", "r4", **{"x-state": "RefundPayment"}),
        _msg("replies", "PaymentRefunded", "orchestrator", "r5", "c5"),
    ]


def test_orchestration_shows_each_command_awaiting_its_reply_then_the_compensations() -> None:
    """A command is pending until its reply; after the failure each undo runs in turn; then compensated."""
    _, states = _fold(*_orchestrated_shipping_failure())
    assert states[1].mode == "orchestration" and states[1].pending == "ChargePayment -> payment"
    assert states[5].step == "ScheduleShipment" and states[5].pending == "ScheduleShipment -> shipping"
    assert states[6].status == "compensating" and states[6].failure == "ShipmentFailed"
    assert states[7].compensating == ["ReleaseStock"] and states[7].pending == "ReleaseStock -> inventory"
    assert states[9].compensating == ["RefundPayment"] and states[9].undone == ["ReserveStock"]
    assert states[10].status == "compensated" and states[10].undone == ["ReserveStock", "ChargePayment"]


def test_a_stale_reply_does_not_answer_the_command_in_hand() -> None:
    """An outbox re-sending PaymentCharged while the refund is awaited changes nothing: the refund is pending."""
    messages = _orchestrated_shipping_failure()
    stale = _msg("replies", "PaymentCharged", "orchestrator", "r1", "c1")
    fold, _ = _fold(*messages[:10], stale)
    saga = fold.sagas["o1"]
    assert saga.status == "compensating" and saga.pending == "RefundPayment -> payment"
    fold.apply(messages[10])
    assert saga.status == "compensated"


def test_a_late_reply_does_not_reopen_a_saga_that_ended() -> None:
    fold, _ = _fold(*_orchestrated_shipping_failure(), _msg("replies", "ShipmentScheduled", "orchestrator", "r9", "c3"))
    assert fold.sagas["o1"].status == "compensated" and fold.sagas["o1"].last == "ShipmentScheduled"


def test_choreography_parks_an_order_whose_release_failed_for_good() -> None:
    """StockReleaseFailed: Payment refunds anyway, and the order is parked naming the failed compensation."""
    _, states = _fold(
        PLACE,
        _msg("events", "OrderPlaced", "orders.OrderPlaced", "e1", "p"),
        _msg("events", "PaymentCharged", "payment.PaymentCharged", "e2", "e1"),
        _msg("events", "StockReserved", "inventory.StockReserved", "e3", "e2"),
        _msg("events", "ShipmentFailed", "shipping.ShipmentFailed", "e4", "e3"),
        _msg("dead-letter", "ShipmentFailed", "shipping.ShipmentFailed", "e4", "e3", **{"x-sagalab-error": "HandlerFailed"}),
        _msg("events", "StockReleaseFailed", "inventory.StockReleaseFailed", "e5", "e4"),
        _msg("events", "PaymentRefunded", "payment.PaymentRefunded", "e6", "e5"),
    )
    assert states[5].dead_lettered == 1 and states[5].last == "ShipmentFailed dead-lettered: HandlerFailed"
    assert states[6].pending == "payment: RefundPayment on StockReleaseFailed"
    assert states[-1].status == "parked" and states[-1].parked == "ReleaseStock failed"


def test_orchestration_parks_an_order_whose_undo_never_succeeded() -> None:
    """The release is asked and fails (an error reply), the refund runs and lands: the stock stays reserved."""
    messages = _orchestrated_shipping_failure()
    failed_release = _msg("replies", "TaskFailed", "orchestrator", "r4", "c4")
    fold, states = _fold(*messages[:8], failed_release, *messages[9:])
    assert states[8].status == "compensating"  # the refund is still to come
    assert states[-1].status == "parked" and states[-1].parked == "not undone: ReserveStock"


def test_a_declined_payment_ends_compensated_with_nothing_to_undo() -> None:
    _, states = _fold(
        PLACE,
        _msg("commands", "ChargePayment", "payment.ChargePayment", "c1", "p"),
        _msg("replies", "PaymentDeclined", "orchestrator", "r1", "c1"),
    )
    assert states[-1].status == "compensated" and states[-1].done == []


def test_retries_are_counted_and_the_table_renders() -> None:
    """A command again with a higher attempt counts as a retry; the terminal table shows the order and status."""
    fold, _ = _fold(
        PLACE,
        _msg("commands", "ChargePayment", "payment.ChargePayment", "c1", "p", **{"x-attempt": 0}),
        _msg("replies", "TaskFailed", "orchestrator", "r1", "c1"),
        _msg("commands", "ChargePayment", "payment.ChargePayment", "c1", None, **{"x-attempt": 1}),
    )
    assert fold.sagas["o1"].retries == 1 and fold.sagas["o1"].pending == "ChargePayment -> payment"
    console = Console(width=200, record=True)
    console.print(render(fold, NS))
    text = console.export_text()
    assert "o1" in text and "running" in text and "1 retry" in text


def test_messages_of_no_order_are_left_out() -> None:
    fold = Fold(TOPOLOGY)
    poison = Observed(TOPOLOGY.exchange("events"), "orders.OrderPlaced", "OrderPlaced", None, "poison-1", None, None,
                      {}, b"\x00", 0.0)  # fmt: skip
    assert fold.apply(poison) is None and fold.sagas == {}
