"""Each service's own SQLite database: the business tables, the inbox and the outbox, the orders
table and the refusals. It may import ``shared.domain`` and, for the outbox's stored messages, ``shared.transport.wire``."""
