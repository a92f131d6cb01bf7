"""Scenarios: the catalogue, the runner, the consistency oracle, the comparison and the ``sagalab`` CLI."""
