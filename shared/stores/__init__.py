"""Each service's own database, the business tables, the inbox and the outbox, the orders table and the refusals:
a SQLite file by default, or a PostgreSQL schema when the data folder is pinned to one (``location.py``; the SQL
is written once, ``dialect.py`` respells it, ``postgres.py`` connects); and beside each schema its read side, the
typed read-only views the lab reads (``read.py`` fails loudly on a missing file, schema, table or column). It may
import ``shared.domain`` and, for the outbox's stored messages, ``shared.transport.wire``."""
