"""Choreography mode: services react to each other's events and nobody holds the saga's state; the
reaction table says which event triggers which domain call and what it emits, the order service is a projection of
those events, the bootstrap wires each service into the shared host, and ``wiring.py`` declares the mode (its
``ModeWiring``). It may import ``shared`` only (never ``orchestration``, ``scenarios`` or ``sagalab``)."""
