"""Fault hooks a scenario can configure on a service (``sagalab serve --fault SPEC``).

Production code runs with no faults and these hooks do nothing. Specs:

- ``raise:TYPE:COUNT[:ERROR]``  the first COUNT deliveries of TYPE raise ERROR (default
  ``ServiceUnavailable``) inside the local transaction, so nothing commits (a transient fault);
- ``bug:TYPE[:NTH]``            the NTH distinct message of TYPE (default 1st) raises ``HandlerBug`` on
  every delivery (a bug triggered by one valid message);
- ``bug:TYPE:@SUFFIX``         every delivery of TYPE for an order whose id ends with SUFFIX raises
  ``HandlerBug``: a bug tied to the data, so it survives restarts (``persistent``) and fails for good;
- ``crash:POINT:TYPE[:NTH]``    kill -9 this process at POINT while handling the NTH delivery of TYPE:
  ``before-commit``, ``after-commit`` (committed, not yet acked), ``before-ack`` (committed AND its messages
  published and confirmed, not acked); or ``in-flight``: once the NTH message of TYPE this service *sent*
  is confirmed, i.e. while it awaits its answer;
- ``delay:TYPE:SECONDS[:COUNT]`` wait SECONDS before handling the first COUNT deliveries of TYPE (all if
  no COUNT): a slow service.

Faults on what a service sends (its outgoing messages, after their commit):

- ``drop:TYPE[:NTH]``           the NTH outgoing TYPE is lost after its commit: the relay counts it as sent,
  the broker never sees it (a lost reply or event);
- ``drop-at-publish:TYPE[:COUNT]`` the first COUNT publish attempts of TYPE get no confirm: the outbox keeps
  the row and its sweep tries again (without the outbox, ``--unsafe no-outbox``, the message is lost);
- ``delay-publish:TYPE:SECONDS[:COUNT]`` the first COUNT TYPEs go out SECONDS late (others overtake them);
- ``reorder:TYPE[:NTH]``        the NTH TYPE is held until this service has published its next message
  (at most ``REORDER_HOLD_S``), so that one overtakes it.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from dataclasses import dataclass, field

import structlog

from shared.domain.contracts import Message
from shared.runtime.host import NO_FAULTS, FaultHook
from shared.transport.broker import PublishFailed
from shared.transport.wire import Outgoing

log = structlog.get_logger()

POINTS = ("before-commit", "after-commit", "before-ack", "in-flight")
OUTGOING = ("drop", "drop-at-publish", "delay-publish", "reorder")
"""Kinds that strike a message the service sends, not one it handles."""
REORDER_HOLD_S = 10.0
"""The longest ``reorder`` holds a message when nothing else is published after it."""


class FaultSpecError(ValueError):
    """A --fault spec that does not parse."""


def _error(name: str) -> type[Exception]:
    """An exception class with the given name, which is what ASL Retry/Catch will match."""
    return type(name, (Exception,), {"__module__": "sagalab.faults"})


@dataclass(frozen=True)
class Fault:
    kind: str
    type: str
    count: int = 1
    point: str = ""
    error: str = "ServiceUnavailable"
    seconds: float = 0.0
    order_suffix: str = ""
    """``bug:TYPE:@SUFFIX``: the orders it strikes, whatever process handles them."""


def parse(spec: str) -> Fault:
    parts = spec.split(":")
    try:
        match parts:
            case ["raise", type_, count]:
                return Fault("raise", type_, int(count))
            case ["raise", type_, count, error]:
                return Fault("raise", type_, int(count), error=error)
            case ["bug", type_, suffix] if suffix.startswith("@") and len(suffix) > 1:
                return Fault("bug", type_, order_suffix=suffix[1:])
            case ["bug", type_, *nth] if len(nth) <= 1:
                return Fault("bug", type_, int(nth[0]) if nth else 1)
            case ["crash", point, type_, *nth] if point in POINTS and len(nth) <= 1:
                return Fault("crash", type_, int(nth[0]) if nth else 1, point=point)
            case ["delay", type_, seconds, *count] if len(count) <= 1:
                return Fault("delay", type_, int(count[0]) if count else 10**9, seconds=float(seconds))
            case ["drop" | "reorder" as kind, type_, *nth] if len(nth) <= 1:
                return Fault(kind, type_, int(nth[0]) if nth else 1)
            case ["drop-at-publish", type_, *count] if len(count) <= 1:
                return Fault("drop-at-publish", type_, int(count[0]) if count else 1)
            case ["delay-publish", type_, seconds, *count] if len(count) <= 1:
                return Fault("delay-publish", type_, int(count[0]) if count else 10**9, seconds=float(seconds))
    except ValueError:
        pass
    raise FaultSpecError(f"cannot read fault {spec!r}; see `shared/runtime/faults.py` for the forms")


@dataclass
class Faults:
    """The faults of one service process, and how many times each type has been seen."""

    faults: tuple[Fault, ...]
    _seen: Counter[tuple[str, str]] = field(default_factory=Counter)
    _buggy: set[str] = field(default_factory=set)
    _distinct: dict[str, list[str]] = field(default_factory=dict)
    _published: asyncio.Event = field(default_factory=asyncio.Event)
    """Set each time a message goes out: what a held (``reorder``) message waits for."""

    @classmethod
    def of(cls, specs: tuple[str, ...] | list[str]) -> Faults:
        return cls(tuple(parse(s) for s in specs))

    async def at(self, point: str, message: Message) -> None:
        """Crash or slow down at a point outside the transaction."""
        name = type(message).__name__
        for fault in self.faults:
            if fault.type != name:
                continue
            if fault.kind == "delay" and point == "before-commit" and self._count("delay", name) <= fault.count:
                log.warning("fault: slow service", seconds=fault.seconds)
                await asyncio.sleep(fault.seconds)  # the injected slowness itself
            if fault.kind != "crash" or fault.point != point or point == "in-flight":
                continue
            # before-ack: acks_last counted this delivery already (it asked the host to publish first)
            key = f"crash:{point}"
            seen = self._seen[(key, name)] if point == "before-ack" else self._count(key, name)
            if seen == fault.count:
                log.warning("fault: crashing (kill -9)", point=point)
                os.kill(os.getpid(), signal.SIGKILL)

    def acks_last(self, message: Message) -> bool:
        """A ``before-ack`` crash is due on this delivery: the host publishes before it acks, so the process
        dies with its messages out and its delivery unacked."""
        name = type(message).__name__
        due = [f for f in self.faults if f.kind == "crash" and f.point == "before-ack" and f.type == name]
        return bool(due) and self._count("crash:before-ack", name) in {f.count for f in due}

    async def outgoing(self, out: Outgoing) -> bool:
        """Before a committed message is published: False loses it (the relay counts it as sent); may raise
        ``PublishFailed`` (no confirm), wait (a late message) or hold it until the next one went out."""
        for fault in self.faults:
            if fault.type != out.type or fault.kind not in OUTGOING:
                continue
            if fault.kind == "drop" and self._count("drop", out.type) == fault.count:
                log.warning("fault: message lost after its commit", lost=out.type, lost_id=out.message_id)
                return False
            if fault.kind == "drop-at-publish" and self._count("drop-at-publish", out.type) <= fault.count:
                log.warning("fault: publish not confirmed", type=out.type)
                raise PublishFailed(f"injected fault: {out.type} {out.message_id} not confirmed")
            if fault.kind == "delay-publish" and self._count("delay-publish", out.type) <= fault.count:
                log.warning("fault: publishing late", type=out.type, seconds=fault.seconds)
                await asyncio.sleep(fault.seconds)  # the injected lateness itself
            if fault.kind == "reorder" and self._count("reorder", out.type) == fault.count:
                log.warning("fault: holding a message until the next one has gone out", type=out.type)
                self._published.clear()
                try:
                    await asyncio.wait_for(self._published.wait(), timeout=REORDER_HOLD_S)
                except TimeoutError:
                    log.warning("fault: nothing overtook the held message; sending it anyway", type=out.type)
        return True

    async def sent(self, out: Outgoing) -> None:
        """After the broker confirmed a message: release a held one, or crash while it is in flight."""
        self._published.set()
        for fault in self.faults:
            if fault.kind == "crash" and fault.point == "in-flight" and fault.type == out.type:
                if self._count("crash:in-flight", out.type) == fault.count:
                    log.warning("fault: crashing while a message it sent is in flight (kill -9)", type=out.type)
                    os.kill(os.getpid(), signal.SIGKILL)

    def check(self, message: Message) -> None:
        """Raise inside the local transaction, as a transient fault or a bug would."""
        name = type(message).__name__
        for fault in self.faults:
            if fault.type != name:
                continue
            if fault.kind == "raise" and self._count("raise", name) <= fault.count:
                raise _error(fault.error)(f"injected fault: {fault.error} handling {name}")
            if fault.kind == "bug" and fault.order_suffix:
                if message.correlation_id.endswith(fault.order_suffix):
                    raise _error("HandlerBug")(f"injected bug: {name} for order {message.correlation_id} always fails")
            elif fault.kind == "bug":
                ids = self._distinct.setdefault(name, [])
                if message.message_id not in ids:
                    ids.append(message.message_id)
                if len(ids) >= fault.count and ids[fault.count - 1] == message.message_id:
                    raise _error("HandlerBug")(f"injected bug: {name} {message.message_id} always fails")

    def _count(self, what: str, name: str) -> int:
        self._seen[(what, name)] += 1
        return self._seen[(what, name)]


def persistent(spec: str) -> bool:
    """Faults that model a bug in the data rather than a one-off event: a restarted process keeps them."""
    fault = parse(spec)
    return fault.kind == "bug" and bool(fault.order_suffix)


def faults_of(specs: tuple[str, ...]) -> FaultHook:
    """The hook a service runs with: no faults at all unless a scenario configured some."""
    return Faults.of(specs) if specs else NO_FAULTS
