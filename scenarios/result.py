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


class ViolationOut(BaseModel):
    order_id: str
    rule: str
    detail: str


class Consistency(BaseModel):
    ok: bool
    violations: list[ViolationOut] = Field(default_factory=list)


class MessageCounts(BaseModel):
    total: int
    per_order: float
    by_type: dict[str, int]
    dead_lettered: int


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
    extra: dict[str, Any] = Field(default_factory=dict)


class CompareResult(BaseModel):
    scenario: str
    choreography: RunResult
    orchestration: RunResult
