"""Side-by-side terminal rendering of one or two runs: outcomes, verdict, messages, latency, time."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from scenarios.result import Defences, RunResult
from shared.domain.reading import SAGA_ORDER

STORY_LINES = 10
"""How many orders' stories a terminal shows per mode before it says how many more there are."""
VIOLATION_LINES = 10
"""How many orders' violations a terminal shows per mode before it says how many more there are."""


def _fmt(v: float | None, unit: str = "") -> str:
    return "-" if v is None else f"{v:,.1f}{unit}"


def render(results: list[RunResult], console: Console) -> None:
    """A table with one column per mode, rows a reader can compare across."""
    title = f"sagalab · {results[0].scenario} · {results[0].orders.total} order(s) · seed {results[0].seed}"
    table = Table(title=title, show_lines=False, header_style="bold")
    table.add_column("")
    for r in results:
        table.add_column(r.mode, justify="right")

    def row(label: str, *cells: str, style: str | None = None) -> None:
        table.add_row(label, *cells, style=style)

    row("completed", *(str(r.orders.completed) for r in results))
    row("compensated", *(str(r.orders.compensated) for r in results))
    row("inconsistent", *(_bad(r.orders.inconsistent) for r in results))
    row("stuck", *(_bad(r.orders.stuck) for r in results))
    if any(r.orders.rejected for r in results):
        row("rejected", *(str(r.orders.rejected) for r in results))
    row("consistency", *("[green]ok[/]" if r.consistency.ok else f"[red]{len(r.consistency.violations)} violation(s)[/]"
                         for r in results))  # fmt: skip
    table.add_section()
    types = sorted({t for r in results for t in r.messages.by_type}, key=lambda t: _first_seen(results, t))
    for t in types:
        row(f"  {t}", *(str(r.messages.by_type.get(t, 0) or "·") for r in results))
    row("messages", *(f"[bold]{r.messages.total}[/]" for r in results))
    row("per order", *(f"{r.messages.per_order:g}" for r in results))
    if any(r.messages.per_line is not None for r in results):
        row("per order line", *(f"{r.messages.per_line:g}" if r.messages.per_line is not None else "·" for r in results))
    row("dead-lettered", *(str(r.messages.dead_lettered) for r in results))
    table.add_section()
    used = [(key, label) for key, label in Defences.ROWS if any(getattr(r.defences, key) for r in results)]
    row("[bold]defences[/]" if used else "defences: none used", *("" for _ in results))
    for key, label in used:  # only what some mode used: the work each defence did, side by side
        row(f"  {label}", *(str(getattr(r.defences, key) or "·") for r in results))
    table.add_section()
    row("latency p50", *(_fmt(r.latency_ms.p50, " ms") for r in results))
    row("latency p95", *(_fmt(r.latency_ms.p95, " ms") for r in results))
    row("saga span", *(f"{r.duration_s:.2f} s" for r in results))
    if any(r.stall_s is not None for r in results):  # a broker node was killed: how long the sagas stood still
        row("stall (node killed)", *(_fmt(r.stall_s, " s") if r.stall_s is None else f"{r.stall_s:.2f} s"
                                     for r in results))  # fmt: skip
    row("set-up / whole run", *(f"{r.setup_s:.1f} s / {r.run_s:.1f} s" for r in results))
    row("settled", *("yes" if r.settled else "[red]no[/]" for r in results))
    row("expectation", *("[green]met[/]" if r.expectation_met else "[red]not met[/]" for r in results))
    console.print(table)
    for r in results:
        for failure in r.expectation_failures:
            console.print(f"{r.mode}: {failure}", style="red", markup=False, highlight=False, soft_wrap=True)
        for line in violation_lines(r)[:VIOLATION_LINES]:
            console.print(line, style="red", markup=False, highlight=False, soft_wrap=True)
        for rejected in r.rejected_orders[:10]:
            console.print(f"{r.mode}: rejected {rejected.order_id}: {rejected.reason}", style="yellow", markup=False,
                          highlight=False, soft_wrap=True)  # fmt: skip
    render_stories(results, console)


def violation_lines(result: RunResult) -> list[str]:
    """One line per order (or per SKU, for stock rules) with every rule it broke: ``MODE violation ORDER rule:
    detail; rule: detail``, unwrapped and unstyled, so it can be grepped and pasted."""
    by_order: dict[str, list[str]] = {}
    for v in result.consistency.violations:
        by_order.setdefault(v.order_id or "(stock)", []).append(f"{v.rule}: {v.detail}")
    lines = [f"{result.mode} violation {order}: {'; '.join(causes)}" for order, causes in by_order.items()]
    if len(lines) > VIOLATION_LINES:
        lines[VIOLATION_LINES - 1:] = [f"{result.mode} ... and {len(lines) - VIOLATION_LINES + 1} more orders with "
                                       "violations (every one is in the result JSON)"]  # fmt: skip
    return lines


def render_stories(results: list[RunResult], console: Console, limit: int = STORY_LINES) -> None:
    """One line per order with a story, per mode (the first ``limit``, then how many more): grep-friendly,
    ``MODE ORDER_ID story``, printed as it is (no markup read from a participant's error)."""
    for r in results:
        stories = list(r.stories.items())
        for order_id, story in stories[:limit]:
            console.print(f"{r.mode} {order_id} {story.line()}", markup=False, highlight=False, soft_wrap=True)
        if len(stories) > limit:
            console.print(f"{r.mode} ... and {len(stories) - limit} more (every story is in the result JSON)",
                          markup=False, highlight=False, soft_wrap=True)  # fmt: skip


def _bad(n: int) -> str:
    return f"[red]{n}[/]" if n else "0"


def _first_seen(results: list[RunResult], message_type: str) -> tuple[int, str]:
    """Order message types along the saga's story rather than alphabetically."""
    known = message_type in SAGA_ORDER
    return (SAGA_ORDER.index(message_type) if known else len(SAGA_ORDER), message_type)
