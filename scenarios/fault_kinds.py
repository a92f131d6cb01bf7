"""The fault kinds: for each, its form, what it provokes, the defence that absorbs it, the ``--unsafe`` switch that
shows the anomaly, an example, and how a parsed spec becomes the fault hook or the runner's injector that makes it
happen. ``sagalab faults`` prints the table and docs/faults.md is generated from it; ``fault_specs.py`` reads the
text of a spec against it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import get_args

from scenarios.broker_faults import CloseConnections, CrashBrokerUnread, PauseBroker, RestartBroker
from scenarios.cluster_faults import KillNode
from scenarios.injectors import (
    ChangeDefinition,
    Duplicate,
    Forge,
    KillService,
    Late,
    OutOfBoundsOrder,
    Poison,
    Resubmit,
    RunInjector,
    Stray,
    Trigger,
)
from scenarios.topologies import services
from shared.config import Mode
from shared.runtime.faults import FaultSpecError
from shared.runtime.faults import parse as parse_hook

MODES: tuple[Mode, ...] = get_args(Mode)
SERVICE_TARGETS = frozenset(s for mode in MODES for s in services(mode))
OUTSIDE_TARGETS = frozenset({"broker", "lab"})


class BadFaultSpec(ValueError):
    """A fault spec that cannot be read; the message says what is wrong and what would be right."""


@dataclass(frozen=True)
class Spec:
    """A fault spec, read but not yet built."""

    text: str
    mode: Mode | None
    target: str
    kind: str
    args: tuple[str, ...] = ()
    options: Mapping[str, str] = field(default_factory=dict)
    trigger: Trigger | None = None

    def arg(self, i: int, what: str) -> str:
        if i >= len(self.args):
            raise BadFaultSpec(f"{self.text!r}: {self.kind} needs {what}; the form is {KINDS[self.kind].form}")
        return self.args[i]

    def number(self, i: int, what: str, default: float | None = None) -> float:
        if i >= len(self.args) and default is not None:
            return default
        text = self.arg(i, what)
        try:
            return float(text)
        except ValueError:
            raise BadFaultSpec(f"{self.text!r}: {what} must be a number, not {text!r}") from None


@dataclass(frozen=True)
class HookFault:
    """A fault hook one service runs with (``sagalab serve --fault SPEC``)."""

    service: str
    spec: str


Built = HookFault | RunInjector


@dataclass(frozen=True)
class FaultKind:
    """One kind of fault: its form, the anomaly it provokes and the defence that absorbs it."""

    name: str
    form: str
    provokes: str
    absorbed_by: str
    build: Callable[[Spec], Built]
    targets: frozenset[str] = SERVICE_TARGETS
    """Who it may strike."""
    example: str = ""
    """A command line that shows it (docs/faults.md)."""
    unsafe: str = ""
    """The ``--unsafe`` switch that turns its defence off, showing the anomaly (none: the defence cannot be off)."""


def _hook(spec: Spec) -> HookFault:
    if spec.trigger is not None:
        raise BadFaultSpec(f"{spec.text!r}: {spec.kind} runs inside the service and takes no @trigger; "
                           f"its own arguments say which message it strikes")  # fmt: skip
    hook = ":".join((spec.kind, *spec.args))
    try:
        parse_hook(hook)
    except FaultSpecError:
        raise BadFaultSpec(f"{spec.text!r}: the form is {KINDS[spec.kind].form}") from None
    return HookFault(spec.target, hook)


def _when(spec: Spec) -> Trigger:
    return spec.trigger or Trigger()


def _kill(spec: Spec) -> KillService:
    return KillService(spec.target, _when(spec), down_s=spec.number(0, "the seconds it stays down", 0.5))


def _kill_replica(spec: Spec) -> KillService:
    """One of a service's ``--instances K`` processes: replica 0 is named after the service, replica n after it
    with ``.n`` (as its log file is)."""
    value = spec.number(0, "the replica (0 to K-1)", 0)
    n = int(value)
    if n < 0 or n != value:
        raise BadFaultSpec(f"{spec.text!r}: the replica is 0 to K-1")
    name = spec.target if n == 0 else f"{spec.target}.{n}"
    return KillService(name, _when(spec), down_s=spec.number(1, "the seconds it stays down", 0.5))


def _change_definition(spec: Spec) -> ChangeDefinition:
    pairs = [p.split("=", 1) for p in spec.arg(0, "the states to rename, OLD=NEW[,OLD=NEW]").split(",")]
    if any(len(p) != 2 or not all(p) for p in pairs):
        raise BadFaultSpec(f"{spec.text!r}: name the renames as OLD=NEW, separated by commas")
    return ChangeDefinition(tuple((old, new) for old, new in pairs), _when(spec))


def _restart_broker(spec: Spec) -> RestartBroker:
    return RestartBroker(_when(spec), down_s=spec.number(0, "the seconds it stays down", 2.0))


def _kill_node(spec: Spec) -> KillNode:
    node = spec.number(0, "the node to kill (1, 2, 3: the order of the --amqp-url)")
    if node != int(node) or node < 1:
        raise BadFaultSpec(f"{spec.text!r}: the node is a number from 1, in the order of the cluster's --amqp-url")
    return KillNode(int(node), _when(spec), down_s=spec.number(1, "the seconds it stays down", 5.0))


def _pause_broker(spec: Spec) -> PauseBroker:
    return PauseBroker(_when(spec), paused_s=spec.number(0, "the seconds publishers stay blocked", 3.0))


def _crash_unread(spec: Spec) -> CrashBrokerUnread:
    return CrashBrokerUnread(_when(spec), unread_s=spec.number(0, "the seconds its publishers stay unread", 2.0))


def _resubmit(spec: Spec) -> Resubmit:
    after = spec.options.get("after", "")
    if after not in ("", "end"):
        raise BadFaultSpec(f"{spec.text!r}: after= takes only 'end' (resubmit once the order has finished)")
    return Resubmit(int(spec.number(0, "which order (N)", 1)), after_end=after == "end", when=_when(spec))


def _stray(spec: Spec) -> Stray:
    return Stray(spec.arg(0, "the message type to copy"), int(spec.number(1, "which message of the type (N)", 1)),
                 when=_when(spec))  # fmt: skip


def _late(spec: Spec) -> Late:
    return Late(spec.arg(0, "the message type to copy"), int(spec.number(1, "which message of the type (N)", 1)),
                when=_when(spec))  # fmt: skip


def _close_connections(spec: Spec) -> CloseConnections:
    return CloseConnections(_when(spec))


def _duplicate(spec: Spec) -> Duplicate:
    nth = int(spec.number(1, "which message of the type (N)", 1))
    return Duplicate(spec.arg(0, "the message type"), nth, fresh_id=spec.options.get("id") == "fresh", when=_when(spec))


def _poison(spec: Spec) -> Poison:
    exchange = spec.options.get("exchange", "events")
    return Poison(spec.arg(0, "the routing key, e.g. orders.OrderPlaced"), exchange,
                  count=int(spec.number(1, "how many", 3)), when=_when(spec))  # fmt: skip


def _forge(spec: Spec) -> Forge:
    trigger = spec.trigger
    if trigger is None or trigger.after is None:
        raise BadFaultSpec(f"{spec.text!r}: a forgery copies its order from a message: give one as @TYPE")
    exchange = spec.options.get("exchange", "events")
    if exchange not in ("events", "commands"):
        raise BadFaultSpec(f"{spec.text!r}: exchange must be events or commands")
    until = tuple(t for t in spec.options.get("until", "").split("|") if t)
    return Forge(spec.arg(0, "the message type to forge"), trigger.after, exchange, until,  # type: ignore[arg-type]
                 as_service=spec.options.get("as"), unknown_order=spec.options.get("order") == "unknown",
                 nth=trigger.nth)  # fmt: skip


def _out_of_bounds(spec: Spec) -> OutOfBoundsOrder:
    return OutOfBoundsOrder(_when(spec))


KINDS: dict[str, FaultKind] = {k.name: k for k in (
    FaultKind("raise", "SERVICE:raise:TYPE:COUNT[:ERROR]",
              "a transient error: the first COUNT deliveries of TYPE fail inside the transaction, nothing commits",
              "redelivery (choreography) or Retry with backoff (orchestration)", _hook,
              example="sagalab compare transient-failure --fault payment:raise:ChargePayment:2"),
    FaultKind("bug", "SERVICE:bug:TYPE[:NTH | :@ORDER-SUFFIX]",
              "a handler bug: one valid message fails on every delivery",
              "the delivery limit dead-letters it with why, and the step's failure event / the orchestrator's "
              "Catch ends the saga", _hook,
              example=("sagalab compare happy-path --fault orchestration/payment:bug:ChargePayment"
                       " --fault choreography/payment:bug:OrderPlaced"), unsafe="no-failure-events"),
    FaultKind("crash", "SERVICE:crash:POINT:TYPE[:NTH]  (POINT: before-commit, after-commit, before-ack, in-flight)",
              "kill -9 while handling the NTH TYPE: before its commit (nothing happened), after it (not yet acked), "
              "before-ack (committed and its messages published, not acked); in-flight: once the NTH TYPE it sent "
              "is confirmed, while it awaits the answer",
              "ack after commit (the message comes back) and the inbox (no second effect; a reply is replayed); "
              "in flight: durable queues keep the command and its answer for the restarted service", _hook,
              example=("sagalab compare happy-path --fault orchestration/payment:crash:before-ack:ChargePayment"
                       " --fault choreography/payment:crash:before-ack:OrderPlaced"), unsafe="no-inbox"),
    FaultKind("delay", "SERVICE:delay:TYPE:SECONDS[:COUNT]",
              "a slow service: handling TYPE waits SECONDS",
              "the orchestrator's TimeoutSeconds; choreography's deadline watcher reports the idle saga", _hook,
              example=("sagalab compare happy-path --fault orchestration/shipping:delay:ScheduleShipment:15"
                       " --fault choreography/shipping:delay:StockReserved:15 --saga-deadline 5")),
    FaultKind("drop", "SERVICE:drop:TYPE[:NTH]",
              "a lost reply or event: the NTH TYPE the service sends commits with its effect and outbox row, and is "
              "never published (the relay believes it went)",
              "orchestration: TimeoutSeconds + Retry resend the command under the same id and the participant's "
              "inbox replays the stored reply; choreography: nobody waits for an event, the deadline watcher parks "
              "the saga as needing attention", _hook,
              example="sagalab compare happy-path --fault payment:drop:PaymentCharged --saga-deadline 3"),
    FaultKind("drop-at-publish", "SERVICE:drop-at-publish:TYPE[:COUNT]",
              "the broker never confirms the first COUNT publishes of TYPE (a publish lost on the way)",
              "the outbox: the row stays unsent and the relay's sweep publishes it again "
              "(--unsafe no-outbox: the message is lost and the saga stalls)", _hook,
              example="sagalab compare happy-path --fault payment:drop-at-publish:PaymentCharged", unsafe="no-outbox"),
    FaultKind("delay-publish", "SERVICE:delay-publish:TYPE:SECONDS[:COUNT]",
              "a late message: the first COUNT TYPEs go out SECONDS after their commit, others overtake them",
              "orchestration: TimeoutSeconds (past it, the step is retried or compensated, and the barrier refuses "
              "the forward step that lands after its compensation); choreography: the deadline watcher, and each "
              "reaction depends only on its own event", _hook,
              example="sagalab compare happy-path --fault inventory:delay-publish:StockReserved:7:1"),
    FaultKind("reorder", "SERVICE:reorder:TYPE[:NTH]",
              "messages out of order: the NTH TYPE is held until the service's next message has gone out",
              "orchestration: one command in flight per saga, replies matched by execution and step; choreography: "
              "reactions keyed by order, the barrier against a forward step arriving after its compensation", _hook,
              example="sagalab compare happy-path --orders 3 --fault payment:reorder:PaymentCharged"),
    FaultKind("kill", "SERVICE:kill[:DOWN_SECONDS]@TRIGGER",
              "a service killed from outside (kill -9) and started again after DOWN_SECONDS",
              "durable queues hold its messages; ack after commit and the inbox make the restart safe", _kill,
              example="sagalab compare out-of-stock --fault payment:kill@PaymentCharged"),
    FaultKind("kill-replica", "SERVICE:kill-replica:N[:DOWN_SECONDS]@TRIGGER",
              "one replica of a service run with --instances K killed (kill -9) and started again",
              "the other replicas take its messages; the broker redelivers what it held unacked; each execution's "
              "versioned row lets one replica only step it", _kill_replica,
              example="sagalab compare out-of-stock --instances 2 --fault orchestrator:kill-replica:1@ChargePayment"),
    FaultKind("change-definition", "orchestrator:change-definition:OLD=NEW[,OLD=NEW]@TRIGGER",
              "the orchestrator restarted on an edited definition while executions are in flight",
              "definition pinning: an execution ends on the definition it started on", _change_definition,
              frozenset({"orchestrator"}),
              example=("sagalab run happy-path --mode orchestration"
                       " --fault orchestrator:change-definition:ReserveStock=ReserveItems@ReserveStock"),
              unsafe="no-pinning"),
    FaultKind("restart", "broker:restart[:DOWN_SECONDS]@TRIGGER",
              "the broker's app stopped and started: every connection drops",
              "durable quorum queues, persistent messages, publisher confirms, reconnects", _restart_broker,
              frozenset({"broker"}),
              example="sagalab compare happy-path --orders 20 --fault broker:restart:2@PaymentCharged#5"),
    FaultKind("kill-node", "broker:kill-node:N[:DOWN_SECONDS]@TRIGGER",
              "one node of a broker cluster killed -9 mid-run (its clients lose their connection, its queue "
              "leaders are gone), started again after DOWN_SECONDS",
              "quorum queues on every node, clients that fail over to the next --amqp-url; the result's stall_s "
              "says how long the saga traffic stopped", _kill_node, frozenset({"broker"}),
              example="sagalab compare happy-path --orders 40 --amqp-url amqp://guest:guest@127.0.0.1:5681/ "
                      "--amqp-url amqp://guest:guest@127.0.0.1:5682/ --amqp-url amqp://guest:guest@127.0.0.1:5683/ "
                      "--fault broker:kill-node:2@PaymentCharged#10"),
    FaultKind("pause", "broker:pause[:SECONDS]@TRIGGER",
              "the broker blocks every publisher for SECONDS (its memory alarm raised on purpose), consumers carry on",
              "publisher confirms: nothing counts as sent until confirmed; the outbox keeps what was committed and "
              "the sagas resume when the pause ends", _pause_broker, frozenset({"broker"}),
              example="sagalab compare happy-path --orders 10 --fault broker:pause:3@PaymentCharged#3"),
    FaultKind("crash-unread", "broker:crash-unread[:SECONDS]@TRIGGER",
              "the broker stops reading its publishers for SECONDS, then its app stops and starts: what they published "
              "in that time was never read",
              "publisher confirms (`--durability strict`): nothing unconfirmed counts as sent, and the outbox sends it "
              "again after the restart; under `--durability light` nothing does, and the sagas those messages carried "
              "stop (scenario `light-broker-crash`)", _crash_unread, frozenset({"broker"}),
              example="sagalab compare happy-path --orders 10 --durability light --fault broker:crash-unread:2@PaymentCharged#3"),
    FaultKind("close-connections", "broker:close-connections@TRIGGER",
              "the broker closes every connection of the run",
              "reconnects; unacked work is redelivered and the inbox drops what was done", _close_connections,
              frozenset({"broker"}),
              example="sagalab compare happy-path --orders 20 --fault broker:close-connections@PaymentCharged#5"),
    FaultKind("duplicate", "lab:duplicate:TYPE[:NTH][:id=fresh][@TRIGGER]",
              "an at-least-once duplicate of the Nth TYPE (id=fresh: under a new message id)",
              "the inbox (same id) or the business key (new id)", _duplicate, frozenset({"lab"}),
              example="sagalab compare out-of-stock --fault lab:duplicate:PaymentCharged:id=fresh",
              unsafe="no-business-key"),
    FaultKind("resubmit", "lab:resubmit[:NTH][:after=end][@TRIGGER]",
              "the same order submitted twice: the NTH PlaceOrder again under a new message id, same order id "
              "(after=end: once the order has finished)",
              "the order id as business key: the order service records an order once (choreography), the "
              "orchestrator starts one execution per order id (orchestration); the copy is ignored", _resubmit,
              frozenset({"lab"}),
              example="sagalab compare happy-path --fault lab:resubmit --fault lab:resubmit:after=end"),
    FaultKind("stray", "lab:stray:TYPE[:NTH][@TRIGGER]",
              "a stray message: a copy of the NTH TYPE for an order nobody placed (new order id, new message id), "
              "published by the type's own publisher",
              "orchestration: a reply no task awaits is ignored, counted in messages.stray. Choreography has no "
              "defence against a stray forward event from its real publisher: it is acted on and the oracle "
              "reports stray.unknown-order; a stray from anyone else is dead-lettered by the publisher check "
              "(--own-users, see forge)", _stray, frozenset({"lab"}),
              example="sagalab compare happy-path --fault lab:stray:PaymentCharged"),
    FaultKind("late", "lab:late:TYPE[:NTH][@TRIGGER]",
              "a late message: a copy of the NTH TYPE under a new message id once its order has finished "
              "(PaymentCharged after the refund)",
              "the business key (the step was done for the order), the barrier/tombstone (its compensation was "
              "recorded) and the finished execution: ignored or refused, and counted", _late, frozenset({"lab"}),
              example=("sagalab compare happy-path --fault choreography/lab:late:OrderPlaced"
                       " --fault orchestration/lab:late:ChargePayment"), unsafe="no-business-key"),
    FaultKind("poison", "lab:poison:ROUTING_KEY[:COUNT][:exchange=commands][@TRIGGER]",
              "undecodable messages on a queue sagas use",
              "dead-lettering at the first delivery, with the reason in the headers", _poison, frozenset({"lab"}),
              example=("sagalab compare happy-path --fault lab:poison:orders.OrderPlaced"
                       " --fault lab:poison:payment.ChargePayment:exchange=commands")),
    FaultKind("forge", "lab:forge:TYPE[:exchange=commands][:order=unknown][:as=SERVICE][:until=T1|T2]@TYPE[#N]",
              "a forged message for the order of a message seen (or for an order nobody placed)",
              "own broker users (--own-users): topic permissions and the publisher check", _forge, frozenset({"lab"}),
              example=("sagalab compare payment-declined --own-users"
                       " --fault lab:forge:PaymentCharged@PaymentDeclined"), unsafe="no-publisher-check"),
    FaultKind("out-of-bounds", "lab:out-of-bounds[@TRIGGER]",
              "orders out of bounds published past the edge (an amount of 10^30, a body over 64 KiB)",
              "the contracts' bounds: dead-lettered at the first delivery", _out_of_bounds, frozenset({"lab"}),
              example="sagalab compare happy-path --fault lab:out-of-bounds"),
)}  # fmt: skip
"""Every kind of fault, by name."""


def markdown_table() -> str:
    """Every kind as a Markdown table: what docs/faults.md shows (a test keeps the two the same)."""
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    rows = ["| kind | form | provokes | absorbed by | `--unsafe` | example |", "|---|---|---|---|---|---|"]
    for k in KINDS.values():
        unsafe = f"`{k.unsafe}`" if k.unsafe else "—"
        rows.append(f"| `{k.name}` | `{cell(k.form)}` | {cell(k.provokes)} | {cell(k.absorbed_by)} | {unsafe} | "
                    f"`{cell(k.example)}` |")  # fmt: skip
    return "\n".join(rows) + "\n"
