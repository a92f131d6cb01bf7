"""The five public sample definitions, unmodified, run over RabbitMQ against the ``lambdas`` participant.

Each documented input must take the documented path: the states entered (from the execution history), the
final status and error, and the notifications its ``sns:publish`` tasks sent.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from orchestration.execute import Outcome, execute
from orchestration.processes import NOTIFICATIONS
from orchestration.resources import ResourceMap
from orchestration.samples import definition_path, resources_path
from orchestration.samples.participant import QUEUE, build_participant
from shared.config import Settings
from shared.domain.contracts import InvokeTask, Notification, TaskSucceeded
from shared.transport.broker import Broker
from shared.transport.topology import Binding, QueueSpec, Topology
from shared.transport.wire import Outgoing, decode

from .inprocess import services, wait_until

pytestmark = pytest.mark.broker

PUBLISHED = Path(__file__).resolve().parents[3] / "shared" / "asl-samples"
"""The definitions as published (read-only); the packaged copy stands in where this folder is absent."""


def definition(sample: str) -> Path:
    published = PUBLISHED / f"{sample}.asl.json"
    return published if published.exists() else definition_path(sample)


async def run(sample: str, document: Any, amqp_url: str, namespace: str, data_dir: Path) -> Outcome:
    resources = ResourceMap.load(resources_path(sample))
    return await execute(definition(sample), document, resources, amqp_url, namespace, timeout_s=45,
                         data_dir=data_dir)  # fmt: skip


def path_of(outcome: Outcome) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in outcome.history if e["type"].endswith("StateEntered")]


def ending(outcome: Outcome) -> tuple[str, str | None]:
    assert outcome.execution is not None
    return outcome.execution.status, outcome.execution.error


async def notifications(amqp_url: str, namespace: str) -> list[Notification]:
    """Everything the executions published to ``<ns>.notifications`` so far (drained)."""
    broker = await Broker.connect(amqp_url, Topology(namespace), "test")
    try:
        queue = await broker.declare_queue(NOTIFICATIONS)
        found: list[Notification] = []
        while (message := await queue.get(no_ack=True, fail=False)) is not None:
            decoded = decode(message.type, message.body)
            assert isinstance(decoded, Notification)
            found.append(decoded)
        return found
    finally:
        await broker.close()


@asynccontextmanager
async def lambdas(amqp_url: str, namespace: str, data_dir: Path, draw: Callable[[], float] | None = None
                  ) -> AsyncIterator[None]:  # fmt: skip
    """The participant, started as ``sagalab serve lambdas`` would (or with a given random source); its queue,
    which the namespace clean-up does not know, is removed afterwards."""
    try:
        if draw is None:
            async with services("orchestration", ["lambdas"], amqp_url, namespace, data_dir):
                yield
        else:
            async with _participant(amqp_url, namespace, data_dir, draw):
                yield
    finally:
        broker = await Broker.connect(amqp_url, Topology(namespace), "test")
        channel = await broker.connection.channel()
        await channel.queue_delete(broker.topology.queue(QUEUE))
        await broker.close()


@asynccontextmanager
async def _participant(amqp_url: str, namespace: str, data_dir: Path, draw: Callable[[], float]
                       ) -> AsyncIterator[None]:  # fmt: skip
    settings = Settings(service="lambdas", mode="orchestration", amqp_url=amqp_url, namespace=namespace,
                        data_dir=data_dir)  # fmt: skip
    broker = await Broker.connect(amqp_url, Topology(namespace), "lambdas")
    host = build_participant(settings, broker, draw)
    try:
        await host.start()
        yield
    finally:
        await host.stop()
        await broker.close()
        host.db.close()


@pytest.fixture
async def participant(amqp_url: str, namespace: str, tmp_path: Path) -> AsyncIterator[None]:
    """The lambdas participant in this test's namespace."""
    async with lambdas(amqp_url, namespace, tmp_path / "data"):
        yield


# --- travel-saga-sam ---------------------------------------------------------------------------------------

TRAVEL_FAILED = ["CancelFlightReservation", "SendingSMSFailure", "Reservation Failed"]
TRAVEL_REFUND = ["RefundPayment", "CancelRentalReservation", *TRAVEL_FAILED]
TRAVEL_PATHS = {
    "success": ["ReserveFlight", "ReserveCarRental", "ProcessPayment", "ConfirmFlight", "ConfirmCarRental",
                "SendingSMSSuccess", "Reservation Successful!"],
    "failFlightsReservation": ["ReserveFlight", *TRAVEL_FAILED],
    "failCarRentalReservation": ["ReserveFlight", "ReserveCarRental", "CancelRentalReservation", *TRAVEL_FAILED],
    "failPayment": ["ReserveFlight", "ReserveCarRental", "ProcessPayment", *TRAVEL_REFUND],
    "failFlightsConfirmation": ["ReserveFlight", "ReserveCarRental", "ProcessPayment", "ConfirmFlight",
                                *TRAVEL_REFUND],
    "failCarRentalConfirmation": ["ReserveFlight", "ReserveCarRental", "ProcessPayment", "ConfirmFlight",
                                  "ConfirmCarRental", *TRAVEL_REFUND],
}  # fmt: skip


def trip(run_type: str) -> dict[str, str]:
    """The input the publisher's sagaLambda builds."""
    return {"trip_id": "t-1", "depart_city": "Detroit", "depart_time": "2021-07-07T06:00:00.000Z",
            "arrive_city": "Frankfurt", "arrive_time": "2021-07-09T08:00:00.000Z", "rental": "BMW",
            "rental_from": "2021-07-09T00:00:00.000Z", "rental_to": "2021-07-17T00:00:00.000Z",
            "run_type": run_type}  # fmt: skip


@pytest.mark.parametrize("run_type", list(TRAVEL_PATHS))
async def test_travel_saga_takes_the_documented_path(
    run_type: str, participant: None, amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """travel-saga-sam: each run_type enters exactly the documented states and sends the matching SMS."""
    outcome = await run("travel-saga-sam", trip(run_type), amqp_url, namespace, tmp_path)
    assert path_of(outcome) == TRAVEL_PATHS[run_type]
    succeeded = run_type == "success"
    assert ending(outcome) == (("SUCCEEDED", None) if succeeded else ("FAILED", "Job Failed"))
    sms = await notifications(amqp_url, namespace)
    text = "Your Travel Reservation is Successful" if succeeded else "Your Travel Reservation Failed"
    assert [(n.topic, n.message) for n in sms] == [("${snsTopicArn}", text)]


async def test_travel_saga_hands_each_result_and_error_on_under_its_result_path(
    participant: None, amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """travel-saga-sam: the refund sees the wrapped Lambda results and the caught error of ProcessPayment."""
    outcome = await run("travel-saga-sam", trip("failPayment"), amqp_url, namespace, tmp_path)
    refund = next(e for e in outcome.history if e["type"] == "TaskStateEntered"
                  and e["stateEnteredEventDetails"]["name"] == "RefundPayment")  # fmt: skip
    state = refund["stateEnteredEventDetails"]["input"]
    assert state["ReserveFlightResult"]["StatusCode"] == 200
    assert state["ReserveFlightResult"]["Payload"]["status"] == "ok"
    assert state["ProcessPaymentError"]["Error"] == "Error"
    assert json.loads(state["ProcessPaymentError"]["Cause"]) == {"errorMessage": "Failed to process payment",
                                                               "errorType": "Error"}  # fmt: skip


# --- booking-saga-cdk --------------------------------------------------------------------------------------

BOOKING_UNDO = ["RefundPayment", "CancelFlightReservation", "CancelHotelReservation",
                "Sorry, We Couldn't make the booking"]  # fmt: skip
BOOKING_PATHS = {
    "success": ["ReserveHotel", "ReserveFlight", "TakePayment", "ConfirmHotelBooking", "ConfirmFlight",
                "We have made your booking!"],
    "failHotelReservation": ["ReserveHotel", *BOOKING_UNDO[2:]],
    "failFlightsReservation": ["ReserveHotel", "ReserveFlight", *BOOKING_UNDO[1:]],
    "failPayment": ["ReserveHotel", "ReserveFlight", "TakePayment", *BOOKING_UNDO],
    "failHotelConfirmation": ["ReserveHotel", "ReserveFlight", "TakePayment", "ConfirmHotelBooking", *BOOKING_UNDO],
    "failFlightsConfirmation": ["ReserveHotel", "ReserveFlight", "TakePayment", "ConfirmHotelBooking",
                                "ConfirmFlight", *BOOKING_UNDO],
}  # fmt: skip


def booking(run_type: str) -> dict[str, str]:
    return {"trip_id": "b-1", "depart": "London", "arrive": "Dublin", "hotel": "holiday inn",
            "check_in": "2024-01-01", "check_out": "2024-01-03", "run_type": run_type}  # fmt: skip


@pytest.mark.parametrize("run_type", list(BOOKING_PATHS))
async def test_booking_saga_takes_the_documented_path(
    run_type: str, participant: None, amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """booking-saga-cdk: each run_type enters exactly the documented states and ends as documented."""
    outcome = await run("booking-saga-cdk", booking(run_type), amqp_url, namespace, tmp_path)
    assert path_of(outcome) == BOOKING_PATHS[run_type]
    assert ending(outcome) == (("SUCCEEDED", None) if run_type == "success" else ("FAILED", None))
    if run_type == "success":
        assert outcome.execution is not None
        output = outcome.execution.output
        assert output["ConfirmHotelBookingResult"]["booking_id"] == output["ReserveHotelResult"]["booking_id"]


async def test_booking_saga_retries_a_compensation_that_fails_at_random(
    amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """booking-saga-cdk: the publisher's random 'Internal Server Error' in RefundPayment is retried after 1 s
    under the same command, and the saga still compensates in full."""
    draws = iter([1.0, 1.0, 1.0, 0.0])  # the 4th invocation is RefundPayment's first attempt: it fails
    async with lambdas(amqp_url, namespace, tmp_path / "data", lambda: next(draws, 1.0)):
        outcome = await run("booking-saga-cdk", booking("failPayment"), amqp_url, namespace, tmp_path)
    assert path_of(outcome) == BOOKING_PATHS["failPayment"]
    failed = [e["lambdaFunctionFailedEventDetails"] for e in outcome.history if e["type"] == "LambdaFunctionFailed"]
    assert [(f["error"], json.loads(f["cause"])["errorMessage"], f["willRetry"]) for f in failed] == [
        ("Error", "Failed to book the flights", False),
        ("Error", "Internal Server Error", True),
    ]
    assert failed[1]["retryDelaySeconds"] == 1.0


# --- long-lived-transaction --------------------------------------------------------------------------------

LLT_PATHS = {
    "4001": (["ProcessOrder", "ProcessPayment", "ReserveInventory", "sns:NotifySuccess", "OrderSucceeded"], True),
    "1001": (["ProcessOrder", "UpdateOrderStatus", "OrderFailed"], False),
    "1101": (["ProcessOrder", "UpdateOrderStatus", "sns:NotifyUpdateOrderFail", "OrderFailed"], True),
    "2001": (["ProcessOrder", "ProcessPayment", "ProcessRefund", "UpdateOrderStatus", "OrderFailed"], False),
    "2201": (["ProcessOrder", "ProcessPayment", "ProcessRefund", "sns:NotifyProcessRefundFail", "OrderFailed"], True),
    "3001": (["ProcessOrder", "ProcessPayment", "ReserveInventory", "ReleaseInventory", "ProcessRefund",
              "UpdateOrderStatus", "OrderFailed"], False),
    "3301": (["ProcessOrder", "ProcessPayment", "ReserveInventory", "ReleaseInventory",
              "sns:NotifyReleaseInventoryFail", "OrderFailed"], True),
}  # fmt: skip


@pytest.mark.parametrize("prefix", list(LLT_PATHS))
async def test_long_lived_transaction_takes_the_documented_path(
    prefix: str, participant: None, amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """long-lived-transaction: the order_id prefix picks the failing step; custom errors route the compensations."""
    order_id = f"{prefix}-ae45-4b27"
    order = {"order_id": order_id, "customer_id": "c-1", "order_date": "2018-10-19T10:50:16+08:00",
             "items": [{"item_id": "987", "qty": 1.0, "description": "Cart item 1", "unit_price": 19.99}]}  # fmt: skip
    outcome = await run("long-lived-transaction", order, amqp_url, namespace, tmp_path)
    expected, notifies = LLT_PATHS[prefix]
    assert path_of(outcome) == expected
    assert ending(outcome) == (("SUCCEEDED", None) if prefix.startswith("4") else ("FAILED", None))
    sent = await notifications(amqp_url, namespace)
    assert [(n.topic, n.message) for n in sent] == ([("${SagaTopic}", order_id)] if notifies else [])


async def test_long_lived_transaction_success_carries_the_debit_and_reservation(
    participant: None, amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """long-lived-transaction: OutputPath $.Payload passes each Go function's Order on, payment and inventory set."""
    order = {"order_id": "5-1", "items": [{"item_id": "3", "qty": 2.0, "unit_price": 6.5}]}
    outcome = await run("long-lived-transaction", order, amqp_url, namespace, tmp_path)
    assert outcome.execution is not None and outcome.execution.status == "SUCCEEDED"
    output = outcome.execution.output
    assert output["order_status"] == "New"
    assert output["payment"]["payment_type"] == "Debit" and output["payment"]["payment_amount"] == 13.0
    assert output["inventory"]["transaction_type"] == "Reserve" and output["inventory"]["items"] == ["3"]
    assert set(output["notification"]) == {"MessageId"}


# --- order-saga-choice-wait --------------------------------------------------------------------------------

ORDER_START = ["Place Order", "Is order placed"]
ORDER_UNDO = ["Revert Inventory", "Remove Order", "Fail"]
ORDER_PATHS = {
    "None": [*ORDER_START, "Update Inventory", "Is inventory updated", "Make Payment", "Is payment success",
             "SuccessState"],
    "PlaceOrder": [*ORDER_START, "Fail"],
    "MakePayment": [*ORDER_START, "Update Inventory", "Is inventory updated", "Make Payment", "Is payment success",
                    "Revert Payment", *ORDER_UNDO],
    "UpdateInventory": [*ORDER_START, "Update Inventory", "Is inventory updated", "Wait state", *ORDER_UNDO],
}  # fmt: skip


@pytest.mark.parametrize(
    "stage", ["None", "PlaceOrder", "MakePayment", pytest.param("UpdateInventory", marks=pytest.mark.slow)]
)
async def test_order_saga_takes_the_documented_path(
    stage: str, participant: None, amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """order-saga-choice-wait: the Status each .NET function returns steers the Choice states (UpdateInventory
    waits out its 30 s Wait state)."""
    order = {"ItemId": "i-1", "CustomerId": "c-1", "MessageId": "m-1", "FailAtStage": stage}
    outcome = await run("order-saga-choice-wait", order, amqp_url, namespace, tmp_path)
    assert path_of(outcome) == ORDER_PATHS[stage]
    assert ending(outcome) == (("SUCCEEDED", None) if stage == "None" else ("FAILED", None))
    if stage == "None":
        assert outcome.execution is not None
        assert outcome.execution.output == {**order, "Status": "PAYMENT_COMPLETED"}


# --- inventory-reserve-stock-sam (Parallel) ---------------------------------------------------------------

RESERVE_BRANCHES = ["Update stock", "Send stock reserved event", "Write Item to InventoryReservationTable"]
UNAVAILABLE_BRANCHES = ["Send create-purchase-order event", "Send stock unavailable event",
                        "Send stock unavailable notification"]  # fmt: skip


@pytest.mark.parametrize(
    ("quantity", "parallel", "branches"),
    [(3, "Reserve Stock", RESERVE_BRANCHES), (11, "Stock Unavailable", UNAVAILABLE_BRANCHES)],
)
async def test_inventory_reserve_stock_runs_its_parallel_branches(
    quantity: int, parallel: str, branches: list[str], participant: None, amqp_url: str, namespace: str,
    tmp_path: Path,
) -> None:  # fmt: skip
    """Enough stock (10 TVs) runs the three reservation branches side by side; too little, the three
    purchase-order/notification branches; the Parallel's output is their three results, in branch order."""
    order = {"orderId": "o-1", "productId": "tv", "quantity": quantity}
    outcome = await run("inventory-reserve-stock-sam", order, amqp_url, namespace, tmp_path)
    assert ending(outcome) == ("SUCCEEDED", None)
    entered = path_of(outcome)
    assert entered[:3] == ["DynamoDB GetItem", "IN STOCK and Enough Stock?", parallel]
    assert sorted(entered[3:-1]) == sorted(branches) and entered[-1] == "Pass"
    types = [e["type"] for e in outcome.history]
    assert types.count("ParallelStateStarted") == 1 and types.count("ParallelStateSucceeded") == 1
    assert outcome.execution is not None and len(outcome.execution.output) == 3
    if parallel == "Stock Unavailable":
        (sent,) = await notifications(amqp_url, namespace)
        assert "Stock unavailable for order id o-1, product id tv, quantity 11." in json.dumps(sent.message)


async def test_inventory_reserve_stock_runs_in_an_express_workflow_too(
    participant: None, amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    """The publisher deploys this workflow as Express: branches kept in memory, the history written at the end."""
    resources = ResourceMap.load(resources_path("inventory-reserve-stock-sam"))
    outcome = await execute(definition("inventory-reserve-stock-sam"), {"orderId": "o-3", "productId": "desk",
                                                                         "quantity": 100},
                            resources, amqp_url, namespace, workflow="express", timeout_s=45, data_dir=tmp_path)  # fmt: skip
    assert ending(outcome) == ("SUCCEEDED", None)
    assert path_of(outcome)[2] == "Reserve Stock" and len(outcome.history) == 30


async def test_inventory_reserve_stock_fails_on_an_unknown_product(
    participant: None, amqp_url: str, namespace: str, tmp_path: Path
) -> None:
    outcome = await run("inventory-reserve-stock-sam", {"orderId": "o-2", "productId": "sofa", "quantity": 1},
                        amqp_url, namespace, tmp_path)  # fmt: skip
    assert ending(outcome) == ("FAILED", "States.Runtime")


# --- the participant protocol ------------------------------------------------------------------------------


async def test_a_repeated_command_is_answered_with_the_stored_reply(
    participant: None, amqp_url: str, namespace: str
) -> None:
    """The participant's inbox: an InvokeTask delivered again after it was answered gets the stored reply again."""
    broker = await Broker.connect(amqp_url, Topology(namespace), "test")
    try:
        replies = await broker.declare_queue(
            QueueSpec("test", (Binding("replies", "test.replies"),), suffix="replies", durable=False)
        )
        received: list[Any] = []

        async def on_reply(message: Any) -> None:
            received.append(message)

        await replies.consume(on_reply, no_ack=True)
        command = InvokeTask(correlation_id="e-1", function="travel.reserveFlight", input=trip("success"))
        for count in (1, 2):
            await broker.publish(Outgoing.command(command, "lambdas", "test.replies"))
            await wait_until(lambda count=count: len(received) >= count, 10, f"reply {count}")
    finally:
        await broker.close()
    answers = [decode(m.type, m.body) for m in received]
    assert all(isinstance(a, TaskSucceeded) and a.causation_id == command.message_id for a in answers)
    assert answers[0] == answers[1]
