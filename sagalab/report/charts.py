"""Messages by type as a horizontal bar chart in SVG, one bar per type, coloured by kind of message."""

from __future__ import annotations

from collections.abc import Sequence

from sagalab.report.svg import INK, KIND_COLOURS, MUTED, attr, document, text, text_width, title
from shared.domain.reading import kind_of

BAR = 18.0
GAP = 6.0


def story_order(by_type: Sequence[dict[str, int]], stories: Sequence[Sequence[str]]) -> list[str]:
    """Every type any run sent, in the order of the saga's story: by the mean step at which it appears
    in each order's own sequence of messages (``stories``), so both modes' types interleave sensibly."""
    steps: dict[str, list[float]] = {}
    for story in stories:
        for i, name in enumerate(story):
            steps.setdefault(name, []).append(i)
    every = {t for counts in by_type for t in counts} | set(steps)
    mean = {t: sum(steps[t]) / len(steps[t]) if t in steps else float("inf") for t in every}
    return sorted(every, key=lambda t: (mean[t], t))


def bar_chart(counts: dict[str, int], types: Sequence[str], label: str, scale_max: int | None = None,
              dead_lettered: int = 0) -> str:  # fmt: skip
    """One bar per type in ``types`` (a missing type is a zero row, so two charts line up row by row);
    ``scale_max`` lets two charts share one scale."""
    rows = [(t, counts.get(t, 0), KIND_COLOURS[kind_of(t)]) for t in types]
    if dead_lettered:
        rows.append(("dead-lettered", dead_lettered, "#8e1c1c"))
    top = max([scale_max or 0, *(n for _, n, _ in rows), 1])
    name_w = max((text_width(t, 11.5) for t, _, _ in rows), default=60.0) + 12
    plot_w = 300.0
    width = name_w + plot_w + 44
    height = max(len(rows), 1) * (BAR + GAP) + GAP + 18
    body: list[str] = []
    for i, (name, n, colour) in enumerate(rows):
        y = GAP + i * (BAR + GAP)
        w = plot_w * n / top
        body.append(
            f"<g {attr(class_='bar', data_type=name, data_count=n)}>"
            + title(f"{name}: {n}")
            + text(name_w - 8, y + BAR / 2, name, size=11.5, fill=INK if n else MUTED, anchor="end")
            + f"<rect {attr(x=name_w, y=y, width=max(w, 0.0), height=BAR, rx=3, fill=colour, opacity=0.85)}/>"
            + text(name_w + w + 6, y + BAR / 2, str(n) if n else "·", size=11, fill=INK if n else MUTED, anchor="start")
            + "</g>"
        )
    axis_y = GAP + len(rows) * (BAR + GAP)
    body.append(f"<line {attr(x1=name_w, y1=2, x2=name_w, y2=axis_y, stroke='#8795a6')}/>")
    total = sum(counts.get(t, 0) for t in types)
    body.append(text(name_w + plot_w, axis_y + 10, f"{total} messages (scale 0–{top})", size=10, fill=MUTED,
                     anchor="end"))  # fmt: skip
    return document(body, width, height, label, "chart")
