"""The orchestration's state machine as an SVG graph, each state lit by what the execution did there.

Statuses come from the execution's history (GetExecutionHistory-shaped events), as in the Step
Functions console: **succeeded** (entered and left normally), **caught** (its task failed and a
``Catch`` took over: the red step of an out-of-stock order), **failed** (failed with nothing to catch
it, or a ``Fail`` state ending an execution whose undo itself broke), **compensating** (on the undo
path after a caught error, including the ``Fail`` state that closes a clean undo), **in progress**
(entered, never left: a stuck saga) and **not reached**.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestration.asl import StateMachine, Transition
from sagalab.report.layout import Box, Placed, Route, layered
from sagalab.report.svg import INK, MUTED, arrowhead, attr, document, text, text_width, title

STATUS_STYLE: dict[str, tuple[str, str, str]] = {
    # status          fill       stroke     text
    "succeeded":    ("#dcf2e3", "#1b7f3b", "#0f4d23"),
    "compensating": ("#c8ecd4", "#1b7f3b", "#0f4d23"),
    "caught":       ("#fbdcdc", "#c62828", "#8e1c1c"),
    "failed":       ("#c62828", "#8e1c1c", "#ffffff"),
    "in progress":  ("#dbe9fb", "#2563b8", "#17407a"),
    "not reached":  ("#f4f5f7", "#c3c9d0", "#7b8591"),
}  # fmt: skip
"""Green for what went well (forward or undo), red for what failed, blue for what never finished."""

STATUSES = tuple(STATUS_STYLE)
_FANOUT_OPENS = frozenset({"ParallelStateStarted", "MapStateStarted"})
_FANOUT_CLOSES = frozenset({"ParallelStateSucceeded", "ParallelStateFailed", "MapStateSucceeded", "MapStateFailed"})
_FAILURES = frozenset({"TaskFailed", "TaskTimedOut", "LambdaFunctionFailed", "LambdaFunctionTimedOut",
                       "ParallelStateFailed", "MapStateFailed"})  # fmt: skip


@dataclass
class Walk:
    """What one execution did: each state's status, the error a state caught, the edges it took."""

    status: dict[str, str] = field(default_factory=dict)
    caught: dict[str, str] = field(default_factory=dict)
    retries: dict[str, int] = field(default_factory=dict)
    taken: list[tuple[str, str]] = field(default_factory=list)
    ended: str | None = None


def walk(events: Sequence[dict[str, Any]], machine: StateMachine) -> Walk:
    """Replay the history to each state's status (see the module docstring for what each means)."""
    w = Walk()
    phase = "forward"  # -> "undo" after the first catch -> "broken" once an undo step's error is caught
    entered_in: dict[str, str] = {}
    current: str | None = None
    inside = 0  # > 0 while replaying a Parallel's branches or a Map's iterations (states not on this graph)
    for event in events:
        kind: str = event["type"]
        inside += (kind in _FANOUT_OPENS) - (kind in _FANOUT_CLOSES)
        if inside > 0:
            continue
        details = next((v for k, v in event.items() if k.endswith("EventDetails") and isinstance(v, dict)), {})
        if kind.endswith("StateEntered"):
            name = str(details.get("name"))
            if current is not None:
                w.taken.append((current, name))
            current, entered_in[name] = name, phase
            w.status[name] = _on_entry(machine, name, phase)
        elif kind in _FAILURES and current is not None:
            if details.get("willRetry"):
                w.retries[current] = w.retries.get(current, 0) + 1
            elif details.get("catcherIndex") is not None or details.get("next"):
                w.caught[current] = str(details.get("error") or kind.removesuffix("Failed").removesuffix("TimedOut"))
                w.status[current] = "caught"
                phase = "undo" if entered_in[current] == "forward" else "broken"
            else:
                w.status[current] = "failed"
        elif kind.endswith("StateExited") and current is not None and w.status.get(current) == "in progress":
            w.status[current] = _AFTER_EXIT[entered_in[current]]
        elif kind.startswith("Execution") and kind != "ExecutionStarted":
            w.ended = kind.removeprefix("Execution")
            if current is not None and w.status.get(current) == "in progress" and w.ended != "Succeeded":
                w.status[current] = "failed"
    return w


_AFTER_EXIT = {"forward": "succeeded", "undo": "compensating", "broken": "failed"}


def _on_entry(machine: StateMachine, name: str, phase: str) -> str:
    kind = machine.state_type(name) if name in machine.states else "Task"
    if kind == "Fail":
        return "compensating" if phase == "undo" else "failed"
    if kind == "Succeed":
        return "succeeded"
    return "in progress"


def render(machine: StateMachine, events: Sequence[dict[str, Any]] | None, label: str) -> str:
    """The graph as an inline SVG; without a history every state is drawn as not reached."""
    w = walk(events, machine) if events else Walk()
    names = list(machine.states)
    boxes = [Box(n, max(96.0, text_width(n, 12.5, bold=True) + 26), 34.0 + (12 if n in w.caught else 0))
             for n in names]  # fmt: skip
    transitions = machine.transitions()
    weights = {(t.source, t.target): 6.0 for t in transitions if t.kind in ("next", "default")}
    layout = layered(
        boxes, [(t.source, t.target) for t in transitions], [machine.start_at], weights=weights, layer_gap=40
    )
    taken = set(w.taken)
    body: list[str] = []
    width = layout.width
    drawn: set[tuple[str, str]] = set()
    by_pair = {(t.source, t.target): t for t in transitions}
    routes = sorted(layout.routes, key=lambda r: (r.source, r.target) in taken)  # taken edges on top
    for route in routes:
        pair = (route.source, route.target)
        if pair in drawn:
            continue
        drawn.add(pair)
        labels = [t for t in transitions if (t.source, t.target) == pair]
        body.append(_edge(route, by_pair[pair], labels, pair in taken, w))
        if pair in taken and route.source in w.caught:  # its label sits right of the edge: leave room
            width = max(width, _label_point(route.points)[0] + text_width(w.caught[route.source], 10, True) + 12)
    for name in names:
        body.append(_node(layout.nodes[name], machine, w, name == machine.start_at))
    return document(body, width, layout.height + 8, label, "state-graph")


def _edge(route: Route, first: Transition, same_pair: list[Transition], taken: bool, w: Walk) -> str:
    catch = any(t.kind == "catch" for t in same_pair)
    if taken:
        colour = STATUS_STYLE[w.status.get(route.source, "succeeded")][1]  # the way out of a caught state is red
    else:
        colour = MUTED
    width = 2.4 if taken else 1.2
    dash = "5 4" if catch else None
    path = smooth(route.points)
    label = ", ".join(t.label for t in same_pair if t.kind != "next")
    shown = w.caught.get(route.source, "") if taken and route.source in w.caught else ""
    parts = [
        f"<g {attr(class_='edge taken' if taken else 'edge', data_source=route.source, data_target=route.target)}>",
        title(f"{route.source} → {route.target}" + (f" ({first.kind}: {label})" if label else "")),
        f"<path {attr(d=path, fill='none', stroke=colour, stroke_width=width, stroke_dasharray=dash)}/>",
        arrowhead(route.points[-1], _before_end(route.points), colour, 7.0 if taken else 6.0),
    ]
    if shown:  # only the error that was caught: every other label is in the tooltip, the console way
        x, y = _label_point(route.points)
        parts.append(text(x + 5, y, shown, size=10, fill=colour, anchor="start", weight="600", css_class="edge-label",
                          halo=True))  # fmt: skip
    parts.append("</g>")
    return "".join(parts)


def _node(node: Placed, machine: StateMachine, w: Walk, start: bool) -> str:
    status = w.status.get(node.name, "not reached")
    fill, stroke, ink = STATUS_STYLE[status]
    kind = machine.state_type(node.name)
    x, y = node.x - node.width / 2, node.y - node.height / 2
    radius = node.height / 2 if kind in ("Succeed", "Fail") else 6
    tip = f"{node.name} ({kind}): {status}"
    if node.name in w.caught:
        tip += f", caught {w.caught[node.name]}"
    if w.retries.get(node.name):
        tip += f", {w.retries[node.name]} retr{'y' if w.retries[node.name] == 1 else 'ies'}"
    dash = "4 3" if status == "not reached" else None
    parts = [
        f'<g {attr(class_="state", data_state=node.name, data_status=status, data_type=kind)}>',
        title(tip),
        "<rect " + attr(x=x, y=y, width=node.width, height=node.height, rx=radius, fill=fill, stroke=stroke,
                        stroke_width=2.2 if status != "not reached" else 1.2, stroke_dasharray=dash) + "/>",
    ]  # fmt: skip
    name_y = node.y - (6 if node.name in w.caught else 0)
    parts.append(text(node.x, name_y, node.name, size=12.5, fill=ink, weight="600"))
    if node.name in w.caught:
        parts.append(text(node.x, node.y + 10, f"caught {w.caught[node.name]}", size=9.5, fill=ink))
    if start:
        parts.append(text(x - 4, node.y, "▶", size=10, fill=INK, anchor="end"))
    parts.append("</g>")
    return "".join(parts)


def smooth(points: list[tuple[float, float]]) -> str:
    """A path through the points with vertical tangents at each: layered edges read as gentle S-curves."""
    (x0, y0), rest = points[0], points[1:]
    d = [f"M{x0:.1f},{y0:.1f}"]
    for x1, y1 in rest:
        mid = (y1 - y0) / 2
        d.append(f"C{x0:.1f},{y0 + mid:.1f} {x1:.1f},{y1 - mid:.1f} {x1:.1f},{y1:.1f}")
        x0, y0 = x1, y1
    return " ".join(d)


def _before_end(points: list[tuple[float, float]]) -> tuple[float, float]:
    """The direction the curve arrives from: straight above or below its end (vertical tangents)."""
    (x1, y1), (_, y0) = points[-1], points[-2]
    return (x1, y1 - (1 if y1 > y0 else -1) * 10)


def _label_point(points: list[tuple[float, float]]) -> tuple[float, float]:
    if len(points) > 2:
        return points[1]
    (x0, y0), (x1, y1) = points[0], points[-1]
    return ((x0 + x1) / 2, (y0 + y1) / 2)


def legend() -> str:
    """The status key, as HTML chips."""
    chips = []
    for status, (fill, stroke, ink) in STATUS_STYLE.items():
        chips.append(f'<span class="chip" style="background:{fill};border-color:{stroke};color:{ink}">{status}</span>')
    return '<div class="legend">' + "".join(chips) + "</div>"
