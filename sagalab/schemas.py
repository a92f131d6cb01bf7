"""JSON Schemas of every message sagalab speaks, generated from the pydantic contracts.

``docs/schemas/<Type>.schema.json`` holds them for participants written in other languages;
``sagalab schema`` regenerates them and a unit test fails when the committed files drift from the models.
A schema describes the JSON body; the AMQP ``type`` property carries the ``<Type>`` name.

``scenario-file.schema.json`` beside them describes a scenario file (TOML, ``scenarios/files/model.py``), for
editors that check and complete a file against a JSON Schema.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scenarios.files.model import json_schema
from shared.domain.contracts import MESSAGE_TYPES, Message
from shared.domain.ledger import LEDGER_TYPES

DIALECT = "https://json-schema.org/draft/2020-12/schema"
DEFAULT_DIR = Path("docs/schemas")


def file_name(type_name: str) -> str:
    return f"{type_name}.schema.json"


def message_schema(cls: type[Message]) -> dict[str, Any]:
    """The schema of one message body, as sagalab validates it on arrival (``extra="forbid"``)."""
    return {"$schema": DIALECT, **cls.model_json_schema()}


def render(schema: dict[str, Any]) -> str:
    """The committed form: stable key order, two-space indent, a final newline."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def rendered_schemas() -> dict[str, str]:
    """Every message type's schema file (the ledger query's too), by file name."""
    types = MESSAGE_TYPES | LEDGER_TYPES
    return {file_name(name): render(message_schema(cls)) for name, cls in types.items()}


SCENARIO_FILE_SCHEMA = "scenario-file.schema.json"


def scenario_file_schema() -> str:
    """The schema of a scenario file, as its model checks it (unknown keys refused)."""
    return render({"$schema": DIALECT, **json_schema()})


def write_schemas(out: Path = DEFAULT_DIR) -> list[Path]:
    """Write every schema into ``out`` (created if needed), removing schema files of types that no longer exist."""
    out.mkdir(parents=True, exist_ok=True)
    wanted = rendered_schemas() | {SCENARIO_FILE_SCHEMA: scenario_file_schema()}
    for stale in out.glob("*.schema.json"):
        if stale.name not in wanted:
            stale.unlink()
    written = []
    for name, text in wanted.items():
        path = out / name
        path.write_text(text)
        written.append(path)
    return written
