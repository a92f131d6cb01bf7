"""The report page: one self-contained HTML file, each mode of a run in a column, row by row.

Rows: verdict, outcome table, oracle violations, the defences' counts, each order's story (anchored, the
order list links to it), messages by type, the chosen order's sequence diagram,
and the orchestration's state graph or the choreography's event graph. Styles are inline and there is
no script, no font, no image and no link to fetch: the file opens offline, and its Content-Security-Policy
forbids loading anything at all.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from pathlib import Path

from orchestration.asl import DefinitionError, load_definition
from sagalab.report import charts, event_graph, sequence, state_graph
from sagalab.report.runs import RunView, choose_order, load_folder, load_history, summarise
from sagalab.report.style import CSS
from scenarios.result import Defences, OrderStory
from scenarios.topologies import services
from shared.config import MODES

STORY_LIMIT = 200
"""Stories listed per mode; the rest are in result.json."""

OUTCOME_CLASS = {"completed": "good", "compensated": "undone", "inconsistent": "bad", "stuck": "warn", "rejected": "warn"}


def write_report(folder: Path, out: Path, order: str | None = None) -> Path:
    """Read a run or compare folder and write its report to ``out``; returns the path written."""
    runs = load_folder(folder)
    page = render_page(runs, choose_order(runs, order), source=folder)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out


def render_page(runs: list[RunView], order_id: str, source: Path | None = None) -> str:
    first = runs[0].result
    modes = " vs ".join(r.mode for r in runs)
    heading = f"sagalab · {first.scenario}"
    meta = [f"{first.orders.total} order(s)", f"seed {first.seed}", modes]
    if source is not None:
        meta.append(f"from {source}")
    rows = [
        _row(runs, "mode", _mode_head),
        _row(runs, "outcomes", _outcomes),
        _row(runs, "verdict", _verdict),
        _row(runs, "defences", _defences),
        _row(runs, "stories", _stories),
        _row(runs, "chart", lambda run: _chart(run, runs)),
        _row(runs, "sequence", lambda run: _sequence(run, order_id)),
        _row(runs, "graph", lambda run: _graph(run, order_id)),
    ]
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(heading)}</title><style>{CSS}</style></head><body>"
        f'<header><h1>{escape(heading)}</h1><p class="meta">{escape(" · ".join(meta))}</p>'
        f'<p class="meta">following order <code class="order">{escape(order_id)}</code>'
        f" ({escape(_outcomes_of(runs, order_id))})</p></header>"
        f'<main class="grid" style="--cols:{len(runs)}">{"".join(rows)}</main>'
        f"{_order_table(runs, order_id)}{_footer()}</body></html>"
    )


def _row(runs: list[RunView], name: str, cell: Callable[[RunView], str]) -> str:
    return "".join(f'<section class="cell {name}" data-mode="{escape(run.mode)}">{cell(run)}</section>' for run in runs)


def _mode_head(run: RunView) -> str:
    r = run.result
    met = '<span class="badge good">expectation met</span>' if r.expectation_met else \
        '<span class="badge bad">expectation not met</span>'  # fmt: skip
    ok = '<span class="badge good">consistent</span>' if r.consistency.ok else \
        f'<span class="badge bad">{len(r.consistency.violations)} violation(s)</span>'  # fmt: skip
    settled = "" if r.settled else '<span class="badge warn">not settled</span>'
    return f'<h2>{escape(run.mode)}</h2><div class="badges">{met}{ok}{settled}</div>'


def _outcomes(run: RunView) -> str:
    r = run.result
    lat = r.latency_ms
    tiles = [
        ("completed", r.orders.completed, "good" if r.orders.completed else ""),
        ("compensated", r.orders.compensated, "undone" if r.orders.compensated else ""),
        ("inconsistent", r.orders.inconsistent, "bad" if r.orders.inconsistent else ""),
        ("stuck", r.orders.stuck, "warn" if r.orders.stuck else ""),
        *([("rejected at the edge", r.orders.rejected, "warn")] if r.orders.rejected else []),
        ("messages", r.messages.total, ""),
        ("per order", f"{r.messages.per_order:g}", ""),
        ("dead-lettered", r.messages.dead_lettered, "bad" if r.messages.dead_lettered else ""),
        ("settled", "yes" if r.settled else "no", "" if r.settled else "warn"),
        ("latency p50", _ms(lat.p50), ""),
        ("latency p95", _ms(lat.p95), ""),
        ("saga span", f"{r.duration_s:.2f} s", ""),
        ("set-up / whole run", f"{r.setup_s:.1f} s / {r.run_s:.1f} s", ""),
    ]
    body = "".join(f'<div class="tile {c}"><span>{k}</span><b>{escape(str(v))}</b></div>' for k, v, c in tiles)
    return f'<h3>Outcome</h3><div class="tiles">{body}</div>'


def _ms(v: float | None) -> str:
    return "–" if v is None else f"{v:,.1f} ms"


def _verdict(run: RunView) -> str:
    r = run.result
    parts = ["<h3>Oracle</h3>"]
    if r.consistency.ok:
        parts.append('<p class="ok-line">✓ every order fully done or fully undone: money, stock and shipping agree</p>')
    else:
        rows = "".join(f"<tr><td>{escape(v.rule)}</td><td><code>{escape(v.order_id)}</code></td>"
                       f"<td>{escape(v.detail)}</td></tr>" for v in r.consistency.violations[:50])  # fmt: skip
        more = len(r.consistency.violations) - 50
        parts.append(f'<table class="violations"><tr><th>rule</th><th>order</th><th>detail</th></tr>{rows}</table>')
        if more > 0:
            parts.append(f'<p class="meta">and {more} more</p>')
    for failure in r.expectation_failures:
        parts.append(f'<p class="bad-line">✗ {escape(failure)}</p>')
    return "".join(parts)


def _defences(run: RunView) -> str:
    d = run.result.defences
    rows = "".join(f"<tr><td>{escape(label)}</td><td>{getattr(d, key)}</td></tr>" for key, label in Defences.ROWS)
    reasons = ", ".join(f"{escape(k)} {n}" for k, n in d.dead_letters_by_reason.items())
    note = f'<p class="meta">dead letters by reason: {reasons}</p>' if reasons else ""
    return f'<h3>Defences</h3><table class="defences">{rows}</table>{note}'


def _stories(run: RunView) -> str:
    """Each order with something to tell, with an anchor the order list links to."""
    stories = list(run.result.stories.items())
    if not stories:
        return '<h3>Order stories</h3><p class="meta">every order completed at the first try of every step</p>'
    items = []
    for order_id, story in stories[:STORY_LIMIT]:
        facts = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in _story_facts(story))
        items.append(f'<li id="{story_anchor(run.mode, order_id)}"><code class="order">{escape(order_id)}</code> '
                     f'<span class="outcome {OUTCOME_CLASS.get(story.outcome, "")}">{escape(story.outcome)}</span>'
                     f"<dl>{facts}</dl></li>")  # fmt: skip
    more = len(stories) - STORY_LIMIT
    tail = f'<p class="meta">and {more} more (every story is in result.json)</p>' if more > 0 else ""
    return f'<h3>Order stories</h3><ul class="stories">{"".join(items)}</ul>{tail}'


def story_anchor(mode: str, order_id: str) -> str:
    return escape(f"story-{mode}-{order_id}", quote=True)


def _story_facts(story: OrderStory) -> list[tuple[str, str]]:
    facts = []
    if story.failed_step:
        facts.append(("failed step", story.failed_step))
    if story.error:
        facts.append(("participant error", story.error))
    for step, n in story.attempts.items():
        delays = story.retry_delays_s.get(step, [])
        waited = f", waiting {' / '.join(f'{d:g}' for d in delays)} s" if delays else ""
        facts.append(("attempts", f"{step} x{n}{waited}"))
    for c in story.compensations:
        facts.append(("compensation", f"{c.step}: {c.result}" + (f" ({c.detail})" if c.detail else "")))
    if story.parked_reason:
        facts.append(("parked", story.parked_reason))
    for dead in story.dead_letters:
        facts.append(("dead-lettered", dead))
    if story.inconsistent_for_s is not None:
        facts.append(("inconsistent for", f"{story.inconsistent_for_s:g} s"))
    return facts


def _chart(run: RunView, runs: list[RunView]) -> str:
    counts = [x.result.messages.by_type for x in runs]
    stories = [[rec.type for rec in x.records_of(order)] for x in runs for order in x.order_ids()]
    types = charts.story_order(counts, stories)
    top = max((n for c in counts for n in c.values()), default=1)
    svg = charts.bar_chart(run.result.messages.by_type, types, f"{run.mode}: messages by type", top,
                           run.result.messages.dead_lettered)  # fmt: skip
    return f"<h3>Messages by type</h3>{svg}"


def _sequence(run: RunView, order_id: str) -> str:
    records = run.records_of(order_id)
    summary = summarise(records)
    preferred = ["runner", *_services(run.mode)]
    svg = sequence.render(records, f"{run.mode}: messages of order {order_id}", preferred)
    outcome = run.outcome(order_id)
    return (
        f'<h3>Order <code class="order">{escape(order_id)}</code> '
        f'<span class="outcome {OUTCOME_CLASS.get(outcome, "")}">{escape(outcome)}</span></h3>'
        f'<p class="meta summary">{escape(summary.line())}</p>{svg}'
    )


def _services(mode: str) -> tuple[str, ...]:
    return services(mode) if mode in MODES else ()


def _graph(run: RunView, order_id: str) -> str:
    if run.mode == "choreography":
        svg = event_graph.render(run.records_of(order_id), f"choreography event graph, order {order_id}")
        return ("<h3>Event graph</h3><p class=\"meta\">who reacts to what, from the queue bindings and the "
                f"reaction table; this order's path lit</p>{svg}{sequence.legend()}")  # fmt: skip
    if run.definition is None:
        return '<h3>State machine</h3><p class="meta">no definition.asl.json in this run folder</p>'
    try:
        machine = load_definition(run.definition)
    except DefinitionError as exc:
        return f'<h3>State machine</h3><p class="bad-line">cannot read the definition: {escape(str(exc))}</p>'
    events = load_history(run, order_id)
    note = "states lit by this order's execution history" if events else "no execution history for this order"
    svg = state_graph.render(machine, events, f"orchestration state machine, order {order_id}")
    return f'<h3>State machine</h3><p class="meta">{note}</p>{svg}{state_graph.legend()}'


def _outcomes_of(runs: list[RunView], order_id: str) -> str:
    return ", ".join(f"{run.mode}: {run.outcome(order_id)}" for run in runs)


def _order_table(runs: list[RunView], chosen: str) -> str:
    ids: list[str] = []
    for run in runs:
        ids += [i for i in run.order_ids() if i not in ids]
    head = "".join(f"<th>{escape(run.mode)}</th>" for run in runs)
    told = {run.mode: set(list(run.result.stories)[:STORY_LIMIT]) for run in runs}
    body = []
    for i in ids:
        cells = "".join(f'<td class="outcome {OUTCOME_CLASS.get(run.outcome(i), "")}">'
                        f"{_outcome_link(run, i, i in told[run.mode])}</td>" for run in runs)  # fmt: skip
        mark = ' class="chosen"' if i == chosen else ""
        body.append(f'<tr id="{order_anchor(i)}"{mark}><td><a href="#{order_anchor(i)}"><code>{escape(i)}</code></a>'
                    f"</td>{cells}</tr>")  # fmt: skip
    opened = " open" if len(ids) <= 12 else ""
    return (f"<details class=\"orders\"{opened}><summary>Every order ({len(ids)})</summary>"
            f'<table><tr><th>order</th>{head}</tr>{"".join(body)}</table></details>')  # fmt: skip


def order_anchor(order_id: str) -> str:
    return escape(f"order-{order_id}", quote=True)


def _outcome_link(run: RunView, order_id: str, told: bool) -> str:
    """The order's outcome and why (declined, out of stock, shipping failed, parked), linking to its story when
    the page tells it."""
    story = run.result.stories.get(order_id)
    why = story.why() if story is not None else ""
    outcome = escape(run.outcome(order_id) + (f" ({why})" if why else ""))
    if not told:
        return outcome
    return f'<a href="#{story_anchor(run.mode, order_id)}">{outcome}</a>'


def _footer() -> str:
    return (
        '<footer><p>Messages are coloured by kind: <b class="k-forward">forward</b>, <b class="k-failure">'
        'failure</b>, <b class="k-compensation">compensation</b>. States are coloured from the orchestrator\'s '
        "execution history: green where the step succeeded or undid a step, red where a task failed (caught or "
        "not), blue where it never finished, grey where the execution never went. Hover over an arrow, a state "
        "or a bar for its details. Made by <code>sagalab</code> from the run folder: trace.jsonl, result.json, "
        "definition.asl.json and the orchestrator's history.</p></footer>"
    )
