"""The order saga's functions, as aws-samples/saga-orchestration-netcore-blog publishes them
(saga-orchestration/<Name>Lambda/src/<Name>Lambda/Function.cs, .NET).

None of them throws: each binds its event to ``OrderDetails`` (ItemId, CustomerId, MessageId, FailAtStage,
Status; other fields are dropped, null ones left out of the reply) and returns it with ``Status`` set, or
``ERROR`` when ``FailAtStage`` names its stage; the definition's Choice states branch on that. RemoveOrder
returns the bare string ``"ORDER_REMOVED"``. ``FailAtStage`` is read with ``Enum.TryParse``, so a missing or
unknown stage parses as the enum's default, ``PlaceOrder`` (value 0), and fails the first step.
"""

from __future__ import annotations

from typing import Any

from orchestration.samples._lambda import Handler, Invocation

STAGES = {"PlaceOrder": 0, "MakePayment": 1, "UpdateInventory": 2, "SendNotification": 3, "None": 4}
"""The publisher's ``StageNameEnum``."""
_FIELDS = ("ItemId", "CustomerId", "MessageId", "FailAtStage", "Status")


def stage_of(value: Any) -> int:
    """``Enum.TryParse(value, out StageNameEnum stage)``: a name, or a number; anything else is 0."""
    if not isinstance(value, str):
        return 0
    text = value.strip()
    if text in STAGES:
        return STAGES[text]
    try:
        return int(text)
    except ValueError:
        return 0


def order_details(event: Any) -> dict[str, Any]:
    """The event bound to ``OrderDetails`` (System.Text.Json, case-insensitive property names)."""
    source = {k.lower(): v for k, v in event.items()} if isinstance(event, dict) else {}
    return {name: source.get(name.lower()) for name in _FIELDS}


def _reply(details: dict[str, Any]) -> dict[str, Any]:
    """Serialised as the Lambda serializer does: null properties are left out."""
    return {k: v for k, v in details.items() if v is not None}


def _step(stage: str, done: str) -> Handler:
    def handler(event: Any, call: Invocation) -> Any:
        details = order_details(event)
        details["Status"] = "ERROR" if stage_of(details["FailAtStage"]) == STAGES[stage] else done
        return _reply(details)

    handler.__name__ = stage
    return handler


def _revert(status: str) -> Handler:
    def handler(event: Any, call: Invocation) -> Any:
        details = order_details(event)
        details["Status"] = status
        return _reply(details)

    return handler


def remove_order(event: Any, call: Invocation) -> Any:
    return "ORDER_REMOVED"


FUNCTIONS: dict[str, Handler] = {
    "order.PlaceOrder": _step("PlaceOrder", "ORDER_PLACED"),
    "order.UpdateInventory": _step("UpdateInventory", "INVENTORY_UPDATED"),
    "order.MakePayment": _step("MakePayment", "PAYMENT_COMPLETED"),
    "order.RevertPayment": _revert("PAYMENT_REVERTED"),
    "order.RevertInventory": _revert("INVENTORY_REVERTED"),
    "order.RemoveOrder": remove_order,
}
