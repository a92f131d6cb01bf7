"""Bench results built by hand, for the tests of the bench's view and JSON."""

from __future__ import annotations

from sagalab.bench.result import BenchResult, Machine, ModeFigures, RunFigures, Verdict
from scenarios.result import Latency


def run(kind: str = "raw", mode: str = "orchestration", throughput: float = 100.0, p50: float = 10.0,
        cpu: dict[str, float | None] | None = None) -> RunFigures:  # fmt: skip
    return RunFigures(kind=kind, mode=mode, hops=7, orders=200, settled=200, concurrency=100, instances=1,  # type: ignore[arg-type]
                      throughput_per_s=throughput, latency_ms=Latency(p50=p50, p95=p50, p99=p50), wall_s=2.0,
                      messages_per_order=7.0, cpu_s=cpu or {}, verdict=Verdict(ok=True, completed=180, compensated=20))  # fmt: skip


def result_with(saga: RunFigures, peers: dict[str, RunFigures] | None = None) -> BenchResult:
    mode = ModeFigures(mode=saga.mode, raw=run(), saga=saga, throughput_ratio=0.5, latency_ratio=1.5, targets=[])
    return BenchResult(command="sagalab bench", date="2026-12-02 15:00 UTC", commit="abc", machine=Machine(cores=2, broker="RabbitMQ"),
                       orders=200, concurrency=100, failure_rate=0.1, instances=1, repeat=1, seed=7,
                       workflow="standard", modes={saga.mode: mode}, peers=peers or {}, ok=True)  # fmt: skip
