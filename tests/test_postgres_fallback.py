"""On a machine where no PostgreSQL answers, the tests start their own from Debian's binaries."""

from __future__ import annotations

import asyncpg

from tests import postgres


async def test_a_throwaway_cluster_starts_answers_and_is_stopped_at_exit() -> None:
    url = postgres._start_throwaway_cluster()  # what server_url() falls back to
    connection = await asyncpg.connect(url)
    try:
        assert await connection.fetchval("SELECT 1") == 1
    finally:
        await connection.close()
