"""The workshop guide's management UI step, checked in headless Chromium: a participant logs into the UI with
the user of their sheet and, while their run is in progress, the Queues page lists their namespace's queues
and nobody else's.

Chromium is Debian's ``chromium`` (``make chromium``), driven by Playwright pointed at that binary, as in
``test_report_browser.py``. ``SAGALAB_UPDATE_SCREENSHOT=1`` also writes the picture the guide shows,
``docs/workshop-queues.png``.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from yarl import URL

from tests.integration.test_report_browser import CHROMIUM, FLAGS, HOW_TO_GET_CHROMIUM
from tests.integration.test_workshop_vhosts import sagalab, teardown

pytestmark = [pytest.mark.broker, pytest.mark.slow]

DOCS_PICTURE = Path(__file__).resolve().parents[2] / "docs" / "workshop-queues.png"
NAMESPACE = "ada"
QUEUES = {f"{NAMESPACE}.{q}" for q in ("orders", "payment", "inventory", "shipping", "tap", "dead-letters")}
"""What a choreography run declares in the participant's vhost."""
UNACKED_COLUMN = 5
"""Name, Type, Features, State, Ready, Unacked, Total, ... (RabbitMQ 3.10 to 3.13)."""


@pytest.fixture
def seat(amqp_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """One provisioned participant (their sheet row); torn down afterwards."""
    name = f"tu{uuid.uuid4().hex[:8]}"
    sheet = tmp_path / "sheet.csv"
    made = sagalab("workshop", "provision", "--participants", "1", "--name", name, "--out", str(sheet),
                   "--amqp-url", amqp_url)  # fmt: skip
    try:
        assert made.returncode == 0, made.stdout + made.stderr
        with sheet.open() as f:
            yield next(csv.DictReader(f))
    finally:
        teardown(name, amqp_url)


def test_a_participant_sees_their_queues_in_the_management_ui_during_a_run(seat: dict[str, str], tmp_path: Path) -> None:
    """`slow-service` keeps shipping busy for 15 s; meanwhile the participant's Queues page lists exactly the
    run's queues, each running (the vhost holds nobody else's)."""
    if not CHROMIUM.exists():
        pytest.fail(HOW_TO_GET_CHROMIUM, pytrace=False)
    from playwright.sync_api import sync_playwright

    run = subprocess.Popen(
        [sys.executable, "-m", "sagalab.cli", "run", "slow-service", "--mode", "choreography", "--amqp-url",
         seat["amqp_url"], "--namespace", NAMESPACE, "--out", str(tmp_path / "run")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
            try:
                page = browser.new_page(viewport={"width": 1100, "height": 600})
                page.goto(seat["management_ui"])
                page.fill("input[name=username]", seat["user"])
                page.fill("input[name=password]", seat["password"])
                page.click("input[type=submit]")
                page.goto(f"{seat['management_ui']}/#/queues")
                # The page refreshes itself every 5 s. Wait until it lists every queue, and shows shipping holding
                # the delayed StockReserved unacknowledged: the run is in progress.
                page.wait_for_function(
                    """([names, shipping]) => {
                        const rows = [...document.querySelectorAll('table.list tbody tr')];
                        const cells = n => rows.map(r => [...r.cells].map(c => c.innerText.trim())).find(c => c[0] === n);
                        return names.every(n => cells(n)) && cells(shipping)[UNACKED] === '1'; }""".replace(
                        "UNACKED", str(UNACKED_COLUMN)),
                    arg=[sorted(QUEUES), f"{NAMESPACE}.shipping"], timeout=60_000,
                )  # fmt: skip
                rows = page.eval_on_selector_all("table.list tbody tr",
                                                 "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))")  # fmt: skip
                assert {row[0] for row in rows} == QUEUES  # their queues, and nobody else's
                assert {row[0]: row[UNACKED_COLUMN] for row in rows}[f"{NAMESPACE}.shipping"] == "1"
                assert f"User {seat['user']}" in page.inner_text("#header")
                picture = tmp_path / "queues.png"
                page.screenshot(path=str(picture))
                if os.environ.get("SAGALAB_UPDATE_SCREENSHOT"):
                    shutil.copyfile(picture, DOCS_PICTURE)
            finally:
                browser.close()
        output, _ = run.communicate(timeout=240)
        assert run.returncode == 0, output
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert URL(seat["amqp_url"]).path == f"/{seat['vhost']}"
