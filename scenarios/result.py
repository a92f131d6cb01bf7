"""The result of one run, in the JSON shape scripts rely on (DESIGN.md: keys are fixed, more may be added)."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field


class OrderCounts(BaseModel):
    total: int
    completed: int = 0
    compensated: int = 0
    inconsistent: int = 0
    stuck: int = 0
    rejected: int = 0
    """Refused at the edge (out of bounds or malformed), never placed; ``total`` counts them too."""


class ViolationOut(BaseModel):
    order_id: str
    rule: str
    detail: str


class RejectedOrder(BaseModel):
    order_id: str
    reason: str


class Consistency(BaseModel):
    ok: bool
    violations: list[ViolationOut] = Field(default_factory=list)


class MessageCounts(BaseModel):
    total: int
    per_order: float
    per_line: float | None = None
    """Messages per order line, when some order had several lines: what an extra line costs the mode."""
    by_type: dict[str, int]
    dead_lettered: int
    dead_lettered_by_reason: dict[str, int] = Field(default_factory=dict)
    """Dead letters by error type: ours (``x-sagalab-error``) or the broker's (``delivery_limit`` ...)."""
    refused: int = 0
    """Forward steps the services refused: a barrier (their compensation was recorded) or a tombstone."""
    ignored: int = 0
    """Messages answered, or dropped, with no effect: the same step again under a new id, late or stray."""
    stray: int = 0
    """Messages refused or ignored for an order the run never placed (a stray reply, a tombstoned compensation)."""


class Latency(BaseModel):
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None

    @classmethod
    def of(cls, samples_ms: list[float]) -> Latency:
        if not samples_ms:
            return cls()
        if len(samples_ms) == 1:
            v = round(samples_ms[0], 2)
            return cls(p50=v, p95=v, p99=v)
        q = statistics.quantiles(samples_ms, n=100, method="inclusive")
        return cls(p50=round(q[49], 2), p95=round(q[94], 2), p99=round(q[98], 2))


class GoldenCheck(BaseModel):
    """How the run's transcript compared with the scenario's golden one (``scenarios/golden.py``)."""

    file: str
    checked: bool = False
    matched: bool | None = None
    """None when not checked."""
    recorded: bool = False
    """``--record-golden``: this run's transcript was written to ``file`` for its mode."""
    reason: str | None = None
    """Why it was neither checked nor recorded (no golden yet, other orders or seed, a run that failed)."""
    diff: list[str] = Field(default_factory=list)
    """The unified diff, golden first, when it did not match."""


CompensationResult = Literal["done", "needless", "failed", "unanswered"]


class Compensation(BaseModel):
    """One compensation of an order, as its last answer tells it."""

    step: str
    result: CompensationResult
    """``needless``: the step it undoes had not happened (nothing charged, reserved or booked; a tombstone
    was left so a late forward step is refused). ``unanswered``: commanded, never answered in the run."""
    detail: str = ""


FAILURE_WORDS = {"PaymentDeclined": "declined", "OutOfStock": "out of stock", "ShipmentFailed": "shipping failed",
                 "States.Timeout": "timed out"}  # fmt: skip
"""A failure's name as a reader of the order list would say it."""


class OrderStory(BaseModel):
    """Why one order ended as it did: the step that failed and with which participant error, the attempts
    and retry delays, each compensation, why it was parked, how long it was inconsistent."""

    outcome: str
    failed_step: str | None = None
    error: str | None = None
    """The participant's error: the failure event and its reason (``OutOfStock: 0 of KEYBOARD left...``), or a
    task's error and cause (``States.Timeout: ...``)."""
    attempts: dict[str, int] = Field(default_factory=dict)
    """Steps tried more than once, with how many times (a step missing here ran once)."""
    retry_delays_s: dict[str, list[float]] = Field(default_factory=dict)
    """Per retried step, the wait before each retry: the orchestrator's Retry backoff, or between
    choreography's redeliveries."""
    retry_errors: dict[str, list[str]] = Field(default_factory=dict)
    """Per retried step, the error each failed attempt ended with (the task's error, or what the handler raised)."""
    compensations: list[Compensation] = Field(default_factory=list)
    parked_reason: str | None = None
    dead_letters: list[str] = Field(default_factory=list)
    """``type: reason`` of each of the order's messages dead-lettered."""
    inconsistent_for_s: float | None = None
    """From the order's first local effect (a charge) to its last answer (the refund that undid it, the
    shipment that completed it); None when nothing took effect. For an order that never settled, until the
    last message the run saw of it."""

    def why(self) -> str:
        """Why it ended so, in a few words: ``declined``, ``out of stock``, ``shipping failed``, ``parked``..."""
        if self.parked_reason:
            return "parked"
        error = (self.error or "").split(":", 1)[0]
        if error in FAILURE_WORDS:
            return FAILURE_WORDS[error]
        return f"{self.failed_step} failed" if self.failed_step else ""

    def line(self) -> str:
        """The story in one line, for a terminal or a grep."""
        parts = [self.outcome]
        if self.failed_step:
            parts.append(f"{self.failed_step} failed" + (f" ({self.error})" if self.error else ""))
        elif self.error:
            parts.append(self.error)
        if self.attempts:
            parts.append("attempts " + ", ".join(f"{step} x{n}{self._failed_tries(step)}"
                                                 for step, n in self.attempts.items()))  # fmt: skip
        if self.retry_delays_s:
            parts.append("retry delays " + ", ".join(
                f"{step} {'/'.join(f'{d:g}' for d in delays)} s" for step, delays in self.retry_delays_s.items()))
        if self.compensations:
            parts.append("compensations " + ", ".join(f"{c.step} {c.result}" for c in self.compensations))
        if self.parked_reason:
            parts.append(f"parked: {self.parked_reason}")
        if self.dead_letters:
            parts.append("dead-lettered " + ", ".join(self.dead_letters))
        if self.inconsistent_for_s is not None:
            parts.append(f"inconsistent for {self.inconsistent_for_s:g} s")
        return " ".join("; ".join(parts).split())  # one line, whatever a participant's error holds


    def _failed_tries(self, step: str) -> str:
        """`` (failed: HandlerBug x5)``: the kinds of error the step's failed tries ended with, counted."""
        kinds = Counter(re.split(r"[(:]", e, maxsplit=1)[0].strip() for e in self.retry_errors.get(step, []))
        return f" (failed: {', '.join(f'{k} x{n}' if n > 1 else k for k, n in kinds.items())})" if kinds else ""


class Defences(BaseModel):
    """The work each defence did in a run: what a comparison of the modes sets side by side."""

    duplicates_dropped: int = 0
    """Deliveries the inbox recognised by their message id: no second effect (the stored answer again)."""
    business_key_answers: int = 0
    """The same step again under a new message id, answered with its first outcome (order, step key)."""
    barrier_refusals: int = 0
    """Forward steps refused because their compensation (or a tombstone) was already recorded."""
    strays_ignored: int = 0
    """Replies no task was waiting for (late, duplicate or unknown), dropped by the orchestrator."""
    redeliveries: int = 0
    """Deliveries the broker marked redelivered: a requeue after a failed handler, a crash, a lost channel."""
    retries: int = 0
    """Tasks the orchestrator scheduled again (Retry with backoff, or a re-send after a timeout)."""
    task_timeouts: int = 0
    """Tasks the orchestrator gave up waiting for (``States.Timeout``)."""
    dead_letters: int = 0
    dead_letters_by_reason: dict[str, int] = Field(default_factory=dict)

    ROWS: ClassVar[tuple[tuple[str, str], ...]] = (
        ("duplicates_dropped", "duplicates dropped (inbox)"),
        ("business_key_answers", "answered again (business key)"),
        ("barrier_refusals", "refused (barrier)"),
        ("strays_ignored", "strays ignored"),
        ("redeliveries", "redeliveries"),
        ("retries", "retries (orchestrator)"),
        ("task_timeouts", "task timeouts"),
        ("dead_letters", "dead letters"),
    )
    """Each count and how a table labels it, in the order tables list them."""


class RunResult(BaseModel):
    scenario: str
    mode: str
    seed: int
    orders: OrderCounts
    consistency: Consistency
    messages: MessageCounts
    latency_ms: Latency
    duration_s: float
    """The saga span: from the first order placed to the last saga settled (the figure to compare across modes)."""
    stall_s: float | None = None
    """A broker node killed (``broker:kill-node``): the longest the saga traffic stopped from just before the kill
    to the end (None when no node was killed)."""
    settled: bool
    expectation_met: bool
    expectation_failures: list[str] = Field(default_factory=list)
    publisher_check: bool = False
    """Consumers dead-lettered messages whose publisher was not the service that may send them (own users)."""
    durability: Literal["strict", "light"] = "strict"
    """``strict``: quorum queues and publisher confirms; ``light``: classic queues, no confirms (``--durability``)."""
    namespace: str = ""
    run_dir: str = ""
    outcomes: dict[str, str] = Field(default_factory=dict)
    rejected_orders: list[RejectedOrder] = Field(default_factory=list)
    """Each order refused at the edge, with the reason (its outcome is ``rejected``)."""
    extra: dict[str, Any] = Field(default_factory=dict)
    golden: GoldenCheck | None = None
    """The golden transcript's verdict (None only for results written before goldens existed)."""


    setup_s: float = 0.0
    """Before the first order: connecting, resetting the namespace, starting the services and waiting until ready."""
    run_s: float = 0.0
    """The whole run as the user waited for it: set-up, the sagas, stopping the services and judging."""
    defences: Defences = Field(default_factory=Defences)
    """What each defence did in this run (counts)."""
    stories: dict[str, OrderStory] = Field(default_factory=dict)
    """Per order with something to tell (failed, compensated, parked, retried, dead-lettered): its story. An
    order that completed on the first try of every step has none."""


class CompareResult(BaseModel):
    scenario: str
    choreography: RunResult
    orchestration: RunResult
