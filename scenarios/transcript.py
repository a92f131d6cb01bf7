"""A finished run told as text that does not change from one run to the next: what golden files keep.

Per order, labelled by placement (``order #1``, ``order #2``...), its outcome, then its messages as a causation
tree: each message under the message that caused it (the envelope's ``causation_id``), siblings sorted by their
text. Two services answering the same message in either order therefore read the same, and so does an injected
copy however its race with the original's answer went. Message ids, order ids and times are left out.

Marks say what a scenario teaches: ``copy`` (the same message id again: an injected duplicate, an outbox
re-send after a crash, a stored reply answered again), ``copy under a new id``, ``attempt N`` (a retry of the
same command), ``on a timer`` (sent with no message as its cause: a retry's backoff or a timeout), ``forged``,
``poison``, ``out of bounds``, and a dead-lettered copy as its own line under the message, with its reason.

Where an orchestrator's command names no cause (its timer sent it), it hangs under the last message the
orchestrator sent for the order; a retry or copy hangs beside its first occurrence, and answers go to the latest
attempt before them. A copy takes no answers (they hang under its original): whether an answer comes before or
after an injected copy is a race. A copy under a new id is a race too, with its original, when both wait in the
participant's queue: a redelivery can put the copy first, and then the first outcome is the copy's and the business
key answers the original. So an original and its copies under a new id are told as one step, whichever went first:
the fullest answer hangs under the original. Orchestration adds each execution's history event types (with the
state's name or the error), which the interpreter records in order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from scenarios.trace import TraceRecord

INDENT = "  "


@dataclass
class _Node:
    record: TraceRecord
    marks: list[str] = field(default_factory=list)
    children: list[_Node] = field(default_factory=list)
    dead_letter: bool = False

    def line(self) -> str:
        r = self.record
        if self.dead_letter:
            return f"{r.type}  dead-lettered: {r.dead_letter_reason or 'unknown reason'}"
        receivers = ", ".join(r.receivers) or "nobody"
        marks = f"  ({', '.join(self.marks)})" if self.marks else ""
        return f"{r.type}  {r.sender} -> {receivers}{marks}"

    def lines(self, depth: int = 0) -> list[str]:
        """This message and what it caused, siblings sorted by their own text so that races do not show."""
        out = [INDENT * depth + self.line()]
        for child in sorted(self.children, key=_sort_key):
            out += child.lines(depth + 1)
        return out


def _sort_key(node: _Node) -> str:
    return "\n".join(line.strip() for line in node.lines())


def _injected_marks(r: TraceRecord) -> list[str]:
    """What the runner published itself, told by the ids its injectors give (scenarios/injectors.py)."""
    message_id = r.message_id or ""
    for prefix, mark in (("copy-", "copy under a new id"), ("poison-", "poison"), ("oob-", "out of bounds"),
                         ("forged-", "forged")):  # fmt: skip
        if message_id.startswith(prefix):
            return [mark]
    if r.sender == "runner" and r.type != "PlaceOrder":
        return ["forged"]
    return []


def causation_tree(records: Iterable[TraceRecord]) -> list[_Node]:
    """The roots of the causation forest of some records, taken in the order the tap saw them."""
    roots: list[_Node] = []
    first: dict[str, tuple[_Node, _Node | None]] = {}  # message id -> its first node and that node's parent
    latest_try: dict[str, _Node] = {}  # message id -> the attempt that answers go to
    attempts: dict[str, set[int | None]] = {}
    last_sent: dict[str, _Node] = {}  # sender -> the last message it sent here

    def attach(node: _Node, parent: _Node | None) -> None:
        (parent.children if parent is not None else roots).append(node)

    steps: dict[tuple[str, str, str, str | None], _Node] = {}  # (type, key, order, cause) -> the first such message
    fresh_copies: dict[int, tuple[_Node, list[_Node]]] = {}  # id(original) -> it and its copies under a new id

    for r in records:
        if r.dead_lettered:
            attach(_Node(r, dead_letter=True), latest_try.get(r.message_id) or _cause(r, latest_try))
            continue
        node = _Node(r, marks=_attempt_marks(r) + _injected_marks(r))
        if r.message_id in first:  # the same message again
            original, parent = first[r.message_id]
            if r.attempt not in attempts[r.message_id]:
                attempts[r.message_id].add(r.attempt)
                latest_try[r.message_id] = node  # a retry: its answers hang under it
            else:
                node.marks.append("copy")
            attach(node, parent)
            continue
        parent = _cause(r, latest_try)
        if parent is None and not r.causation_id and r.state is not None and r.sender in last_sent:
            parent = last_sent[r.sender]
            node.marks.append("on a timer")
        attach(node, parent)
        step = (r.type, r.routing_key, r.correlation_id, r.causation_id)
        if "copy under a new id" in node.marks and (same_step := steps.get(step)) is not None:
            fresh_copies.setdefault(id(same_step), (same_step, []))[1].append(node)
        steps.setdefault(step, node)
        first[r.message_id] = (node, parent)
        latest_try[r.message_id] = node
        attempts[r.message_id] = {r.attempt}
        last_sent[r.sender] = node
    for original, copies in fresh_copies.values():
        _fullest_first([original, *copies])
    return roots


def _fullest_first(same_step: list[_Node]) -> None:
    """Hand the answers of a step's messages out again, the most to the first: which of an original and its copy
    under a new id the participant took first (and so answered in full) is a race, not part of the story."""
    answers = sorted((node.children for node in same_step), key=lambda c: -sum(len(n.lines()) for n in c))
    for node, children in zip(same_step, answers, strict=True):
        node.children = children


def _cause(r: TraceRecord, latest_try: Mapping[str, _Node]) -> _Node | None:
    return latest_try.get(r.causation_id) if r.causation_id else None


def _attempt_marks(r: TraceRecord) -> list[str]:
    marks = [f"attempt {r.attempt}"] if r.attempt else []
    if r.state and r.state != r.type:
        marks.append(f"state {r.state}")
    return marks


def tree_lines(records: Iterable[TraceRecord], depth: int = 1) -> list[str]:
    return [line for root in sorted(causation_tree(records), key=_sort_key) for line in root.lines(depth)]


def history_lines(events: Sequence[Mapping[str, Any]]) -> list[str]:
    """An execution's history as event types, each with the state it enters or leaves, or the error it names."""
    lines = []
    for event in events:
        details = next((v for k, v in event.items() if k.endswith("EventDetails") and isinstance(v, Mapping)), {})
        said = details.get("name") or details.get("error")
        lines.append(f"{event['type']} {said}" if said else str(event["type"]))
    return lines


def transcript(
    records: Sequence[TraceRecord],
    order_ids: Sequence[str],
    outcomes: Mapping[str, str],
    histories: Mapping[str, Sequence[Mapping[str, Any]] | None] | None = None,
    rejected: int = 0,
) -> list[str]:
    """The lines of a run's transcript: each placed order in placement order, then messages for no such order."""
    by_order: dict[str, list[TraceRecord]] = {o: [] for o in order_ids}
    others: list[TraceRecord] = []
    for r in records:
        by_order[r.correlation_id].append(r) if r.correlation_id in by_order else others.append(r)
    lines: list[str] = []
    for i, order_id in enumerate(order_ids, start=1):
        lines.append(f"order #{i}: {outcomes.get(order_id, 'unknown')}")
        lines += tree_lines(by_order[order_id])
        if histories is not None and (events := histories.get(order_id)):
            lines.append(f"order #{i} history:")
            lines += [INDENT + line for line in history_lines(events)]
    if rejected:
        lines.append(f"rejected at the edge, never placed: {rejected}")
    if others:
        lines.append("messages for no order of this run:")
        lines += tree_lines(others)
    return lines


def records_of(rows: Iterable[Mapping[str, Any]]) -> list[TraceRecord]:
    """Trace records from a saved ``trace.jsonl`` (``scenarios.trace.load_trace``)."""
    return [TraceRecord(**row) for row in rows]
