"""The sample functions behave as their publishers' code, and the packaged samples match the published ones."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest

from orchestration.bootstrap import load_machine
from orchestration.resources import ResourceMap
from orchestration.samples import SAMPLES, definition_path, resources_path
from orchestration.samples._lambda import hash_code
from orchestration.samples.functions import FUNCTIONS, FunctionError, Invocation, invoke
from orchestration.samples.participant import LambdaRoutes, build_participant
from shared.config import Settings
from shared.domain.contracts import InvokeTask, TaskFailed, TaskSucceeded
from shared.runtime.routes import Tx
from shared.transport.broker import Broker
from shared.transport.wire import decode

PUBLISHED = Path(__file__).resolve().parents[3] / "shared" / "asl-samples"
CALL = Invocation(request_id="r-1", now=datetime(2024, 1, 1, tzinfo=UTC))


def run(function: str, event: Any, random: float = 1.0) -> Any:
    return invoke(function, event, Invocation(CALL.request_id, CALL.now, random))


def failure(function: str, event: Any, random: float = 1.0) -> tuple[str, str]:
    with pytest.raises(FunctionError) as caught:
        run(function, event, random)
    return caught.value.error_type, caught.value.message


def published_digests() -> dict[str, str]:
    """The sha256 of each definition as published, recorded beside the copies when they were made."""
    sums = definition_path(SAMPLES[0]).parent / "SHA256SUMS"
    return {name: digest for digest, name in (line.split() for line in sums.read_text().splitlines() if line)}


@pytest.mark.parametrize("sample", SAMPLES)
def test_the_packaged_definition_is_the_published_one(sample: str) -> None:
    """orchestration/samples/definitions holds byte-identical copies of the published samples: their digests
    as published are recorded in SHA256SUMS, and where the published folder sits beside the repository
    (../shared/asl-samples), the files themselves are compared too."""
    packaged = definition_path(sample).read_bytes()
    assert hashlib.sha256(packaged).hexdigest() == published_digests()[f"{sample}.asl.json"]
    published = PUBLISHED / f"{sample}.asl.json"
    if published.exists():
        assert packaged == published.read_bytes()


@pytest.mark.parametrize("sample", SAMPLES)
def test_each_resource_map_binds_every_task_to_a_sample_function(sample: str) -> None:
    """The definition loads with its map, and every binding names a function the participant has."""
    resources = ResourceMap.load(resources_path(sample))
    load_machine(definition_path(sample), resources)
    for target in resources.bindings.values():
        participant, _, function = target.partition("/")
        assert participant == "lambdas" and function in FUNCTIONS


def test_hash_code_is_the_javascript_one() -> None:
    """The publishers' hashCode, checked against Node.js: int32 overflow, UTF-16 units, NaN for ''."""
    assert hash_code("hello") == "99162322"
    assert hash_code("undefinedundefined") == "498104832"
    assert hash_code("é€𝄞x") == "519296651"
    assert hash_code("") == "NaN"


# --- travel-saga-sam -------------------------------------------------------------------------------------------

TRIP = {"trip_id": "t-1", "rental_from": "2021-07-09T00:00:00.000Z", "rental_to": "2021-07-17T00:00:00.000Z"}


def test_travel_functions_fail_the_step_named_by_run_type_with_a_javascript_error() -> None:
    """travel-saga-sam: `throw new Error(...)` surfaces as error type Error with the publisher's message."""
    assert failure("travel.reserveFlight", {"run_type": "failFlightsReservation"}) == (
        "Error", "Failed to book the flights")
    assert failure("travel.processPayment", {"run_type": "failPayment"}) == ("Error", "Failed to process payment")
    assert failure("travel.confirmRental", {"run_type": "failCarRentalConfirmation"}) == (
        "Error", "Failed to book the car rental")  # fmt: skip
    assert run("travel.cancelFlight", {"run_type": "failFlightsReservation"}) == {"status": "ok"}


def test_travel_ids_are_the_publishers_hashes_quirks_included() -> None:
    """travel-saga-sam: reserveFlight hashes the absent depart/arrive; processPayment hashes the car's id."""
    assert run("travel.reserveFlight", TRIP) == {"status": "ok", "booking_id": hash_code("undefinedundefined")}
    car = run("travel.reserveRental", TRIP)
    assert car["booking_id"] == hash_code(TRIP["rental_from"] + TRIP["rental_to"])
    flight = {"Payload": {"booking_id": "1"}}
    state = {**TRIP, "ReserveFlightResult": flight, "ReserveCarRentalResult": {"Payload": car}}
    assert run("travel.processPayment", state) == {"status": "ok", "payment_id": hash_code(car["booking_id"])}
    assert run("travel.confirmRental", state) == {"status": "ok", "booking_id": car["booking_id"]}


# --- booking-saga-cdk ------------------------------------------------------------------------------------------


def test_booking_compensations_fail_when_the_random_draw_is_under_0_4() -> None:
    """booking-saga-cdk: the three compensations throw 'Internal Server Error' when Math.random() < 0.4."""
    for name in ("booking.cancelHotel", "booking.cancelFlight", "booking.refundPayment"):
        assert failure(name, {}, random=0.39) == ("Error", "Internal Server Error")
        assert run(name, {}, random=0.4) == {"status": "ok"}
    assert run("booking.reserveHotel", {"trip_id": "b"}, random=0.0)["status"] == "ok"


def test_booking_reads_a_previous_result_wrapped_or_bare() -> None:
    """booking-saga-cdk: confirmHotel finds the booking id under the lambda:invoke wrapper or bare (bare ARNs)."""
    hotel = run("booking.reserveHotel", {"trip_id": "b-1", "hotel": "inn", "check_in": "d"})
    assert hotel["booking_id"] == hash_code("b-1innd")
    for result in (hotel, {"Payload": hotel}):
        assert run("booking.confirmHotel", {"ReserveHotelResult": result})["booking_id"] == hotel["booking_id"]
    assert failure("booking.takePayment", {"run_type": "failPayment"}) == ("Error", "Failed to book the flights")


# --- order-saga-choice-wait ------------------------------------------------------------------------------------

ORDER = {"ItemId": "i-1", "CustomerId": "c-1", "MessageId": "m-1"}


@pytest.mark.parametrize(
    ("stage", "place", "inventory", "payment"),
    [
        ("None", "ORDER_PLACED", "INVENTORY_UPDATED", "PAYMENT_COMPLETED"),
        ("PlaceOrder", "ERROR", "INVENTORY_UPDATED", "PAYMENT_COMPLETED"),
        ("UpdateInventory", "ORDER_PLACED", "ERROR", "PAYMENT_COMPLETED"),
        ("MakePayment", "ORDER_PLACED", "INVENTORY_UPDATED", "ERROR"),
        ("1", "ORDER_PLACED", "INVENTORY_UPDATED", "ERROR"),
        ("nonsense", "ERROR", "INVENTORY_UPDATED", "PAYMENT_COMPLETED"),
        (None, "ERROR", "INVENTORY_UPDATED", "PAYMENT_COMPLETED"),
    ],
)
def test_order_functions_set_status_from_fail_at_stage_as_enum_try_parse_reads_it(
    stage: str | None, place: str, inventory: str, payment: str
) -> None:
    """order-saga-choice-wait: ERROR at FailAtStage; numbers parse; missing or unknown stages parse as PlaceOrder."""
    event = {**ORDER, "FailAtStage": stage, "Extra": 1}
    statuses = [run(f"order.{name}", event)["Status"] for name in ("PlaceOrder", "UpdateInventory", "MakePayment")]
    assert statuses == [place, inventory, payment]


def test_order_functions_return_order_details_only() -> None:
    """order-saga-choice-wait: unknown fields are dropped, nulls left out; RemoveOrder returns a bare string."""
    reverted = run("order.RevertPayment", {"itemid": "i-9", "Other": True})
    assert reverted == {"ItemId": "i-9", "Status": "PAYMENT_REVERTED"}
    assert run("order.RevertInventory", ORDER)["Status"] == "INVENTORY_REVERTED"
    assert run("order.RemoveOrder", ORDER) == "ORDER_REMOVED"


# --- long-lived-transaction ------------------------------------------------------------------------------------

LLT = {
    "llt.NewOrder": ("1", "ErrProcessOrder"),
    "llt.UpdateOrder": ("11", "ErrUpdateOrderStatus"),
    "llt.DebitPayment": ("2", "ErrProcessPayment"),
    "llt.CreditPayment": ("22", "ErrProcessRefund"),
    "llt.ReserveInventory": ("3", "ErrReserveInventory"),
    "llt.ReleaseInventory": ("33", "ErrReleaseInventory"),
}


@pytest.mark.parametrize("function", list(LLT))
def test_llt_functions_fail_on_their_order_id_prefix_with_their_go_error_type(function: str) -> None:
    """long-lived-transaction: the order_id prefix picks the failure; errorType is the Go type name."""
    prefix, error = LLT[function]
    assert failure(function, {"order_id": f"{prefix}0-x"})[0] == error
    assert run(function, {"order_id": "40-x"})["order_id"] == "40-x"
    if len(prefix) == 2:
        assert run(function, {"order_id": f"{prefix[0]}0-x"})["order_id"] == f"{prefix[0]}0-x"


def test_llt_functions_pass_the_go_order_on_with_payment_and_inventory() -> None:
    """long-lived-transaction: unknown fields dropped; a refund negates the debit; a release undoes the reservation."""
    order = {"order_id": "5", "items": [{"item_id": "3", "qty": 2.0, "unit_price": 6.5}], "error": {"Error": "x"}}
    placed = run("llt.NewOrder", order)
    assert "error" not in placed and placed["order_status"] == "New" and placed["order_date"] == "0001-01-01T00:00:00Z"
    paid = run("llt.DebitPayment", placed)
    assert paid["payment"]["payment_amount"] == 13.0 and paid["payment"]["payment_type"] == "Debit"
    refunded = run("llt.CreditPayment", paid)["payment"]
    assert (refunded["payment_amount"], refunded["payment_type"]) == (-13.0, "Credit")
    assert run("llt.CreditPayment", placed)["payment"]["payment_amount"] == -13.0  # the debit rebuilt
    released = run("llt.ReleaseInventory", run("llt.ReserveInventory", placed))["inventory"]
    assert (released["items"], released["transaction_type"]) == (["3"], "Release")


# --- the participant's routes ----------------------------------------------------------------------------------


def answer(function: str, event: Any, draw: float = 1.0) -> Any:
    routes = LambdaRoutes(lambda: draw, lambda: CALL.now)
    command = InvokeTask(correlation_id="e-1", function=function, input=event)
    tx = Tx(sqlite3.connect(":memory:"), reply_to="execute.e-1", sender="execute", headers={})
    try:
        outgoing = routes.answer(command, tx)
    except Exception as exc:
        outgoing = routes.answer_error(command, exc, tx)
    [reply] = outgoing
    assert (reply.exchange, reply.routing_key) == ("replies", "execute.e-1")
    message = decode(reply.type, reply.body)
    assert message.causation_id == command.message_id and message.correlation_id == "e-1"
    return message


def test_the_participant_answers_with_the_result_or_the_function_error() -> None:
    """TaskSucceeded carries the result; TaskFailed is named by the error type, Lambda's error document as cause."""
    ok = answer("booking.cancelHotel", {})
    assert isinstance(ok, TaskSucceeded) and ok.output == {"status": "ok"}
    failed = answer("booking.cancelHotel", {}, draw=0.1)
    assert isinstance(failed, TaskFailed) and failed.error == "Error"
    assert json.loads(failed.cause) == {"errorMessage": "Internal Server Error", "errorType": "Error"}
    missing = answer("nope", {})
    assert isinstance(missing, TaskFailed) and missing.error == "Lambda.ResourceNotFoundException"


@pytest.mark.parametrize(("faults", "random_draws"), [((), False), (("publisher-random",), True)])
def test_publisher_random_fault_makes_the_draw_random(
    tmp_path: Path, faults: tuple[str, ...], random_draws: bool
) -> None:
    """`--fault publisher-random` gives the functions a real random draw; without it they never fail at random."""
    settings = Settings(service="lambdas", mode="orchestration", data_dir=tmp_path, faults=faults)
    host = build_participant(settings, cast(Broker, None))
    try:
        route = host.subscriptions[0].routes[InvokeTask]
        routes = route.handle.__self__
        assert isinstance(routes, LambdaRoutes)
        draws = {routes.draw() for _ in range(20)}
        assert (draws != {1.0}) is random_draws
    finally:
        host.db.close()
