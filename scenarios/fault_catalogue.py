"""The fault lab: each scenario breaks something on purpose, in both modes, and names its invariant.

Faults come from outside the services (the runner kills processes, restarts the broker, publishes
duplicates and poison) or from a fault hook the scenario configures on one service (``--fault``, see
``shared/runtime/faults.py``); production code paths do not change when no fault is set. The
``unsafe-*`` scenarios switch one defence off and expect the anomaly it prevents.
"""

from __future__ import annotations

from scenarios.catalogue import DECLINED_CARD, GOOD_CARD, Expect, Scenario, mixed_orders, mixed_stock, same
from scenarios.injectors import CloseConnections, Duplicate, Forge, KillService, Poison, RestartBroker, Trigger

PLENTY = {"KEYBOARD": 1_000_000}
NONE_LEFT = {"KEYBOARD": 0}
FAST_WATCHER = {"orders": {"saga_deadline": "3"}}
"""Choreography's deadline watcher reports a saga idle for 3 s (the default is 30 s)."""


SHIPPED = ("ShipmentScheduled", "ShipmentFailed")
FORGED = {
    "choreography": (Forge("PaymentCharged", after="PaymentDeclined", until=(*SHIPPED, "OutOfStock")),
                     Forge("StockReserved", after="PaymentDeclined", until=SHIPPED, unknown_order=True)),
    "orchestration": (Forge("ReserveStock", after="PaymentDeclined", exchange="commands",
                            until=("StockReserved", "OutOfStock")),
                      Forge("ScheduleShipment", after="PaymentDeclined", exchange="commands", until=SHIPPED),
                      Forge("ScheduleShipment", after="PaymentDeclined", exchange="commands", until=SHIPPED,
                            unknown_order=True)),
}  # fmt: skip
"""Forged in the runner's name: stock reserved and a parcel booked for an order already declined, and a parcel
for an order nobody placed."""
IMPERSONATED = Forge("StockReserved", after="PaymentDeclined", as_service="payment")
"""Payment's own user trying to publish Inventory's event: its topic permissions stop it at the broker."""


def per_mode(choreography: str, orchestration: str, service: str) -> dict[str, dict[str, tuple[str, ...]]]:
    """The same fault hook, aimed at the message each mode delivers for the same step."""
    return {"choreography": {service: (choreography,)}, "orchestration": {service: (orchestration,)}}


FAULT_SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "transient-failure",
        "Payment fails twice with a transient error: redelivery (choreography) vs Retry with backoff (orchestration).",
        PLENTY, same(),
        faults=per_mode("raise:OrderPlaced:2", "raise:ChargePayment:2", "payment"),
        expect=Expect(outcome="completed"),
    ),
    Scenario(
        "crash-after-commit",
        "Invariant: one refund. Payment is killed after committing the refund, before acking it; the redelivery "
        "finds the inbox row and the outbox still sends the event.",
        NONE_LEFT, same(),
        faults=per_mode("crash:after-commit:OutOfStock", "crash:after-commit:RefundPayment", "payment"),
        expect=Expect(outcome="compensated"),
    ),
    Scenario(
        "crash-before-commit",
        "Invariant: nothing lost. Payment is killed before committing the refund; the unacked message comes back.",
        NONE_LEFT, same(),
        faults=per_mode("crash:before-commit:OutOfStock", "crash:before-commit:RefundPayment", "payment"),
        expect=Expect(outcome="compensated"),
    ),
    Scenario(
        "coordinator-crash",
        "Invariant: no step twice. The order service / orchestrator is killed mid-saga; it resumes from its database.",
        PLENTY, same(),
        faults={"choreography": {"orders": ("crash:after-commit:PlaceOrder",)},
                "orchestration": {"orchestrator": ("crash:after-commit:StockReserved",)}},
        expect=Expect(outcome="completed"),
    ),
    Scenario(
        "duplicate-delivery",
        "Invariant: one refund. The refund trigger is published twice with the same message id; the inbox drops it.",
        NONE_LEFT, same(),
        injectors={"choreography": (Duplicate("OutOfStock"),), "orchestration": (Duplicate("RefundPayment"),)},
        expect=Expect(outcome="compensated"),
    ),
    Scenario(
        "broker-restart",
        "Invariant: nothing lost or doubled. RabbitMQ's app is stopped and started mid-run; everyone reconnects.",
        mixed_stock, mixed_orders, default_orders=40, place_interval_s=0.1,
        injectors={m: (RestartBroker(Trigger(after="PaymentCharged", nth=5), down_s=2.0),)
                   for m in ("choreography", "orchestration")},
        deadline_s=120.0,
    ),
    Scenario(
        "connections-closed",
        "Invariant: nothing lost or doubled. The broker closes every connection mid-run; unacked work is redelivered.",
        mixed_stock, mixed_orders, default_orders=40, place_interval_s=0.05,
        injectors={m: (CloseConnections(Trigger(after="PaymentCharged", nth=5)),)
                   for m in ("choreography", "orchestration")},
        deadline_s=120.0,
    ),
    Scenario(
        "slow-service",
        "Shipping takes 15 s: the orchestrator times out and cancels (no shipment after cancel); choreography's "
        "deadline watcher reports the idle saga, which completes late.",
        PLENTY, same(),
        faults=per_mode("delay:StockReserved:15", "delay:ScheduleShipment:15:2", "shipping"),
        service_options=FAST_WATCHER, attention_grace_s=30.0,
        expect={"choreography": Expect(outcome="completed", alerted=True),
                "orchestration": Expect(outcome="compensated")},
    ),
    Scenario(
        "malformed-message",
        "Invariant: poison is dead-lettered at once, counted, and sagas carry on.",
        PLENTY, same(), default_orders=3,
        injectors={"choreography": (Poison("orders.OrderPlaced"),),
                   "orchestration": (Poison("payment.ChargePayment", exchange="commands"),)},
        expect=Expect(outcome="completed", dead_lettered=3),
    ),
    Scenario(
        "handler-bug",
        "One valid message always crashes its handler: choreography dead-letters it after the delivery limit and "
        "the watcher reports the saga; the orchestrator catches the error and compensates.",
        PLENTY, same(), default_orders=3,
        faults=per_mode("bug:OrderPlaced:1", "bug:ChargePayment:1", "payment"),
        service_options=FAST_WATCHER,
        expect={"choreography": Expect(consistent=False, violations=frozenset({"termination.needs-attention"}),
                                       dead_lettered=1, alerted=True, completed=2),
                "orchestration": Expect(completed=2, dead_lettered=0)},
    ),
    Scenario(
        "compensation-target-down",
        "Invariant: one refund. Payment is down for 8 s just when the refund is needed; it is retried until it lands.",
        NONE_LEFT, same(),
        injectors={"choreography": (KillService("payment", Trigger(after="PaymentCharged"), down_s=8.0),),
                   "orchestration": (KillService("payment", Trigger(after="ReserveStock"), down_s=8.0),)},
        expect=Expect(outcome="compensated"),
    ),
    Scenario(
        "last-unit-race",
        "Ten orders race for the last keyboard: exactly one gets it, nine are refunded, stock is conserved.",
        {"KEYBOARD": 1}, same(card_number=GOOD_CARD), default_orders=10,
        expect=Expect(completed=1),
    ),
    Scenario(
        "forged-event",
        "Each service has its own broker user. Events and commands another user forges, for a declined order or "
        "one nobody placed, are dead-lettered (WrongPublisher); Payment's user cannot even publish Inventory's event.",
        {"KEYBOARD": 5}, same(card_number=DECLINED_CARD), own_users=True,
        injectors={mode: (*forged, IMPERSONATED) for mode, forged in FORGED.items()},
        expect={mode: Expect(outcome="compensated", dead_lettered=len(forged)) for mode, forged in FORGED.items()},
    ),
    Scenario(
        "unsafe-no-publisher-check",
        "Switch the publisher check off and forge the same messages: stock is reserved and never released and a "
        "parcel booked for a declined order, and a parcel booked for an order nobody placed.",
        {"KEYBOARD": 5}, same(card_number=DECLINED_CARD), own_users=True, unsafe=frozenset({"no-publisher-check"}),
        injectors=FORGED,
        expect=Expect(consistent=False, violations=frozenset({"stock.left-behind", "shipping.not-completed",
                                                              "stray.unknown-order"})),
    ),
    Scenario(
        "unsafe-no-inbox",
        "Switch the inbox off and deliver the refund trigger twice: the card is refunded twice.",
        NONE_LEFT, same(), unsafe=frozenset({"no-inbox"}),
        injectors={"choreography": (Duplicate("OutOfStock"),), "orchestration": (Duplicate("RefundPayment"),)},
        expect=Expect(consistent=False, violations=frozenset({"money.refund-exceeds-charge"})),
    ),
    Scenario(
        "unsafe-no-outbox",
        "Switch the outbox off and crash Payment between its commit and its publish: the event is lost. "
        "Choreography stays charged and stuck; the orchestrator's timeout notices and refunds.",
        PLENTY, same(), unsafe=frozenset({"no-outbox"}), service_options=FAST_WATCHER,
        faults=per_mode("crash:after-commit:OrderPlaced", "crash:after-commit:ChargePayment", "payment"),
        expect={"choreography": Expect(consistent=False, violations=frozenset({"money.net"}), alerted=True),
                "orchestration": Expect(outcome="compensated")},
    ),
    Scenario(
        "unsafe-ack-first",
        "Ack on arrival and crash Payment before it commits: the message is gone. Choreography never charges "
        "and is stuck; the orchestrator's timeout sends the command again.",
        PLENTY, same(), unsafe=frozenset({"ack-first"}), service_options=FAST_WATCHER,
        faults=per_mode("crash:before-commit:OrderPlaced", "crash:before-commit:ChargePayment", "payment"),
        expect={"choreography": Expect(consistent=False, violations=frozenset({"termination.needs-attention"}),
                                       alerted=True),
                "orchestration": Expect(outcome="completed")},
    ),
)  # fmt: skip
