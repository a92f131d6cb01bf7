"""The oracle's Ledger seam: the store and the ledger query say the same of a built-in database, the query's
JSON Schema holds what a participant in another language sends, and an unanswered query is a verdict."""

from __future__ import annotations

import ast
import asyncio
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import jsonschema
import pytest
from pydantic import ValidationError

from scenarios.catalogue import SCENARIOS
from scenarios.ledger import Effects, LedgerUnanswered, StoreLedger, gather
from scenarios.oracle import judge
from scenarios.participants import CannotReplace, ParticipantProcess, parse_participants, refuse_faults_on
from shared.config import Settings
from shared.domain.ledger import LedgerReport, QueryLedger
from shared.stores.business import ledger_report
from shared.stores.read import read_only
from tests.unit.test_oracle import ORDER, _world

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "docs" / "schemas"
EXAMPLES = ROOT / "examples" / "participants"


def _effects(e: Effects) -> tuple[object, ...]:
    return dict(e.charges), dict(e.refunds), e.reservations, e.stock, e.shipments


def test_the_query_reports_what_the_store_holds(tmp_path: Path) -> None:
    """For every domain service, the report a built-in service sends (through its JSON, as a participant in any
    language would) adds up to the same effects as reading its file."""
    _world(tmp_path, "compensated", charges=[500], refunds=[500], reservation="released", shipment="cancelled")
    stored, queried = Effects(), Effects()
    query = QueryLedger(correlation_id="q-1", order_ids=[ORDER.order_id])
    for service in ("payment", "inventory", "shipping"):
        StoreLedger(tmp_path).read_now(service, stored)
        with read_only(tmp_path / f"{service}.db") as db:
            report = query.caused(LedgerReport, participant=service, **ledger_report(service, db, query.order_ids))
        queried.add(LedgerReport.model_validate_json(report.model_dump_json()))
    assert _effects(queried) == _effects(stored)
    assert stored.charges == {"o-1": [500]} and stored.reservations == {"o-1": {0: ("KEYBOARD", 1, "released")}}


def test_a_ping_reports_no_order(tmp_path: Path) -> None:
    """A query with no order ids (the runner's ping) reports no order's effects, only inventory's stock."""
    _world(tmp_path, "completed", charges=[500], reservation="reserved", shipment="scheduled")
    with read_only(tmp_path / "payment.db") as db:
        assert ledger_report("payment", db, None) == {"charges": [], "refunds": []}
    with read_only(tmp_path / "inventory.db") as db:
        assert [s.sku for s in ledger_report("inventory", db, None)["stock"]] == ["KEYBOARD"]


def test_an_unanswered_ledger_is_a_violation_never_an_ok(tmp_path: Path) -> None:
    """Payment did not answer: the verdict says so (``ledger.unanswered``) and judges no money rule on nothing;
    the other participants' rules still hold."""
    coord = _world(tmp_path, "completed", charges=[500], reservation="reserved", shipment="scheduled", available=9)
    effects = Effects()
    for service in ("inventory", "shipping"):
        StoreLedger(tmp_path).read_now(service, effects)
    effects.unanswered["payment"] = "payment did not answer the ledger query within 10s"
    verdict = judge(tmp_path, coord, [ORDER], effects=effects)
    assert not verdict.ok
    assert [(v.rule, v.detail) for v in verdict.violations] == [
        ("ledger.unanswered", "payment did not answer the ledger query within 10s")
    ]


def test_gather_notes_a_participant_that_did_not_answer(tmp_path: Path) -> None:
    """A source that raises LedgerUnanswered leaves its participant unjudged, with why; the others are read."""
    _world(tmp_path, "completed", charges=[500], shipment="scheduled")

    class Silent:
        complete = False

        async def read(self, service: str, order_ids: Sequence[str], into: Effects) -> None:
            raise LedgerUnanswered(f"{service} did not answer the ledger query within 1s")

    effects = asyncio.run(gather({"payment": Silent(), "shipping": StoreLedger(tmp_path)}, ["o-1"]))
    assert effects.unanswered == {"payment": "payment did not answer the ledger query within 1s"}
    assert effects.shipments == {"o-1": "scheduled"} and not effects.complete and not effects.judged("payment")


def _schema(name: str) -> dict[str, object]:
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text())


def test_the_committed_schemas_hold_a_report_written_by_hand() -> None:
    """What the example participant sends validates against docs/schemas/LedgerReport.schema.json; an extra
    field or a wrong status does not (the runner refuses those reports too)."""
    report = {"message_id": "r-1", "correlation_id": "ledger-1", "causation_id": "q-1",
              "occurred_at": "2026-12-02T12:00:00+00:00", "participant": "payment",
              "charges": [{"order_id": "o-1", "amount_cents": 500, "payment_id": "p-1"}],
              "refunds": [{"order_id": "o-1", "amount_cents": 500}]}  # fmt: skip
    jsonschema.validate(report, _schema("LedgerReport"))
    LedgerReport.model_validate(report)
    for bad in ({**report, "balance": 0}, {**report, "shipments": [{"order_id": "o-1", "status": "lost"}]}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, _schema("LedgerReport"))
        with pytest.raises(ValidationError):
            LedgerReport.model_validate(bad)
    jsonschema.validate({"message_id": "q-1", "correlation_id": "ledger-1", "order_ids": None}, _schema("QueryLedger"))


def test_a_query_asks_about_at_most_200_orders() -> None:
    """The bound that keeps every report under the 64 KiB message bound; the runner asks in pages."""
    QueryLedger(correlation_id="q", order_ids=[f"o-{i}" for i in range(200)])
    with pytest.raises(ValidationError):
        QueryLedger(correlation_id="q", order_ids=[f"o-{i}" for i in range(201)])


@pytest.mark.parametrize("spec, problem", [
    ("payment", "write SERVICE=COMMAND"),
    ("orders=python x.py", "only payment, inventory, shipping"),
    ("payment=no-such-program-here", "no program 'no-such-program-here'"),
    ("payment='unclosed", "No closing quotation"),
])  # fmt: skip
def test_a_bad_participant_is_refused_saying_why(spec: str, problem: str) -> None:
    with pytest.raises(CannotReplace, match=problem):
        parse_participants([spec])


def test_participants_parse_into_commands() -> None:
    assert parse_participants([f"payment={sys.executable} pay.py", "shipping=external"]) == {
        "payment": f"{sys.executable} pay.py", "shipping": "external"}  # fmt: skip
    with pytest.raises(CannotReplace, match="given twice"):
        parse_participants(["shipping=external", "shipping=external"])


def test_faults_that_need_the_built_in_process_are_refused() -> None:
    """A fault hook planted in the built-in payment, or an injector that kills it, cannot strike yours; faults on
    other services, and scenarios without any, go on."""
    with pytest.raises(CannotReplace, match="the fault hook raise:OrderPlaced:2 lives inside the built-in payment"):
        refuse_faults_on(SCENARIOS["transient-failure"], "choreography", {"payment": "external"})
    with pytest.raises(CannotReplace, match="KillService payment needs the runner to own the service processes"):
        refuse_faults_on(SCENARIOS["compensation-target-down"], "orchestration", {"payment": "external"})
    refuse_faults_on(SCENARIOS["compensation-target-down"], "orchestration", {"shipping": "external"})
    refuse_faults_on(SCENARIOS["out-of-stock"], "choreography", {"payment": "external", "inventory": "external"})


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_the_example_participants_speak_the_protocol_only() -> None:
    """The examples import the standard library and an AMQP client, never sagalab's own packages: they prove the
    protocol is enough."""
    sources = sorted(EXAMPLES.rglob("*.py"))
    assert sources
    for path in sources:
        foreign = _imports(path) - set(sys.stdlib_module_names) - {"__future__", "aio_pika"}
        assert not foreign, f"{path.relative_to(ROOT)} imports {sorted(foreign)}"


def test_a_started_participant_gets_the_documented_environment(tmp_path: Path) -> None:
    """The variables docs/participant-protocol.md promises, and the command split without a shell."""
    settings = Settings(service="inventory", mode="orchestration", amqp_url="amqp://u:p@h:5672/", namespace="ns-1",
                        data_dir=tmp_path)  # fmt: skip
    process = ParticipantProcess(settings, tmp_path / "inventory.log", "node 'my inventory.js' --fast", {"KB": 3})
    assert process.command() == ["node", "my inventory.js", "--fast"]
    env = process.environment()
    assert {k: env[k] for k in ("AMQP_URL", "SAGALAB_NAMESPACE", "SAGALAB_MODE", "SAGALAB_PARTICIPANT",
                                "SAGALAB_DATA_DIR", "SAGALAB_STOCK", "SAGALAB_PARENT_PIPE")} == {
        "AMQP_URL": "amqp://u:p@h:5672/", "SAGALAB_NAMESPACE": "ns-1", "SAGALAB_MODE": "orchestration",
        "SAGALAB_PARTICIPANT": "inventory", "SAGALAB_DATA_DIR": str(tmp_path), "SAGALAB_STOCK": '{"KB": 3}',
        "SAGALAB_PARENT_PIPE": "1"}  # fmt: skip


def test_the_javascript_example_imports_node_and_amqplib_only() -> None:
    """The Node example's imports: Node's built-ins (``node:``) and its AMQP client, nothing else."""
    source = (EXAMPLES / "payment-node" / "payment.mjs").read_text()
    imported = set(re.findall(r"""^import .* from ["']([^"']+)["'];$""", source, re.MULTILINE))
    assert "amqplib" in imported
    assert {m for m in imported if not m.startswith("node:")} == {"amqplib"}
    assert "require(" not in source
