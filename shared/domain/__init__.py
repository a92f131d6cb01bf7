"""The domain: the message contracts (``contracts.py``: frozen pydantic models, one routing key per class; the
ledger query's in ``ledger.py``; the ids and times it mints, ``ids.py``; how the messages read in a story, ``reading.py``) and the business logic of Payment, Inventory and Shipping, written once for both modes, returning outcomes as values. No I/O
and no broker: it imports nothing of the project but itself (the standard library and pydantic only)."""
