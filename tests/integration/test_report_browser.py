"""The HTML report of a real comparison, opened in headless Chromium: drawn, side by side, offline, no errors.

Chromium is Debian's ``chromium`` package (``make test`` installs it when missing and run as root); the
driver is Playwright, pointed at that binary so it never downloads a browser of its own.
"""

from __future__ import annotations

import struct
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]  # fmt: skip
HOW_TO_GET_CHROMIUM = (
    f"The browser test needs Chromium at {CHROMIUM}: `apt-get install -y chromium` (Debian/Ubuntu, as root), "
    "or run `make test`, which installs it when missing."
)
STATES = ("ChargePayment", "ReserveStock", "ScheduleShipment", "OrderCompleted", "CancelShipment", "ReleaseStock",
          "RefundPayment", "OrderRejected", "OrderCancelled", "CompensationFailed")  # fmt: skip
RED, GREEN = "rgb(198, 40, 40)", "rgb(27, 127, 59)"


@dataclass
class Visit:
    """What the page did while it was open: console errors, uncaught exceptions, every URL it asked for."""

    page: Any
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def report(amqp_url: str, namespace: str, tmp_path: Path) -> Path:
    """`sagalab compare out-of-stock --html` against the real broker; the report it wrote."""
    path = tmp_path / "report.html"
    run = subprocess.run(
        [sys.executable, "-m", "sagalab.cli", "compare", "out-of-stock", "--html", str(path), "--amqp-url", amqp_url,
         "--namespace", namespace, "--out", str(tmp_path / "run")],
        check=False, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"report: {path.resolve()}" in run.stdout.replace("\n", "")
    return path


@pytest.fixture
def browser_page(tmp_path: Path) -> Iterator[Visit]:
    """A page in a fresh headless Chromium profile, recording console errors and requests."""
    if not CHROMIUM.exists():
        pytest.fail(HOW_TO_GET_CHROMIUM, pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("The browser test needs Playwright: `pip install -e '.[test]'` (or `make test`).", pytrace=False)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=str(CHROMIUM), headless=True, args=FLAGS,
            viewport={"width": 1440, "height": 900}, device_scale_factor=1,
        )  # fmt: skip
        try:
            page = context.new_page()
            visit = Visit(page)
            page.on("console", lambda m: visit.errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: visit.errors.append(str(e)))
            page.on("request", lambda r: visit.requests.append(r.url))
            yield visit
        finally:
            context.close()


def _box(locator: Any) -> dict[str, float]:
    box = locator.bounding_box()
    assert box is not None, f"{locator} is not rendered"
    return box  # type: ignore[no-any-return]


@pytest.mark.broker
def test_the_out_of_stock_report_renders_in_chromium(report: Path, browser_page: Visit, tmp_path: Path) -> None:
    """A real out-of-stock report opens offline, error-free, both modes side by side, every diagram drawn."""
    page = browser_page.page
    page.goto(report.resolve().as_uri(), wait_until="load")

    assert browser_page.errors == []
    assert all(url.startswith(("file:", "data:", "about:")) for url in browser_page.requests), browser_page.requests

    choreography, orchestration = (_box(page.locator(f'section.cell.sequence[data-mode="{m}"]'))
                                   for m in ("choreography", "orchestration"))  # fmt: skip
    assert orchestration["x"] >= choreography["x"] + choreography["width"] and orchestration["y"] == choreography["y"]

    for css, count in (("svg.sequence", 2), ("svg.chart", 2), ("svg.state-graph", 1), ("svg.event-graph", 1)):
        svgs = page.locator(css)
        assert svgs.count() == count, css
        for i in range(count):
            box = _box(svgs.nth(i))
            assert box["width"] > 100 and box["height"] > 60, (css, box)

    arrows = [
        page.locator(f'section[data-mode="{m}"] svg.sequence g.msg').count() for m in ("choreography", "orchestration")
    ]
    assert arrows == [6, 7]
    for name in STATES:
        label = page.locator(f'svg.state-graph g.state[data-state="{name}"] text').first
        assert label.text_content() == name and _box(label)["width"] > 20
    stroke = "el => getComputedStyle(el).stroke"
    assert page.locator('g.state[data-state="ReserveStock"] rect').evaluate(stroke) == RED
    for name in ("RefundPayment", "OrderCancelled", "ChargePayment"):
        assert page.locator(f'g.state[data-state="{name}"] rect').evaluate(stroke) == GREEN
    assert page.locator('svg.event-graph g.message[data-seen="true"]').count() == 5

    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width == 1440 and height > 1200 and len(data) > 100_000, (width, height, len(data))
    print(f"screenshot: {shot}")
