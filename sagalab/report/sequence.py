"""A sequence diagram of one order's messages, drawn from the trace: a lane per process, an arrow per delivery.

Time runs down in the order the tap saw the messages (each row is one delivery, labelled with its time
since the order was placed). Arrows are coloured by ``kind_of``: forward, failure or compensation; a
dead-lettered message is a dashed red arrow into the dead-letter lane; a retried command says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sagalab.report.svg import INK, KIND_COLOURS, MUTED, arrowhead, attr, document, text, text_width, title
from scenarios.trace import TraceRecord, repeat_marks
from shared.domain.reading import kind_of

DEAD_LETTERS = "dead-letters"
HEADER = 44.0
ROW = 30.0
GUTTER = 62.0
TARGET_WIDTH = 600.0
DEAD_COLOUR = "#8e1c1c"


@dataclass(frozen=True)
class Delivery:
    """One arrow: a message from its sender to one of its receivers."""

    record: TraceRecord
    receiver: str
    mark: str = ""
    """Says when the message repeats another: a copy the inbox drops, a copy under a new id, a retry."""

    @property
    def kind(self) -> str:
        return "dead-letter" if self.record.dead_lettered else kind_of(self.record.type)

    @property
    def colour(self) -> str:
        return DEAD_COLOUR if self.record.dead_lettered else KIND_COLOURS[self.kind]

    def label(self) -> str:
        r = self.record
        name = r.type if not r.state or r.state == r.type else f"{r.type} · {r.state}"
        if r.attempt:
            name += f"  ↻ attempt {r.attempt + 1}"
        if r.dead_lettered:
            name = f"✕ {name} ({r.dead_letter_reason or 'dead-lettered'})"
        if self.mark:
            name += f"  ({self.mark})"
        return name


def deliveries(records: Sequence[TraceRecord]) -> list[Delivery]:
    """Every arrow to draw; a message nobody was bound to is an arrow to nowhere ('unrouted')."""
    marks = repeat_marks(records)
    return [Delivery(r, receiver, short_mark(mark)) for r, mark in zip(records, marks, strict=True)
            for receiver in (r.receivers or ["unrouted"])]  # fmt: skip


def short_mark(mark: str) -> str:
    """A repeat's mark in few enough words to sit on an arrow (row numbers mean nothing in a diagram)."""
    if mark.startswith("copy of"):
        return "copy, same id: dropped by the inbox"
    if mark.startswith("a copy under a new"):
        return "copy under a new id: the business key answers"
    return ""  # a retry already says ↻ attempt N


def lanes(records: Sequence[TraceRecord], preferred: Sequence[str] = ()) -> list[str]:
    """The processes taking part, in ``preferred`` order first, then as they first appear; dead letters last."""
    seen: list[str] = []
    for r in records:
        for name in (r.sender, *(r.receivers or ["unrouted"])):
            if name not in seen:
                seen.append(name)
    rank = {name: i for i, name in enumerate(preferred)}
    ordered = sorted(seen, key=lambda n: (n == DEAD_LETTERS, rank.get(n, len(rank)), seen.index(n)))
    return ordered


def render(records: Sequence[TraceRecord], label: str, preferred: Sequence[str] = ()) -> str:
    """The diagram as an inline SVG (an empty order gives a diagram that says so)."""
    names = lanes(records, preferred)
    arrows = deliveries(records)
    longest = max((text_width(d.label(), 11) for d in arrows), default=80.0)
    fill_column = (TARGET_WIDTH - GUTTER) / max(len(names), 1)  # spread a few lanes across a report column
    lane_gap = max(104.0, fill_column, min(190.0, longest * 0.75 + 16))
    x = {name: GUTTER + lane_gap * (i + 0.5) for i, name in enumerate(names)}
    width = GUTTER + lane_gap * max(len(names), 1) + 8
    height = HEADER + ROW * (len(arrows) + 1)
    body = [_lane(name, x[name], height, lane_gap) for name in names]
    body.append(text(GUTTER - 8, 19, "ms", size=10, fill=MUTED, anchor="end"))
    start = records[0].t if records else 0.0
    for row, delivery in enumerate(arrows):
        y = HEADER + ROW * (row + 1)
        body.append(_arrow(delivery, x, y, (delivery.record.t - start) * 1000, width))
    if not arrows:
        body.append(text(width / 2, HEADER + ROW / 2, "no messages for this order", fill=MUTED))
    return document(body, width, height, label, "sequence")


def _lane(name: str, x: float, height: float, lane_gap: float) -> str:
    box_w = min(lane_gap - 8, max(70.0, text_width(name, 12, bold=True) + 18))
    dead = name == DEAD_LETTERS
    fill, stroke = ("#fbe9e9", DEAD_COLOUR) if dead else ("#eef2f6", "#8795a6")
    lifeline = attr(x1=x, y1=HEADER - 8, x2=x, y2=height - 4, stroke="#c3c9d0", stroke_dasharray="3 4")
    box = attr(x=x - box_w / 2, y=6, width=box_w, height=26, rx=5, fill=fill, stroke=stroke)
    return (
        f"<g {attr(class_='lane', data_lane=name)}><line {lifeline}/><rect {box}/>"
        + text(x, 19, name, size=12, weight="600", fill=DEAD_COLOUR if dead else INK)
        + "</g>"
    )


def _arrow(d: Delivery, x: dict[str, float], y: float, ms: float, width: float) -> str:
    r = d.record
    x1, x2 = x[r.sender], x[d.receiver]
    colour = d.colour
    dash = "6 4" if r.dead_lettered else None
    tip = (f"{r.type} {r.sender} → {d.receiver} at +{ms:.1f} ms\nmessage {r.message_id}\n"
           f"caused by {r.causation_id or '—'}\n{r.exchange} / {r.routing_key}")  # fmt: skip
    parts = [
        f"<g {attr(class_='msg', data_type=r.type, data_kind=d.kind, data_from=r.sender, data_to=d.receiver)}>",
        title(tip),
        text(GUTTER - 8, y, f"+{ms:.1f}", size=10, fill=MUTED, anchor="end", css_class="t"),
    ]
    if x1 == x2:  # a process messaging itself: a small loop on its lane
        loop = f"M{x1:.1f},{y - 6:.1f} h26 v12 h-26"
        parts.append(f"<path {attr(d=loop, fill='none', stroke=colour, stroke_width=1.8, stroke_dasharray=dash)}/>")
        parts.append(arrowhead((x1, y + 6), (x1 + 10, y + 6), colour))
        parts.append(text(x1 + 32, y, d.label(), size=11, fill=colour, anchor="start", weight="600", halo=True))
    else:
        end = x2 - (4 if x2 > x1 else -4)
        parts.append(
            f"<line {attr(x1=x1, y1=y, x2=end, y2=y, stroke=colour, stroke_width=1.8, stroke_dasharray=dash)}/>"
        )
        parts.append(arrowhead((end, y), (x1, y), colour))
        mid = (x1 + x2) / 2
        label_w = text_width(d.label(), 11)
        mid = min(max(mid, GUTTER + label_w / 2 + 2), width - label_w / 2 - 2)
        parts.append(text(mid, y - 8, d.label(), size=11, fill=colour, weight="600", halo=True))
    parts.append(f"<circle {attr(cx=x1, cy=y, r=2.6, fill=colour)}/>")
    parts.append("</g>")
    return "".join(parts)


def legend() -> str:
    """The arrow colour key, as HTML chips."""
    chips = [f'<span class="chip line" style="color:{c};border-color:{c}">{k}</span>' for k, c in KIND_COLOURS.items()]
    chips.append(f'<span class="chip line dashed" style="color:{DEAD_COLOUR};border-color:{DEAD_COLOUR}">'
                 "dead-lettered</span>")  # fmt: skip
    return '<div class="legend">' + "".join(chips) + "</div>"
