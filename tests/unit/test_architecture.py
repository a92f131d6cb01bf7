"""Architecture rules a reviewer would otherwise have to remember."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN_IN_DOMAIN = ("aio_pika", "aiormq", "pika", "choreography", "orchestration", "shared.transport",
                       "shared.runtime", "shared.stores", "sqlite3")  # fmt: skip


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_domain_code_imports_no_transport_store_or_mode() -> None:
    """shared/domain/services knows nothing of aio-pika, SQLite, or either mode: both modes run it unchanged."""
    for path in (ROOT / "shared" / "domain" / "services").glob("*.py"):
        bad = {n for n in _imports(path) if n.split(".")[0] in FORBIDDEN_IN_DOMAIN or n.startswith(FORBIDDEN_IN_DOMAIN)}
        assert not bad, f"{path.name} imports {bad}"


def test_only_the_broker_adapter_imports_aio_pika() -> None:
    """All aio-pika code sits in shared/transport."""
    for path in ROOT.glob("*/**/*.py"):
        if "transport" in path.parts or ".venv" in path.parts or "tests" in path.parts:
            continue
        assert not {n for n in _imports(path) if n.startswith(("aio_pika", "aiormq"))}, path


def test_every_module_says_what_it_is_for() -> None:
    """Each module of the four packages opens with a docstring."""
    for package in ("choreography", "orchestration", "shared", "scenarios"):
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text())
            if path.name == "__init__.py" and not tree.body:
                continue
            assert ast.get_docstring(tree), f"{path.relative_to(ROOT)} has no module docstring"
