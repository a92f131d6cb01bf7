"""The business logic of Payment, Inventory and Shipping, written once and used by both modes.

Nothing here knows about the broker or about either mode: each function takes a command and a
repository and returns the outcome event. Business failures are returned, never raised.
"""
