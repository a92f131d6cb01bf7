"""docs/faults.md tells the truth about ``KINDS``: the same table, and every example command line parses."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from sagalab.cli import parser
from scenarios.fault_kinds import KINDS, markdown_table
from scenarios.fault_specs import read_all
from shared.config import UNSAFE_SWITCHES

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "faults.md"


def test_the_doc_shows_the_table_of_every_kind() -> None:
    """Regenerate with ``sagalab faults --markdown`` when a kind changes."""
    assert markdown_table() in DOC.read_text(), "docs/faults.md is behind KINDS: paste `sagalab faults --markdown`"
    assert "docs/faults.md" in (ROOT / "README.md").read_text()


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_kind_has_an_example_that_parses_and_uses_it(kind: str) -> None:
    example = KINDS[kind].example
    words = shlex.split(example)
    assert words[0] == "sagalab", example
    args = parser().parse_args(words[1:])
    specs = read_all(args.fault)
    assert any(s.kind == kind for s in specs), f"{kind}'s example does not use it: {example}"
    assert KINDS[kind].unsafe in ("", *UNSAFE_SWITCHES)
