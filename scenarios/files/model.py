"""The scenario file's typed model: every table and key a scenario file may hold, with what each means.

The JSON Schema a text editor checks the file against is generated from these classes (``sagalab schema``). Unknown
keys are refused (``extra="forbid"``), so a typo is an error with a suggestion rather than a setting silently lost.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import core_schema

Seconds = Annotated[float, Field(ge=0)]
UnsafeSwitch = Literal["no-inbox", "no-outbox", "ack-first", "no-barrier", "no-business-key", "no-failure-events",
                       "no-pinning", "no-publisher-check"]  # fmt: skip
"""The defences a scenario may switch off (``shared.config.UNSAFE_SWITCHES``; a unit test keeps them equal)."""
Sku = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class Repeat(_Model):
    """A long text written short: ``{ repeat = "c", times = 100_000 }`` is a 100 000-character string."""

    repeat: str
    times: Annotated[int, Field(ge=0, le=10_000_000)]


Text = str | Repeat


class LineFields(_Model):
    """One line of an order: so many of one SKU."""

    sku: Text
    quantity: int = 1


class OrderFields(_Model):
    """Fields of an order, each replacing what a good order would have (a card that pays, one KEYBOARD at
    49.99, a city Shipping serves, ids made for the run). Out-of-bounds values are allowed on purpose: the edge
    refuses such an order with its reason, and the run counts it (``rejected`` in ``[expect]``)."""

    order_id: Text | None = None
    """Usually made for you (``ord-<run token>-0001``); fix it only to aim a fault at one order."""
    customer_id: Text | None = None
    sku: Text | None = None
    """A one-line order's SKU (``KEYBOARD``); ``lines`` writes an order of several lines instead."""
    quantity: int | None = None
    lines: tuple[LineFields, ...] | None = None
    """An order of several lines, reserved line by line: ``lines = [{ sku = "MOUSE" }, { sku = "DOCK", quantity = 2
    }]``; ``amount_cents`` stays the order's total."""
    amount_cents: int | None = None
    card_number: Text | None = None
    """``4242424242424242`` pays; ``4000000000000002`` is declined."""
    destination: Text | None = None
    """``Atlantis`` is a place Shipping does not serve."""


class Orders(_Model):
    """What orders the run places."""

    count: Annotated[int, Field(ge=1)] = 1
    """How many (``--orders N`` overrides it)."""
    mix: Literal["alike", "mixed"] = "alike"
    """``alike``: every order the same but for its ids, customer and city, with ``fields`` applied. ``mixed``: a
    seeded mix (most fine, a tenth declined, a tenth unshippable, SKUs KEYBOARD, MOUSE, MONITOR, DOCK, WEBCAM)."""
    fields: OrderFields = OrderFields()
    """``alike``: what every order has besides the usual."""
    list: Annotated[tuple[OrderFields, ...], Field(min_length=1)] | None = None
    """Orders written one by one (``[[orders.list]]``), placed in turn, from the first again if ``count`` asks
    for more; ``count`` defaults to their number."""
    extra: tuple[OrderFields, ...] = ()
    """Orders placed after the others (``[[orders.extra]]``), one each, not counted in ``count``: e.g. hostile
    ones the edge must refuse."""


class OrchestratorOptions(_Model):
    """How the orchestrator runs (``sagalab serve orchestrator``)."""

    workflow: Literal["standard", "express"] | None = None
    """``standard`` persists every step; ``express`` keeps executions in memory and re-runs them after a crash."""
    definition: str | None = None
    """A States Language definition to run instead of the checkout, as a path relative to this file."""
    resources: str | None = None
    """A resource map (JSON file relative to this file, or a JSON object) binding Task resources to participants."""


class OrderServiceOptions(_Model):
    """How choreography's order service runs (``sagalab serve orders``)."""

    saga_deadline: float | str | None = None
    """Seconds a saga may stay idle before the deadline watcher reports it (default 30)."""


class ServiceOptions(_Model):
    """Options of the services that take some."""

    orchestrator: OrchestratorOptions = OrchestratorOptions()
    orders: OrderServiceOptions = OrderServiceOptions()


class Checks(_Model):
    """What a run must show. Unless a key here says otherwise, every run must settle before its deadline, the
    oracle must find no violation, no order may be rejected at the edge, every fault must happen and every order
    whose outcome can be foreseen (a declined card, an unserved city, no stock) must end that way."""

    violates: Annotated[tuple[str, ...], Field(min_length=1)] | None = None
    """Rules the oracle must report (``money.net``, ``stock.left-behind``, ``termination``...): the scenario
    breaks them on purpose, and other violations are then tolerated."""
    all_end: Literal["completed", "compensated"] | None = None
    """Every order ends this way."""
    completes: Annotated[int, Field(ge=0)] | None = None
    """Exactly this many orders complete."""
    rejected: Annotated[int, Field(ge=0)] | None = None
    """Exactly this many orders are refused at the edge (out of bounds) and never placed."""
    dead_lettered: Annotated[int, Field(ge=0)] | None = None
    """Exactly this many messages reach the dead-letter queue."""
    may_not_settle: bool = False
    """A saga may stay stuck (the point of a lost message with a defence switched off)."""
    watcher_reports: bool = False
    """Choreography's deadline watcher must report a stalled saga."""


class Expect(Checks):
    """``[expect]`` holds what both modes must show; ``[expect.choreography]`` and ``[expect.orchestration]`` add
    to it, or replace a key of it, for one mode."""

    choreography: Checks | None = None
    orchestration: Checks | None = None


class ScenarioFile(_Model):
    """A sagalab scenario: run it with ``sagalab run FILE --mode M`` or ``sagalab compare FILE``."""

    model_config = ConfigDict(title="sagalab scenario file")

    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")] | None = None
    """Its name in results and run folders (default: the file's name without ``.toml``)."""
    teaches: Annotated[str, StringConstraints(min_length=1)]
    """What it shows, in a sentence or two."""
    orders: Orders = Orders()
    stock: dict[Sku, Annotated[int, Field(ge=0)]] = {}
    """Units of each SKU in stock when the run starts."""
    stock_per_order: dict[Sku, Annotated[float, Field(ge=0)]] = {}
    """Stock as a share of the order count: ``KEYBOARD = 0.3`` stocks 30 keyboards for 100 orders."""
    deadline_seconds: Seconds = 60.0
    """How long every saga has to end (``--deadline`` overrides it)."""
    place_interval_seconds: Seconds = 0.0
    """Pause between orders, so faults strike while sagas are in flight."""
    attention_grace_seconds: Seconds = 0.0
    """How long to keep waiting for an order parked as needing attention to finish on its own."""
    own_users: bool = False
    """Each service logs in as its own broker user, so consumers check who published each message."""
    unsafe: tuple[UnsafeSwitch, ...] = ()
    """Defences switched off, to show what they prevent."""
    durability: Literal["strict", "light"] | None = None
    """``strict`` (quorum queues, publisher confirms) or ``light`` (classic queues, no confirms); ``--durability``
    overrides it (default: ``$SAGALAB_DURABILITY``, else strict)."""
    faults: tuple[str, ...] = ()
    """Faults in ``sagalab faults``' grammar: ``[MODE/]TARGET:KIND[:ARGS][@TYPE[#N][+SECONDS]]``."""
    service_options: ServiceOptions = ServiceOptions()
    expect: Expect = Expect()


class _TomlSchema(GenerateJsonSchema):
    """TOML has no null: a key left out takes its default, so an optional key's schema is its value's alone."""

    def nullable_schema(self, schema: core_schema.NullableSchema) -> dict[str, Any]:
        return self.generate_inner(schema["schema"])


def _no_null_defaults(node: Any) -> Any:
    """Without the defaults TOML cannot write (null) or that repeat a table's own keys' defaults."""
    if isinstance(node, dict):
        return {
            k: _no_null_defaults(v)
            for k, v in node.items()
            if not (k == "default" and (v is None or v == {} or isinstance(v, dict)))
        }
    if isinstance(node, list):
        return [_no_null_defaults(v) for v in node]
    return node


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a scenario file (``sagalab schema`` writes it to docs/schemas/)."""
    return _no_null_defaults(ScenarioFile.model_json_schema(schema_generator=_TomlSchema))  # type: ignore[no-any-return]
