"""Every third-party library the code imports is a declared dependency in pyproject.toml (not one that only
happens to be installed because another dependency pulls it in)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("shared", "choreography", "orchestration", "scenarios", "sagalab")


def _imported_top_levels() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split(".")[0], path.relative_to(ROOT))
    return found


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {re.split(r"[\s<>=!~;\[]", spec, maxsplit=1)[0].lower().replace("_", "-")
            for spec in project["dependencies"]}  # fmt: skip


def test_every_imported_library_is_declared() -> None:
    """aio-pika's own dependencies (aiormq, yarl, pamqp) count only if pyproject names them."""
    distributions = packages_distributions()
    undeclared = {}
    for module, where in _imported_top_levels().items():
        if module in sys.stdlib_module_names or module in PACKAGES:
            continue
        names = {d.lower().replace("_", "-") for d in distributions.get(module, [module])}
        if not names & _declared():
            undeclared[module] = str(where)
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"


def test_the_license_is_an_spdx_expression() -> None:
    """A table (``{text = ...}``) makes setuptools print a deprecation warning on every install (PEP 639)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert isinstance(project["project"]["license"], str)
    assert "setuptools>=77" in project["build-system"]["requires"]
