"""The reserve-stock workflow's service integrations, as aws-samples/step-functions-workflows-collection publishes
them (inventory-management-sam: statemachine/reserve-stock-statemachine.asl.json, the table its
lambda/create-initial-inventory/index.js fills, and the order event lambda/send-new-order-received-event sends).

The definition calls DynamoDB and EventBridge directly (``arn:aws:states:::dynamodb:getItem`` ...); the resource
map binds each of those resources to a function here that answers as the service does:
- ``getItem`` returns ``{"Item": {...}}`` in DynamoDB's typed form (``{"S": ...}``, ``{"N": "10"}``) for a product
  of the publisher's initial inventory, or ``{}`` when the key is unknown (then the definition's ResultSelector
  selects nothing and the execution fails with States.Runtime, as on AWS);
- ``updateItem`` and ``putItem`` return ``{}`` (no ReturnValues asked);
- ``putEvents`` returns one EventId per entry and ``FailedEntryCount`` 0.

The publisher keys its products by random UUIDs; here each product's id is its name (``tv``, ``laptop`` ...),
so an input can name one. The table is not changed by ``updateItem``: every execution sees the initial stock.
Input (the ``detail`` of the publisher's ``new-order-received`` event): ``{"orderId", "productId", "quantity"}``.
"""

from __future__ import annotations

import uuid
from typing import Any

from orchestration.samples._lambda import FunctionError, Handler, Invocation

PRODUCTS: dict[str, dict[str, Any]] = {
    "tv": {"stock": 10, "threshold": 2, "minPOAmount": 10},
    "laptop": {"stock": 20, "threshold": 5, "minPOAmount": 15},
    "keyboard": {"stock": 30, "threshold": 10, "minPOAmount": 20},
    "mouse": {"stock": 50, "threshold": 15, "minPOAmount": 30},
    "monitor": {"stock": 25, "threshold": 4, "minPOAmount": 10},
    "desk": {"stock": 100, "threshold": 20, "minPOAmount": 40},
    "chair": {"stock": 40, "threshold": 12, "minPOAmount": 30},
}
"""The publisher's initial inventory: every product ``IN STOCK``."""


def _typed(name: str, product: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {"id": {"S": name}, "name": {"S": name}, "status": {"S": "IN STOCK"}}
    item.update({key: {"N": str(value)} for key, value in product.items()})
    return item


def _key(event: Any) -> str:
    key = event.get("Key", {}).get("id", {}) if isinstance(event, dict) else {}
    if not isinstance(key, dict) or not isinstance(key.get("S"), str):
        raise FunctionError("DynamoDB.AmazonDynamoDBException", "The provided key element does not match the schema")
    return str(key["S"])


def get_item(event: Any, call: Invocation) -> Any:
    name = _key(event)
    product = PRODUCTS.get(name)
    return {"Item": _typed(name, product)} if product is not None else {}


def update_item(event: Any, call: Invocation) -> Any:
    _key(event)
    return {}


def put_item(event: Any, call: Invocation) -> Any:
    if not isinstance(event, dict) or not isinstance(event.get("Item"), dict):
        raise FunctionError("DynamoDB.AmazonDynamoDBException", "One or more parameter values were invalid")
    return {}


def put_events(event: Any, call: Invocation) -> Any:
    entries = event.get("Entries", []) if isinstance(event, dict) else []
    ids = [str(uuid.uuid5(uuid.NAMESPACE_URL, f"{call.request_id}/{index}")) for index in range(len(entries))]
    return {"Entries": [{"EventId": event_id} for event_id in ids], "FailedEntryCount": 0}


FUNCTIONS: dict[str, Handler] = {
    "inventory.getItem": get_item,
    "inventory.updateItem": update_item,
    "inventory.putItem": put_item,
    "inventory.putEvents": put_events,
}
