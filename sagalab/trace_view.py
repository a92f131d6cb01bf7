"""``sagalab trace``: one order's timeline in each mode, side by side in the terminal.

Each row is one message as the tap saw it: time since the order's first message, from -> to, the
message type coloured by its kind (forward, failure, compensation), a retry or dead-letter mark. Under
each timeline one summary line: messages, hops (deliveries to a service) and time to settle.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from sagalab.report.runs import RunView, choose_order, load_folder, summarise
from scenarios.trace import TraceRecord, repeat_marks
from shared.domain.reading import kind_of

KIND_STYLES = {"forward": "cyan", "failure": "bold red", "compensation": "green", "dead-letter": "red strike"}
GUTTER = 4
OUTCOME_STYLES = {"completed": "green", "compensated": "cyan", "inconsistent": "bold red", "stuck": "yellow"}


def show(folder: Path, order: str | None, console: Console) -> str:
    """Print the timelines of one order of a run or compare folder; returns the order id shown."""
    runs = load_folder(folder)
    order_id = choose_order(runs, order)
    console.print(Text.assemble(("trace ", "bold"), (order_id, "bold magenta"), f"  ·  {folder}"), highlight=False, soft_wrap=True)
    timelines = [timeline(run, order_id) for run in runs]
    needed = sum(console.measure(t).maximum for t in timelines) + GUTTER * (len(timelines) - 1)
    if needed <= console.width:
        grid = Table.grid(padding=(0, GUTTER), expand=False)
        for _ in runs:
            grid.add_column(vertical="top", no_wrap=True)
        grid.add_row(*timelines)
        console.print(grid)
    else:  # too narrow to sit side by side without cutting names: one under the other
        for t in timelines:
            console.print(t)
            console.print()
    return order_id


def timeline(run: RunView, order_id: str) -> RenderableType:
    """One mode's rows for the order, with its heading and summary line."""
    records = run.records_of(order_id)
    outcome = run.outcome(order_id)
    heading = Text.assemble((run.mode, "bold underline"), "  ", (outcome, OUTCOME_STYLES.get(outcome, "dim")))
    table = Table(box=None, show_header=True, header_style="dim", pad_edge=False, padding=(0, 1))
    table.add_column("#", justify="right", style="dim")
    table.add_column("+ms", justify="right", style="dim")
    table.add_column("from → to", no_wrap=True)
    table.add_column("message", no_wrap=True)
    start = records[0].t if records else 0.0
    for row, (r, mark) in enumerate(zip(records, repeat_marks(records), strict=True), 1):
        message = _message(r)
        if mark:
            message.append(f"  ({mark})", style="yellow")
        table.add_row(str(row), f"{(r.t - start) * 1000:.1f}", _route(r), message)
    if not records:
        table.add_row("", "", Text("no messages for this order", style="dim"), "")
    parts: list[RenderableType] = [heading, table, Text(summarise(records).line(), style="bold")]
    story = run.result.stories.get(order_id)
    if story is not None:  # what the trace cannot show: redeliveries (attempts), retry delays, parking
        parts.append(Text(f"story: {story.line()}", style="dim"))
    return Group(*parts)


def _route(r: TraceRecord) -> Text:
    to = ", ".join(r.receivers) or "unrouted"
    return Text.assemble((r.sender, ""), (" → ", "dim"), (to, ""))


def _message(r: TraceRecord) -> Text:
    kind = "dead-letter" if r.dead_lettered else kind_of(r.type)
    text = Text(r.type, style=KIND_STYLES[kind])
    if r.state and r.state != r.type:
        text.append(f" [{r.state}]", style="dim")
    if r.attempt:
        text.append(f" ↻{r.attempt + 1}", style="yellow")
    if r.dead_lettered:
        text.append(f" ✕ {r.dead_letter_reason or 'dead-lettered'}", style="bold red")
    return text
