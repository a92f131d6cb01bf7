"""A task's command id is the UUID5 of its token, the id participants' inboxes have always seen for it."""

from __future__ import annotations

import uuid

from orchestration.orchestrator import _TOKEN_NAMESPACE, command_id


def test_a_command_id_is_the_uuid5_of_its_token() -> None:
    """Spelled out for speed, the id is still exactly ``uuid5(namespace, token)``: a command retried by an
    orchestrator of this version, after one of an older version sent it, is recognised by the participant."""
    tokens = ["ord-1:ChargePayment:1", "", "ord-ü:Map/0/ReserveLine:12", "x" * 300, "漢字:Wait:3"]
    for token in tokens:
        assert command_id.__wrapped__(token) == str(uuid.uuid5(_TOKEN_NAMESPACE, token))
    assert str(uuid.UUID(command_id("ord-1:ChargePayment:1"))) == command_id("ord-1:ChargePayment:1")
