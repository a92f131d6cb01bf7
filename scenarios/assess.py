"""Turning a finished run into its result: counts, latency, the oracle's verdict, and the expectation."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from orchestration.histories import find_history
from scenarios.oracle import Verdict
from scenarios.result import (
    Consistency,
    Latency,
    MessageCounts,
    OrderCounts,
    RejectedOrder,
    RunResult,
    ViolationOut,
)
from scenarios.run_state import Run, RunOptions
from scenarios.scenario import Expect, Scenario
from scenarios.settle import alerts, settled_at
from scenarios.topologies import services
from shared.domain.contracts import Order
from shared.stores.read import read_only
from shared.stores.sqlite import ServiceView


def log_counts(logs: Path) -> dict[str, int]:
    """Redeliveries the broker made and duplicates the inboxes dropped, read from the services' logs."""
    counts: Counter[str] = Counter()
    for path in logs.glob("*.log"):
        for line in path.read_text(errors="replace").splitlines():
            if '"handled"' not in line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            counts["redelivered"] += bool(entry.get("redelivered"))
            counts["duplicates dropped"] += bool(entry.get("duplicate"))
    return dict(counts)


def refusals(databases: Iterable[Path], order_ids: set[str]) -> dict[str, int]:
    """Messages the services refused or ignored for this run's orders (each service's ``refusals`` table)."""
    counts: Counter[str] = Counter()
    for path in databases:
        with read_only(path) as db:
            counts.update(r.kind for r in ServiceView(db).refusals() if r.order_id in order_ids)
    return dict(counts)


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
    refused = refusals([run.data_dir / f"{s}.db" for s in services(opts.mode)], {o.order_id for o in orders})
    rejected = [RejectedOrder(order_id=r.order_id, reason=r.reason) for r in run.rejected]
    result = RunResult(
        scenario=opts.scenario.name, mode=opts.mode, seed=opts.seed,
        orders=OrderCounts(total=len(orders) + len(rejected), rejected=len(rejected),
                           **{k: verdict.count(k) for k in ("completed", "compensated", "inconsistent", "stuck")}),
        consistency=Consistency(ok=verdict.ok, violations=[ViolationOut(**v.__dict__) for v in verdict.violations]),
        messages=MessageCounts(total=total, per_order=round(total / max(len(orders), 1), 2), by_type=by_type,
                               dead_lettered=run.trace.dead_lettered(),
                               dead_lettered_by_reason=run.trace.dead_lettered_by_reason(),
                               refused=refused.get("refused", 0), ignored=refused.get("ignored", 0)),
        latency_ms=Latency.of(latencies), duration_s=round(duration_s, 3), settled=settled,
        expectation_met=False, publisher_check=run.publisher_check, namespace=opts.namespace,
        run_dir=str(opts.out_dir), outcomes=verdict.outcomes | {r.order_id: "rejected" for r in rejected},
        rejected_orders=rejected,
        extra={
            "faults_injected": dict(run.injected), "restarts": run.fleet.restarts,
            **log_counts(opts.out_dir / "logs"), "alerts": alerts(run.coordinator_db) if opts.mode == "choreography" else [],
            "dead_lettered_broken_on_purpose": _dead_letters_of(run, opts.scenario.expect_for(opts.mode)),
            "unsafe": sorted(opts.unsafe), "workflow": workflow_of(opts)
            if opts.mode == "orchestration" else None,
        },
    )  # fmt: skip
    if opts.include_history and opts.mode == "orchestration":
        result.extra["history"] = {o.order_id: find_history(o.order_id, [run.data_dir]) for o in orders}
    failures = expectation_failures(opts.scenario, result, orders, run.stock)
    return result.model_copy(update={"expectation_met": not failures, "expectation_failures": failures})


BROKEN_COMPENSATION_RULES = frozenset({"stock.left-behind", "termination.needs-attention"})


def _parked_on_purpose(violation: ViolationOut, suffixes: tuple[str, ...]) -> bool:
    """A violation a broken compensation must leave, and nothing more: the stock it could not release, and
    the order parked naming the step that failed (never a money rule: the refund must still run)."""
    if not violation.order_id.endswith(suffixes) or violation.rule not in BROKEN_COMPENSATION_RULES:
        return False
    return violation.rule != "termination.needs-attention" or " failed: " in violation.detail


def _dead_letters_of(run: Run, expect: Expect) -> int:
    """Dead letters of the orders whose compensation the scenario broke on purpose."""
    suffixes = expect.broken_on_purpose
    return sum(1 for r in run.trace.records if r.dead_lettered and r.dead_letter_reason == "HandlerFailed"
               and suffixes and (r.correlation_id or "").endswith(suffixes))  # fmt: skip


def expectation_failures(
    scenario: Scenario, result: RunResult, orders: list[Order], stock: dict[str, int]
) -> list[str]:
    """Why a run does not match what its scenario expects (empty when it does)."""
    expect, failures = scenario.expect_for(result.mode), []
    if not result.settled and expect.settles:
        failures.append("the run did not settle before its deadline")
    violations = result.consistency.violations
    if expect.stuck_must_be_reported and result.mode == "choreography":
        reported = {a["order_id"] for a in result.extra.get("alerts", [])}
        violations = [v for v in violations if not (v.rule.startswith("termination") and v.order_id in reported)]
    if expect.broken_on_purpose:
        violations = [v for v in violations if not _parked_on_purpose(v, expect.broken_on_purpose)]
    seen = {v.rule for v in violations}
    if expect.consistent and violations:
        failures.append(f"violations: {', '.join(sorted(seen))}")
    if not expect.consistent:
        missing = expect.violations - seen
        if missing or not seen:
            failures.append(f"expected violations not seen: {', '.join(sorted(missing)) or 'any'}")
    if expect.outcome:
        off = [o for o, outcome in result.outcomes.items() if outcome != expect.outcome]
        if off:
            failures.append(f"{len(off)} order(s) not {expect.outcome}")
    if expect.dead_lettered is not None and result.messages.dead_lettered != expect.dead_lettered:
        failures.append(f"{result.messages.dead_lettered} dead-lettered, expected {expect.dead_lettered}")
    for fault in result.extra.get("faults_injected", {}):
        if fault.startswith(("never injected", "injector failed")):
            failures.append(f"the scenario's fault did not happen: {fault}")
    if expect.dead_lettered_equals_poison:
        injected = result.extra.get("faults_injected", {})
        poison = injected.get("poison", 0) + injected.get("forged", 0)  # a forgery is dead-lettered by its consumer
        broken = result.extra.get("dead_lettered_broken_on_purpose", 0)  # a compensation's message given up on
        if result.messages.dead_lettered - broken != poison:
            failures.append(f"{result.messages.dead_lettered} dead-lettered ({result.messages.dead_lettered_by_reason}"
                            f"), but {poison} poison and forgeries injected")
    if result.orders.rejected != (expect.rejected or 0):
        failures.append(f"{result.orders.rejected} order(s) rejected at the edge, expected {expect.rejected or 0}")
    if expect.completed is not None and result.orders.completed != expect.completed:
        failures.append(f"{result.orders.completed} order(s) completed, expected {expect.completed}")
    if expect.alerted and not result.extra.get("alerts"):
        failures.append("the deadline watcher reported nothing")
    for order in orders:
        predicted = scenario.predict(order, stock, result.mode)
        actual = result.outcomes.get(order.order_id)
        if predicted and actual != predicted:
            failures.append(f"{order.order_id} should be {predicted}, was {actual}")
    return failures
