"""Shipping: schedule the parcel for an order, cancel it when the saga is undone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from shared.domain.contracts import (
    CancelShipment,
    ScheduleShipment,
    ShipmentCancelled,
    ShipmentFailed,
    ShipmentScheduled,
)
from shared.domain.ids import new_id

UNSERVED_DESTINATIONS = frozenset({"Atlantis", "Mars"})
"""Destinations no carrier serves: an order sent there fails at the last step of the saga."""


@dataclass(frozen=True)
class Shipment:
    shipment_id: str
    status: Literal["scheduled", "cancelled"]


class ShipmentRepository(Protocol):
    """Where Shipping keeps its shipments."""

    def shipment(self, order_id: str) -> Shipment | None: ...
    def save_shipment(self, order_id: str, shipment: Shipment) -> None: ...


def schedule_shipment(cmd: ScheduleShipment, shipments: ShipmentRepository) -> ShipmentScheduled | ShipmentFailed:
    """Book a carrier for the order, unless nobody delivers there or the order was cancelled."""
    order = cmd.order
    existing = shipments.shipment(order.order_id)
    if existing is not None and existing.status == "scheduled":
        return cmd.caused(ShipmentScheduled, order=order, shipment_id=existing.shipment_id)
    if existing is not None:
        return cmd.caused(ShipmentFailed, order=order, reason="order was cancelled before it was shipped")
    if order.destination in UNSERVED_DESTINATIONS:
        return cmd.caused(ShipmentFailed, order=order, reason=f"no carrier delivers to {order.destination}")
    shipment = Shipment(shipment_id=new_id(), status="scheduled")
    shipments.save_shipment(order.order_id, shipment)
    return cmd.caused(ShipmentScheduled, order=order, shipment_id=shipment.shipment_id)


def cancel_shipment(cmd: CancelShipment, shipments: ShipmentRepository) -> ShipmentCancelled:
    """Cancel the order's shipment; with none yet, record the cancellation so a late booking is refused."""
    existing = shipments.shipment(cmd.order_id)
    was_scheduled = existing is not None and existing.status == "scheduled"
    shipment_id = existing.shipment_id if existing is not None else ""
    shipments.save_shipment(cmd.order_id, Shipment(shipment_id=shipment_id, status="cancelled"))
    return cmd.caused(ShipmentCancelled, order_id=cmd.order_id, was_scheduled=was_scheduled)
