"""Turning a finished run into its result: counts, latency, the oracle's verdict, and the expectation."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import cast

from orchestration.histories import find_history
from scenarios import golden
from scenarios.checks import Judged, unexplained
from scenarios.cluster_faults import KILLED_MARK, stall_s
from scenarios.defences import defences, histories, refusals_of
from scenarios.oracle import Verdict, coordinator_records
from scenarios.result import (
    Consistency,
    Latency,
    MessageCounts,
    OrderCounts,
    RejectedOrder,
    RunResult,
    ViolationOut,
)
from scenarios.run_state import Run, RunOptions, durability_of
from scenarios.scenario import Scenario
from scenarios.service_logs import read_logs
from scenarios.settle import alerts, settled_at
from scenarios.story import tell
from scenarios.topologies import services
from shared.config import Mode
from shared.domain.contracts import Order
from shared.stores.read import read_only
from shared.stores.sqlite import ServiceView


def strays(databases: Iterable[Path], order_ids: set[str]) -> int:
    """Messages the services refused or ignored for orders the run never placed (a stray reply, a tombstone)."""
    found = 0
    for path in databases:
        with read_only(path) as db:
            found += sum(r.order_id not in order_ids for r in ServiceView(db).refusals())
    return found


def _per_line(total: int, orders: list[Order]) -> float | None:
    """Messages per order line, or None when every order had one line (then it is ``per_order``)."""
    lines = sum(len(o.lines) for o in orders)
    return round(total / lines, 2) if lines > len(orders) else None


def workflow_of(opts: RunOptions) -> str:
    """The orchestrator's workflow in this run: the command line's, else the scenario's, else standard."""
    options = opts.scenario.service_options.get("orchestrator", {}) | opts.service_options
    return options.get("workflow", "standard")


def assess(run: Run, verdict: Verdict, settled: bool, duration_s: float) -> RunResult:
    opts, orders = run.options, run.orders
    done_at = settled_at(run.coordinator_db)
    latencies = [(done_at[o] - run.placed_at[o]) * 1000 for o in run.placed_at if o in done_at]
    by_type = run.trace.by_type()
    total = sum(by_type.values())
    order_ids = {o.order_id for o in orders}
    built_in = [s for s in services(opts.mode) if s not in opts.participants]  # a participant you bring keeps its own
    databases = [run.data_dir / f"{s}.db" for s in built_in]
    refused_all = refusals_of(databases, order_ids)
    refused = Counter(r.kind for r in refused_all)
    logs = read_logs(opts.out_dir / "logs")
    executions = histories(run.data_dir, sorted(order_ids)) if opts.mode == "orchestration" else {}
    parked = {o: r.detail or "a compensation failed" for o, r in coordinator_records(run.coordinator_db).items()
              if o in order_ids and r.status == "needs-attention"}  # fmt: skip
    rejected = [RejectedOrder(order_id=r.order_id, reason=r.reason) for r in run.rejected]
    result = RunResult(
        scenario=opts.scenario.name, mode=opts.mode, seed=opts.seed,
        orders=OrderCounts(total=len(orders) + len(rejected), rejected=len(rejected),
                           **{k: verdict.count(k) for k in ("completed", "compensated", "inconsistent", "stuck")}),
        consistency=Consistency(ok=verdict.ok, violations=[ViolationOut(**v.__dict__) for v in verdict.violations]),
        messages=MessageCounts(total=total, per_order=round(total / max(len(orders), 1), 2), by_type=by_type,
                               per_line=_per_line(total, orders),
                               dead_lettered=run.trace.dead_lettered(),
                               dead_lettered_by_reason=run.trace.dead_lettered_by_reason(),
                               refused=refused.get("refused", 0), ignored=refused.get("ignored", 0),
                               stray=strays(databases, order_ids)),
        latency_ms=Latency.of(latencies), duration_s=round(duration_s, 3), settled=settled,
        stall_s=stall_s([r.t for r in run.trace.records if not r.dead_lettered], run.marks.get(KILLED_MARK)),
        expectation_met=False, publisher_check=run.publisher_check, durability=durability_of(opts),
        namespace=opts.namespace,
        run_dir=str(opts.out_dir), outcomes=verdict.outcomes | {r.order_id: "rejected" for r in rejected},
        rejected_orders=rejected,
        extra={
            "faults_injected": dict(run.injected), "restarts": run.fleet.restarts,
            "replicas": run.fleet.replica_counts,
            **logs.counts(),
            "alerts": alerts(run.coordinator_db) if opts.mode == "choreography" else [],
            "dead_lettered_broken_on_purpose": _dead_letters_of(run),
            "unsafe": sorted(opts.unsafe), "workflow": workflow_of(opts)
            if opts.mode == "orchestration" else None,
        },
        defences=defences(refused_all, logs, executions, run.trace),
        stories=tell(verdict.outcomes, run.trace.records, logs.attempts, parked, executions),
    )  # fmt: skip
    if opts.include_history and opts.mode == "orchestration":
        result.extra["history"] = {o.order_id: find_history(o.order_id, [run.data_dir]) for o in orders}
    failures = expectation_failures(opts.scenario, result, orders, run.stock)
    check = golden.verdict(run, result.outcomes, failures, settled)
    failures += [f for f in (golden.failure(check),) if f]
    return result.model_copy(update={"expectation_met": not failures, "expectation_failures": failures,
                                     "golden": check})


def _dead_letters_of(run: Run) -> int:
    """Dead letters of the orders whose compensation the scenario broke on purpose."""
    suffixes = run.options.scenario.broken_on_purpose(run.options.mode)
    return sum(1 for r in run.trace.records if r.dead_lettered and r.dead_letter_reason == "HandlerFailed"
               and suffixes and (r.correlation_id or "").endswith(suffixes))  # fmt: skip


def expectation_failures(
    scenario: Scenario, result: RunResult, orders: list[Order], stock: dict[str, int]
) -> list[str]:
    """Why a run does not match what its scenario expects (empty when it does): each check's own reasons."""
    mode = cast(Mode, result.mode)  # a result names the mode it ran in
    checks = scenario.checks_for(mode)
    predicted = ((o.order_id, p) for o in orders if (p := scenario.predict(o, stock, mode)))
    judged = Judged(unexplained(checks, result), tuple(predicted))
    return [failure for check in checks for failure in check.failures(result, judged)]
