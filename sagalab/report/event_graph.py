"""The choreography's event graph: which service emits which event and who reacts to it, as an SVG.

Nothing here is drawn by hand. Who receives what comes from the queue bindings of the running topology
(``scenarios.topologies.queue_specs``) matched against every message type's routing key; what a service
does with an event comes from the reaction table; what it emits is the outcome type of the domain
function behind that command (``charge_payment(...) -> PaymentCharged | PaymentDeclined``), or, for the
order service that fronts the saga, the events it owns. Events the order service only watches to record
how a saga ended are tagged on the event instead of drawn as edges, so the graph shows the saga itself.
The chosen order's path is lit in the trace's colours; the rest is grey.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, get_args, get_type_hints

from choreography.reactions import REACTIONS, event_keys
from sagalab.report.layout import Box, Placed, layered
from sagalab.report.state_graph import smooth
from sagalab.report.svg import INK, KIND_COLOURS, MUTED, arrowhead, attr, document, text, text_width, title
from scenarios.topologies import coordinator, queue_specs
from scenarios.trace import TraceRecord
from shared.domain.contracts import MESSAGE_TYPES, Command, Event, Message, routing_key
from shared.domain.reading import kind_of
from shared.domain.services import inventory, payment, shipping
from shared.runtime.handlers import FAILS_AS
from shared.transport.topology import key_matches

CLIENT = "runner"
"""Whoever places orders from outside: the name the trace gives the runner."""


@dataclass(frozen=True)
class Wiring:
    """The graph: (service, message) emissions, (message, service, does) reactions, watched messages."""

    emits: list[tuple[str, str]]
    reacts: list[tuple[str, str, str]]
    watched: dict[str, str]


def domain_outcomes(command: type[Command]) -> list[type[Message]]:
    """The event types the domain function handling ``command`` can return, read from its signature."""
    for module in (payment, inventory, shipping):
        for fn in vars(module).values():
            if not inspect.isfunction(fn) or fn.__module__ != module.__name__:
                continue
            hints = get_type_hints(fn)
            first = next(iter(inspect.signature(fn).parameters), None)
            if first is not None and hints.get(first) is command:
                returned: Any = hints["return"]
                return list(get_args(returned)) if isinstance(returned, types.UnionType) else [returned]
    return []


def step_outcomes(command: type[Command]) -> list[type[Message]]:
    """What a service can emit for ``command`` in choreography: its domain outcomes, and the step's failure
    event, sent when the handler fails for good (for a compensation, the only way it fails)."""
    outcomes = domain_outcomes(command)
    failure = FAILS_AS.get(command)
    return outcomes if failure is None or failure in outcomes else [*outcomes, failure]


def wiring() -> Wiring:
    """The choreography's graph, derived from its bindings, its reaction table and the domain's outcomes."""
    watcher = coordinator("choreography")
    reacts: list[tuple[str, str, str]] = []
    watched: dict[str, str] = {}
    for spec in queue_specs("choreography"):
        for binding in spec.bindings:
            base = Event if binding.exchange in ("events", "replies") else Command
            for name, cls in MESSAGE_TYPES.items():
                keys = event_keys(cls) if base is Event else (routing_key(cls),)  # type: ignore[arg-type]
                if not issubclass(cls, base) or not cls.owner or not any(key_matches(binding.routing_key, k) for k in keys):
                    continue
                does = [r.does.__name__ for r in REACTIONS if r.service == spec.service and r.when is cls]
                if spec.service == watcher and base is Event:
                    watched[name] = watcher
                else:
                    reacts.append((name, spec.service, ", ".join(does)))
    emits = [(r.service, outcome.__name__) for r in REACTIONS for outcome in step_outcomes(r.does)]
    emits += [(watcher, name) for name, cls in MESSAGE_TYPES.items() if issubclass(cls, Event) and cls.owner == watcher]
    emits += [(CLIENT, name) for name, service, _ in reacts if issubclass(MESSAGE_TYPES[name], Command)]
    return Wiring(emits=list(dict.fromkeys(emits)), reacts=list(dict.fromkeys(reacts)), watched=watched)


def render(records: Sequence[TraceRecord], label: str, graph: Wiring | None = None) -> str:
    """The event graph as an inline SVG, the order's own path lit up from its trace."""
    g = graph or wiring()
    sent = {(r.sender, r.type) for r in records if not r.dead_lettered}
    received = {(r.type, to) for r in records if not r.dead_lettered for to in r.receivers}
    seen_types = {t for _, t in sent}
    services = list(dict.fromkeys([CLIENT, *(s for s, _ in g.emits), *(s for _, s, _ in g.reacts)]))
    messages = list(dict.fromkeys([*(m for _, m in g.emits), *(m for m, _, _ in g.reacts)]))
    boxes = [Box(f"s:{s}", max(84.0, text_width(s, 12.5, True) + 24), 30.0) for s in services]
    boxes += [Box(f"m:{m}", text_width(m, 11, True) + 22, 36.0 if m in g.watched else 24.0) for m in messages]
    edges = [(f"s:{s}", f"m:{m}") for s, m in g.emits] + [(f"m:{m}", f"s:{s}") for m, s, _ in g.reacts]
    weights = {e: 4.0 for e in edges if kind_of(e[0][2:] if e[0].startswith("m:") else e[1][2:]) == "forward"}
    layout = layered(boxes, edges, [f"s:{CLIENT}"], weights=weights, layer_gap=30, node_gap=18)
    does = {(m, s): d for m, s, d in g.reacts}
    body: list[str] = []
    routes = sorted(layout.routes, key=lambda r: _lit(r.source, r.target, sent, received))
    for route in routes:
        message = route.source[2:] if route.source.startswith("m:") else route.target[2:]
        lit = _lit(route.source, route.target, sent, received)
        colour = KIND_COLOURS[kind_of(message)] if lit else "#b8c0c8"
        width = 2.2 if lit else 1.1
        tip = f"{route.source[2:]} → {route.target[2:]}"
        if route.source.startswith("m:") and (action := does.get((message, route.target[2:]))):
            tip = f"{route.target[2:]} reacts to {message}: {action}"
        body.append(
            f'<g {attr(class_="edge taken" if lit else "edge", data_source=route.source[2:], data_target=route.target[2:])}>'
            + title(tip)
            + f"<path {attr(d=smooth(route.points), fill='none', stroke=colour, stroke_width=width)}/>"
            + arrowhead(route.points[-1], _before(route.points), colour, 6.5)
            + "</g>"
        )  # fmt: skip
    for name in services:
        body.append(_service(layout.nodes[f"s:{name}"], any(name in (a, b) for a, b in sent | received)))
    for name in messages:
        body.append(_message(layout.nodes[f"m:{name}"], name, name in seen_types, g.watched.get(name)))
    return document(body, layout.width, layout.height + 6, label, "event-graph")


def _lit(source: str, target: str, sent: set[tuple[str, str]], received: set[tuple[str, str]]) -> bool:
    if source.startswith("s:"):
        return (source[2:], target[2:]) in sent
    return (source[2:], target[2:]) in received


def _before(points: list[tuple[float, float]]) -> tuple[float, float]:
    (x1, y1), (_, y0) = points[-1], points[-2]
    return (x1, y1 - (1 if y1 > y0 else -1) * 10)


def _service(node: Placed, lit: bool) -> str:
    x, y = node.x - node.width / 2, node.y - node.height / 2
    fill, stroke, ink = ("#eef2f6", "#52606d", INK) if lit else ("#f7f8fa", "#c3c9d0", MUTED)
    rect = attr(x=x, y=y, width=node.width, height=node.height, rx=4, fill=fill, stroke=stroke, stroke_width=1.6)
    return (
        f"<g {attr(class_='service', data_service=node.name[2:], data_lit=str(lit).lower())}>"
        f"<rect {rect}/>" + text(node.x, node.y, node.name[2:], size=12.5, weight="700", fill=ink) + "</g>"
    )


def _message(node: Placed, name: str, seen: bool, watcher: str | None) -> str:
    kind = kind_of(name)
    colour = KIND_COLOURS[kind]
    fill, stroke, ink = ("#ffffff", colour, colour) if seen else ("#fafbfc", "#cfd5db", "#8a939c")
    x, y = node.x - node.width / 2, node.y - node.height / 2
    rect = attr(x=x, y=y, width=node.width, height=node.height, rx=node.height / 2, fill=fill, stroke=stroke,
                stroke_width=1.8 if seen else 1.0, stroke_dasharray=None if seen else "3 3")  # fmt: skip
    name_y = node.y - (6 if watcher else 0)
    parts = [
        f"<g {attr(class_='message', data_type=name, data_kind=kind, data_seen=str(seen).lower())}>",
        title(f"{name} ({kind})" + (f"; {watcher} watches it to record how the saga ended" if watcher else "")),
        f"<rect {rect}/>",
        text(node.x, name_y, name, size=11, weight="600", fill=ink),
    ]
    if watcher:
        parts.append(text(node.x, node.y + 9, f"seen by {watcher}", size=9, fill=MUTED))
    parts.append("</g>")
    return "".join(parts)
