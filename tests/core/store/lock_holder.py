"""Another process holding SQLite's write lock: a real child, as a backup or a second golive is."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

# Holds the write lock of the database named in argv[1] until a line arrives on stdin.
_HOLDER = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
connection.execute("ROLLBACK")
"""


class LockHolder:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process

    async def release(self) -> None:
        assert self._process.stdin is not None
        self._process.stdin.write(b"release\n")
        await self._process.wait()


@asynccontextmanager
async def write_lock_held(path: Path) -> AsyncIterator[LockHolder]:
    """The write lock of ``path`` is held by a child process until ``release()`` (or the end)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _HOLDER,
        str(path),
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
