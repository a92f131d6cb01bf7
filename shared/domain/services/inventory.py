"""Inventory: reserve stock for an order, release it when the saga is undone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from shared.domain.contracts import OutOfStock, ReleaseStock, ReserveStock, StockReleased, StockReserved

ReservationStatus = Literal["reserved", "released", "cancelled"]


@dataclass(frozen=True)
class Reservation:
    sku: str
    quantity: int
    status: ReservationStatus
    """``cancelled`` marks an order released before anything was reserved, so a late reserve is refused."""


class StockRepository(Protocol):
    """Where Inventory keeps stock levels and reservations."""

    def available(self, sku: str) -> int | None: ...
    def adjust_available(self, sku: str, delta: int) -> None: ...
    def reservation(self, order_id: str) -> Reservation | None: ...
    def save_reservation(self, order_id: str, reservation: Reservation) -> None: ...


def reserve_stock(cmd: ReserveStock, stock: StockRepository) -> StockReserved | OutOfStock:
    """Reserve the order's quantity of its SKU, or report it out of stock."""
    order = cmd.order
    existing = stock.reservation(order.order_id)
    if existing is not None and existing.status == "reserved":
        return cmd.caused(StockReserved, order=order)
    if existing is not None:
        return cmd.caused(OutOfStock, order=order, reason="order was cancelled before stock was reserved")
    available = stock.available(order.sku)
    if available is None:
        return cmd.caused(OutOfStock, order=order, reason=f"unknown SKU {order.sku}")
    if available < order.quantity:
        return cmd.caused(OutOfStock, order=order, reason=f"{available} of {order.sku} left, {order.quantity} wanted")
    stock.adjust_available(order.sku, -order.quantity)
    stock.save_reservation(order.order_id, Reservation(order.sku, order.quantity, "reserved"))
    return cmd.caused(StockReserved, order=order)


def release_stock(cmd: ReleaseStock, stock: StockRepository) -> StockReleased:
    """Put a reservation back on the shelf; with none yet, mark the order so a late reserve is refused."""
    existing = stock.reservation(cmd.order_id)
    if existing is None:
        stock.save_reservation(cmd.order_id, Reservation(sku="", quantity=0, status="cancelled"))
        return cmd.caused(StockReleased, order_id=cmd.order_id, quantity=0)
    if existing.status != "reserved":
        return cmd.caused(StockReleased, order_id=cmd.order_id, quantity=0)
    stock.adjust_available(existing.sku, existing.quantity)
    stock.save_reservation(cmd.order_id, Reservation(existing.sku, existing.quantity, "released"))
    return cmd.caused(StockReleased, order_id=cmd.order_id, quantity=existing.quantity)
