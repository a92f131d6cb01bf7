"""PostgreSQL as the services' store, on a real server (found as tests/integration/postgres_server.py says):
replicas racing on one schema, the participant rules, and whole runs (both modes, a kill -9 after commit)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from shared.domain.contracts import ChargePayment, Order, ReserveStock
from shared.domain.services.inventory import reserve_stock
from shared.stores.business import INVENTORY_SCHEMA, PAYMENT_SCHEMA, SqliteStockRepository, stock_up
from shared.stores.location import pin
from shared.stores.postgres import namespace_schemas
from shared.stores.read import read_only
from shared.stores.sqlite import Database
from tests.integration.inprocess import services, wait_until
from tests.integration.test_participant_rules import _client, _send

pytestmark = pytest.mark.broker

ORDER = Order(order_id="o-pg-1", customer_id="c-1", sku="KEYBOARD", quantity=1, amount_cents=4999,
              card_number="4242424242424242", destination="Berlin")  # fmt: skip


def _rows(data_dir: Path, service: str, sql: str) -> list[tuple[Any, ...]]:
    with read_only(data_dir / f"{service}.db") as db:
        return db.rows(sql)


def _race(dbs: list[Database], work: Callable[[Any], Any]) -> list[Any]:
    """Run ``work`` in one transaction per replica, all begun before any goes on (a barrier), in threads."""
    started = threading.Barrier(len(dbs))
    results: list[Any] = [None] * len(dbs)

    def replica(i: int) -> None:
        with dbs[i].transaction() as conn:
            started.wait(timeout=10)
            results[i] = work(conn)

    threads = [threading.Thread(target=replica, args=(i,)) for i in range(len(dbs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


def test_two_replicas_never_sell_the_last_keyboard_twice(postgres_url: str, pg_namespace: str, tmp_path: Path) -> None:
    """Two inventory replicas reserve the last unit at once on one schema: the stock row is locked by the read
    the decision depends on, so one gets it and the other is told OutOfStock; the stock never goes negative."""
    pin(tmp_path, postgres_url, pg_namespace)
    replicas = [Database(tmp_path / "inventory.db", INVENTORY_SCHEMA) for _ in range(2)]
    with replicas[0].transaction() as conn:
        stock_up(conn, {"KEYBOARD": 1})
    orders = [ORDER.model_copy(update={"order_id": f"o-pg-{i}"}) for i in range(2)]
    commands = iter([ReserveStock(correlation_id=o.order_id, order=o) for o in orders])
    lock = threading.Lock()

    def reserve(conn: Any) -> str:
        with lock:
            command = next(commands)
        return type(reserve_stock(command, SqliteStockRepository(conn))).__name__

    outcomes = _race(replicas, reserve)
    for db in replicas:
        db.close()
    assert sorted(outcomes) == ["OutOfStock", "StockReserved"]
    assert _rows(tmp_path, "inventory", "SELECT available FROM stock") == [(0,)]


def test_two_replicas_taking_one_message_at_once_record_it_once(postgres_url: str, pg_namespace: str,
                                                                 tmp_path: Path) -> None:  # fmt: skip
    """The same delivery handled by two replicas at once (a redelivery racing the first): the inbox's key makes
    the second insert wait for the first to commit, then see it: one ``new``, one ``duplicate``."""
    pin(tmp_path, postgres_url, pg_namespace)
    replicas = [Database(tmp_path / "payment.db", PAYMENT_SCHEMA) for _ in range(2)]
    seen = _race(replicas, lambda conn: Database.remember(conn, "payment", "m-1", "digest"))
    for db in replicas:
        db.close()
    assert sorted(seen) == ["duplicate", "new"]
    assert _rows(tmp_path, "payment", "SELECT count(*) FROM inbox") == [(1,)]


async def test_a_duplicate_delivery_has_no_second_effect_on_postgresql(
    amqp_url: str, postgres_url: str, pg_namespace: str, tmp_path: Path
) -> None:
    """ChargePayment delivered twice with one message id, then again under a new id, to a payment service whose
    database is a PostgreSQL schema: one charge; the copy is answered from the inbox, the new id by the business key."""
    pin(tmp_path, postgres_url, pg_namespace)
    async with (services("orchestration", ["payment"], amqp_url, pg_namespace, tmp_path),
                _client(amqp_url, pg_namespace) as (client, replies)):  # fmt: skip
        charge = ChargePayment(correlation_id=ORDER.order_id, order=ORDER)
        for command in (charge, charge, ChargePayment(correlation_id=ORDER.order_id, order=ORDER)):
            await _send(client, command, "payment")
            expected = len(replies) + 1
            await wait_until(lambda: len(replies) == expected, what="the reply")  # noqa: B023
    assert [type(r).__name__ for r in replies] == ["PaymentCharged"] * 3
    assert len({r.payment_id for r in replies}) == 1  # type: ignore[attr-defined]
    assert _rows(tmp_path, "payment", "SELECT count(*) FROM charges") == [(1,)]
    assert _rows(tmp_path, "payment", "SELECT count(*) FROM inbox") == [(2,)]
    assert _rows(tmp_path, "payment", "SELECT kind, count(*) FROM refusals GROUP BY kind") == [("ignored", 1)]
    assert not (tmp_path / "payment.db").exists()  # no SQLite file beside the schema


def _sagalab(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sagalab.cli", *args], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "SAGALAB_HOME": str(home)})  # fmt: skip


def _consistent(result: dict[str, Any], ending: str) -> None:
    assert result["settled"] and result["expectation_met"], result
    assert result["consistency"]["ok"], result["consistency"]
    assert result["orders"][ending] == result["orders"]["total"] >= 1


def test_compare_out_of_stock_on_postgresql_ends_consistent_in_both_modes(
    amqp_url: str, postgres_url: str, pg_namespace: str, tmp_path: Path
) -> None:
    """``sagalab compare out-of-stock --store postgresql://...``: both modes refund the charge and the oracle,
    reading the schemas, finds them consistent; every service of each mode had a schema of its own."""
    out = tmp_path / "compare.json"
    done = _sagalab("compare", "out-of-stock", "--amqp-url", amqp_url, "--namespace", pg_namespace,
                    "--store", postgres_url, "--json", str(out), "--out", str(tmp_path / "run"), home=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(out.read_text())
    for mode in ("choreography", "orchestration"):
        _consistent(result[mode], "compensated")
        assert not list((tmp_path / "run" / mode / "data").glob("*.db"))
    schemas = namespace_schemas(postgres_url, pg_namespace)
    assert sorted(s.rsplit(":", 1)[1] for s in schemas) == sorted(
        ["orders", "payment", "inventory", "shipping", "orchestrator", "payment", "inventory", "shipping"]
    )


@pytest.mark.parametrize("mode", ["choreography", pytest.param("orchestration", marks=pytest.mark.slow)])
def test_a_kill_after_commit_on_postgresql_loses_nothing_and_refunds_once(
    mode: str, amqp_url: str, postgres_url: str, pg_namespace: str, tmp_path: Path
) -> None:
    """``crash-after-commit`` with the databases in PostgreSQL: payment is killed -9 after committing the refund,
    before acking it; the redelivery finds the committed inbox row, the outbox sends what was staged; one refund.
    (The run's transcript is not compared: on a loaded machine the restart may outlast the orchestrator's task
    timeout and add a retry, which the inbox absorbs; what this checks is what the crash must not change.)"""
    out = tmp_path / "run.json"
    done = _sagalab("run", "crash-after-commit", "--mode", mode, "--amqp-url", amqp_url, "--namespace", pg_namespace,
                    "--store", postgres_url, "--json", str(out), "--out", str(tmp_path / "run"), home=tmp_path)  # fmt: skip
    assert done.returncode in (0, 1) and out.exists(), done.stdout + done.stderr
    result = json.loads(out.read_text())
    assert result["settled"] and result["consistency"]["ok"], result["consistency"]
    assert result["orders"]["compensated"] == result["orders"]["total"] == 1
    assert result["extra"]["restarts"].get("payment", 0) >= 1, result["extra"]  # it was killed, and came back
    assert _rows(tmp_path / "run" / "data", "payment", "SELECT count(*) FROM refunds") == [(1,)]
