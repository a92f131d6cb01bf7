"""The transport: the broker adapter (robust connection, topology, confirmed publishes, consumers
with manual acks, the dead-letter queue, the tap) and the wire format of a message (``wire.py``: bytes, headers,
routing, bounds). ``wire.py`` lives here rather than in ``domain/`` because it is about what crosses the broker
(body bytes, AMQP headers, exchange kinds, dead-letter reasons), which the domain never needs; it knows no aio-pika
itself. This is the only package that imports aio-pika, aiormq or pamqp; of the project it imports only
``shared.domain``."""
