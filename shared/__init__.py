"""What both modes use, in four rooms that import downwards only: ``domain/`` (messages and business
logic, no I/O), ``transport/`` (the broker adapter and the wire format: the only aio-pika code), ``stores/`` (each
service's SQLite tables, inbox and outbox) and ``runtime/`` (the service host that ties them together); beside them
``config`` (a service's settings) and ``logging``. Nothing in ``shared`` imports ``choreography``,
``orchestration``, ``scenarios`` or ``sagalab``."""
