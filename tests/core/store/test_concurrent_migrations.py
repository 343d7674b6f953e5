"""Replicas started at once on a new database: each sees the migrations missing, one applies
each, and none fails on a table another has just created."""

from __future__ import annotations

import asyncio
from pathlib import Path

from core.store import Database


async def test_processes_opening_a_new_database_at_once_apply_each_migration_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "golive.db"
    all_open = asyncio.Event()
    applied: list[list[int]] = []

    async def open_like_a_replica() -> None:
        async with Database.open(path) as db:
            versions = await db.fetch_all("SELECT version FROM schema_migrations")
            applied.append([row[0] for row in versions])
            if len(applied) == 3:
                all_open.set()
            await all_open.wait()  # all three are open at the same time

    async with asyncio.timeout(30):
        await asyncio.gather(*(open_like_a_replica() for _ in range(3)))
    assert applied[0] == applied[1] == applied[2] == sorted(set(applied[0]))
