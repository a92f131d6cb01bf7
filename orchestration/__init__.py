"""Orchestration mode: a States Language orchestrator (``asl/``, a pure interpreter stepped from
outside) commands the participants, awaits their replies, retries, catches failures and commands the
compensations, keeping each execution's history in its own store; plus the command adapters of the participants
and the runnable public samples. It may import ``shared`` only (never ``choreography``, ``scenarios`` or
``sagalab``)."""
