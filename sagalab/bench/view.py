"""How a benchmark reads on a terminal: the progress bar while it runs, the figures table afterwards."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from sagalab.bench.result import BenchResult, RunFigures, TargetOut
from sagalab.bench.tenths_view import growth_rows, peer_lines

CPU_SUMMARY = ("broker", "driver", "other", "machine", "steal")
MAX_FILE_WIDTH = 400
"""The widest a table printed to a file or a pipe may grow (``print_whole``)."""
NOISY_SHARE = 0.2
"""A run where other work and the hypervisor took more than this share of the busy CPU is flagged."""


class _Rate(ProgressColumn):
    """Orders settled per second over rich's recent window."""

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:,.0f}/s" if task.speed else "", style="progress.data.speed")


def progress_bar(console: Console) -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), _Rate(),
                    TimeElapsedColumn(), console=console)  # fmt: skip


def _num(value: float | None, digits: int = 1) -> str:
    return "·" if value is None else f"{value:,.{digits}f}"


def _verdict(run: RunFigures) -> Text:
    v = run.verdict
    if run.kind == "raw":
        return Text(f"{run.settled}/{run.orders} settled", style="green" if v.ok else "red")
    text = f"{'ok' if v.ok else 'FAILED'}: {v.completed} completed, {v.compensated} compensated"
    problems = [f"{n} {what}" for n, what in ((v.inconsistent, "inconsistent"), (v.stuck, "stuck"),
                                              (v.unexpected, "unexpected"), (v.dead_lettered, "dead-lettered")) if n]  # fmt: skip
    return Text(", ".join([text, *problems]), style="green" if v.ok else "bold red")


def _target(check: TargetOut) -> Text:
    if check.met is None:
        return Text(f"n/a ({check.note}; wanted {check.wanted})", style="dim")
    return Text(f"{'met' if check.met else 'not met'} ({check.wanted})", style="green" if check.met else "red")


def figures_table(result: BenchResult) -> Table:
    """One column per run (each mode next to its raw chain), one row per figure."""
    runs = [run for mode in result.modes.values() for run in (mode.raw, mode.saga)] + list(result.peers.values())
    title = (f"sagalab bench · {result.orders} orders · C={result.concurrency} · {result.failure_rate:.0%} out of stock"
             f" · K={result.instances} · {result.store}{f' · median of {result.repeat} pairs' if result.repeat > 1 else ''}"
             f" · {result.machine.cores} cores, {result.machine.broker}, {result.machine.queues} queues, "
             f"{result.machine.transport} transport, {result.machine.durability} durability"
             f"{'' if result.machine.durability == 'strict' else ' (no confirms)'}")  # fmt: skip
    table = Table(title=title, header_style="bold")
    table.add_column("", no_wrap=True)
    for run in runs:
        label = f"raw, {run.hops} hops" if run.kind == "raw" else run.mode
        table.add_column(label, justify="right")
    table.add_row("per second", *[_num(r.throughput_per_s) for r in runs])
    table.add_row("messages each", *[_num(r.messages_per_order, 2) for r in runs])
    for q in ("p50", "p95", "p99"):
        table.add_row(f"{q} ms", *[_num(getattr(r.latency_ms, q), 2) for r in runs])
    table.add_row("verdict", *[_verdict(r) for r in runs], end_section=True)
    names = list(dict.fromkeys(n for r in runs for n in r.cpu_s if n not in CPU_SUMMARY))
    for name in [*names, *CPU_SUMMARY]:
        table.add_row(f"CPU s {name}", *[_num(r.cpu_s.get(name), 2) for r in runs])
    for part in ("services", "postgres", "broker", "total"):
        if any(part in r.cpu_ms_per_saga for r in runs):
            table.add_row(f"CPU ms/saga {part}", *[_num(r.cpu_ms_per_saga.get(part), 2) for r in runs])
    table.add_row("wall s", *[_num(r.wall_s, 2) for r in runs], end_section=True)
    growth_rows(table, runs)
    ratios = [(_num(m.throughput_ratio, 3), _num(m.latency_ratio, 3)) for m in result.modes.values()]
    table.add_row("throughput ratio", *[cell for t, _ in ratios for cell in ("", t)])
    table.add_row("p50 latency ratio", *[cell for _, p in ratios for cell in ("", p)])
    if result.repeat > 1:
        for label, key in (("throughput ratios", "throughput_ratio"), ("p50 latency ratios", "latency_ratio")):
            cells = [" ".join(_num(getattr(p, key), 2) for p in m.pairs) for m in result.modes.values()]
            table.add_row(f"  each pair: {label}", *[cell for c in cells for cell in ("", c)])
    return table


def disturbed(run: RunFigures) -> bool:
    """Other processes or the hypervisor took a large share of the machine while this run was measured."""
    busy, noise = run.cpu_s.get("machine"), (run.cpu_s.get("other") or 0.0) + (run.cpu_s.get("steal") or 0.0)
    return bool(busy) and noise > NOISY_SHARE * busy  # type: ignore[operator]


def print_whole(table: Table, console: Console) -> None:
    """Print a table of figures at its full width when the output is a file or a pipe. Rich then assumes 80 columns
    and cuts what does not fit to an ellipsis: with the peers beside the modes, every figure read "95…"."""
    if console.is_terminal:
        console.print(table)
        return
    needed = console.measure(table, options=console.options.update(max_width=MAX_FILE_WIDTH)).maximum  # as trace_view
    width = console.width
    console.width = max(width, needed)  # print's own width= cannot exceed the console's
    try:
        console.print(table)
    finally:
        console.width = width


def render(result: BenchResult, console: Console) -> None:
    print_whole(figures_table(result), console)
    for line in peer_lines(result):
        console.print(line, highlight=False)
    noisy = [f"{p.saga.mode if run is p.saga else f'raw {run.hops} hops'} #{i + 1}" for m in result.modes.values()
             for i, p in enumerate(m.pairs) for run in (p.raw, p.saga) if disturbed(run)]  # fmt: skip
    if noisy:
        console.print(f"[yellow]other work or the hypervisor took over {NOISY_SHARE:.0%} of the busy CPU during: "
                      f"{', '.join(noisy)}; compare ratios, and rerun on a quieter machine for absolute figures[/]")  # fmt: skip
    for mode in result.modes.values():
        for check in mode.targets:
            console.print(Text.assemble(f"{mode.mode} {check.name} {_num(check.ratio, 3)}: ", _target(check)))
    if not result.ok:
        console.print("[bold red]a run failed its verdict: its figures do not count[/]")
