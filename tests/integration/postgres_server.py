"""Where the PostgreSQL tests find their server, found the way tests/conftest.py finds the broker.

In this order: ``SAGALAB_TEST_POSTGRES`` if set (a URL); else the server at 127.0.0.1:5432 (user postgres, trust
auth) when it answers; else a PostgreSQL container started with testcontainers when a Docker API answers; else
every PostgreSQL test fails with a message saying how to get one. Never a silent skip. Each test's schemas
belong to a namespace of its own (``h-pg-...``), dropped afterwards with ``sagalab clean``'s own code.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator

import pytest

from shared.stores.postgres import PostgresUnavailable, connect, drop_namespace
from tests.conftest import _container_engine, settle_testcontainers_for

LOCAL_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
HOW_TO_GET_POSTGRES = (
    "No PostgreSQL for the store tests. Either set SAGALAB_TEST_POSTGRES=postgresql://user@host:5432/db, or start "
    "a local server that trusts user postgres on 127.0.0.1:5432 (`apt-get install postgresql && pg_ctlcluster 15 "
    "main start`, or `docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:15`), or run a "
    "Docker engine or podman's Docker API (the tests then start postgres:15 with testcontainers)."
)
CONTAINER_IMAGE = "postgres:15"


def _answers(url: str) -> bool:
    try:
        connect(url).close()
    except PostgresUnavailable:
        return False
    return True


def _find_postgres() -> Iterator[str]:
    if url := os.environ.get("SAGALAB_TEST_POSTGRES"):
        yield url
        return
    if _answers(LOCAL_URL):
        yield LOCAL_URL
        return
    if engine := _container_engine():
        settle_testcontainers_for(engine)
        try:
            from testcontainers.community.postgres import PostgresContainer
        except ImportError:
            from testcontainers.postgres import PostgresContainer
        with PostgresContainer(os.environ.get("POSTGRES_IMAGE") or CONTAINER_IMAGE, driver=None) as server:
            yield server.get_connection_url()
        return
    pytest.fail(HOW_TO_GET_POSTGRES, pytrace=False)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The PostgreSQL server of the store tests (see the module docstring for the search order)."""
    finder = _find_postgres()
    yield next(finder)
    next(finder, None)


@pytest.fixture
def pg_namespace(postgres_url: str, amqp_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A namespace of this test's own, for its queues and its schemas; both removed afterwards."""
    from sagalab.clean import clean

    ns = f"h-pg-{uuid.uuid4().hex[:10]}"
    yield ns
    asyncio.run(clean(amqp_url, ns, data_root=tmp_path_factory.getbasetemp()))
    drop_namespace(postgres_url, ns)
