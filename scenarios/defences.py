"""The work each defence did in a run, read from where the truth is: the services' ``refusals`` tables (the
barrier, the business key, strays), their logs (the inbox's duplicates, the broker's redeliveries), the
orchestrator's histories (retries, timeouts) and the tap's trace (dead letters)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from orchestration import store
from scenarios.result import Defences
from scenarios.service_logs import ServiceLogs
from scenarios.trace import Trace
from shared.runtime.host import ALREADY_DONE
from shared.stores.location import database_exists
from shared.stores.read import read_only
from shared.stores.sqlite import Refusal, ServiceView


def refusals_of(databases: Iterable[Path], order_ids: set[str]) -> list[Refusal]:
    """What the services refused or ignored for this run's orders, with why."""
    found: list[Refusal] = []
    for path in databases:
        with read_only(path) as db:
            found += [r for r in ServiceView(db).refusals() if r.order_id in order_ids]
    return found


def defence_of(refusal: Refusal) -> str:
    """Which defence a refusal counts for: the barrier, the business key, or a stray ignored."""
    if refusal.kind == "refused":
        return "barrier_refusals"
    return "business_key_answers" if f" {ALREADY_DONE} " in refusal.reason else "strays_ignored"


def defences(refused: Iterable[Refusal], logs: ServiceLogs, histories: dict[str, list[dict[str, Any]]],
             trace: Trace) -> Defences:  # fmt: skip
    """The work each defence did: refusals from the services' databases, redeliveries and duplicates from
    their logs, retries and timeouts from the orchestrator's histories, dead letters from the trace."""
    by_defence = Counter(defence_of(r) for r in refused)
    events = [e for history in histories.values() for e in history]
    return Defences(
        duplicates_dropped=logs.duplicates_dropped, redeliveries=logs.redelivered,
        retries=sum(1 for e in events if e.get("type") in ("TaskScheduled", "LambdaFunctionScheduled")
                    and (e.get("taskScheduledEventDetails") or e.get("lambdaFunctionScheduledEventDetails") or {})
                    .get("attempt")),
        task_timeouts=sum(1 for e in events if e.get("type") in ("TaskTimedOut", "LambdaFunctionTimedOut")),
        dead_letters=trace.dead_lettered(), dead_letters_by_reason=trace.dead_lettered_by_reason(),
        **{k: by_defence.get(k, 0) for k in ("barrier_refusals", "business_key_answers", "strays_ignored")},
    )  # fmt: skip


def histories(data_dir: Path, order_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """Each order's execution history in the run's orchestrator database (none in choreography)."""
    path = data_dir / "orchestrator.db"
    if not database_exists(path):
        return {}
    with read_only(path, "orchestrator") as db:
        return {o: events for o in order_ids if (events := store.history(db.conn, o))}
