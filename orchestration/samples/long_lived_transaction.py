"""The long-lived-transaction functions, as aws-samples/aws-step-functions-long-lived-transactions publishes
them (order-new, order-update, payment-debit, payment-credit, inventory-reserve, inventory-release: Go, with
models/{order,payment,inventory}.go).

Each binds its event to ``models.Order`` (unknown fields such as ``error`` are dropped), does its work, then
fails on purpose when the order id starts with its test prefix, returning the custom error type the
definition's Catch names (errorType = the Go type name):

=================  ======  ======================
function           prefix  error
=================  ======  ======================
NewOrder           ``1``   ErrProcessOrder
UpdateOrder        ``11``  ErrUpdateOrderStatus
DebitPayment       ``2``   ErrProcessPayment
CreditPayment      ``22``  ErrProcessRefund
ReserveInventory   ``3``   ErrReserveInventory
ReleaseInventory   ``33``  ErrReleaseInventory
=================  ======  ======================

What the publisher reads back from DynamoDB (the debit a refund reverses, the reservation a release undoes)
is taken from the event when a previous step left it there, or rebuilt exactly as that step would have
written it. Transaction ids are derived from the request id instead of ``uuid.NewV4()``, so a retried
request gets the same ids.
"""

from __future__ import annotations

import uuid
from typing import Any

from orchestration.samples._lambda import FunctionError, Handler, Invocation

_IDS = uuid.UUID("3f0c7c2e-5a3b-4f7e-9d1e-2b6a1c9e8d71")
_ZERO_TIME = "0001-01-01T00:00:00Z"
_ITEM = ("item_id", "qty", "description", "unit_price")
_PAYMENT = ("merchant_id", "payment_amount", "transaction_id", "transaction_date", "order_id", "payment_type")
_INVENTORY = ("transaction_id", "transaction_date", "order_id", "items", "transaction_type")


def _omitempty(doc: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    """A Go struct marshalled with ``omitempty`` on every field: zero values are left out."""
    source = doc if isinstance(doc, dict) else {}
    return {k: source[k] for k in keys if source.get(k) not in (None, "", 0, [], {})}


def order_of(event: Any) -> dict[str, Any]:
    """The event as ``models.Order`` marshals it: nested structs (and a time.Time) are never omitted."""
    source = event if isinstance(event, dict) else {}
    order: dict[str, Any] = _omitempty(source, ("order_id",))
    order["order_date"] = source.get("order_date") or _ZERO_TIME
    order |= _omitempty(source, ("customer_id", "order_status"))
    items = [_omitempty(item, _ITEM) for item in source.get("items") or []]
    if items:
        order["items"] = items
    order["payment"] = _omitempty(source.get("payment"), _PAYMENT)
    order["inventory"] = _omitempty(source.get("inventory"), _INVENTORY)
    return order


def _fail_on(order: dict[str, Any], prefix: str, error: str, message: str) -> None:
    order_id = str(order.get("order_id", ""))
    if order_id[: len(prefix)] == prefix:
        raise FunctionError(error, f"{message} {order_id}")


def _transaction(call: Invocation, kind: str) -> dict[str, str]:
    return {
        "transaction_id": str(uuid.uuid5(_IDS, f"{call.request_id}:{kind}")),
        "transaction_date": call.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def _total(order: dict[str, Any]) -> float:
    return float(sum(item.get("unit_price", 0) * item.get("qty", 0) for item in order.get("items", [])))


def _debit(order: dict[str, Any], call: Invocation) -> dict[str, Any]:
    """``payment.Pay()`` on a payment of the order's total."""
    payment = {"merchant_id": "merch1", "payment_amount": _total(order), "order_id": order.get("order_id", "")}
    return _omitempty(payment | _transaction(call, "Debit") | {"payment_type": "Debit"}, _PAYMENT)


def _reservation(order: dict[str, Any], call: Invocation) -> dict[str, Any]:
    """``inventory.Reserve()`` of the order's items."""
    inventory = {"order_id": order.get("order_id", ""), "items": [i.get("item_id", "") for i in order.get("items", [])]}
    return _omitempty(inventory | _transaction(call, "Reserve") | {"transaction_type": "Reserve"}, _INVENTORY)


def new_order(event: Any, call: Invocation) -> Any:
    order = order_of({**(event if isinstance(event, dict) else {}), "order_status": "New"})
    _fail_on(order, "1", "ErrProcessOrder", "Unable to process order")
    return order


def update_order(event: Any, call: Invocation) -> Any:
    order = order_of(event)  # the stored copy is set to Pending; the reply is the event's order, unchanged
    _fail_on(order, "11", "ErrUpdateOrderStatus", "Unable to update order status for")
    return order


def debit_payment(event: Any, call: Invocation) -> Any:
    order = order_of(event)
    order["payment"] = _debit(order, call)
    _fail_on(order, "2", "ErrProcessPayment", "Unable to process payment for order")
    return order


def credit_payment(event: Any, call: Invocation) -> Any:
    order = order_of(event)
    debit = order["payment"] if order["payment"].get("payment_type") == "Debit" else _debit(order, call)
    refund = debit | _transaction(call, "Credit") | {"payment_type": "Credit"}
    refund["payment_amount"] = -debit.get("payment_amount", 0.0)
    order["payment"] = _omitempty(refund, _PAYMENT)
    _fail_on(order, "22", "ErrProcessRefund", "Unable to process refund for order")
    return order


def reserve_inventory(event: Any, call: Invocation) -> Any:
    order = order_of(event)
    order["inventory"] = _reservation(order, call)
    _fail_on(order, "3", "ErrReserveInventory", "Unable to update newInvTrans for order")
    return order


def release_inventory(event: Any, call: Invocation) -> Any:
    order = order_of(event)
    held = order["inventory"]
    reservation = held if held.get("transaction_type") == "Reserve" else _reservation(order, call)
    release = reservation | _transaction(call, "Release") | {"transaction_type": "Release"}
    order["inventory"] = _omitempty(release, _INVENTORY)
    _fail_on(order, "33", "ErrReleaseInventory", "Unable to release inventory for order")
    return order


FUNCTIONS: dict[str, Handler] = {
    "llt.NewOrder": new_order,
    "llt.UpdateOrder": update_order,
    "llt.DebitPayment": debit_payment,
    "llt.CreditPayment": credit_payment,
    "llt.ReserveInventory": reserve_inventory,
    "llt.ReleaseInventory": release_inventory,
}
