"""The orchestrator's history rows stay in their table's pages rather than an overflow page each."""

from __future__ import annotations

from pathlib import Path

from orchestration import store
from orchestration.store import ORCHESTRATOR_SCHEMA
from shared.stores.sqlite import Database


def test_a_steps_two_kilobyte_history_row_costs_no_page_of_its_own(tmp_path: Path) -> None:
    """400 steps of about 2 KB each take about their own size on disk, not a 4 KB overflow page apiece
    (what a WITHOUT ROWID table did: twice the file, and twice the pages each commit writes)."""
    db = Database(tmp_path / "orchestrator.db", ORCHESTRATOR_SCHEMA)
    event = {"id": 1, "type": "TaskSucceeded", "output": {"note": "x" * 1900}}
    with db.transaction() as conn:
        for step in range(400):
            store.write_history(conn, f"ord-{step // 4}", [{**event, "id": step % 4 * 5 + 1}])
    written = sum(len(e) for (e,) in db.conn.execute("SELECT events FROM history"))
    history_pages = db.conn.execute("SELECT COUNT(*) FROM dbstat WHERE name = 'history'").fetchone()[0]
    assert history_pages * 4096 < 1.5 * written
    assert len(store.history(db.conn, "ord-0")) == 4
    db.close()
