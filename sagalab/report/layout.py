"""A small layered (Sugiyama-style) graph layout, top to bottom, for the state and event graphs.

Steps: turn the edges that close a cycle around (found by a depth-first search from the roots), put
each node on the layer of its longest path from a root, split long edges with dummy points, order each
layer by the mean position of its neighbours, then place nodes near their neighbours without overlap.
Edges keep their real direction: a turned-around edge is drawn from its source upwards.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

Point = tuple[float, float]
DUMMY_WIDTH = 14.0
PORT_GAP = 12.0


@dataclass(frozen=True)
class Box:
    name: str
    width: float
    height: float


@dataclass
class Placed:
    """A node's centre and size once laid out."""

    name: str
    x: float
    y: float
    width: float
    height: float
    layer: int


@dataclass
class Route:
    """One edge as a list of points from its source's side to its target's side."""

    source: str
    target: str
    points: list[Point]
    upwards: bool


@dataclass
class Layout:
    nodes: dict[str, Placed]
    routes: list[Route]
    width: float
    height: float


@dataclass
class _Graph:
    layer: dict[str, int] = field(default_factory=dict)
    width: dict[str, float] = field(default_factory=dict)
    down: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    up: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    chains: list[tuple[str, str, list[str], bool]] = field(default_factory=list)
    weight: dict[tuple[str, str], float] = field(default_factory=dict)

    def pull(self, n: str, neighbours: list[str], x: dict[str, float]) -> float | None:
        """The weighted mean position of ``neighbours``, or None when there are none."""
        total = sum(self.weight[_pair(n, m)] for m in neighbours)
        return sum(x[m] * self.weight[_pair(n, m)] for m in neighbours) / total if neighbours else None

    def median(self, n: str, neighbours: list[str], x: dict[str, float]) -> float:
        """The weighted median position of ``neighbours``: the heaviest edge wins outright."""
        ranked = sorted(neighbours, key=x.__getitem__)
        half = sum(self.weight[_pair(n, m)] for m in ranked) / 2
        running = 0.0
        for m in ranked:
            running += self.weight[_pair(n, m)]
            if running > half:
                return x[m]
            if running == half:
                after = ranked[ranked.index(m) + 1]
                return (x[m] + x[after]) / 2
        return x[ranked[-1]]


def _pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def layered(boxes: Sequence[Box], edges: Sequence[tuple[str, str]], roots: Sequence[str], *,
            weights: dict[tuple[str, str], float] | None = None, layer_gap: float = 46.0, node_gap: float = 26.0,
            margin: float = 14.0) -> Layout:  # fmt: skip
    """Lay out ``boxes`` joined by ``edges`` (source, target); self-loops are not drawn.

    A heavier edge (``weights``, default 1) pulls its ends into line harder: give the main path weight.
    """
    names = [b.name for b in boxes]
    size = {b.name: b for b in boxes}
    edges = [(s, t) for s, t in dict.fromkeys(edges) if s != t and s in size and t in size]
    upward = _back_edges(names, edges, roots)
    dag = [(t, s) if (s, t) in upward else (s, t) for s, t in edges]
    graph = _Graph(layer=_longest_path_layers(names, dag), width={n: size[n].width for n in names})
    for source, target in edges:
        top, bottom = (target, source) if (source, target) in upward else (source, target)
        chain = [top]
        for layer in range(graph.layer[top] + 1, graph.layer[bottom]):
            dummy = f"\0{source}\0{target}\0{layer}"
            graph.layer[dummy], graph.width[dummy] = layer, DUMMY_WIDTH
            chain.append(dummy)
        chain.append(bottom)
        weight = (weights or {}).get((source, target), 1.0)
        for a, b in itertools.pairwise(chain):
            graph.down[a].append(b)
            graph.up[b].append(a)
            dummies = sum(1 for end in (a, b) if end.startswith("\0"))  # keep long edges straight
            graph.weight[_pair(a, b)] = max(graph.weight.get(_pair(a, b), 0.0), weight * (1 + dummies))
        graph.chains.append((source, target, chain, (source, target) in upward))
    rows = _order(graph, names)
    x = _positions(graph, rows, node_gap)
    heights = [max((size[n].height for n in row if n in size), default=10.0) for row in rows]
    y: dict[str, float] = {}
    top_y = margin
    for row, height in zip(rows, heights, strict=True):
        for n in row:
            y[n] = top_y + height / 2
        top_y += height + layer_gap
    left = min((x[n] - graph.width[n] / 2 for n in x), default=0.0)
    shift = margin - left
    nodes = {n: Placed(n, x[n] + shift, y[n], size[n].width, size[n].height, graph.layer[n]) for n in names}
    routes = _routes(graph, x, y, nodes, shift)
    width = max((x[n] + graph.width[n] / 2 + shift for n in x), default=0.0) + margin
    return Layout(nodes, routes, width, top_y - layer_gap + margin)


def _back_edges(names: list[str], edges: list[tuple[str, str]], roots: Sequence[str]) -> set[tuple[str, str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for s, t in edges:
        out[s].append(t)
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
    back: set[tuple[str, str]] = set()
    for root in [*roots, *names]:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(out[root]))]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                back.add((node, child))
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(out[child])))
    return back


def _longest_path_layers(names: list[str], dag: list[tuple[str, str]]) -> dict[str, int]:
    preds: dict[str, list[str]] = defaultdict(list)
    indegree = {n: 0 for n in names}
    for s, t in dag:
        preds[t].append(s)
        indegree[t] += 1
    ready = [n for n in names if indegree[n] == 0]
    layer: dict[str, int] = {}
    succs: dict[str, list[str]] = defaultdict(list)
    for s, t in dag:
        succs[s].append(t)
    while ready:
        n = ready.pop(0)
        layer[n] = max((layer[p] + 1 for p in preds[n]), default=0)
        for t in succs[n]:
            indegree[t] -= 1
            if indegree[t] == 0:
                ready.append(t)
    return layer


def _order(graph: _Graph, names: list[str]) -> list[list[str]]:
    """Rows of nodes, ordered to keep edges short and crossings few (barycentre sweeps)."""
    depth = max(graph.layer.values(), default=-1) + 1
    rows: list[list[str]] = [[] for _ in range(depth)]
    seen: set[str] = set()

    def visit(n: str) -> None:  # first order: depth-first from the first node, so chains stay in line
        stack = [n]
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            rows[graph.layer[node]].append(node)
            stack.extend(reversed(graph.down[node]))

    for n in names:
        visit(n)
    for sweep in range(8):
        downwards = sweep % 2 == 0
        for i in range(1, depth) if downwards else range(depth - 2, -1, -1):
            ref = {n: k for k, n in enumerate(rows[i - 1 if downwards else i + 1])}
            neighbours = graph.up if downwards else graph.down

            keys = {}
            for k, n in enumerate(rows[i]):
                mean = graph.pull(n, [m for m in neighbours[n] if m in ref], {m: float(j) for m, j in ref.items()})
                keys[n] = float(k) if mean is None else mean
            rows[i].sort(key=keys.__getitem__)
    return rows


def _positions(graph: _Graph, rows: list[list[str]], gap: float) -> dict[str, float]:
    """Pack each row, then move nodes under (or over) their neighbours, the heaviest edges first."""
    x: dict[str, float] = {}
    for row in rows:
        left = 0.0
        for n in row:
            x[n] = left + graph.width[n] / 2
            left += graph.width[n] + gap
    for sweep in range(10):
        downwards = sweep % 2 == 0
        for row in rows if downwards else list(reversed(rows)):
            wanted: dict[str, float] = {}
            priority: dict[str, float] = {}
            for n in row:
                near = (graph.up[n] if downwards else graph.down[n]) or graph.up[n] + graph.down[n]
                wanted[n] = graph.median(n, near, x) if near else x[n]
                priority[n] = sum(graph.weight[_pair(n, m)] for m in near)
            _place_row(row, wanted, priority, graph.width, gap, x)
    return x


def _place_row(row: list[str], wanted: dict[str, float], priority: dict[str, float], width: dict[str, float],
               gap: float, x: dict[str, float]) -> None:  # fmt: skip
    """The priority method: in order of priority, each node goes as near to where it wants as the nodes
    already placed allow, keeping the row's order and gaps (the rest are placed after it)."""
    fixed: set[int] = set()
    for i in sorted(range(len(row)), key=lambda k: -priority[row[k]]):
        low, high = float("-inf"), float("inf")
        for j in range(i - 1, -1, -1):
            if j in fixed:
                low = x[row[j]] + _distance(row, j, i, width, gap)
                break
        for j in range(i + 1, len(row)):
            if j in fixed:
                high = x[row[j]] - _distance(row, i, j, width, gap)
                break
        x[row[i]] = min(max(wanted[row[i]], low), high)
        fixed.add(i)


def _distance(row: list[str], a: int, b: int, width: dict[str, float], gap: float) -> float:
    """The least distance between the centres of row[a] and row[b] (a < b) with everything between."""
    between = sum(width[row[k]] + gap for k in range(a + 1, b))
    return width[row[a]] / 2 + between + gap + width[row[b]] / 2


def _routes(graph: _Graph, x: dict[str, float], y: dict[str, float], nodes: dict[str, Placed],
            shift: float) -> list[Route]:  # fmt: skip
    """Each chain as points. An edge leaves a node's side leaning towards where it goes; two ends that
    would meet at one spot (one edge each way between two nodes) are pushed apart."""
    sides: dict[tuple[str, bool], list[tuple[float, int]]] = defaultdict(list)
    for k, (_, _, chain, _) in enumerate(graph.chains):
        sides[(chain[0], True)].append((x[chain[1]] + shift, k))
        sides[(chain[-1], False)].append((x[chain[-2]] + shift, k))
    port: dict[tuple[int, bool], float] = {}
    for (name, down), ends in sides.items():
        node = nodes[name]
        reach = node.width * 0.32
        spots = sorted((max(-reach, min(reach, (towards - node.x) * 0.35)), k) for towards, k in ends)
        for i in range(1, len(spots)):  # keep ends at least PORT_GAP apart: push right, then back left
            spots[i] = (max(spots[i][0], spots[i - 1][0] + PORT_GAP), spots[i][1])
        spots[-1] = (min(spots[-1][0], reach), spots[-1][1])
        for i in range(len(spots) - 2, -1, -1):
            spots[i] = (min(spots[i][0], spots[i + 1][0] - PORT_GAP), spots[i][1])
        for offset, k in spots:
            port[(k, down)] = node.x + offset
    routes = []
    for k, (source, target, chain, upwards) in enumerate(graph.chains):
        top, bottom = nodes[chain[0]], nodes[chain[-1]]
        middle = [(x[d] + shift, y[d]) for d in chain[1:-1]]
        points = [(port[(k, True)], top.y + top.height / 2), *middle, (port[(k, False)], bottom.y - bottom.height / 2)]
        routes.append(Route(source, target, list(reversed(points)) if upwards else points, upwards))
    return routes
