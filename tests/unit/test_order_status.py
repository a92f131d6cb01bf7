"""How a finished execution reads as an order: which endings are compensated and which need a human."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from orchestration.asl import Execution
from orchestration.orchestrator import order_detail, order_status

AT = datetime(2024, 1, 1, tzinfo=UTC)


def _ended(status: str, error: str | None = None, cause: str | None = None) -> Execution:
    return Execution(execution_id="o", status=status, state_name=None, started_at=AT, error=error, cause=cause)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("execution", "status", "detail"),
    [(_ended("SUCCEEDED"), "completed", ""),
     (_ended("FAILED", "OrderCancelled", "OutOfStock"), "compensated", "OrderCancelled"),
     (_ended("FAILED", "CompensationFailed", "ReleaseStock failed: HandlerBug: boom"), "needs-attention",
      "ReleaseStock failed: HandlerBug: boom"),
     (_ended("FAILED", "States.Runtime", "The JSONPath '$.x' ..."), "needs-attention",
      "States.Runtime: The JSONPath '$.x' ..."),
     (_ended("FAILED", "Sagalab.DefinitionUnusable", "pinned definition ... is missing"), "needs-attention",
      "Sagalab.DefinitionUnusable: pinned definition ... is missing"),
     (_ended("TIMED_OUT", "States.Timeout", "late"), "needs-attention", "States.Timeout: late"),
     (_ended("RUNNING"), None, "")],
)  # fmt: skip
def test_each_ending_has_an_order_status_and_an_honest_detail(execution: Execution, status: str | None,
                                                              detail: str) -> None:
    """A States.Runtime failure (steps may have succeeded, nothing was compensated), a failed compensation and
    an unusable definition park the order with the reason; only the definition's own ends count as compensated."""
    assert order_status(execution) == status
    assert order_detail(execution) == detail
