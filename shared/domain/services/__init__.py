"""The business logic of Payment, Inventory and Shipping, written once and used by both modes. Nothing here
knows about the broker or about either mode: each function takes a command and a repository (a Protocol) and
returns the outcome event; business failures are returned, never raised. It imports only ``shared.domain``."""
