"""The booking saga's functions, as cdk-patterns/serverless publishes them (the-saga-stepfunction,
lambda-fns/{hotel,flights,payment}/*.ts, Node.js, single-table version).

Forward steps fail with ``throw new Error(...)`` when ``run_type`` names them and otherwise return
``{"status": "ok", "booking_id" | "payment_id": hashCode(...)}``. The compensations (cancelHotel,
cancelFlight, refundPayment) throw ``Error: Internal Server Error`` when ``Math.random() < 0.4``, "to teach
you that the cancel logic should attempt to self recover" (the publisher's README): here that draw is
``Invocation.random``, which never fails unless the participant is given a random source.

The definition's Tasks use bare function ARNs, so a result arrives unwrapped (``ReserveHotelResult.booking_id``);
the publisher's latest code reads the ``lambda:invoke`` wrapper (``.Payload.booking_id``). Either is read.
"""

from __future__ import annotations

from typing import Any

from orchestration.samples._lambda import Handler, Invocation, defined, field, hash_code, js_error, js_str

FAILURE_RATE = 0.4
"""How often the publisher's compensations fail at random (``Math.random() < 0.4``)."""


def _fail_if(event: Any, run_type: str, message: str) -> None:
    if field(event, "run_type") == run_type:
        raise js_error(message)


def _flaky(call: Invocation) -> None:
    if call.random < FAILURE_RATE:
        raise js_error("Internal Server Error")


def _result_id(event: Any, result: str, key: str) -> str:
    """The id a previous step returned, or ``''`` when that step has not run."""
    if not defined(field(event, result)):
        return ""
    wrapped = field(event, result, "Payload", key)
    return js_str(wrapped if defined(wrapped) else field(event, result, key))


def reserve_hotel(event: Any, call: Invocation) -> Any:
    booking_id = hash_code("".join(js_str(field(event, k)) for k in ("trip_id", "hotel", "check_in")))
    _fail_if(event, "failHotelReservation", "Failed to reserve the hotel")
    return {"status": "ok", "booking_id": booking_id}


def confirm_hotel(event: Any, call: Invocation) -> Any:
    _fail_if(event, "failHotelConfirmation", "Failed to confirm the hotel booking")
    return {"status": "ok", "booking_id": _result_id(event, "ReserveHotelResult", "booking_id")}


def cancel_hotel(event: Any, call: Invocation) -> Any:
    _flaky(call)
    return {"status": "ok"}


def reserve_flight(event: Any, call: Invocation) -> Any:
    booking_id = hash_code("".join(js_str(field(event, k)) for k in ("trip_id", "depart", "arrive")))
    _fail_if(event, "failFlightsReservation", "Failed to book the flights")
    return {"status": "ok", "booking_id": booking_id}


def confirm_flight(event: Any, call: Invocation) -> Any:
    _fail_if(event, "failFlightsConfirmation", "Failed to book the flights")
    return {"status": "ok", "booking_id": _result_id(event, "ReserveFlightResult", "booking_id")}


def cancel_flight(event: Any, call: Invocation) -> Any:
    _flaky(call)
    return {"status": "ok"}


def take_payment(event: Any, call: Invocation) -> Any:
    hotel = _result_id(event, "ReserveHotelResult", "booking_id")
    flight = _result_id(event, "ReserveFlightResult", "booking_id")
    payment_id = hash_code(js_str(field(event, "trip_id")) + hotel + flight)
    _fail_if(event, "failPayment", "Failed to book the flights")  # sic: the publisher's message
    return {"status": "ok", "payment_id": payment_id}


def refund_payment(event: Any, call: Invocation) -> Any:
    _flaky(call)
    return {"status": "ok"}


FUNCTIONS: dict[str, Handler] = {
    "booking.reserveHotel": reserve_hotel,
    "booking.confirmHotel": confirm_hotel,
    "booking.cancelHotel": cancel_hotel,
    "booking.reserveFlight": reserve_flight,
    "booking.confirmFlight": confirm_flight,
    "booking.cancelFlight": cancel_flight,
    "booking.takePayment": take_payment,
    "booking.refundPayment": refund_payment,
}
