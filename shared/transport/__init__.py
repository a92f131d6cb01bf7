"""The transport: the broker (``broker.py``: robust connection, topology, confirmed publishes, consumers with manual
acks) over one small ``Transport`` interface (``adapter.py``) with two implementations, ``plain.py`` (aio-pika's
own objects, the default) and ``fast.py`` (aiormq underneath with batched acks, opt-in with
``SAGALAB_TRANSPORT=fast``); the ack rule (``delivery.py``), the dead-letter queue, the tap, and the wire format
of a message (``wire.py``: bytes, headers, routing, bounds). ``wire.py`` lives here rather than in ``domain/``
because it is about what crosses the broker (body bytes, AMQP headers, exchange kinds, dead-letter reasons),
which the domain never needs; it knows no aio-pika itself. This is the only package that imports aio-pika,
aiormq or pamqp; of the project it imports only ``shared.domain``."""
