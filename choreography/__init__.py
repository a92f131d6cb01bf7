"""Choreography mode: services react to each other's events; nobody holds the saga's state."""
