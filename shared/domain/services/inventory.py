"""Inventory: reserve stock for an order's lines, release it when the saga is undone.

A command names one line of the order (``line``, counted from 0) or none: then every line is reserved as one
step, all or nothing, and released together. Reservations are kept per line either way, so a saga that
reserves line by line can undo exactly the lines that were reserved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from shared.domain.contracts import OutOfStock, ReleaseStock, ReserveStock, StockReleased, StockReserved

ReservationStatus = Literal["reserved", "released", "cancelled"]

EVERY_LINE = -1
"""Where the tombstone of a whole-order release that came before any reservation is kept."""


@dataclass(frozen=True)
class Reservation:
    sku: str
    quantity: int
    status: ReservationStatus
    """``cancelled`` marks a line (or, at ``EVERY_LINE``, the order) released before anything was reserved, so a
    late reserve is refused."""


class StockRepository(Protocol):
    """Where Inventory keeps stock levels and reservations."""

    def available(self, sku: str) -> int | None: ...
    def adjust_available(self, sku: str, delta: int) -> None: ...
    def reservations(self, order_id: str) -> dict[int, Reservation]:
        """The order's reservations by line (a whole-order tombstone at ``EVERY_LINE``)."""
        ...
    def save_reservation(self, order_id: str, line: int, reservation: Reservation) -> None: ...


def reserve_stock(cmd: ReserveStock, stock: StockRepository) -> StockReserved | OutOfStock:
    """Reserve the line's quantity of its SKU (every line's, all or nothing, when no line is named), or report
    it out of stock."""
    order = cmd.order
    try:
        wanted = {cmd.line: order.line(cmd.line)} if cmd.line is not None else dict(enumerate(order.lines))
    except ValueError as e:
        return cmd.caused(OutOfStock, order=order, line=cmd.line, reason=str(e))
    held = stock.reservations(order.order_id)
    if any(r.status != "reserved" for i, r in held.items() if i in wanted or i == EVERY_LINE):
        return cmd.caused(OutOfStock, order=order, line=cmd.line, reason="order was cancelled before stock was reserved")
    missing = {i: line for i, line in wanted.items() if i not in held}
    needed: dict[str, int] = {}
    for line in missing.values():
        needed[line.sku] = needed.get(line.sku, 0) + line.quantity
    for sku, quantity in needed.items():
        available = stock.available(sku)
        if available is None:
            return cmd.caused(OutOfStock, order=order, line=cmd.line, reason=f"unknown SKU {sku}")
        if available < quantity:
            return cmd.caused(OutOfStock, order=order, line=cmd.line,
                              reason=f"{available} of {sku} left, {quantity} wanted")  # fmt: skip
    for i, line in missing.items():
        stock.adjust_available(line.sku, -line.quantity)
        stock.save_reservation(order.order_id, i, Reservation(line.sku, line.quantity, "reserved"))
    return cmd.caused(StockReserved, order=order, line=cmd.line)


def release_stock(cmd: ReleaseStock, stock: StockRepository) -> StockReleased:
    """Put the line's reservation (every line's, when no line is named) back on the shelf; where nothing was
    reserved yet, leave a tombstone so a late reserve is refused."""
    held = stock.reservations(cmd.order_id)
    if cmd.line is None and not held:
        stock.save_reservation(cmd.order_id, EVERY_LINE, Reservation(sku="", quantity=0, status="cancelled"))
    if cmd.line is not None and cmd.line not in held:
        stock.save_reservation(cmd.order_id, cmd.line, Reservation(sku="", quantity=0, status="cancelled"))
    released = 0
    for i, r in sorted(held.items()):
        if r.status == "reserved" and (cmd.line is None or cmd.line == i):
            stock.adjust_available(r.sku, r.quantity)
            stock.save_reservation(cmd.order_id, i, Reservation(r.sku, r.quantity, "released"))
            released += r.quantity
    return cmd.caused(StockReleased, order_id=cmd.order_id, line=cmd.line, quantity=released)
