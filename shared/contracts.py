"""Message contracts: the envelope and every command, event and reply that crosses the broker.

Commands are imperative (``ChargePayment``), events past tense (``PaymentCharged``). A ``Failure`` is an
event that reports a business failure; in orchestration mode it becomes the task's error, named after
its class (``OutOfStock``), which is what an ASL ``Catch`` matches.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field


def new_id() -> str:
    """A fresh random identifier for messages, payments and shipments."""
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


M = TypeVar("M", bound="Message")


class Message(BaseModel):
    """The common envelope: every message says who it is, which saga it belongs to and what caused it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    message_id: str = Field(default_factory=new_id)
    correlation_id: str = Field(description="the order id, which is also the saga id")
    causation_id: str | None = Field(default=None, description="message_id of the message that caused this one")
    occurred_at: datetime = Field(default_factory=utcnow)

    owner: ClassVar[str] = ""
    """The service that handles this command or emits this event; the first part of its routing key."""

    def caused(self, cls: type[M], **fields: Any) -> M:
        """Build the next message of this saga, caused by this one."""
        return cls(correlation_id=self.correlation_id, causation_id=self.message_id, **fields)

    def business_fields(self) -> dict[str, Any]:
        """The message without its envelope, as JSON-ready data (an orchestration task's output)."""
        return self.model_dump(mode="json", exclude=set(Message.model_fields))


class Command(Message):
    """Asks one service to do something; it answers with an event."""


class Event(Message):
    """Tells whoever listens that something happened."""


class Failure(Event):
    """An event reporting a business failure: a returned outcome, never an exception."""

    reason: str


class Order(BaseModel):
    """What the customer ordered: one line, paid by card, sent to one destination."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    order_id: str
    customer_id: str
    sku: str
    quantity: int = Field(gt=0)
    amount_cents: int = Field(ge=0)
    card_number: str
    destination: str


# --- order service / orchestrator -------------------------------------------------------------


class PlaceOrder(Command):
    owner: ClassVar[str] = "orders"
    order: Order


class OrderPlaced(Event):
    owner: ClassVar[str] = "orders"
    order: Order


# --- payment ----------------------------------------------------------------------------------


class ChargePayment(Command):
    owner: ClassVar[str] = "payment"
    order: Order


class PaymentCharged(Event):
    owner: ClassVar[str] = "payment"
    order: Order
    payment_id: str
    amount_cents: int


class PaymentDeclined(Failure):
    owner: ClassVar[str] = "payment"
    order: Order


class RefundPayment(Command):
    owner: ClassVar[str] = "payment"
    order_id: str


class PaymentRefunded(Event):
    owner: ClassVar[str] = "payment"
    order_id: str
    amount_cents: int


# --- inventory --------------------------------------------------------------------------------


class ReserveStock(Command):
    owner: ClassVar[str] = "inventory"
    order: Order


class StockReserved(Event):
    owner: ClassVar[str] = "inventory"
    order: Order


class OutOfStock(Failure):
    owner: ClassVar[str] = "inventory"
    order: Order


class ReleaseStock(Command):
    owner: ClassVar[str] = "inventory"
    order_id: str


class StockReleased(Event):
    owner: ClassVar[str] = "inventory"
    order_id: str
    quantity: int


# --- shipping ---------------------------------------------------------------------------------


class ScheduleShipment(Command):
    owner: ClassVar[str] = "shipping"
    order: Order


class ShipmentScheduled(Event):
    owner: ClassVar[str] = "shipping"
    order: Order
    shipment_id: str


class ShipmentFailed(Failure):
    owner: ClassVar[str] = "shipping"
    order: Order


class CancelShipment(Command):
    owner: ClassVar[str] = "shipping"
    order_id: str


class ShipmentCancelled(Event):
    owner: ClassVar[str] = "shipping"
    order_id: str
    was_scheduled: bool


# --- the generic participant protocol (orchestration) -----------------------------------------


class InvokeTask(Command):
    """A task for a participant that is not one of sagalab's typed services (any language).

    ``function`` is the name the resource map gives the task (a Lambda function name, say); ``input``
    is the ASL task input.
    """

    function: str
    input: Any = None


class TaskSucceeded(Event):
    """A generic participant's answer: the task's output document."""

    output: Any = None


class TaskFailed(Event):
    """A task that raised instead of answering; ``error`` is what ASL ``Retry``/``Catch`` match."""

    error: str
    cause: str = ""


class Notification(Event):
    """What an ``arn:aws:states:::sns:publish`` task publishes."""

    owner: ClassVar[str] = "notifications"
    topic: str
    message: Any = None


MESSAGE_TYPES: dict[str, type[Message]] = {
    cls.__name__: cls
    for cls in (
        PlaceOrder, OrderPlaced,
        ChargePayment, PaymentCharged, PaymentDeclined, RefundPayment, PaymentRefunded,
        ReserveStock, StockReserved, OutOfStock, ReleaseStock, StockReleased,
        ScheduleShipment, ShipmentScheduled, ShipmentFailed, CancelShipment, ShipmentCancelled,
        InvokeTask, TaskSucceeded, TaskFailed, Notification,
    )
}  # fmt: skip
"""Every message type sagalab speaks, by the name carried in the AMQP ``type`` property."""


COMPENSATING: frozenset[str] = frozenset(
    {"RefundPayment", "PaymentRefunded", "ReleaseStock", "StockReleased", "CancelShipment", "ShipmentCancelled"}
)
"""The messages that undo a step: what traces and reports colour as compensation."""


def kind_of(type_name: str) -> str:
    """``forward``, ``failure`` or ``compensation``: how a message type reads in a trace."""
    if type_name in COMPENSATING:
        return "compensation"
    cls = MESSAGE_TYPES.get(type_name)
    if cls is not None and (issubclass(cls, Failure) or cls is TaskFailed):
        return "failure"
    return "forward"


def routing_key(message: Message | type[Message], owner: str | None = None) -> str:
    """The one place a message class maps to its routing key: ``<owner>.<TypeName>``.

    ``owner`` overrides the class's own owner for messages any participant can handle or send
    (``InvokeTask`` to ``flights``, ``TaskFailed`` from ``payment``).
    """
    cls = message if isinstance(message, type) else type(message)
    return f"{owner or cls.owner or 'any'}.{cls.__name__}"
