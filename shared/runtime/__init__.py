"""The service host both modes run their services in: decode, barrier, inbox, handler, outbox in one local
transaction, then ack (``host.py``); what a mode declares to it (``routes.py``: routes, steps, ack policies) and the
``ModeWiring`` protocol each mode implements (``wiring.py``); the committer seam and group commit, the outbox relay,
the domain handlers each service runs, fault hooks and the publisher check. It may import ``shared.domain``,
``shared.transport``, ``shared.stores`` and ``shared.config``."""
