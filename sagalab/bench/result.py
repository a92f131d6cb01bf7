"""The benchmark's result, in the JSON shape ``sagalab bench --json`` writes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from sagalab.bench.tenths import Growth
from scenarios.result import Latency, ViolationOut


class Verdict(BaseModel):
    """The oracle's word on a run (for the raw chain: every order settled once): a fast inconsistent run fails."""

    ok: bool
    completed: int = 0
    compensated: int = 0
    inconsistent: int = 0
    stuck: int = 0
    unexpected: int = 0
    """Orders that ended otherwise than their SKU says (in stock: completed; out of stock: compensated)."""
    dead_lettered: int = 0
    violations: list[ViolationOut] = Field(default_factory=list)
    """The first few broken rules, if any."""


class RunFigures(BaseModel):
    """One measured run: the raw chain of a hop count, or one saga mode."""

    kind: Literal["raw", "saga", "peer"]
    mode: str
    hops: int
    orders: int
    settled: int
    concurrency: int
    instances: int
    throughput_per_s: float | None
    latency_ms: Latency
    wall_s: float | None
    """From the first placement to the last settlement."""
    messages_per_order: float | None
    messages_by_type: dict[str, int] = Field(default_factory=dict)
    cpu_s: dict[str, float | None] = Field(default_factory=dict)
    """CPU seconds over the measured span: each process, ``driver`` (this bench), ``broker`` (RabbitMQ's
    beam.smp), ``machine`` (every busy core), ``other`` (the machine outside those processes) and
    ``steal`` (time the hypervisor gave to other guests: a disturbed run)."""
    cpu_ms_per_saga: dict[str, float] = Field(default_factory=dict)
    """CPU ms per settled saga: ``services`` (the fleet's processes), ``postgres`` (the whole server, when the
    store is PostgreSQL), ``broker``, and ``total``, their sum."""
    verdict: Verdict
    run_dir: str = ""
    growth: Growth | None = None
    """Throughput per tenth of the run and each process's memory at its start and end (``tenths.py``)."""


class TargetOut(BaseModel):
    name: str
    wanted: str
    ratio: float | None
    met: bool | None
    """None when this run does not measure the target (another concurrency or failure rate)."""
    note: str = ""


class Pair(BaseModel):
    """One raw-chain run and the saga run right after it, and their ratios."""

    raw: RunFigures
    saga: RunFigures
    throughput_ratio: float | None
    latency_ratio: float | None


class ModeFigures(BaseModel):
    mode: str
    raw: RunFigures
    saga: RunFigures
    """The pair whose throughput ratio is the median (the only pair without ``--repeat``)."""
    throughput_ratio: float | None
    """Sagas per second over raw chains per second, same hop count, same run (median over the pairs)."""
    latency_ratio: float | None
    """Saga p50 over raw-chain p50 (median over the pairs)."""
    targets: list[TargetOut]
    pairs: list[Pair] = Field(default_factory=list)
    """Every pair measured, in order (more than one with ``--repeat``)."""


class Machine(BaseModel):
    cores: int
    broker: str
    queues: str = "quorum"
    durability: str = "strict"
    """``sagalab bench --durability``: strict (quorum queues, confirms) or light (classic queues, no confirms),
    the same for the sagas and the raw chain."""
    transport: str = "plain"
    """The services' transport (``sagalab bench --transport``): ``fast`` unless told otherwise."""


class BenchResult(BaseModel):
    command: str
    date: str
    commit: str
    machine: Machine
    orders: int
    concurrency: int
    failure_rate: float
    instances: int
    repeat: int
    seed: int
    workflow: str
    store: str = "sqlite"
    """Where the services kept their databases: ``sqlite`` files or ``postgresql`` (the URL's scheme only)."""
    modes: dict[str, ModeFigures]
    peers: dict[str, RunFigures] = Field(default_factory=dict)
    """``--peer``: each peer engine on the same orders at the same concurrency, right after the modes."""
    ok: bool
    """Every run settled with no violation and every order ended as its SKU says."""
