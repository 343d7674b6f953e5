"""Another process holding the store's write lock: a real child, as a backup or a second golive
is — SQLite's file lock, or PostgreSQL's write advisory lock (core/store/postgres.py)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from core.store import WRITE_LOCK_KEY, is_postgres_url

# Holds the write lock of the database named in argv[1] until a line arrives on stdin.
_HOLDER = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
connection.execute("ROLLBACK")
"""
# The same for PostgreSQL: argv[1] is the URL, argv[2] the write lock's key.
_PG_HOLDER = """
import asyncio, sys, asyncpg
async def hold():
    connection = await asyncpg.connect(sys.argv[1])
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", int(sys.argv[2]))
        print("locked", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
asyncio.run(hold())
"""


class LockHolder:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process

    async def release(self) -> None:
        assert self._process.stdin is not None
        self._process.stdin.write(b"release\n")
        await self._process.wait()


@asynccontextmanager
async def write_lock_held(target: Path | str) -> AsyncIterator[LockHolder]:
    """The write lock of the store at ``target`` (a SQLite path or a PostgreSQL URL) is held by
    a child process until ``release()`` (or the end)."""
    if is_postgres_url(target):
        args = [_PG_HOLDER, str(target), str(WRITE_LOCK_KEY)]
    else:
        args = [_HOLDER, str(target)]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        assert await process.stdout.readline() == b"locked\n"
        yield LockHolder(process)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
