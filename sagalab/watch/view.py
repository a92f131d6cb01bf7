"""How ``sagalab watch`` reads in a terminal: a table of the sagas in flight first, then the latest that ended,
under a line that counts them by status."""

from __future__ import annotations

import time
from collections import Counter

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from sagalab.watch.fold import Fold, Saga

STATUS_STYLES = {"placed": "dim", "running": "cyan", "compensating": "yellow", "completed": "green",
                 "compensated": "blue", "parked": "bold red"}  # fmt: skip
SHORT = {"ChargePayment": "charge", "ReserveStock": "reserve", "ScheduleShipment": "ship"}
"""Steps as the done and undone columns name them, to fit a terminal."""
MODES = {"choreography": "chor", "orchestration": "orch"}
ENDED_SHOWN = 10
"""How many sagas that ended stay on screen below those in flight."""


def render(fold: Fold, namespace: str, now: float | None = None) -> RenderableType:
    now = now if now is not None else time.time()
    sagas = list(fold.sagas.values())
    in_flight = sorted((s for s in sagas if not s.finished), key=lambda s: s.updated_at)
    ended = sorted((s for s in sagas if s.finished), key=lambda s: s.updated_at, reverse=True)[:ENDED_SHOWN]
    counts = Counter[str](s.status for s in sagas)
    summary = Text.assemble((f"watching {namespace}", "bold"), "  ·  ",
                            *_counted(counts) or [("waiting for the first order…", "dim")])  # fmt: skip
    table = Table(header_style="bold", expand=False)
    for column in ("order", "mode", "status", "step", "waiting for", "done", "undone", "last message", "idle"):
        table.add_column(column, no_wrap=column in ("order", "status"))
    for saga in [*in_flight, *ended]:
        table.add_row(*_row(saga, now))
    return Group(summary, table)


def _counted(counts: Counter[str]) -> list[tuple[str, str] | str]:
    parts: list[tuple[str, str] | str] = []
    for status in STATUS_STYLES:
        if counts[status]:
            parts += [(f"{counts[status]} {status}", STATUS_STYLES[status]), "  "]
    return parts[:-1]


def _row(saga: Saga, now: float) -> list[str | Text]:
    status = Text(saga.status + (f" ({saga.parked})" if saga.parked else ""), style=STATUS_STYLES[saga.status])
    waiting = saga.pending or ("the orchestrator's next move" if saga.mode == "orchestration" and not saga.finished
                               else "")  # fmt: skip
    if saga.compensating:
        waiting = f"{waiting}  undoing: {', '.join(saga.compensating)}".strip()
    extra = []
    if saga.retries:
        extra.append(f"{saga.retries} retr{'y' if saga.retries == 1 else 'ies'}")
    if saga.dead_lettered:
        extra.append(f"{saga.dead_lettered} dead-lettered")
    last = (saga.last or "") + (f"  ({', '.join(extra)})" if extra else "")
    idle = "" if saga.finished else f"{max(now - saga.updated_at, 0):.1f}s"
    done, undone = (" ".join(SHORT.get(s, s) for s in steps) for steps in (saga.done, saga.undone))
    return [saga.order_id, MODES.get(saga.mode or "", "?"), status, saga.step or "", waiting, done, undone, last, idle]
