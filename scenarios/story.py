"""Each order's failure story, told from what the run already recorded (both modes, nothing re-run).

- the tap's trace: every answer of every step (a failure event carries the participant's reason, a
  ``TaskFailed`` its error and cause, a compensation's answer says whether it undid anything: a refund of
  0, a release of 0, a cancel of nothing scheduled is needless) and the order's dead letters;
- the orchestrator's execution history: its attempts, Retry delays and timeouts (orchestration);
- the services' logs: each delivery that ran a handler, failed or not (choreography's retries are the
  broker's redeliveries);
- the coordinator's orders table: why an order was parked.

Pure: it takes what was read and returns stories, so a recorded run can be told again in a test.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from choreography.reactions import REACTIONS
from scenarios.result import Compensation, CompensationResult, OrderStory
from scenarios.service_logs import Attempt
from scenarios.trace import TraceRecord
from shared.runtime.handlers import FAILS_AS, UNDONE_BY

COMPENSATIONS: frozenset[str] = frozenset(c.__name__ for c in UNDONE_BY.values())
"""The steps that undo another: RefundPayment, ReleaseStock, CancelShipment."""

DONE_AS: dict[str, str] = {
    "PaymentCharged": "ChargePayment", "StockReserved": "ReserveStock", "ShipmentScheduled": "ScheduleShipment",
    "PaymentRefunded": "RefundPayment", "StockReleased": "ReleaseStock", "ShipmentCancelled": "CancelShipment",
}  # fmt: skip
"""Each step's answer when it succeeded, by the answer's type."""

STEPS: frozenset[str] = frozenset(DONE_AS.values())

FAILED_AS: dict[str, str] = {failure.__name__: step.__name__ for step, failure in FAILS_AS.items()}
"""Each step's answer when it failed (a business failure, or a compensation failed for good)."""

NOTHING_UNDONE: dict[str, tuple[str, object]] = {
    "PaymentRefunded": ("amount_cents", 0), "StockReleased": ("quantity", 0),
    "ShipmentCancelled": ("was_scheduled", False),
}  # fmt: skip
"""A compensation's answer that says it had nothing to undo (the step had not happened)."""

STEP_OF_REACTION: dict[tuple[str, str], str] = {(r.service, r.when.__name__): r.does.__name__ for r in REACTIONS}
"""Choreography: the step a service takes on an event (the reaction table)."""

RETRY_DELAY_DIGITS = 3


@dataclass
class _Answer:
    ok: bool
    t: float
    error: str | None = None
    needless: bool = False


@dataclass
class _Steps:
    """The last answer of each step, in the order steps were first answered (or commanded)."""

    answers: dict[str, _Answer] = field(default_factory=dict)
    commanded: list[str] = field(default_factory=list)

    def answer(self, step: str, answer: _Answer) -> None:
        self.answers[step] = answer  # a step answered again keeps its place; its last answer counts


def tell(
    outcomes: Mapping[str, str],
    records: Sequence[TraceRecord],
    attempts: Sequence[Attempt] = (),
    parked: Mapping[str, str] | None = None,
    histories: Mapping[str, list[dict[str, Any]]] | None = None,
) -> dict[str, OrderStory]:
    """The story of every order with something to tell (see ``OrderStory``), by order id."""
    by_order: dict[str, list[TraceRecord]] = defaultdict(list)
    for r in sorted(records, key=lambda r: r.t):
        by_order[r.correlation_id].append(r)
    tries: dict[str, list[Attempt]] = defaultdict(list)
    for a in sorted(attempts, key=lambda a: a.t):
        tries[a.order_id].append(a)
    stories = {}
    for order_id, outcome in outcomes.items():
        history = (histories or {}).get(order_id)
        story = story_of(outcome, by_order.get(order_id, []), tries.get(order_id, []),
                         (parked or {}).get(order_id), history)  # fmt: skip
        if worth_telling(story):
            stories[order_id] = story
    return stories


def worth_telling(story: OrderStory) -> bool:
    """A completed order tried once at every step has no story; anything else has."""
    return story.outcome != "completed" or bool(story.attempts or story.dead_letters or story.error
                                                or story.compensations or story.parked_reason)  # fmt: skip


def story_of(
    outcome: str,
    records: Sequence[TraceRecord],
    attempts: Sequence[Attempt] = (),
    parked_reason: str | None = None,
    history: list[dict[str, Any]] | None = None,
) -> OrderStory:
    """One order's story from its trace records (in time order), log attempts and execution history."""
    delivered = [r for r in records if not r.dead_lettered]
    steps = _answers(delivered)
    failed_step, error = _failure(steps)
    if history:  # the orchestrator's own account of why it gave up on a step wins over a late answer
        tries = _history_attempts(history)
        given_up = _history_failure(history)
        if given_up[0] is not None:
            failed_step, error = given_up
    else:
        tries = _log_attempts(attempts)
    retried = tries.retried()
    return OrderStory(
        outcome=outcome, failed_step=failed_step, error=error, attempts=retried,
        retry_delays_s={s: d for s, d in tries.delays.items() if d and s in retried},
        retry_errors={s: e for s, e in tries.errors.items() if e and s in retried},
        compensations=_compensations(steps), parked_reason=parked_reason or None,
        dead_letters=[f"{r.type}: {r.dead_letter_reason or 'unknown'}" for r in records if r.dead_lettered],
        inconsistent_for_s=_inconsistent_for(steps, delivered),
    )  # fmt: skip


def _answers(delivered: Sequence[TraceRecord]) -> _Steps:
    steps = _Steps()
    commands = {r.message_id: r for r in delivered}
    for r in delivered:
        if (step := _commanded_step(r)) is not None and step not in steps.commanded:
            steps.commanded.append(step)
        if r.type in DONE_AS:
            key, nothing = NOTHING_UNDONE.get(r.type, ("", None))
            steps.answer(DONE_AS[r.type], _Answer(True, r.t, needless=bool(key) and r.facts.get(key) == nothing))
        elif r.type in FAILED_AS:
            steps.answer(FAILED_AS[r.type], _Answer(False, r.t, _error(r.type, r.facts.get("reason"))))
        elif r.type == "TaskFailed":
            asked = commands.get(r.causation_id or "")
            step = (_commanded_step(asked) if asked else None) or "a task"
            steps.answer(step, _Answer(False, r.t, _error(r.facts.get("error") or "TaskFailed", r.facts.get("cause"))))
    return steps


def _commanded_step(r: TraceRecord) -> str | None:
    """The step a command record asks for: its type, or for a generic participant its state's name."""
    if r.sender == "orchestrator" and r.state:
        return r.state if r.type == "InvokeTask" else r.type
    return None


def _error(kind: str, detail: object) -> str:
    return f"{kind}: {detail}" if detail else kind


def _failure(steps: _Steps) -> tuple[str | None, str | None]:
    """The first forward step whose last answer was a failure, and the participant's error."""
    for step, answer in steps.answers.items():
        if step not in COMPENSATIONS and not answer.ok:
            return step, answer.error
    return None, None


def _compensations(steps: _Steps) -> list[Compensation]:
    found = []
    for step, answer in steps.answers.items():
        if step in COMPENSATIONS:
            result: CompensationResult = "failed" if not answer.ok else "needless" if answer.needless else "done"
            found.append(Compensation(step=step, result=result, detail=answer.error or ""))
    found += [Compensation(step=step, result="unanswered") for step in steps.commanded
              if step in COMPENSATIONS and step not in steps.answers]  # fmt: skip
    return found


def _inconsistent_for(steps: _Steps, delivered: Sequence[TraceRecord]) -> float | None:
    effects = [a.t for step, a in steps.answers.items() if a.ok and step not in COMPENSATIONS]
    if not effects or not delivered:
        return None
    return round(max(a.t for a in steps.answers.values()) - min(effects), RETRY_DELAY_DIGITS)


@dataclass
class _Tries:
    """Per step: the most times one message of it was tried (each line of an order is a message of its own), the
    wait before each retry, the error of each failed try."""

    count: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    delays: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def retried(self) -> dict[str, int]:
        return {step: n for step, n in self.count.items() if n > 1}


def _history_attempts(history: Iterable[dict[str, Any]]) -> _Tries:
    """Per step, the most times the orchestrator scheduled it for one line of the order, the Retry delay before
    each retry, and the error each failed or timed-out attempt ended with."""
    tries = _Tries()
    scheduled: dict[tuple[str, Any], int] = defaultdict(int)  # per step and line: an order's lines are no retries
    for event in history:
        kind = event.get("type")
        if kind == "TaskScheduled":
            details = event.get("taskScheduledEventDetails", {})
            step = _step_of_resource(str(details.get("resource", "")))
            parameters = details.get("parameters")
            scheduled[step, parameters.get("line") if isinstance(parameters, dict) else None] += 1
            tries.count[step] = max(scheduled[(step, line)] for (s, line) in scheduled if s == step)
            if "retryDelaySeconds" in details:
                tries.delays[step].append(round(float(details["retryDelaySeconds"]), RETRY_DELAY_DIGITS))
        elif kind in ("TaskFailed", "TaskTimedOut"):
            details = event.get("taskFailedEventDetails") or event.get("taskTimedOutEventDetails") or {}
            tries.errors[_step_of_resource(str(details.get("resource", "")))].append(str(details.get("error", kind)))
    return tries


def _history_failure(history: Iterable[dict[str, Any]]) -> tuple[str | None, str | None]:
    """A forward task that failed for good or timed out in the history (a failure no participant answered)."""
    for event in history:
        kind = event.get("type")
        if kind not in ("TaskFailed", "TaskTimedOut"):
            continue
        details = event.get("taskFailedEventDetails") or event.get("taskTimedOutEventDetails") or {}
        step = _step_of_resource(str(details.get("resource", "")))
        if not details.get("willRetry") and step not in COMPENSATIONS:
            return step, _error(str(details.get("error", kind)), details.get("cause"))
    return None, None


def _step_of_resource(resource: str) -> str:
    """``sagalab:inventory:ReleaseStock`` names its step last; any other resource is its own name."""
    return resource.rsplit(":", 1)[-1] if resource.startswith("sagalab:") else resource


def _log_attempts(attempts: Sequence[Attempt]) -> _Tries:
    """Per step, the deliveries that ran its handler (failed or not), the wait between them, and the error of
    each that raised."""
    tries = _Tries()
    times: dict[tuple[str, str], list[float]] = defaultdict(list)  # (step, message id): a retry is the same message
    for a in attempts:
        step = STEP_OF_REACTION.get((a.service, a.message_type), a.message_type)
        if step not in STEPS:
            continue  # the order service's and the orchestrator's own deliveries are no step
        times[step, a.message_id].append(a.t)
        if a.error:
            tries.errors[step].append(a.error)
    for (step, _), ts in times.items():  # the step of each line of an order is its own message
        tries.count[step] = max(tries.count[step], len(ts))
        tries.delays[step] += [round(b - a, RETRY_DELAY_DIGITS) for a, b in zip(ts, ts[1:], strict=False)]
    return tries
