"""scripts/saga_cost.py: the real service hosts without a broker must still run every saga to its end, or the
CPU it reports per saga would be the cost of something less than a saga."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
import structlog

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "saga_cost.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("saga_cost", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _logging_restored() -> Iterator[None]:
    """The script points structlog at /dev/null; the tests after this one keep what they had."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


@pytest.mark.parametrize(
    ("mode", "workflow", "coordinator"),
    [("choreography", "standard", "orders"), ("orchestration", "standard", "orchestrator"),
     ("orchestration", "express", "orchestrator")],
)  # fmt: skip
def test_every_order_ends_done_or_undone_and_every_service_is_charged(
    mode: str, workflow: str, coordinator: str
) -> None:
    cost = asyncio.run(_script().measure(20, mode, workflow, warm=10))
    assert sum(cost.outcomes.values()) == 30
    assert cost.outcomes["compensated"] == 3  # one in ten out of stock, as the bench's orders
    assert cost.outcomes["completed"] == 27
    assert set(cost.cpu_ms) == {coordinator, "payment", "inventory", "shipping"}
    assert all(ms > 0 for ms in cost.cpu_ms.values())
    assert cost.published["PlaceOrder"] == 30
    assert cost.published["PaymentRefunded"] == 3
