"""Fixtures of the integration tests beyond the broker's (tests/conftest.py): the PostgreSQL server of the store tests."""

from tests.integration.postgres_server import pg_namespace, postgres_url  # noqa: F401 (fixtures, by name)
