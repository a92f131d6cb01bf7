"""Message contracts: the envelope and every command, event and reply that crosses the broker.

Commands are imperative (``ChargePayment``), events past tense (``PaymentCharged``). A ``Failure`` is an
event that reports a business failure; in orchestration mode it becomes the task's error, named after
its class (``OutOfStock``), which is what an ASL ``Catch`` matches.

Every field is bounded (see "Bounds" below): a value out of bounds fails validation, so it is refused where it
enters (the runner's edge, a consumer's decode) and never reaches a handler or a database.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from typing import Annotated, Any, ClassVar, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from shared.domain.ids import new_id, utcnow

# --- Bounds -----------------------------------------------------------------------------------

MAX_MESSAGE_BYTES = 64 * 1024
"""The largest message body a consumer accepts and ``Broker.publish`` sends; a bigger one is dead-lettered."""
MAX_DOCUMENT_BYTES = 32 * 1024
"""The largest free-form JSON document (a generic task's input or output, a notification), encoded."""
MAX_AMOUNT_CENTS = 10**12
"""Ten billion in currency units: far above any card, far below SQLite's 64-bit integers, even summed."""
MAX_QUANTITY = 10_000
MAX_LINES = 50
"""The most lines one order may have."""
LineIndex = Annotated[int, Field(ge=0, lt=MAX_LINES)]
"""A line of an order, counted from 0."""

CURRENCY = "EUR"
"""Every amount is in cents of this currency (the shop sells in one)."""


def money(cents: int) -> str:
    """An amount as people read it: ``49.99 EUR``, not ``4999``."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100:,}.{abs(cents) % 100:02d} {CURRENCY}"


Identifier = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[!-~]+$")]
"""Ids and names: 1 to 128 printable ASCII characters, no spaces or control characters."""
Sku = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
CardNumber = Annotated[str, StringConstraints(pattern=r"^[0-9]{12,19}$")]
Place = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]
"""A destination: any language's letters, no control characters."""
Amount = Annotated[int, Field(ge=0, le=MAX_AMOUNT_CENTS)]
Quantity = Annotated[int, Field(ge=1, le=MAX_QUANTITY)]


def _bounded_document(value: Any) -> Any:
    size = len(json.dumps(value, separators=(",", ":"), default=str).encode())
    if size > MAX_DOCUMENT_BYTES:
        raise PydanticCustomError("document_too_large", "document of {size} bytes, at most {limit} allowed",
                                  {"size": size, "limit": MAX_DOCUMENT_BYTES})  # fmt: skip
    return value


def _shortened(limit: int) -> BeforeValidator:
    """Text our own code builds from an exception or an input is cut to ``limit`` characters rather than
    failing the message that reports it (a longer one from outside is refused by the body's size first)."""

    def cut(value: Any) -> Any:
        if isinstance(value, str) and len(value) > limit:
            return value[: limit - 14] + " … (shortened)"
        return value

    return BeforeValidator(cut)


Text = Annotated[str, _shortened(1024), StringConstraints(max_length=1024)]
"""A human-readable reason, at most 1024 characters."""
Cause = Annotated[str, _shortened(MAX_DOCUMENT_BYTES), StringConstraints(max_length=MAX_DOCUMENT_BYTES)]
"""An error's cause, often an exception's text, at most 32 768 characters."""

Document = Annotated[Any, AfterValidator(_bounded_document)]
"""A free-form JSON document, at most ``MAX_DOCUMENT_BYTES`` encoded."""

BOUND_ERRORS = frozenset({"greater_than", "greater_than_equal", "less_than", "less_than_equal", "string_too_long",
                          "string_too_short", "too_long", "too_short", "document_too_large"})  # fmt: skip
"""pydantic's error types that mean "out of bounds" rather than "malformed"."""


M = TypeVar("M", bound="Message")


class Message(BaseModel):
    """The common envelope: every message says who it is, which saga it belongs to and what caused it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    message_id: Identifier = Field(default_factory=new_id)
    correlation_id: Identifier = Field(description="the order id, which is also the saga id")
    causation_id: Identifier | None = Field(default=None, description="message_id of the message that caused this one")
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

    reason: Text


class OrderLine(BaseModel):
    """One line of an order: so many of one SKU."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sku: Sku
    quantity: Quantity


class Order(BaseModel):
    """What the customer ordered: one or more lines, paid by card (``amount_cents`` is the order's total), sent
    to one destination.

    A one-line order may also be written the way sagalab wrote every order before orders had lines, with
    ``sku`` and ``quantity`` beside the other fields; it is read as one line and always sent as ``lines``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    order_id: Identifier
    customer_id: Identifier
    lines: Annotated[tuple[OrderLine, ...], Field(min_length=1, max_length=MAX_LINES)]
    amount_cents: Amount
    card_number: CardNumber
    destination: Place

    @model_validator(mode="before")
    @classmethod
    def _one_line_form(cls, data: Any) -> Any:
        if isinstance(data, dict) and "lines" not in data and ("sku" in data or "quantity" in data):
            data = dict(data)
            data["lines"] = [{"sku": data.pop("sku", None), "quantity": data.pop("quantity", None)}]
        return data

    def line(self, index: int) -> OrderLine:
        """The order's line ``index`` (counted from 0); a ``ValueError`` names the order when it has no such line."""
        if not 0 <= index < len(self.lines):
            raise ValueError(f"order {self.order_id} has {len(self.lines)} line(s), no line {index}")
        return self.lines[index]

    def with_skus(self, rename: dict[str, str]) -> Order:
        """The same order with its lines' SKUs renamed (those ``rename`` names)."""
        lines = tuple(line.model_copy(update={"sku": rename.get(line.sku, line.sku)}) for line in self.lines)
        return self.model_copy(update={"lines": lines})

    def quantities(self) -> dict[str, int]:
        """How many of each SKU the order wants, all lines together."""
        wanted: dict[str, int] = {}
        for line in self.lines:
            wanted[line.sku] = wanted.get(line.sku, 0) + line.quantity
        return wanted


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
    payment_id: Identifier
    amount_cents: Amount


class PaymentDeclined(Failure):
    owner: ClassVar[str] = "payment"
    order: Order


class RefundPayment(Command):
    owner: ClassVar[str] = "payment"
    order_id: Identifier


class PaymentRefunded(Event):
    owner: ClassVar[str] = "payment"
    order_id: Identifier
    amount_cents: Amount


class RefundFailed(Failure):
    """A refund that failed for good (its handler gave up): the order needs a person (choreography)."""

    owner: ClassVar[str] = "payment"
    order_id: Identifier


# --- inventory --------------------------------------------------------------------------------


class ReserveStock(Command):
    """Reserve one line of the order (``line``), or every line at once (no ``line``: all or nothing)."""

    owner: ClassVar[str] = "inventory"
    order: Order
    line: LineIndex | None = None


class StockReserved(Event):
    owner: ClassVar[str] = "inventory"
    order: Order
    line: LineIndex | None = None
    """The line reserved (none: every line)."""


class OutOfStock(Failure):
    owner: ClassVar[str] = "inventory"
    order: Order
    line: LineIndex | None = None
    """The line that could not be reserved (none: the order was reserved as a whole)."""


class ReleaseStock(Command):
    """Give back what was reserved for one line of the order (``line``), or for every line (no ``line``)."""

    owner: ClassVar[str] = "inventory"
    order_id: Identifier
    line: LineIndex | None = None


class StockReleased(Event):
    owner: ClassVar[str] = "inventory"
    order_id: Identifier
    line: LineIndex | None = None
    quantity: Annotated[int, Field(ge=0, le=MAX_QUANTITY * MAX_LINES)]
    """How much went back on the shelf, every line released together."""


class StockReleaseFailed(Failure):
    """A release that failed for good: the compensations go on without it (choreography refunds anyway), and
    the order is parked for a person, naming the step."""

    owner: ClassVar[str] = "inventory"
    order_id: Identifier
    line: LineIndex | None = None


# --- shipping ---------------------------------------------------------------------------------


class ScheduleShipment(Command):
    owner: ClassVar[str] = "shipping"
    order: Order


class ShipmentScheduled(Event):
    owner: ClassVar[str] = "shipping"
    order: Order
    shipment_id: Identifier


class ShipmentFailed(Failure):
    owner: ClassVar[str] = "shipping"
    order: Order


class CancelShipment(Command):
    owner: ClassVar[str] = "shipping"
    order_id: Identifier


class ShipmentCancelled(Event):
    owner: ClassVar[str] = "shipping"
    order_id: Identifier
    was_scheduled: bool


# --- the generic participant protocol (orchestration) -----------------------------------------


class InvokeTask(Command):
    """A task for a participant that is not one of sagalab's typed services (any language).

    ``function`` is the name the resource map gives the task (a Lambda function name, say); ``input``
    is the ASL task input.
    """

    function: Identifier
    input: Document = None


class TaskSucceeded(Event):
    """A generic participant's answer: the task's output document."""

    output: Document = None


class TaskFailed(Event):
    """A task that raised instead of answering; ``error`` is what ASL ``Retry``/``Catch`` match."""

    error: Annotated[str, StringConstraints(max_length=256)]
    cause: Cause = ""


class TaskHeartbeat(Event):
    """A generic participant still working on a task: ``causation_id`` is the command's ``message_id``. It
    restarts the Task's ``HeartbeatSeconds``; it is not an answer (``TaskSucceeded``/``TaskFailed`` still is)."""


class Notification(Event):
    """What an ``arn:aws:states:::sns:publish`` task publishes."""

    owner: ClassVar[str] = "notifications"
    topic: Annotated[str, StringConstraints(max_length=256, pattern=r"^[!-~]*$")]
    message: Document = None


MESSAGE_TYPES: dict[str, type[Message]] = {
    cls.__name__: cls
    for cls in (
        PlaceOrder, OrderPlaced,
        ChargePayment, PaymentCharged, PaymentDeclined, RefundPayment, PaymentRefunded, RefundFailed,
        ReserveStock, StockReserved, OutOfStock, ReleaseStock, StockReleased, StockReleaseFailed,
        ScheduleShipment, ShipmentScheduled, ShipmentFailed, CancelShipment, ShipmentCancelled,
        InvokeTask, TaskSucceeded, TaskFailed, TaskHeartbeat, Notification,
    )
}  # fmt: skip
"""Every message type sagalab speaks, by the name carried in the AMQP ``type`` property."""


def routing_key(message: Message | type[Message], owner: str | None = None) -> str:
    """The one place a message class maps to its routing key: ``<owner>.<TypeName>``.

    ``owner`` overrides the class's own owner for messages any participant can handle or send
    (``InvokeTask`` to ``flights``, ``TaskFailed`` from ``payment``).
    """
    cls = message if isinstance(message, type) else type(message)
    return f"{owner or cls.owner or 'any'}.{cls.__name__}"


@cache
def has_field(cls: type[BaseModel], name: str) -> bool:
    """Whether a message class declares the field. Asked of a message on every delivery, so neither
    ``hasattr(message, name)`` (pydantic raises, and catches, an AttributeError for a field a model lacks: a few
    microseconds each) nor ``cls.model_fields`` (a property building its answer) but a table."""
    return name in cls.model_fields


def line_of(message: Message) -> int | None:
    """The order line a message is about; None for the order as a whole, or a message type without lines."""
    return message.line if has_field(type(message), "line") else None  # type: ignore[attr-defined, no-any-return]
