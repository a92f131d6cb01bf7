"""Each service's own SQLite database: business tables, the inbox and the outbox."""
