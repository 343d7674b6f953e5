"""The SQLite store: migrations applied once, WAL + foreign keys, transactions all-or-nothing."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

import core.store.db
from core.store import Database, IntegrityError, Transaction

NOW = "2026-01-01T12:00:00+00:00"


def shipped_versions() -> list[int]:
    return [version for version, _ in core.store.db._migrations()]


async def versions_applied(db: Database) -> list[int]:
    rows = await db.fetch_all("SELECT version FROM schema_migrations ORDER BY version")
    return [row["version"] for row in rows]


async def guild_ids(db: Database) -> list[int]:
    rows = await db.fetch_all("SELECT guild_id FROM guild_settings ORDER BY guild_id")
    return [row["guild_id"] for row in rows]


async def add_guild(tx: Transaction, guild_id: int) -> None:
    await tx.execute(
        "INSERT INTO guild_settings (guild_id, updated_at) VALUES (?, ?)", (guild_id, NOW)
    )


# -- migrations --------------------------------------------------------------------------------


async def test_opening_creates_folders_and_applies_every_migration_once(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "golive.db"
    async with Database.open(path) as db:
        assert path.exists()
        assert shipped_versions() and shipped_versions()[0] == 1
        assert await versions_applied(db) == shipped_versions()
        tables = {row["name"] for row in await db.fetch_all("SELECT name FROM sqlite_master")}
        assert {"streams", "stream_sessions", "login_links", "web_sessions"} <= tables


async def test_reopening_runs_no_migration_again_and_keeps_the_data(tmp_path: Path) -> None:
    path = tmp_path / "golive.db"
    async with Database.open(path) as db:
        async with db.transaction() as tx:
            await add_guild(tx, 42)
        first = [tuple(row) for row in await db.fetch_all("SELECT * FROM schema_migrations")]

    async with Database.open(path) as db:  # a restart
        assert await db.migrate() == []
        assert [
            tuple(row) for row in await db.fetch_all("SELECT * FROM schema_migrations")
        ] == first
        assert await guild_ids(db) == [42]
        duplicates = await db.fetch_all(
            "SELECT version FROM schema_migrations GROUP BY version HAVING count(*) > 1"
        )
        assert duplicates == []


async def test_an_upgrade_applies_only_the_new_migration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "golive.db"
    async with Database.open(path):
        pass
    shipped = core.store.db._migrations()
    before = shipped_versions()
    newer = (9001, "CREATE TABLE upgrade_marker (id INTEGER PRIMARY KEY);\n")
    monkeypatch.setattr(core.store.db, "_migrations", lambda: [*shipped, newer])

    async with Database.open(path) as db:
        assert await versions_applied(db) == [*before, 9001]
        assert await db.fetch_one("SELECT count(*) FROM upgrade_marker") is not None
        assert await db.migrate() == []


async def test_a_failing_migration_leaves_nothing_half_applied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "golive.db"
    async with Database.open(path):
        pass
    shipped = core.store.db._migrations()
    broken = (
        9002,
        "CREATE TABLE half_done (id INTEGER PRIMARY KEY);\n"
        "INSERT INTO guild_settings (guild_id, updated_at) VALUES (7, 'x');\n"
        "INSERT INTO no_such_table VALUES (1);\n",
    )
    monkeypatch.setattr(core.store.db, "_migrations", lambda: [*shipped, broken])
    with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
        async with Database.open(path):
            pass

    monkeypatch.undo()
    async with Database.open(path) as db:
        assert await versions_applied(db) == shipped_versions()
        assert await db.fetch_one("SELECT 1 FROM sqlite_master WHERE name = 'half_done'") is None
        assert await guild_ids(db) == []


def test_migration_files_split_into_whole_statements() -> None:
    sql = (
        "-- a comment; with a semicolon\n"
        "CREATE TABLE a (x TEXT DEFAULT 'p;q');\n"
        "CREATE TRIGGER t AFTER INSERT ON a BEGIN\n"
        "  UPDATE a SET x = 'y'; DELETE FROM a WHERE 0;\n"
        "END;\n"
        "-- trailing comment\n"
    )
    statements = core.store.db._split_statements(sql)
    assert len(statements) == 2
    assert statements[1].startswith("CREATE TRIGGER") and statements[1].endswith("END;")
    with pytest.raises(ValueError, match="unterminated"):
        core.store.db._split_statements("CREATE TABLE b (x INTEGER)")


# -- connection settings -----------------------------------------------------------------------


async def test_the_database_uses_wal_and_enforces_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "golive.db"
    async with Database.open(path) as db:
        journal = await db.fetch_one("PRAGMA journal_mode")
        foreign_keys = await db.fetch_one("PRAGMA foreign_keys")
        assert journal is not None and journal[0] == "wal"
        assert foreign_keys is not None and foreign_keys[0] == 1
        assert path.with_name("golive.db-wal").exists()

        with pytest.raises(IntegrityError, match=r"(?i)foreign key"):
            async with db.transaction() as tx:
                await tx.execute(
                    "INSERT INTO stream_sessions (stream_id, room_name, started_at)"
                    " VALUES (999, 'live-ghost-1', ?)",
                    (NOW,),
                )
        assert await db.fetch_one("SELECT 1 FROM stream_sessions") is None

    # WAL is a property of the file: another process opening it sees it too.
    with sqlite3.connect(path) as plain:
        assert plain.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


# -- transactions ------------------------------------------------------------------------------


class Boom(Exception):
    pass


async def test_a_transaction_that_raises_rolls_back_everything_it_wrote(tmp_path: Path) -> None:
    async with Database.open(tmp_path / "golive.db") as db:
        async with db.transaction() as tx:
            await add_guild(tx, 1)

        async def write_then_fail() -> None:
            async with db.transaction() as tx:
                await add_guild(tx, 2)
                await tx.execute(
                    "UPDATE guild_settings SET announce_channel_id = 5 WHERE guild_id = 1"
                )
                await tx.execute("DELETE FROM guild_settings WHERE guild_id = 1")
                assert await tx.fetch_one("SELECT 1 FROM guild_settings WHERE guild_id = 2")
                raise Boom

        with pytest.raises(Boom):
            await write_then_fail()

        assert await guild_ids(db) == [1]
        row = await db.fetch_one(
            "SELECT announce_channel_id FROM guild_settings WHERE guild_id = 1"
        )
        assert row is not None and row[0] is None

        # The connection is usable afterwards: the next transaction commits normally.
        async with db.transaction() as tx:
            await add_guild(tx, 3)
        assert await guild_ids(db) == [1, 3]


async def test_a_failing_statement_rolls_back_the_earlier_ones(tmp_path: Path) -> None:
    async with Database.open(tmp_path / "golive.db") as db:

        async def insert_twice() -> None:
            async with db.transaction() as tx:
                await add_guild(tx, 1)
                await add_guild(tx, 1)  # duplicate key

        with pytest.raises(IntegrityError):
            await insert_twice()
        assert await guild_ids(db) == []


async def test_a_cancelled_transaction_rolls_back(tmp_path: Path) -> None:
    async with Database.open(tmp_path / "golive.db") as db:
        inside = asyncio.Event()
        never = asyncio.Event()

        async def write_then_wait() -> None:
            async with db.transaction() as tx:
                await add_guild(tx, 1)
                inside.set()
                await never.wait()

        task = asyncio.create_task(write_then_wait())
        await inside.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await guild_ids(db) == []
        async with db.transaction() as tx:
            await add_guild(tx, 2)
        assert await guild_ids(db) == [2]


async def test_concurrent_transactions_do_not_interleave(tmp_path: Path) -> None:
    """A failing transaction must not take a neighbour's writes down with it (or vice versa)."""
    async with Database.open(tmp_path / "golive.db") as db:
        a_inside = asyncio.Event()

        async def failing() -> None:
            async with db.transaction() as tx:
                await add_guild(tx, 1)
                a_inside.set()
                for _ in range(5):  # give the other coroutine every chance to run
                    await asyncio.sleep(0)
                await add_guild(tx, 2)
                raise Boom

        async def succeeding() -> None:
            await a_inside.wait()
            async with db.transaction() as tx:
                await add_guild(tx, 10)
                await add_guild(tx, 11)

        results = await asyncio.gather(failing(), succeeding(), return_exceptions=True)
        assert isinstance(results[0], Boom) and results[1] is None
        assert await guild_ids(db) == [10, 11]


async def test_two_connections_to_one_file_wait_for_each_other(tmp_path: Path) -> None:
    """`golive web` beside the bot: BEGIN IMMEDIATE + busy_timeout make writers queue, not fail."""
    path = tmp_path / "golive.db"
    async with Database.open(path) as bot_db, Database.open(path) as web_db:

        async def write(db: Database, base: int) -> None:
            for offset in range(20):
                async with db.transaction() as tx:
                    await add_guild(tx, base + offset)

        await asyncio.gather(write(bot_db, 0), write(web_db, 100))
        assert len(await guild_ids(bot_db)) == 40


def test_the_aiosqlite_hook_the_store_relies_on_is_there() -> None:
    """run_transaction needs aiosqlite's `_execute` and `_conn` (no public equivalent exists):
    an aiosqlite release without them must fail here, not in production."""
    import aiosqlite

    assert callable(aiosqlite.Connection._execute)
    assert isinstance(aiosqlite.Connection._conn, property)


# -- notifications -----------------------------------------------------------------------------


async def test_a_notify_wakes_the_channel_only_once_its_transaction_commits(tmp_path: Path) -> None:
    async with Database.open(tmp_path / "golive.db") as db:
        signal = db.signal("outbox")

        async def notify_then_fail() -> None:
            async with db.transaction() as tx:
                tx.notify("outbox")
                raise RuntimeError("rolled back")

        with pytest.raises(RuntimeError):
            await notify_then_fail()
        assert not signal.is_set()

        async with db.transaction() as tx:
            await add_guild(tx, 1)
            tx.notify("outbox")
        assert signal.is_set()
        assert not db.signal("other").is_set()

        signal.clear()
        await db.run_transaction(lambda sync: sync.notify("outbox"))
        assert signal.is_set()
