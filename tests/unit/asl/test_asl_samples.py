"""The four public sample definitions, loaded unmodified and driven through their documented paths."""

from __future__ import annotations

import random
from typing import Any

import pytest

from orchestration.asl import Interpreter, load_definition

from .support import NO_REPLY, SAMPLES_FOLDER, ParticipantError, at, drive, of_type

SAMPLES = SAMPLES_FOLDER


def interpreter(name: str) -> Interpreter:
    return Interpreter(load_definition(SAMPLES / name), random.Random(3))


# --- travel-saga-sam -------------------------------------------------------------------------------------------

TRAVEL_FAILS = {
    "reserveFlightFunction": "failFlightsReservation",
    "reserveCarRentalFunction": "failCarRentalReservation",
    "processPaymentFunction": "failPayment",
    "confirmFlightFunction": "failFlightsConfirmation",
    "confirmCarRentalFunction": "failCarRentalConfirmation",
}
TRAVEL_TAIL = ["CancelFlightReservation", "SendingSMSFailure", "Reservation Failed"]
TRAVEL_REFUND = ["RefundPayment", "CancelRentalReservation", *TRAVEL_TAIL]


def travel_function(function: str, payload: Any) -> Any:
    """Fake travel lambdas: the one named by run_type raises, every other returns a small result."""
    name = function.strip("${}")
    if TRAVEL_FAILS.get(name) == payload["run_type"]:
        raise ParticipantError("Error", f"{name} failed on purpose")
    return {"status": "ok", "function": name}


def travel_input(run_type: str) -> dict[str, Any]:
    return {
        "trip_id": "t-1", "depart_city": "Detroit", "depart_time": "2024-01-01T10:00:00Z", "arrive_city": "Frankfurt",
        "arrive_time": "2024-01-02T06:00:00Z", "rental": "BMW", "rental_from": "2024-01-02T07:00:00Z",
        "rental_to": "2024-01-09T07:00:00Z", "run_type": run_type,
    }


@pytest.mark.parametrize(
    ("run_type", "expected"),
    [
        ("success", ["ReserveFlight", "ReserveCarRental", "ProcessPayment", "ConfirmFlight", "ConfirmCarRental",
                     "SendingSMSSuccess", "Reservation Successful!"]),
        ("failFlightsReservation", ["ReserveFlight", *TRAVEL_TAIL]),
        ("failCarRentalReservation", ["ReserveFlight", "ReserveCarRental", "CancelRentalReservation", *TRAVEL_TAIL]),
        ("failPayment", ["ReserveFlight", "ReserveCarRental", "ProcessPayment", *TRAVEL_REFUND]),
        ("failFlightsConfirmation", ["ReserveFlight", "ReserveCarRental", "ProcessPayment", "ConfirmFlight",
                                     *TRAVEL_REFUND]),
        ("failCarRentalConfirmation", ["ReserveFlight", "ReserveCarRental", "ProcessPayment", "ConfirmFlight",
                                       "ConfirmCarRental", *TRAVEL_REFUND]),
    ],
)
def test_travel_saga_follows_the_documented_path(run_type: str, expected: list[str]) -> None:
    """travel-saga-sam: each run_type leads through its documented compensations to the right end state."""
    run = drive(interpreter("travel-saga-sam.asl.json"), travel_input(run_type), travel_function)
    assert run.path == expected
    if run_type == "success":
        assert run.execution.status == "SUCCEEDED"
        assert set(run.execution.output) == {"MessageId"}
    else:
        assert (run.execution.status, run.execution.error) == ("FAILED", "Job Failed")


def test_travel_saga_keeps_each_result_and_error_under_its_result_path() -> None:
    """travel-saga-sam: ResultPath keeps the lambda wrapper beside the input; Catch puts the error beside it too."""
    run = drive(interpreter("travel-saga-sam.asl.json"), travel_input("failPayment"), travel_function)
    refund = next(d for d in run.dispatches if d.state_name == "RefundPayment")
    payload = refund.parameters["Payload"]
    assert payload["run_type"] == "failPayment"
    assert payload["ReserveFlightResult"]["Payload"] == {"status": "ok", "function": "reserveFlightFunction"}
    assert payload["ReserveFlightResult"]["StatusCode"] == 200
    assert payload["ProcessPaymentError"] == {"Error": "Error", "Cause": "processPaymentFunction failed on purpose"}
    assert refund.parameters["FunctionName"] == "${refundPaymentFunction}"


def test_travel_saga_retries_a_transient_lambda_error_with_its_backoff() -> None:
    """travel-saga-sam: Lambda.ServiceException is retried after 2 s then 4 s, and the reservation goes on."""
    failures = {"count": 0}

    def flaky(function: str, payload: Any) -> Any:
        if function == "${reserveFlightFunction}" and failures["count"] < 2:
            failures["count"] += 1
            raise ParticipantError("Lambda.ServiceException", "try again")
        return travel_function(function, payload)

    run = drive(interpreter("travel-saga-sam.asl.json"), travel_input("success"), flaky)
    assert run.execution.status == "SUCCEEDED"
    flights = [d for d in run.dispatches if d.state_name == "ReserveFlight"]
    assert [d.attempt for d in flights] == [0, 1, 2]
    assert len({d.token for d in flights}) == 1
    scheduled = [e for e in of_type(run.events, "TaskScheduled") if e.details["token"] == flights[0].token]
    assert [e.timestamp for e in scheduled] == [at(0), at(2), at(6)]
    assert [e.details.get("retryDelaySeconds") for e in scheduled] == [None, 2.0, 4.0]


# --- booking-saga-cdk ------------------------------------------------------------------------------------------

BOOKING_FAILS = {
    "reserveHotel": "failHotelReservation",
    "reserveFlight": "failFlightsReservation",
    "takePayment": "failPayment",
    "confirmHotel": "failHotelConfirmation",
    "confirmFlight": "failFlightsConfirmation",
}
BOOKING_UNDO = [
    "RefundPayment", "CancelFlightReservation", "CancelHotelReservation", "Sorry, We Couldn't make the booking"
]


def booking_function(resource: str, payload: Any) -> Any:
    """Fake booking lambdas (bare function ARNs): the one named by run_type raises."""
    name = resource.rsplit(":", 1)[-1].split("LambdaHandler")[0]
    if BOOKING_FAILS.get(name) == payload["run_type"]:
        raise ParticipantError("Error", f"{name} failed")
    return {"status": "ok", "handler": name}


@pytest.mark.parametrize(
    ("run_type", "expected"),
    [
        ("success", ["ReserveHotel", "ReserveFlight", "TakePayment", "ConfirmHotelBooking", "ConfirmFlight",
                     "We have made your booking!"]),
        ("failHotelReservation", ["ReserveHotel", "CancelHotelReservation", "Sorry, We Couldn't make the booking"]),
        ("failFlightsReservation", ["ReserveHotel", "ReserveFlight", *BOOKING_UNDO[1:]]),
        ("failPayment", ["ReserveHotel", "ReserveFlight", "TakePayment", *BOOKING_UNDO]),
        ("failHotelConfirmation", ["ReserveHotel", "ReserveFlight", "TakePayment", "ConfirmHotelBooking",
                                   *BOOKING_UNDO]),
        ("failFlightsConfirmation", ["ReserveHotel", "ReserveFlight", "TakePayment", "ConfirmHotelBooking",
                                     "ConfirmFlight", *BOOKING_UNDO]),
    ],
)
def test_booking_saga_follows_the_documented_path(run_type: str, expected: list[str]) -> None:
    """booking-saga-cdk: each run_type leads through its compensations; success keeps every result."""
    run = drive(interpreter("booking-saga-cdk.asl.json"), {"trip_id": "b-1", "run_type": run_type}, booking_function)
    assert run.path == expected
    assert run.execution.status == ("SUCCEEDED" if run_type == "success" else "FAILED")
    if run_type == "success":
        assert run.execution.output["ConfirmFlightResult"] == {"status": "ok", "handler": "confirmFlight"}


def test_booking_saga_retries_a_failing_compensation_three_times_then_fails() -> None:
    """booking-saga-cdk: a compensation that keeps failing is retried 3 times (1, 2, 4 s) and then fails the run."""

    def refund_broken(resource: str, payload: Any) -> Any:
        if "refundPayment" in resource:
            raise ParticipantError("RefundDown", "bank offline")
        return booking_function(resource, payload)

    run = drive(interpreter("booking-saga-cdk.asl.json"), {"run_type": "failPayment"}, refund_broken)
    assert (run.execution.status, run.execution.error) == ("FAILED", "RefundDown")
    # bare Lambda ARNs: Step Functions names the events LambdaFunction*, not Task*
    failed = [e for e in of_type(run.events, "LambdaFunctionFailed") if e.details["error"] == "RefundDown"]
    assert [e.details["willRetry"] for e in failed] == [True, True, True, False]
    assert [e.details.get("retryDelaySeconds") for e in failed[:3]] == [1.0, 2.0, 4.0]


def test_booking_saga_times_out_after_its_top_level_timeout() -> None:
    """booking-saga-cdk: TimeoutSeconds 300 ends a run whose participant never answers as TIMED_OUT."""
    run = drive(interpreter("booking-saga-cdk.asl.json"), {"run_type": "success"}, lambda resource, payload: NO_REPLY)
    assert run.execution.status == "TIMED_OUT"
    assert run.execution.finished_at == at(300)
    assert run.events[-1].type == "ExecutionTimedOut"


# --- order-saga-choice-wait ------------------------------------------------------------------------------------

ORDER_STATUS = {
    "PlaceOrderLambda": ("PlaceOrder", "ORDER_PLACED"),
    "UpdateInventoryLambda": ("UpdateInventory", "INVENTORY_UPDATED"),
    "MakePaymentLambda": ("MakePayment", "PAYMENT_COMPLETED"),
}


def order_function(resource: str, payload: Any) -> Any:
    """Fake order lambdas: return the input with Status set, ERROR at the FailAtStage stage."""
    name = resource.rsplit(":", 1)[-1]
    stage, done = ORDER_STATUS.get(name, ("", "REVERTED"))
    return {**payload, "Status": "ERROR" if payload["FailAtStage"] == stage else done}


ORDER_START = ["Place Order", "Is order placed"]
ORDER_UNDO = ["Revert Inventory", "Remove Order", "Fail"]


@pytest.mark.parametrize(
    ("stage", "expected"),
    [
        ("None", [*ORDER_START, "Update Inventory", "Is inventory updated", "Make Payment", "Is payment success",
                  "SuccessState"]),
        ("PlaceOrder", [*ORDER_START, "Fail"]),
        ("UpdateInventory", [*ORDER_START, "Update Inventory", "Is inventory updated", "Wait state", *ORDER_UNDO]),
        ("MakePayment", [*ORDER_START, "Update Inventory", "Is inventory updated", "Make Payment",
                         "Is payment success", "Revert Payment", *ORDER_UNDO]),
    ],
)
def test_order_saga_follows_the_documented_path(stage: str, expected: list[str]) -> None:
    """order-saga-choice-wait: the Status each step returns drives the Choice states to the documented end."""
    order = {"ItemId": "i-1", "CustomerId": "c-1", "MessageId": "m-1", "FailAtStage": stage}
    run = drive(interpreter("order-saga-choice-wait.asl.json"), order, order_function)
    assert run.path == expected
    assert run.execution.status == ("SUCCEEDED" if stage == "None" else "FAILED")


def test_order_saga_wait_state_holds_for_30_seconds_on_the_injected_clock() -> None:
    """order-saga-choice-wait: the Wait state sets wake_at 30 s ahead; an early wake is ignored, the due one exits."""
    order = {"ItemId": "i-1", "CustomerId": "c-1", "MessageId": "m-1", "FailAtStage": "UpdateInventory"}
    machine = interpreter("order-saga-choice-wait.asl.json")
    step = machine.start("o-1", order, at(0))
    for second in (1, 2):
        sent = step.dispatches[0]
        reply = order_function(sent.resource, sent.parameters)
        step = machine.task_succeeded(step.execution, sent.token, reply, at(second))
    waiting = step.execution
    assert (waiting.state_name, waiting.wake_at, waiting.wake_for) == ("Wait state", at(32), "wait")
    assert step.dispatches == []
    assert machine.wake(waiting, at(31)).ignored is not None
    woken = machine.wake(waiting, at(32))
    assert [e.type for e in woken.events[:2]] == ["WaitStateExited", "TaskStateEntered"]
    assert woken.dispatches[0].state_name == "Revert Inventory"


# --- long-lived-transaction ------------------------------------------------------------------------------------

LLT_FAILS = {
    "NewOrderFunction": ("1", "ErrProcessOrder"),
    "UpdateOrderFunction": ("11", "ErrUpdateOrderStatus"),
    "DebitPaymentFunction": ("2", "ErrProcessPayment"),
    "CreditPaymentFunction": ("22", "ErrProcessRefund"),
    "ReserveInventoryFunction": ("3", "ErrReserveInventory"),
    "ReleaseInventoryFunction": ("33", "ErrReleaseInventory"),
}


def llt_function(function: str, payload: Any) -> Any:
    """Fake LLT lambdas: the order_id prefix picks which ones raise their custom error."""
    name = function.strip("${}")
    prefix, error = LLT_FAILS[name]
    if str(payload["order_id"]).startswith(prefix):
        raise ParticipantError(error, f"{name} refused order {payload['order_id']}")
    return {**payload, "last_step": name}


LLT_FAILED = ["UpdateOrderStatus", "OrderFailed"]


@pytest.mark.parametrize(
    ("order_id", "expected"),
    [
        ("4001", ["ProcessOrder", "ProcessPayment", "ReserveInventory", "sns:NotifySuccess", "OrderSucceeded"]),
        ("1001", ["ProcessOrder", *LLT_FAILED]),
        ("1101", ["ProcessOrder", "UpdateOrderStatus", "sns:NotifyUpdateOrderFail", "OrderFailed"]),
        ("2001", ["ProcessOrder", "ProcessPayment", "ProcessRefund", *LLT_FAILED]),
        ("2201", ["ProcessOrder", "ProcessPayment", "ProcessRefund", "sns:NotifyProcessRefundFail", "OrderFailed"]),
        ("3001", ["ProcessOrder", "ProcessPayment", "ReserveInventory", "ReleaseInventory", "ProcessRefund",
                  *LLT_FAILED]),
        ("3301", ["ProcessOrder", "ProcessPayment", "ReserveInventory", "ReleaseInventory",
                  "sns:NotifyReleaseInventoryFail", "OrderFailed"]),
    ],
)
def test_long_lived_transaction_follows_the_documented_path(order_id: str, expected: list[str]) -> None:
    """long-lived-transaction: custom error names route each failure to its compensation chain."""
    run = drive(interpreter("long-lived-transaction.asl.json"), {"order_id": order_id}, llt_function)
    assert run.path == expected
    assert run.execution.status == ("SUCCEEDED" if order_id.startswith("4") else "FAILED")


def test_long_lived_transaction_output_path_unwraps_the_lambda_payload() -> None:
    """long-lived-transaction: OutputPath $.Payload hands the next lambda the previous function's own output."""
    run = drive(interpreter("long-lived-transaction.asl.json"), {"order_id": "4001"}, llt_function)
    payment = next(d for d in run.dispatches if d.state_name == "ProcessPayment")
    assert payment.parameters["Payload"] == {"order_id": "4001", "last_step": "NewOrderFunction"}
    assert run.execution.output["notification"]["MessageId"]
    assert run.execution.output["last_step"] == "ReserveInventoryFunction"
    sns = next(d for d in run.dispatches if d.state_name == "sns:NotifySuccess")
    assert sns.parameters == {"Message": "4001", "TopicArn": "${SagaTopic}"}


def test_long_lived_transaction_task_timeout_is_not_caught_by_custom_errors() -> None:
    """long-lived-transaction: a silent lambda times out after 10 s with States.Timeout, which nothing catches."""
    run = drive(interpreter("long-lived-transaction.asl.json"), {"order_id": "4001"}, lambda f, p: NO_REPLY)
    assert (run.execution.status, run.execution.error) == ("FAILED", "States.Timeout")
    assert run.execution.finished_at == at(10)
    assert [e.type for e in run.events[-2:]] == ["TaskTimedOut", "ExecutionFailed"]


def test_long_lived_transaction_times_out_as_a_whole_after_15_seconds() -> None:
    """long-lived-transaction: steps of 9 s each fit the task timeout but not the 15 s execution timeout."""
    run = drive(interpreter("long-lived-transaction.asl.json"), {"order_id": "4001"}, llt_function, task_seconds=9)
    assert run.execution.status == "TIMED_OUT"
    assert run.path == ["ProcessOrder", "ProcessPayment"]
    assert run.execution.finished_at == at(15)
