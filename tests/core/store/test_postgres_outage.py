"""PostgreSQL lost mid-run: every connection golive holds is cut (a failover, a restart, an admin
killing backends). Requests meanwhile get a 503 with a JSON error and Retry-After, never a 500;
the pool opens new connections, and the next requests work without golive being restarted.
Runs on a PostgreSQL of its own database whichever pass this is (tests/postgres.py)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator

import asyncpg
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient

from core.config import Settings
from core.kernel.errors import StorageUnavailable
from core.services import Services
from core.store import Database
from tests import postgres
from tests.conftest import ALICE, BOB, SignIn
from tests.core.money.test_ledger import fund, page

Client = TestClient[object, object]


@pytest_asyncio.fixture
async def settings(settings: Settings) -> AsyncIterator[Settings]:
    """This test's golive on a PostgreSQL database of its own, on either pass."""
    url = await postgres.fresh_database()
    try:
        database = dataclasses.replace(settings.database, url=url)
        yield dataclasses.replace(settings, database=database)
    finally:
        await postgres.drop_database(url)


async def cut_every_connection(url: str) -> int:
    admin = await asyncpg.connect(postgres.server_url())
    try:
        rows = await admin.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()",
            url.rpartition("/")[2],
        )
    finally:
        await admin.close()
    return len(rows)


@pytest.mark.parametrize("path", ["/api/live/alice/tip", "/api/live/alice/chat"])
async def test_connections_cut_mid_run_are_a_503_then_work_again(
    services: Services, client: Client, settings: Settings, sign_in: SignIn, path: str
) -> None:
    await page(services, ALICE)
    await services.streams.go_live(ALICE.user_id)
    await fund(services, BOB, 100)
    await sign_in(client, BOB)
    assert settings.database.url is not None
    assert await cut_every_connection(settings.database.url) >= 1

    statuses = []
    for n in range(4):
        body = {"amount": 10, "message": "gg", "requestId": f"req-cut-{n:04d}", "text": "hi"}
        response = await client.post(path, json=body)
        statuses.append(response.status)
        answer = await response.json()
        if response.status == 503:
            assert "error" in answer and response.headers["Retry-After"].isdigit()
        else:
            assert response.status == 201, answer
    assert statuses[-1] == 201 and 500 not in statuses, statuses
    # A read that meets a cut connection is a 503 too, then the pool has new ones.
    await cut_every_connection(settings.database.url)
    reads = [(await client.get("/api/live/alice")).status for _ in range(3)]
    assert set(reads) <= {200, 503} and reads[-1] == 200, reads


async def test_events_wake_other_processes_again_once_the_listener_is_back(
    settings: Settings,
) -> None:
    url = settings.database.url
    assert url is not None
    async with Database.open(url) as first, Database.open(url) as second:
        signal = first.signal("outbox")
        await asyncio.sleep(0.2)  # its LISTEN is sent
        signal.clear()
        await cut_every_connection(url)
        async with asyncio.timeout(10):  # back (backoff from 0.5 s), it wakes every consumer,
            await signal.wait()  # since a notification may have been missed meanwhile
        signal.clear()
        for _ in range(3):  # the other process's first write may meet a cut connection
            with contextlib.suppress(StorageUnavailable):
                async with second.transaction() as tx:
                    tx.notify("outbox")
                break
        async with asyncio.timeout(5):
            await signal.wait()
