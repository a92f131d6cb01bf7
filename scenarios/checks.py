"""What a scenario expects of a run, as small check objects: each says in one line what it checks and, for a
finished run, why the run fails it. A scenario lists its checks per mode; the defaults (settles, consistent,
none rejected, every fault happened, every order as predicted) stand unless a check on the same topic
replaces them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal, Protocol

from scenarios.result import RunResult, ViolationOut

OPEN: Literal["open"] = "open"
"""What a check foresees for an order whose outcome no one can say in advance."""
Foresight = Literal["completed", "compensated", "open"] | None
"""A check's word on one order's outcome: an outcome, ``OPEN`` (it cannot be foreseen) or None (no say)."""


@dataclass(frozen=True)
class Judged:
    """What the checks read besides the result: the violations no check accounts for, and each predictable
    order's predicted outcome."""

    unexplained: tuple[ViolationOut, ...]
    predicted: tuple[tuple[str, str], ...] = ()


class Check(Protocol):
    """One thing a run must show. ``topic``: a scenario's check replaces the default check on its topic."""

    topic: ClassVar[str]

    def describe(self) -> str:
        """What it checks, in one line."""
        ...

    def failures(self, result: RunResult, judged: Judged) -> list[str]:
        """Why the run does not show it (empty when it does)."""
        ...

    def accounts_for(self, violation: ViolationOut, result: RunResult) -> bool:
        """A violation this check expects, so ``Consistent`` does not count it."""
        ...

    def foresees(self, order_id: str) -> Foresight:
        """What this check says of one order's outcome (see ``Scenario.predict``)."""
        ...


class _Plain:
    """A check that accounts for no violation and foresees nothing (most do neither)."""

    def accounts_for(self, violation: ViolationOut, result: RunResult) -> bool:
        return False

    def foresees(self, order_id: str) -> Foresight:
        return None


@dataclass(frozen=True)
class Settles(_Plain):
    topic: ClassVar[str] = "settling"

    def describe(self) -> str:
        return "every saga ends before the deadline"

    def failures(self, result: RunResult, judged: Judged) -> list[str]:
        return [] if result.settled else ["the run did not settle before its deadline"]


@dataclass(frozen=True)
class MayNotSettle(_Plain):
    """The point is that a saga gets stuck (a lost message with a defence switched off)."""

    topic: ClassVar[str] = "settling"

    def describe(self) -> str:
        return "a saga may stay stuck"

    def failures(self, result: RunResult, judged: Judged) -> list[str]:
        return []

    def foresees(self, order_id: str) -> Foresight:
        return OPEN


@dataclass(frozen=True)
class Consistent(_Plain):
    topic: ClassVar[str] = "consistency"

    def describe(self) -> str:
        return "the oracle finds no violation the scenario does not expect"

    def failures(self, result: RunResult, judged: Judged) -> list[str]:
        if not judged.unexplained:
            return []
        return [f"violations: {', '.join(sorted({v.rule for v in judged.unexplained}))}"]


@dataclass(frozen=True, init=False)
class Violates(_Plain):
    """An unsafe demonstration: it exists to break these rules (other violations are tolerated)."""

    rules: frozenset[str]
    topic: ClassVar[str] = "consistency"

    def __init__(self, *rules: str) -> None:
        object.__setattr__(self, "rules", frozenset(rules))

    def describe(self) -> str:
        return f"the oracle reports {', '.join(sorted(self.rules))}"

    def failures(self, result: RunResult, judged: Judged) -> list[str]:
        seen = {v.rule for v in judged.unexplained}
        missing = self.rules - seen
        if missing or not seen:
            return [f"expected violations not seen: {', '.join(sorted(missing)) or 'any'}"]
        return []

    def foresees(self, order_id: str) -> Foresight:
        return OPEN


@dataclass(frozen=True)
class AllEnd(_Plain):
    outcome: Literal["completed", "compensated"]
    topic: ClassVar[str] = "outcomes"

    def describe(self) -> str:
        return f"every order ends {self.outcome}"

    def failures(self, result: RunResult, judged: Judged) -> list[str]:
        off = [o for o, outcome in result.outcomes.items() if outcome != self.outcome]
        return [f"{len(off)} order(s) not {self.outcome}"] if off else []

    def foresees(self, order_id: str) -> Foresight:
        return self.outcome


@dataclass(frozen=True)
class Completes(_Plain):
    """Exactly this many orders complete (the race for the last unit)."""

    orders: int
    topic: ClassVar[str] = "completed"

    def describe(self) -> str:
        return f"{self.orders} order(s) complete"

    def failures(self, result: RunResult, judged: Judged) -> list[str]:
        if result.orders.completed == self.orders:
            return []
        return [f"{result.orders.completed} order(s) completed, expected {self.orders}"]


@dataclass(frozen=True)
class Rejected(_Plain):
    """Exactly this many orders are refused at the edge (out of bounds) and never placed."""

    orders: int
    topic: ClassVar[str] = "rejected"

    def describe(self) -> str:
        return f"{self.orders} order(s) rejected at the edge"

    def failures(self, result: RunResult, judged: Judged) -> list[str]:
        if result.orders.rejected == self.orders:
            return []
        return [f"{result.orders.rejected} order(s) rejected at the edge, expected {self.orders}"]


@dataclass(frozen=True)
class DeadLettered(_Plain):
    """Exactly this many messages reach the dead-letter queue."""

    messages: int
    topic: ClassVar[str] = "dead letters"

    def describe(self) -> str:
        return f"{self.messages} message(s) dead-lettered"

    def failures(self, result: RunResult, judged: Judged) -> list[str]:
        if result.messages.dead_lettered == self.messages:
            return []
        return [f"{result.messages.dead_lettered} dead-lettered, expected {self.messages}"]


@dataclass(frozen=True)
class DeadLettersEqualInjected(_Plain):
    """The dead-letter queue holds exactly the poison and the forgeries the run injected (chaos), besides the
    messages of a compensation broken on purpose."""

    topic: ClassVar[str] = "dead letters"

    def describe(self) -> str:
        return "the dead letters are exactly the poison and forgeries injected"

    def failures(self, result: RunResult, judged: Judged) -> list[str]:
        injected = result.extra.get("faults_injected", {})
        poison = injected.get("poison", 0) + injected.get("forged", 0)  # a forgery is dead-lettered by its consumer
        broken = result.extra.get("dead_lettered_broken_on_purpose", 0)  # a compensation's message given up on
        if result.messages.dead_lettered - broken == poison:
            return []
        return [f"{result.messages.dead_lettered} dead-lettered ({result.messages.dead_lettered_by_reason}"
                f"), but {poison} poison and forgeries injected"]  # fmt: skip


@dataclass(frozen=True)
class WatcherReports(_Plain):
    """The choreography deadline watcher reports a saga that stopped moving."""

    topic: ClassVar[str] = "watcher"

    def describe(self) -> str:
        return "the deadline watcher reports a stalled saga"

    def failures(self, result: RunResult, judged: Judged) -> list[str]:
        return [] if result.extra.get("alerts") else ["the deadline watcher reported nothing"]


@dataclass(frozen=True)
class StuckOnlyIfReported(_Plain):
    """Choreography: a saga that stopped moving is tolerated only if the deadline watcher reported it."""

    topic: ClassVar[str] = "stuck"

    def describe(self) -> str:
        return "a stuck choreography saga is tolerated once the watcher reported it"

    def failures(self, result: RunResult, judged: Judged) -> list[str]:
        return []

    def accounts_for(self, violation: ViolationOut, result: RunResult) -> bool:
        if result.mode != "choreography" or not violation.rule.startswith("termination"):
            return False
        return violation.order_id in {a["order_id"] for a in result.extra.get("alerts", [])}


BROKEN_COMPENSATION_RULES = frozenset({"stock.left-behind", "termination.needs-attention"})


def parked_on_purpose(violation: ViolationOut, suffixes: tuple[str, ...]) -> bool:
    """A violation a broken compensation must leave, and nothing more: the stock it could not release, and
    the order parked naming the step that failed (never a money rule: the refund must still run)."""
    if not (suffixes and violation.order_id.endswith(suffixes)) or violation.rule not in BROKEN_COMPENSATION_RULES:
        return False
    return violation.rule != "termination.needs-attention" or " failed: " in violation.detail


@dataclass(frozen=True)
class BrokenOnPurpose(_Plain):
    """Orders (by id suffix) whose compensation the scenario breaks for good: such an order may keep its stock
    reserved and must be parked naming the failed step (money still refunded); its dead letters are expected."""

    suffixes: tuple[str, ...]
    topic: ClassVar[str] = "broken"

    def describe(self) -> str:
        return f"orders ending {', '.join(self.suffixes) or '(none)'} are parked, their release broken on purpose"

    def failures(self, result: RunResult, judged: Judged) -> list[str]:
        return []

    def covers(self, order_id: str) -> bool:
        return bool(self.suffixes) and order_id.endswith(self.suffixes)

    def accounts_for(self, violation: ViolationOut, result: RunResult) -> bool:
        return parked_on_purpose(violation, self.suffixes)

    def foresees(self, order_id: str) -> Foresight:
        return OPEN if self.covers(order_id) else None  # judged by the broken-compensation rules instead


@dataclass(frozen=True)
class FaultsHappened(_Plain):
    """Every fault the scenario injects from outside was injected, and no injector failed."""

    topic: ClassVar[str] = "faults"

    def describe(self) -> str:
        return "every fault happens"

    def failures(self, result: RunResult, judged: Judged) -> list[str]:
        return [f"the scenario's fault did not happen: {fault}" for fault in result.extra.get("faults_injected", {})
                if fault.startswith(("never injected", "injector failed"))]  # fmt: skip


@dataclass(frozen=True)
class AsPredicted(_Plain):
    """Every order whose outcome can be foreseen (see ``Scenario.predict``) ends that way."""

    topic: ClassVar[str] = "predictions"

    def describe(self) -> str:
        return "every predictable order ends as predicted"

    def failures(self, result: RunResult, judged: Judged) -> list[str]:
        return [f"{order_id} should be {predicted}, was {result.outcomes.get(order_id)}"
                for order_id, predicted in judged.predicted if result.outcomes.get(order_id) != predicted]  # fmt: skip


DEFAULTS: tuple[Check, ...] = (Settles(), Consistent(), Rejected(0), FaultsHappened(), AsPredicted())
"""What every run must show unless its scenario says otherwise (a check on the same topic)."""
_LEADING = 2
"""How many defaults are judged before the scenario's own checks (the rest after: the order reasons are told)."""


def with_defaults(checks: Sequence[Check]) -> tuple[Check, ...]:
    """A scenario's checks with every default on a topic none of them covers, in the order they are judged."""
    topics = {c.topic for c in checks}
    kept = [d if d.topic not in topics else None for d in DEFAULTS]
    leading, trailing = kept[:_LEADING], kept[_LEADING:]
    return (*(d for d in leading if d), *checks, *(d for d in trailing if d))


def unexplained(checks: Iterable[Check], result: RunResult) -> tuple[ViolationOut, ...]:
    """The run's violations that no check accounts for."""
    checks = tuple(checks)
    return tuple(v for v in result.consistency.violations if not any(c.accounts_for(v, result) for c in checks))


def describe(checks: Sequence[Check]) -> str:
    """A scenario's expectations in one line (the defaults it keeps go without saying)."""
    return ", ".join(c.describe() for c in checks) or "settles, consistent, every order as predicted"
