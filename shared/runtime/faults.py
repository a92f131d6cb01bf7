"""Fault hooks a scenario can configure on a service (``sagalab serve --fault SPEC``).

Production code runs with no faults and these hooks do nothing. Specs:

- ``raise:TYPE:COUNT[:ERROR]``  the first COUNT deliveries of TYPE raise ERROR (default
  ``ServiceUnavailable``) inside the local transaction, so nothing commits (a transient fault);
- ``bug:TYPE[:NTH]``            the NTH distinct message of TYPE (default 1st) raises ``HandlerBug`` on
  every delivery (a bug triggered by one valid message);
- ``bug:TYPE:@SUFFIX``         every delivery of TYPE for an order whose id ends with SUFFIX raises
  ``HandlerBug``: a bug tied to the data, so it survives restarts (``persistent``) and fails for good;
- ``crash:POINT:TYPE[:NTH]``    kill -9 this process at POINT (``before-commit`` or ``after-commit``,
  i.e. after the local commit but before the ack) while handling the NTH delivery of TYPE;
- ``delay:TYPE:SECONDS[:COUNT]`` wait SECONDS before handling the first COUNT deliveries of TYPE (all if
  no COUNT): a slow service.
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

log = structlog.get_logger()

POINTS = ("before-commit", "after-commit")


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
            if fault.kind == "crash" and fault.point == point and self._count(f"crash:{point}", name) == fault.count:
                log.warning("fault: crashing (kill -9)", point=point)
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
