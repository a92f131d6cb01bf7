"""The public sample definitions, runnable: functions that behave as their publishers' Lambdas, the
``lambdas`` participant serving them over RabbitMQ, a resource map per sample and a copy of each definition. It may
import the rest of ``orchestration`` and ``shared``."""

from __future__ import annotations

from importlib import resources as _package_files
from pathlib import Path

SAMPLES = ("travel-saga-sam", "booking-saga-cdk", "order-saga-choice-wait", "long-lived-transaction",
           "inventory-reserve-stock-sam")  # fmt: skip
"""The four definitions of ``../shared/asl-samples`` and one with Parallel states (inventory-reserve-stock-sam,
not in that folder), by the stem of their file name."""


def definition_path(sample: str) -> Path:
    """The packaged copy of a sample's definition (identical to the published one; a unit test checks)."""
    return Path(str(_package_files.files(__name__) / "definitions" / f"{sample}.asl.json"))


def resources_path(sample: str) -> Path:
    """The resource map binding a sample's functions to the ``lambdas`` participant."""
    return Path(str(_package_files.files(__name__) / f"{sample}.resources.json"))
