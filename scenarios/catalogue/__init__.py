"""The built-in scenario catalogue: one TOML file per scenario in this folder, in the same format as a user's own
(``scenarios/files``) and loaded the same way. May import ``scenarios`` (the file loader) only.

The story's scenarios come first, in the order the story is told, then the fault lab's, by name. The files are
read the first time the catalogue is used, not when it is imported."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from functools import cached_property
from pathlib import Path

from scenarios.files.load import load
from scenarios.scenario import Scenario

FOLDER = Path(__file__).resolve().parent
STORY = ("happy-path", "out-of-stock", "payment-declined", "shipping-failure", "mixed")
"""The core story, in the order it is told; every other file is the fault lab."""


class Catalogue(Mapping[str, Scenario]):
    """Every built-in scenario by name, loaded from the files of a folder on first use."""

    def __init__(self, folder: Path = FOLDER) -> None:
        self.folder = folder

    @cached_property
    def _scenarios(self) -> dict[str, Scenario]:
        files = sorted(self.folder.glob("*.toml"), key=lambda p: (p.stem not in STORY, STORY.index(p.stem)
                                                                  if p.stem in STORY else 0, p.stem))  # fmt: skip
        # The catalogue's golden transcripts live together in scenarios/golden/, not beside each file.
        return {s.name: replace(s, golden_file=None) for s in map(load, files)}

    def __getitem__(self, name: str) -> Scenario:
        return self._scenarios[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._scenarios)

    def __len__(self) -> int:
        return len(self._scenarios)

    def story(self) -> tuple[Scenario, ...]:
        return tuple(s for s in self.values() if s.name in STORY)

    def faults(self) -> tuple[Scenario, ...]:
        """The fault lab: every scenario that breaks something on purpose."""
        return tuple(s for s in self.values() if s.name not in STORY)

    def path(self, name: str) -> Path:
        return self.folder / f"{name}.toml"


SCENARIOS = Catalogue()
"""Every scenario by name: the core story first, then the fault lab."""
