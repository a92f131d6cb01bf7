"""Exit statuses of the ``sagalab`` command, and the error that means "bad usage"."""

EXIT_OK, EXIT_UNMET, EXIT_USAGE, EXIT_NO_BROKER = 0, 1, 2, 3


class UsageError(Exception):
    """Bad options or input: exit status 2 with the message."""
