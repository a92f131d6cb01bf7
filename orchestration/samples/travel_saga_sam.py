"""The travel saga's functions, as aws-samples/step-functions-workflows-collection publishes them
(saga-pattern-sam/lambdas/{flights,rentals,payment}/*.ts, Node.js).

Each reads the whole state as its event (``Payload.$: $``), fails with ``throw new Error(...)`` when
``run_type`` names its step, and otherwise returns ``{"status": "ok", ...}``; the ids are the publisher's
``hashIt`` of the same fields (quirks included: ``reserveFlight`` hashes ``event.depart + event.arrive``,
which the input does not have, and ``processPayment`` overwrites the flight id with the car's). The
compensations never fail on purpose.
"""

from __future__ import annotations

from typing import Any

from orchestration.samples._lambda import Handler, Invocation, defined, field, hash_code, js_error, js_str


def _fail_if(event: Any, run_type: str, message: str) -> None:
    if field(event, "run_type") == run_type:
        raise js_error(message)


def _booking_id(event: Any, result: str) -> str:
    """``event.<result>.Payload.booking_id`` when the step ran, else ``''`` (lambda:invoke wraps results)."""
    if not defined(field(event, result)):
        return ""
    return js_str(field(event, result, "Payload", "booking_id"))


def reserve_flight(event: Any, call: Invocation) -> Any:
    booking_id = hash_code(js_str(field(event, "depart")) + js_str(field(event, "arrive")))
    _fail_if(event, "failFlightsReservation", "Failed to book the flights")
    return {"status": "ok", "booking_id": booking_id}


def confirm_flight(event: Any, call: Invocation) -> Any:
    _fail_if(event, "failFlightsConfirmation", "Failed to book the flights")
    return {"status": "ok", "booking_id": _booking_id(event, "ReserveFlightResult")}


def cancel_flight(event: Any, call: Invocation) -> Any:
    return {"status": "ok"}


def reserve_rental(event: Any, call: Invocation) -> Any:
    booking_id = hash_code(js_str(field(event, "rental_from")) + js_str(field(event, "rental_to")))
    _fail_if(event, "failCarRentalReservation", "Failed to book the car rental")
    return {"status": "ok", "booking_id": booking_id}


def confirm_rental(event: Any, call: Invocation) -> Any:
    _fail_if(event, "failCarRentalConfirmation", "Failed to book the car rental")
    return {"status": "ok", "booking_id": _booking_id(event, "ReserveCarRentalResult")}


def cancel_rental(event: Any, call: Invocation) -> Any:
    return {"status": "ok"}


def process_payment(event: Any, call: Invocation) -> Any:
    flight = _booking_id(event, "ReserveFlightResult")
    if defined(field(event, "ReserveCarRentalResult")):
        flight = _booking_id(event, "ReserveCarRentalResult")  # sic: the publisher assigns the car id here
    payment_id = hash_code(flight + "")
    _fail_if(event, "failPayment", "Failed to process payment")
    return {"status": "ok", "payment_id": payment_id}


def refund_payment(event: Any, call: Invocation) -> Any:
    return {"status": "ok"}


FUNCTIONS: dict[str, Handler] = {
    "travel.reserveFlight": reserve_flight,
    "travel.confirmFlight": confirm_flight,
    "travel.cancelFlight": cancel_flight,
    "travel.reserveRental": reserve_rental,
    "travel.confirmRental": confirm_rental,
    "travel.cancelRental": cancel_rental,
    "travel.processPayment": process_payment,
    "travel.refundPayment": refund_payment,
}
