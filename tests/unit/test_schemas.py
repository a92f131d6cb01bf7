"""The committed JSON Schemas (docs/schemas) are exactly what the message models generate; `sagalab schema`
writes them and the AsyncAPI documents (docs/asyncapi, checked in test_asyncapi.py)."""

from __future__ import annotations

import json
from pathlib import Path

from sagalab.cli import main
from sagalab.schemas import SCENARIO_FILE_SCHEMA, rendered_schemas
from shared.domain.contracts import MESSAGE_TYPES
from shared.domain.ledger import LEDGER_TYPES

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"
ASYNCAPI = SCHEMAS.parent / "asyncapi"


def test_committed_schemas_match_the_models() -> None:
    """Every message type has its schema file, unchanged; regenerate with `sagalab schema` after editing contracts."""
    expected = rendered_schemas()
    committed = {p.name: p.read_text() for p in SCHEMAS.glob("*.schema.json") if p.name != SCENARIO_FILE_SCHEMA}
    assert sorted(committed) == sorted(expected), "run `sagalab schema` to regenerate docs/schemas"
    stale = [name for name, text in expected.items() if committed[name] != text]
    assert not stale, f"{stale} differ from the models; run `sagalab schema` to regenerate docs/schemas"


def test_the_protocol_messages_require_what_a_participant_must_send() -> None:
    """TaskFailed needs the envelope's correlation id and an error; unknown fields are refused."""
    failed = json.loads((SCHEMAS / "TaskFailed.schema.json").read_text())
    assert failed["required"] == ["correlation_id", "error"]
    assert failed["additionalProperties"] is False
    invoke = json.loads((SCHEMAS / "InvokeTask.schema.json").read_text())
    assert set(invoke["properties"]) == {"message_id", "correlation_id", "causation_id", "occurred_at", "function",
                                         "input"}  # fmt: skip


def test_sagalab_schema_writes_every_schema_and_document_to_a_folder(tmp_path: Path) -> None:
    """`sagalab schema --out DIR` exits 0 and writes DIR/schemas (one file per message type) and DIR/asyncapi
    (one document per mode), identical to the committed docs/schemas and docs/asyncapi."""
    assert main(["schema", "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["asyncapi", "schemas"]
    written = sorted(p.name for p in (tmp_path / "schemas").iterdir())
    assert written == sorted([*(f"{name}.schema.json" for name in MESSAGE_TYPES | LEDGER_TYPES), SCENARIO_FILE_SCHEMA])
    for folder in (SCHEMAS, ASYNCAPI):
        committed = sorted(folder.glob("*.json"))
        assert committed and [p.name for p in committed] == sorted(p.name for p in (tmp_path / folder.name).iterdir())
        assert all((tmp_path / folder.name / p.name).read_text() == p.read_text() for p in committed), folder.name
