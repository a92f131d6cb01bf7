"""The report's stylesheet, inlined into the page: system fonts only, nothing to fetch."""

from __future__ import annotations

from sagalab.report.svg import FONT, KIND_COLOURS

CSS = (
    """
:root { --ink: #1f2933; --muted: #6b7682; --line: #dde2e8; --panel: #ffffff; --page: #f3f5f8;
        --good: #1b7f3b; --undone: #0f766e; --bad: #c62828; --warn: #b45309; }
* { box-sizing: border-box; }
body { margin: 0; padding: 20px 28px 32px; background: var(--page); color: var(--ink);
       font: 14px/1.45 FONT; }
header h1 { margin: 0 0 2px; font-size: 22px; font-weight: 650; letter-spacing: -0.01em; }
.meta { margin: 2px 0; color: var(--muted); font-size: 12.5px; }
code { font: 12px ui-monospace, 'DejaVu Sans Mono', monospace; }
code.order { background: #e8edf3; padding: 1px 5px; border-radius: 4px; }
.grid { display: grid; grid-template-columns: repeat(var(--cols), minmax(0, 1fr)); column-gap: 18px;
        margin-top: 16px; }
.grid[style="--cols:1"] { max-width: 1000px; }
.cell { background: var(--panel); border: 1px solid var(--line); border-top: none; border-bottom: none;
        padding: 10px 18px 14px; min-width: 0; overflow-x: auto; }
.cell.mode { border-top: 1px solid var(--line); border-radius: 10px 10px 0 0; padding-top: 14px; }
.cell.graph { border-bottom: 1px solid var(--line); border-radius: 0 0 10px 10px; padding-bottom: 18px; }
h2 { margin: 0; font-size: 18px; text-transform: capitalize; }
h3 { margin: 6px 0 6px; font-size: 13px; text-transform: uppercase; letter-spacing: 0.06em; color: #52606d; }
.cell.sequence h3 { text-transform: none; letter-spacing: 0; font-size: 14px; color: var(--ink); }
.cell > svg { display: block; margin: 6px 0; }
.badges { margin-top: 6px; display: flex; gap: 6px; flex-wrap: wrap; }
.badge { font-size: 12px; font-weight: 600; padding: 2px 9px; border-radius: 999px; border: 1px solid; }
.badge.good { color: var(--good); background: #e4f4e9; }
.badge.bad { color: var(--bad); background: #fbe4e4; }
.badge.warn { color: var(--warn); background: #fdf0dc; }
table { border-collapse: collapse; font-size: 13px; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(96px, 1fr)); gap: 6px; }
.tile { border: 1px solid var(--line); border-radius: 7px; padding: 4px 9px; background: #fafbfc; }
.tile span { display: block; font-size: 11px; color: var(--muted); }
.tile b { font-size: 17px; font-weight: 650; font-variant-numeric: tabular-nums; white-space: nowrap; }
.tile.good b, .outcome.good { color: var(--good); }
.tile.undone b, .outcome.undone { color: var(--undone); }
.tile.bad b, .outcome.bad { color: var(--bad); }
.tile.warn b, .outcome.warn { color: var(--warn); }
.tile.good { background: #eef8f1; } .tile.undone { background: #e9f6f4; }
.tile.bad { background: #fdeeee; } .tile.warn { background: #fdf4e7; }
.outcome { font-size: 12px; font-weight: 650; }
.ok-line { color: var(--good); margin: 4px 0; }
.bad-line { color: var(--bad); margin: 4px 0; font-weight: 600; }
table.violations td, table.violations th { border-bottom: 1px solid var(--line); padding: 3px 10px 3px 0;
        text-align: left; vertical-align: top; }
table.violations td:first-child { color: var(--bad); font-weight: 600; }
.legend { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 8px; }
.chip { font-size: 11.5px; padding: 1px 8px; border: 1.5px solid; border-radius: 5px; }
.chip.line { background: #fff; font-weight: 600; }
.chip.dashed { border-style: dashed; }
svg .msg:hover line, svg .msg:hover path, svg .edge:hover path { stroke-width: 3.2; }
svg .state:hover rect, svg .message:hover rect, svg .service:hover rect { filter: brightness(0.96); }
details.orders { margin-top: 18px; background: var(--panel); border: 1px solid var(--line); border-radius: 10px;
        padding: 10px 18px; }
details.orders summary { cursor: pointer; font-weight: 600; }
details.orders table { margin-top: 8px; }
details.orders th, details.orders td { text-align: left; padding: 2px 18px 2px 0; }
details.orders tr.chosen td { background: #fff7d6; }
table.defences td { padding: 1px 14px 1px 0; }
table.defences td:last-child { text-align: right; font-variant-numeric: tabular-nums; }
ul.stories { list-style: none; padding: 0; margin: 0; max-height: 480px; overflow: auto; }
ul.stories li { padding: 6px 0; border-bottom: 1px solid var(--line); }
ul.stories li:target { background: #fff7d6; }
ul.stories dl { display: grid; grid-template-columns: max-content 1fr; gap: 1px 10px; margin: 4px 0 0; font-size: 13px; }
ul.stories dt { color: var(--muted); }
ul.stories dd { margin: 0; overflow-wrap: anywhere; }
footer { margin-top: 14px; color: var(--muted); font-size: 12.5px; max-width: 1100px; }
""".replace("FONT", FONT)
    + "".join(f".k-{kind} {{ color: {colour}; }}\n" for kind, colour in KIND_COLOURS.items())
)
