"""A real PostgreSQL for the tests, and a fresh database for each test that asks for one.

The server: GOLIVE_TEST_POSTGRES_URL if set, else the one this project's machines run at
127.0.0.1:5432 (user postgres, trust auth) if it answers, else a throwaway cluster started here
from Debian's `postgresql` binaries (scripts/bootstrap.sh installs them), stopped at exit. No
test is skipped for want of one.

`make test` runs the whole suite twice: on SQLite, then with GOLIVE_TEST_DATABASE=postgresql,
which points every test's settings (tests/conftest.py) at a database of its own, cloned in ~40 ms
from a template migrated once per run.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import os
import uuid

import asyncpg

from core.store import Database
from tests.throwaway_postgres import ThrowawayCluster

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
ON_POSTGRES = os.environ.get("GOLIVE_TEST_DATABASE", "sqlite") == "postgresql"

_server_url: str | None = None
_template: str | None = None
current_url: str | None = None
"""On the PostgreSQL pass, the running test's database (tests run one at a time), so that the
golive processes a test starts (tests/golive/process.py) share it with the test's own services."""


def server_url() -> str:
    """The URL of a maintenance database on a PostgreSQL server the tests may use."""
    global _server_url
    if _server_url is None:
        wanted = os.environ.get("GOLIVE_TEST_POSTGRES_URL", DEFAULT_URL)
        _server_url = wanted if _answers(wanted) else _start_throwaway_cluster()
    return _server_url


def database_url(name: str) -> str:
    base, _, _ = server_url().rpartition("/")
    return f"{base}/{name}"


async def fresh_database() -> str:
    """A new database with every migration applied (a clone of the run's template)."""
    name = f"golive_test_{uuid.uuid4().hex[:12]}"
    template = await _migrated_template()
    await _admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return database_url(name)


async def drop_database(url: str) -> None:
    name = url.rpartition("/")[2]
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def empty_database() -> str:
    """A new database with nothing in it (for tests of migrating itself)."""
    name = f"golive_test_{uuid.uuid4().hex[:12]}"
    await _admin(f'CREATE DATABASE "{name}"')
    return database_url(name)


async def _migrated_template() -> str:
    global _template
    if _template is None:
        name = f"golive_template_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        await _admin(f'CREATE DATABASE "{name}"')
        async with Database.open(database_url(name)):
            pass  # opening applies the migrations
        _template = name
        atexit.register(_drop_template, name)
    return _template


def _drop_template(name: str) -> None:
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(server_url())
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def _answers(url: str) -> bool:
    async def probe() -> bool:
        try:
            connection = await asyncpg.connect(url, timeout=3)
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return False
        await connection.close()
        return True

    # On a thread of its own: this may be asked from inside a test's running event loop.
    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, probe()).result()


def _start_throwaway_cluster() -> str:
    """A cluster of the tests' own (tests/throwaway_postgres.py), stopped at exit."""
    cluster = ThrowawayCluster()
    atexit.register(cluster.stop)
    return cluster.start()


async def table_names(db: Database) -> list[str]:
    """The tables of a store, whichever it is (for tests that count every row)."""
    if db.dialect == "postgresql":
        sql = "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'"
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    return sorted(row["name"] for row in await db.fetch_all(sql))
