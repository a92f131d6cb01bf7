"""Small SVG building blocks shared by the report's diagrams, and the one palette they all use.

The SVG is inline in the HTML page, so it carries no ``xmlns`` (no URL at all appears in a report).
"""

from __future__ import annotations

import math
from html import escape

FONT = "system-ui, -apple-system, 'Segoe UI', 'DejaVu Sans', sans-serif"

KIND_COLOURS = {"forward": "#2563b8", "failure": "#c62828", "compensation": "#1b7f3b"}
"""Message colours by ``shared.domain.reading.kind_of``: the same three in the terminal and the report."""

MUTED = "#9aa3ad"
INK = "#1f2933"


def attr(**attrs: object) -> str:
    """``key="value"`` pairs; underscores become dashes (``stroke_width`` -> ``stroke-width``), None is left out."""
    parts = []
    for key, value in attrs.items():
        if value is None:
            continue
        name = key.rstrip("_").replace("_", "-")
        if isinstance(value, float):
            value = f"{value:.1f}"
        parts.append(f'{name}="{escape(str(value), quote=True)}"')
    return " ".join(parts)


def document(body: list[str], width: float, height: float, label: str, css_class: str) -> str:
    """An ``<svg>`` that scales down to its column but never up past its natural size."""
    return (
        f"<svg {attr(class_=css_class, viewBox=f'0 0 {width:.0f} {height:.0f}', width=f'{width:.0f}', role='img')}"
        f' aria-label="{escape(label, quote=True)}" style="max-width:100%;height:auto"'
        f' font-family="{escape(FONT, quote=True)}">'
        f"<title>{escape(label)}</title>" + "".join(body) + "</svg>"
    )


def text(x: float, y: float, content: str, *, size: float = 12, fill: str = INK, anchor: str = "middle",
         weight: str | None = None, css_class: str | None = None, halo: bool = False) -> str:  # fmt: skip
    """A line of text centred on ``y``; ``halo`` outlines it in white so lines crossing it don't hide it."""
    outline = attr(paint_order="stroke", stroke="#fff", stroke_width=3, stroke_linejoin="round") if halo else ""
    return (
        f"<text {attr(x=x, y=y, font_size=size, fill=fill, text_anchor=anchor, font_weight=weight, class_=css_class)}"
        f' {outline} dominant-baseline="middle">{escape(content)}</text>'
    )


def text_width(content: str, size: float = 12, bold: bool = False) -> float:
    """A width estimate good enough to size boxes: there is no font metrics library in a plain SVG writer."""
    per_char = 0.62 if bold else 0.58
    return len(content) * size * per_char


def arrowhead(tip: tuple[float, float], towards: tuple[float, float], colour: str, size: float = 8.0) -> str:
    """A filled triangle at ``tip`` pointing away from ``towards`` (the point the line comes from)."""
    dx, dy = tip[0] - towards[0], tip[1] - towards[1]
    length = math.hypot(dx, dy) or 1.0
    ux, uy = dx / length, dy / length
    bx, by = tip[0] - ux * size, tip[1] - uy * size
    half = size * 0.45
    points = [tip, (bx - uy * half, by + ux * half), (bx + uy * half, by - ux * half)]
    return f"<polygon {attr(points=' '.join(f'{x:.1f},{y:.1f}' for x, y in points), fill=colour)}/>"


def title(content: str) -> str:
    """A tooltip for the element it sits in."""
    return f"<title>{escape(content)}</title>"
