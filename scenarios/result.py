"""The result of one run, in the JSON shape scripts rely on (DESIGN.md: keys are fixed, more may be added)."""

from __future__ import annotations

import statistics
from typing import Any

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
    by_type: dict[str, int]
    dead_lettered: int
    dead_lettered_by_reason: dict[str, int] = Field(default_factory=dict)
    """Dead letters by error type: ours (``x-sagalab-error``) or the broker's (``delivery_limit`` ...)."""
    refused: int = 0
    """Forward steps the services refused: a barrier (their compensation was recorded) or a tombstone."""
    ignored: int = 0
    """Messages answered, or dropped, with no effect: the same step again under a new id, late or stray."""


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


class RunResult(BaseModel):
    scenario: str
    mode: str
    seed: int
    orders: OrderCounts
    consistency: Consistency
    messages: MessageCounts
    latency_ms: Latency
    duration_s: float
    settled: bool
    expectation_met: bool
    expectation_failures: list[str] = Field(default_factory=list)
    publisher_check: bool = False
    """Consumers dead-lettered messages whose publisher was not the service that may send them (own users)."""
    namespace: str = ""
    run_dir: str = ""
    outcomes: dict[str, str] = Field(default_factory=dict)
    rejected_orders: list[RejectedOrder] = Field(default_factory=list)
    """Each order refused at the edge, with the reason (its outcome is ``rejected``)."""
    extra: dict[str, Any] = Field(default_factory=dict)
    golden: GoldenCheck | None = None
    """The golden transcript's verdict (None only for results written before goldens existed)."""


class CompareResult(BaseModel):
    scenario: str
    choreography: RunResult
    orchestration: RunResult
