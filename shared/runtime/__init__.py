"""The service host both modes run their services in: inbox, handler, outbox, ack, in that order."""
