"""The service host both modes run their services in: decode, inbox, handler, outbox in one local
transaction, then ack; the outbox relay, group commit, the domain handlers each service runs, fault hooks and the
publisher check. It may import ``shared.domain``, ``shared.transport``, ``shared.stores`` and ``shared.config``."""
