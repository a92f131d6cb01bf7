"""The fault lab: each scenario breaks something on purpose, in both modes, and names its invariant.

Faults come from outside the services (the runner kills processes, restarts the broker, publishes
duplicates and poison) or from a fault hook the scenario configures on one service (``--fault``, see
``shared/runtime/faults.py``); production code paths do not change when no fault is set. The
``unsafe-*`` scenarios switch one defence off and expect the anomaly it prevents.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from scenarios.checks import AllEnd, Completes, DeadLettered, MayNotSettle, Rejected, Violates, WatcherReports
from scenarios.edge import OrderRequest
from scenarios.injectors import (
    ChangeDefinition,
    CloseConnections,
    Duplicate,
    Forge,
    KillService,
    OutOfBoundsOrder,
    Poison,
    RestartBroker,
    Trigger,
)
from scenarios.scenario import (
    DECLINED_CARD,
    GOOD_CARD,
    UNSERVED,
    Scenario,
    mixed_orders,
    mixed_stock,
    order_fields,
    same,
)
from shared.config import Mode

PLENTY = {"KEYBOARD": 1_000_000}
NONE_LEFT = {"KEYBOARD": 0}
FAST_WATCHER = {"orders": {"saga_deadline": "3"}}
"""Choreography's deadline watcher reports a saga idle for 3 s (the default is 30 s)."""


SHIPPED = ("ShipmentScheduled", "ShipmentFailed")
FORGED: dict[Mode, tuple[Forge, ...]] = {
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


HOSTILE: tuple[dict[str, object], ...] = ({"amount_cents": 10**30}, {"customer_id": "c" * 100_000}, {"quantity": 0}, {"destination": "Oslo\x00"})
"""Orders a careless or hostile client sends: out of bounds, or malformed."""


def hostile_orders(n: int, rng: random.Random, run_token: str) -> Sequence[OrderRequest]:
    """Good orders, then one of each hostile kind: the edge refuses the hostile ones before they are placed."""
    good = [order_fields(run_token, i, rng) for i in range(n)]
    return good + [order_fields(run_token, n + i, rng, **fields) for i, fields in enumerate(HOSTILE)]


FAULT_SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "transient-failure",
        "Payment fails twice with a transient error: redelivery (choreography) vs Retry with backoff (orchestration).",
        PLENTY, same(),
        faults=per_mode("raise:OrderPlaced:2", "raise:ChargePayment:2", "payment"),
        expect=(AllEnd("completed"),),
    ),
    Scenario(
        "crash-after-commit",
        "Invariant: one refund. Payment is killed after committing the refund, before acking it; the redelivery "
        "finds the inbox row and the outbox still sends the event.",
        NONE_LEFT, same(),
        faults=per_mode("crash:after-commit:OutOfStock", "crash:after-commit:RefundPayment", "payment"),
        expect=(AllEnd("compensated"),),
    ),
    Scenario(
        "crash-before-commit",
        "Invariant: nothing lost. Payment is killed before committing the refund; the unacked message comes back.",
        NONE_LEFT, same(),
        faults=per_mode("crash:before-commit:OutOfStock", "crash:before-commit:RefundPayment", "payment"),
        expect=(AllEnd("compensated"),),
    ),
    Scenario(
        "coordinator-crash",
        "Invariant: no step twice. The order service / orchestrator is killed mid-saga; it resumes from its database.",
        PLENTY, same(),
        faults={"choreography": {"orders": ("crash:after-commit:PlaceOrder",)},
                "orchestration": {"orchestrator": ("crash:after-commit:StockReserved",)}},
        expect=(AllEnd("completed"),),
    ),
    Scenario(
        "duplicate-delivery",
        "Invariant: one refund. The refund trigger is published twice with the same message id; the inbox drops it.",
        NONE_LEFT, same(),
        injectors={"choreography": (Duplicate("OutOfStock"),), "orchestration": (Duplicate("RefundPayment"),)},
        expect=(AllEnd("compensated"),),
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
        expect={"choreography": (AllEnd("completed"), WatcherReports()),
                "orchestration": (AllEnd("compensated"),)},
    ),
    Scenario(
        "malformed-message",
        "Invariant: poison is dead-lettered at once, counted, and sagas carry on.",
        PLENTY, same(), default_orders=3,
        injectors={"choreography": (Poison("orders.OrderPlaced"),),
                   "orchestration": (Poison("payment.ChargePayment", exchange="commands"),)},
        expect=(AllEnd("completed"), DeadLettered(3)),
    ),
    Scenario(
        "out-of-bounds",
        "Invariant: no hostile input gets in. Orders out of bounds (an amount of 10^30, a 100 KB customer id) are "
        "rejected at the edge with their reason and counted; two published straight to the broker (an amount of "
        "10^30, a body over 64 KiB) are dead-lettered at their first delivery; the good orders complete.",
        PLENTY, hostile_orders, default_orders=2,
        injectors={m: (OutOfBoundsOrder(),) for m in ("choreography", "orchestration")},
        expect=(Completes(2), Rejected(len(HOSTILE)), DeadLettered(2)),
    ),
    Scenario(
        "handler-bug",
        "One valid message always crashes its handler: on the last attempt the queue allows, choreography "
        "dead-letters it with why and emits the step's failure event (PaymentDeclined), which ends the saga; the "
        "orchestrator catches the error and compensates.",
        PLENTY, same(), default_orders=3,
        faults=per_mode("bug:OrderPlaced:1", "bug:ChargePayment:1", "payment"),
        service_options=FAST_WATCHER,
        expect={"choreography": (Completes(2), DeadLettered(1)),
                "orchestration": (Completes(2), DeadLettered(0))},
    ),
    Scenario(
        "duplicate-new-id",
        "Invariant: one charge. The charge trigger is published again under a new message id, which the inbox "
        "cannot recognise; the business key (order, step) answers with the first outcome instead of charging again.",
        PLENTY, same(),
        injectors={"choreography": (Duplicate("OrderPlaced", fresh_id=True),),
                   "orchestration": (Duplicate("ChargePayment", fresh_id=True),)},
        expect=(AllEnd("completed"),),
    ),
    Scenario(
        "express-rerun-after-compensation",
        "Invariant: no step after its compensation. Shipping fails, the Express orchestrator is killed while "
        "compensating and runs the order again from the start with the same command ids; Inventory refuses the "
        "reserve it already released instead of replaying StockReserved from its inbox, and the order is refunded.",
        PLENTY, same(), service_options={"orchestrator": {"workflow": "express"}},
        faults={"choreography": {"shipping": ("raise:StockReserved:1:ShipmentFailed",)},
                "orchestration": {"shipping": ("raise:ScheduleShipment:1:ShipmentFailed",),
                                  "orchestrator": ("crash:after-commit:StockReleased",)}},
        expect={"choreography": (AllEnd("completed"),), "orchestration": (AllEnd("compensated"),)},
    ),
    Scenario(
        "compensation-target-down",
        "Invariant: one refund. Payment is down for 8 s just when the refund is needed; it is retried until it lands.",
        NONE_LEFT, same(),
        injectors={"choreography": (KillService("payment", Trigger(after="PaymentCharged"), down_s=8.0),),
                   "orchestration": (KillService("payment", Trigger(after="ReserveStock"), down_s=8.0),)},
        expect=(AllEnd("compensated"),),
    ),
    Scenario(
        "compensation-fails",
        "Shipping cannot serve the destination and Inventory's release always fails: the refund still runs. The "
        "orchestrator runs every compensation, money included, then parks the order naming the failed step; "
        "in choreography Inventory gives up on the release at the delivery limit and emits StockReleaseFailed, on "
        "which Payment refunds anyway and the order service parks the order naming the step.",
        PLENTY, same(destination=UNSERVED),
        faults=per_mode("bug:ShipmentFailed", "bug:ReleaseStock", "inventory"),
        service_options=FAST_WATCHER,
        expect=(Violates("stock.left-behind", "termination.needs-attention"),),
    ),
    Scenario(
        "definition-change",
        "Invariant: an execution ends on the definition it started on. The orchestrator is killed while ReserveStock "
        "is in flight and restarted on an edited definition (states renamed); the order completes on the old graph. "
        "Choreography has no definition: its reactions are code, and the order service's restart is the same fault.",
        PLENTY, same(),
        injectors={"choreography": (KillService("orders", Trigger(after="PaymentCharged")),),
                   "orchestration": (ChangeDefinition((("ReserveStock", "ReserveItems"),
                                                       ("ScheduleShipment", "BookParcel")),
                                                      Trigger(after="ReserveStock")),)},
        expect=(AllEnd("completed"),),
    ),
    Scenario(
        "unsafe-no-pinning",
        "Switch definition pinning off and restart the orchestrator on an edited definition while ReserveStock is "
        "in flight: the reply names a state the new file lacks, fails on every delivery and is dead-lettered; the "
        "order stays charged and reserved, stuck. Choreography has no definition: the switch changes nothing there.",
        PLENTY, same(), unsafe=frozenset({"no-pinning"}), deadline_s=30.0,
        injectors={"choreography": (KillService("orders", Trigger(after="PaymentCharged")),),
                   "orchestration": (ChangeDefinition((("ReserveStock", "ReserveItems"),),
                                                      Trigger(after="ReserveStock")),)},
        expect={"choreography": (AllEnd("completed"),),
                "orchestration": (Violates("termination"), MayNotSettle())},
    ),
    Scenario(
        "last-unit-race",
        "Ten orders race for the last keyboard: exactly one gets it, nine are refunded, stock is conserved.",
        {"KEYBOARD": 1}, same(card_number=GOOD_CARD), default_orders=10,
        expect=(Completes(1),),
    ),
    Scenario(
        "forged-event",
        "Each service has its own broker user. Events and commands another user forges, for a declined order or "
        "one nobody placed, are dead-lettered (WrongPublisher); Payment's user cannot even publish Inventory's event.",
        {"KEYBOARD": 5}, same(card_number=DECLINED_CARD), own_users=True,
        injectors={mode: (*forged, IMPERSONATED) for mode, forged in FORGED.items()},
        expect={mode: (AllEnd("compensated"), DeadLettered(len(forged))) for mode, forged in FORGED.items()},
    ),
    Scenario(
        "unsafe-no-publisher-check",
        "Switch the publisher check off and forge the same messages: stock is reserved and never released and a "
        "parcel booked for a declined order, and a parcel booked for an order nobody placed.",
        {"KEYBOARD": 5}, same(card_number=DECLINED_CARD), own_users=True, unsafe=frozenset({"no-publisher-check"}),
        injectors=FORGED,
        expect=(Violates("stock.left-behind", "shipping.not-completed", "stray.unknown-order"),),
    ),
    Scenario(
        "unsafe-no-inbox",
        "Switch the inbox off (and the business key, which would also catch it) and deliver the refund trigger "
        "twice: the card is refunded twice.",
        NONE_LEFT, same(), unsafe=frozenset({"no-inbox", "no-business-key"}),
        injectors={"choreography": (Duplicate("OutOfStock"),), "orchestration": (Duplicate("RefundPayment"),)},
        expect=(Violates("money.refund-exceeds-charge"),),
    ),
    Scenario(
        "unsafe-no-outbox",
        "Switch the outbox off and crash Payment between its commit and its publish: the event is lost. "
        "Choreography stays charged and stuck; the orchestrator's timeout notices and refunds.",
        PLENTY, same(), unsafe=frozenset({"no-outbox"}), service_options=FAST_WATCHER,
        faults=per_mode("crash:after-commit:OrderPlaced", "crash:after-commit:ChargePayment", "payment"),
        expect={"choreography": (Violates("money.net"), WatcherReports()),
                "orchestration": (AllEnd("compensated"),)},
    ),
    Scenario(
        "unsafe-ack-first",
        "Ack on arrival and crash Payment before it commits: the message is gone. Choreography never charges "
        "and is stuck; the orchestrator's timeout sends the command again.",
        PLENTY, same(), unsafe=frozenset({"ack-first"}), service_options=FAST_WATCHER,
        faults=per_mode("crash:before-commit:OrderPlaced", "crash:before-commit:ChargePayment", "payment"),
        expect={"choreography": (Violates("termination.needs-attention"), WatcherReports()),
                "orchestration": (AllEnd("completed"),)},
    ),
    Scenario(
        "unsafe-no-business-key",
        "Switch the business key off and publish the charge trigger again under a new message id: the inbox "
        "cannot tell, and the card is charged twice.",
        PLENTY, same(), unsafe=frozenset({"no-business-key"}),
        injectors={"choreography": (Duplicate("OrderPlaced", fresh_id=True),),
                   "orchestration": (Duplicate("ChargePayment", fresh_id=True),)},
        expect=(Violates("money.single-charge"),),
    ),
    Scenario(
        "unsafe-no-barrier",
        "Switch the barrier off and re-run an Express order killed while compensating a shipping failure: "
        "Inventory's inbox replays StockReserved for a released reservation, the re-run ships, and the order "
        "completes with no stock held. Choreography answers no one from its inbox, so it has nothing to fence.",
        PLENTY, same(), unsafe=frozenset({"no-barrier"}), service_options={"orchestrator": {"workflow": "express"}},
        faults={"choreography": {"shipping": ("raise:StockReserved:1:ShipmentFailed",)},
                "orchestration": {"shipping": ("raise:ScheduleShipment:1:ShipmentFailed",),
                                  "orchestrator": ("crash:after-commit:StockReleased",)}},
        expect={"choreography": (AllEnd("completed"),),
                "orchestration": (Violates("stock.missing"),)},
    ),
    Scenario(
        "unsafe-no-failure-events",
        "Switch failure events off and let one valid message crash its handler every time: choreography "
        "dead-letters it after the delivery limit and the order stays charged, reported by the watcher only.",
        PLENTY, same(), default_orders=3, unsafe=frozenset({"no-failure-events"}),
        faults=per_mode("bug:OrderPlaced:1", "bug:ChargePayment:1", "payment"),
        service_options=FAST_WATCHER,
        expect={"choreography": (Violates("termination.needs-attention"), Completes(2), DeadLettered(1), WatcherReports()),
                "orchestration": (Completes(2), DeadLettered(0))},
    ),
)  # fmt: skip
