"""Each service's own SQLite database: the business tables, the inbox and the outbox, the orders
table and the refusals; and beside each schema its read side, the typed read-only views the lab reads
(``read.py`` opens a file read-only and fails loudly on a missing file, table or column). It may import
``shared.domain`` and, for the outbox's stored messages, ``shared.transport.wire``."""
