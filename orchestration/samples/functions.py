"""Every sample function by the name the resource maps give it (``travel.reserveFlight``, ...), and the one
way to call one: pure functions of (event, invocation) that behave as their publishers' Lambdas.

Where each publisher's code lives, and what is mimicked, is in the docstring of its module:
``travel_saga_sam``, ``booking_saga_cdk``, ``order_saga_choice_wait``, ``long_lived_transaction``,
``inventory_reserve_stock_sam``.
"""

from __future__ import annotations

from typing import Any

from orchestration.samples import (
    booking_saga_cdk,
    inventory_reserve_stock_sam,
    long_lived_transaction,
    order_saga_choice_wait,
    travel_saga_sam,
)
from orchestration.samples._lambda import FunctionError, Handler, Invocation

__all__ = ["FUNCTIONS", "FunctionError", "Handler", "Invocation", "invoke"]

FUNCTIONS: dict[str, Handler] = {
    **travel_saga_sam.FUNCTIONS,
    **booking_saga_cdk.FUNCTIONS,
    **order_saga_choice_wait.FUNCTIONS,
    **long_lived_transaction.FUNCTIONS,
    **inventory_reserve_stock_sam.FUNCTIONS,
}


def invoke(function: str, event: Any, call: Invocation) -> Any:
    """Run one function; an unknown name fails as Lambda does when the function does not exist."""
    handler = FUNCTIONS.get(function)
    if handler is None:
        raise FunctionError("Lambda.ResourceNotFoundException", f"Function not found: {function}")
    return handler(event, call)
