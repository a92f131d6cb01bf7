"""The choreography event graph is derived from the wiring, and the layered layout keeps nodes apart."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from choreography.reactions import ENDINGS, REACTIONS
from sagalab.report import charts, event_graph
from sagalab.report.layout import Box, layered
from sagalab.report.runs import choose_order, load_folder
from sagalab.report.svg import KIND_COLOURS
from shared.domain.contracts import OutOfStock, PaymentCharged, PaymentDeclined
from tests.unit.report_support import recorded


def test_every_reaction_of_the_table_is_an_edge_of_the_event_graph() -> None:
    """Each Reaction(service, when, does) is an edge from its event to its service, labelled with what it does."""
    wiring = event_graph.wiring()
    for r in REACTIONS:
        assert (r.when.__name__, r.service, r.does.__name__) in {(m, s, d) for m, s, d in wiring.reacts
                                                                 if r.does.__name__ in d.split(", ")}  # fmt: skip


def test_services_emit_the_outcomes_of_their_domain_calls() -> None:
    """What a service emits is read from the domain function's return type: charging gives charged or declined."""
    wiring = event_graph.wiring()
    assert ("payment", "PaymentCharged") in wiring.emits and ("payment", "PaymentDeclined") in wiring.emits
    assert ("inventory", "OutOfStock") in wiring.emits and ("orders", "OrderPlaced") in wiring.emits
    assert ("runner", "PlaceOrder") in wiring.emits
    assert not any(m == "ShipmentCancelled" for _, m in wiring.emits), "no reaction cancels a shipment"
    assert event_graph.domain_outcomes(REACTIONS[0].does) == [PaymentCharged, PaymentDeclined]


def test_the_order_service_watches_every_ending() -> None:
    """Events the order service only watches are tags on the event, not edges into the order service."""
    wiring = event_graph.wiring()
    assert {cls.__name__ for cls in ENDINGS} <= set(wiring.watched)
    assert not any(s == "orders" and m != "PlaceOrder" for m, s, _ in wiring.reacts)


def test_the_orders_path_is_lit_and_the_rest_grey(tmp_path: Path) -> None:
    """Out of stock: the five messages the order sent are lit in their kind's colour; shipping stays grey."""
    runs = load_folder(recorded("out-of-stock", tmp_path))
    svg = event_graph.render(runs[0].records_of(choose_order(runs)), "events")
    seen = set(re.findall(r'<g class="message" data-type="(\w+)" data-kind="\w+" data-seen="true">', svg))
    assert seen == {"PlaceOrder", "OrderPlaced", "PaymentCharged", "OutOfStock", "PaymentRefunded"}
    assert 'data-service="shipping" data-lit="false"' in svg
    edge = re.search(r'<g class="edge taken" data-source="OutOfStock" data-target="payment">.*?</g>', svg, re.DOTALL)
    assert edge and f'stroke="{KIND_COLOURS["failure"]}"' in edge.group(0) and "RefundPayment" in edge.group(0)
    assert OutOfStock.__name__ in svg


def test_layers_follow_the_longest_path_and_nodes_never_overlap() -> None:
    """Each node sits below all its predecessors; nodes of one layer keep a gap; a cycle's closing edge goes up."""
    boxes = [Box(n, 80, 30) for n in "abcde"]
    edges = [("a", "b"), ("b", "c"), ("a", "c"), ("c", "d"), ("a", "e"), ("d", "b")]
    layout = layered(boxes, edges, ["a"])
    layer = {n: p.layer for n, p in layout.nodes.items()}
    assert layer == {"a": 0, "b": 1, "c": 2, "d": 3, "e": 1}
    by_layer: dict[int, list[float]] = {}
    for p in layout.nodes.values():
        by_layer.setdefault(p.layer, []).append(p.x)
    for xs in by_layer.values():
        xs.sort()
        assert all(b - a >= 80 for a, b in itertools.pairwise(xs))
    up = [r for r in layout.routes if r.upwards]
    assert [(r.source, r.target) for r in up] == [("d", "b")]
    assert up[0].points[0][1] > up[0].points[-1][1]
    assert all(0 <= x <= layout.width and 0 <= y <= layout.height for r in layout.routes for x, y in r.points)


def test_the_message_chart_lines_both_modes_up_in_story_order() -> None:
    """Types are ordered by where they occur in the orders' stories; a type one mode never sent is a zero row."""
    stories = [["PlaceOrder", "OrderPlaced", "PaymentCharged"], ["PlaceOrder", "ChargePayment", "PaymentCharged"]]
    counts = [{"PlaceOrder": 1, "OrderPlaced": 1, "PaymentCharged": 1}, {"PlaceOrder": 1, "ChargePayment": 1,
                                                                         "PaymentCharged": 1}]  # fmt: skip
    types = charts.story_order(counts, stories)
    assert types == ["PlaceOrder", "ChargePayment", "OrderPlaced", "PaymentCharged"]
    svg = charts.bar_chart(counts[0], types, "chart", scale_max=2)
    assert re.findall(r'data-type="(\w+)" data-count="(\d+)"', svg) == [
        ("PlaceOrder", "1"),
        ("ChargePayment", "0"),
        ("OrderPlaced", "1"),
        ("PaymentCharged", "1"),
    ]
