"""The PostgreSQL migrations (core/store/migrations/postgres/) against SQLite's: the same numbered
files, the same tables, columns, indexes, foreign keys and triggers, and the invariants the
triggers and constraints keep (ledger balances, append-only entries, one open session per stream,
discovery's counts and nearest-first index).

asyncpg directly (not core/store/postgres.py), on an empty throwaway database of the tests'
PostgreSQL (tests/postgres.py), dropped afterwards.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

import asyncpg
import pytest

from core.discovery.places import haversine_km
from core.store import Database
from tests import postgres

MIGRATIONS = resources.files("core.store.migrations")
MIGRATION_NAME = re.compile(r"^\d{4}_[a-z0-9_]+\.sql$")
# SQLite's R*Tree tables (0002) and their shadow tables: on PostgreSQL those are GiST indexes.
RTREE_TABLES = {"stream_places", "live_stream_places"}
# Made by the driver that applies the migrations, not by a migration.
DRIVER_TABLES = {"schema_migrations"}
NOW = "2026-01-01T00:00:00+00:00"


@pytest.fixture(autouse=True, scope="module")
def _postgres_server() -> None:
    """Find (or start) the tests' PostgreSQL before any event loop runs: the probe runs its own."""
    postgres.server_url()


def _names(folder: Any) -> set[str]:
    return {entry.name for entry in folder.iterdir() if MIGRATION_NAME.match(entry.name)}


def postgres_migrations() -> list[tuple[str, str]]:
    folder = MIGRATIONS / "postgres"
    return [(name, (folder / name).read_text(encoding="utf-8")) for name in sorted(_names(folder))]


@asynccontextmanager
async def migrated_postgres() -> AsyncIterator[asyncpg.Connection]:
    """A connection to a new database with every PostgreSQL migration applied, each file in one
    transaction as a driver would; the database is dropped on the way out."""
    url = await postgres.empty_database()
    try:
        connection = await asyncpg.connect(url)
        try:
            for _, sql in postgres_migrations():
                async with connection.transaction():
                    await connection.execute(sql)  # plpgsql bodies: one script, not split
            yield connection
        finally:
            await connection.close()
    finally:
        await postgres.drop_database(url)


def test_every_migration_has_a_postgresql_twin() -> None:
    sqlite, postgres = _names(MIGRATIONS), _names(MIGRATIONS / "postgres")
    assert sqlite, "no SQLite migrations found"
    assert sorted(sqlite - postgres) == [], "SQLite migrations without a PostgreSQL one"
    assert sorted(postgres - sqlite) == [], "PostgreSQL migrations without a SQLite one"


# -- the schema, compared ----------------------------------------------------------------------


async def _sqlite_schema() -> dict[str, Any]:
    async with Database.open(":memory:") as db:
        rows = await db.fetch_all("SELECT type, name, tbl_name, sql FROM sqlite_master")
        tables = {
            row["name"]: row["sql"]
            for row in rows
            if row["type"] == "table"
            and not row["name"].startswith("sqlite_")
            and row["name"] not in DRIVER_TABLES
            and not any(row["name"].startswith(rtree) for rtree in RTREE_TABLES)
        }
        columns, foreign_keys = {}, set()
        for table in tables:
            columns[table] = [
                tuple(row) for row in await db.fetch_all(f"PRAGMA table_info({table})")
            ]
            for row in await db.fetch_all(f"PRAGMA foreign_key_list({table})"):
                foreign_keys.add((table, row["from"], row["table"], row["to"], row["on_delete"]))
        indexes = {
            row["name"]: "UNIQUE" in row["sql"].upper().split("INDEX")[0]
            for row in rows
            if row["type"] == "index" and row["sql"] is not None
        }
        triggers = {row["name"] for row in rows if row["type"] == "trigger"}
    return {
        "tables": tables,
        "columns": columns,
        "foreign_keys": foreign_keys,
        "indexes": indexes,
        "triggers": triggers,
    }


_ON_DELETE = {"a": "NO ACTION", "c": "CASCADE", "n": "SET NULL", "r": "RESTRICT"}


async def _postgres_schema(pg: asyncpg.Connection) -> dict[str, Any]:
    columns: dict[str, list[asyncpg.Record]] = {}
    for row in await pg.fetch(
        "SELECT table_name, column_name, data_type, udt_name, is_nullable, column_default,"
        " is_identity, collation_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
    ):
        columns.setdefault(row["table_name"], []).append(row)
    foreign_keys = {
        (row[0], row[1], row[2], row[3], _ON_DELETE[row[4]])
        for row in await pg.fetch(
            "SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text,"
            " af.attname, c.confdeltype::text FROM pg_constraint c"
            " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]"
            " JOIN pg_attribute af ON af.attrelid = c.confrelid AND af.attnum = c.confkey[1]"
            " WHERE c.contype = 'f' AND cardinality(c.conkey) = 1"
        )
    }
    indexes = {
        row["name"]: row["indisunique"]
        for row in await pg.fetch(
            "SELECT i.relname AS name, x.indisunique FROM pg_index x"
            " JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace n ON n.oid = i.relnamespace"
            " WHERE n.nspname = current_schema()"
        )
    }
    triggers = {
        row["tgname"]
        for row in await pg.fetch("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
    }
    return {
        "columns": columns,
        "foreign_keys": foreign_keys,
        "indexes": indexes,
        "triggers": triggers,
    }


def _is_flag(create_sql: str, column: str) -> bool:
    """A 0/1 column: INTEGER with CHECK (column IN (0, 1)) in SQLite's CREATE TABLE."""
    return re.search(rf"CHECK \({column} IN \(0, 1\)", create_sql) is not None


def _expected_type(sqlite_type: str, flag: bool, nocase: bool) -> str:
    if sqlite_type == "INTEGER":
        return "int4" if flag else "int8"
    if sqlite_type == "REAL":
        return "float8"
    assert sqlite_type == "TEXT", sqlite_type
    return "citext" if nocase else "text"


def _default(value: str | None) -> str | None:
    """A PostgreSQL default as SQLite writes it: '' rather than ''::text."""
    return None if value is None else re.sub(r"::(text|citext)$", "", value)


async def test_tables_columns_indexes_and_triggers_match_sqlite() -> None:
    sqlite = await _sqlite_schema()
    async with migrated_postgres() as pg:
        postgres = await _postgres_schema(pg)
    assert sorted(postgres["columns"]) == sorted(sqlite["tables"])
    for table, create_sql in sqlite["tables"].items():
        wanted = []
        for _, name, sqlite_type, notnull, default, pk in sqlite["columns"][table]:
            nocase = re.search(rf"\b{name}\b[^,]*COLLATE NOCASE", create_sql) is not None
            integer_id = pk == 1 and sqlite_type == "INTEGER" and name == "id"
            wanted.append(
                (
                    name,
                    _expected_type(sqlite_type, _is_flag(create_sql, name), nocase),
                    # SQLite lets a non-integer PRIMARY KEY hold NULL (a legacy quirk).
                    "NO" if notnull or pk else "YES",
                    default,
                    "YES" if integer_id else "NO",
                    "C" if sqlite_type == "TEXT" else None,  # byte-wise, as SQLite compares
                )
            )
        got = [
            (
                row["column_name"],
                row["udt_name"],
                row["is_nullable"],
                _default(row["column_default"]),
                row["is_identity"],
                row["collation_name"],
            )
            for row in postgres["columns"][table]
        ]
        assert got == wanted, table
    assert postgres["foreign_keys"] == sqlite["foreign_keys"]
    for name, unique in sqlite["indexes"].items():
        assert postgres["indexes"].get(name) == unique, name
    # The R*Tree tables are partial GiST indexes of the same names.
    assert set(postgres["indexes"]) >= RTREE_TABLES
    # PostgreSQL has more (TRUNCATE is refused on the ledger; SQLite has no TRUNCATE).
    assert sqlite["triggers"] <= postgres["triggers"]


# -- invariants ----------------------------------------------------------------------------------


async def _insert_stream(
    pg: asyncpg.Connection,
    slug: str,
    place: tuple[float, float] | None = None,
    *,
    on_air: bool = True,
) -> int:
    latitude, longitude = place or (None, None)
    stream_id: int = await pg.fetchval(
        "INSERT INTO streams (owner_id, slug, owner_name, title, latitude, longitude, active,"
        " on_air, room_name, live_since, created_at, updated_at)"
        " VALUES ((SELECT count(*) + 1 FROM streams), $1, $2, 'A title', $3, $4, $5, $5, $6, $7,"
        " $8, $8) RETURNING id",
        slug,
        slug,  # one parameter can't be both citext (slug) and text (owner_name)
        latitude,
        longitude,
        int(on_air),
        f"live-{slug}" if on_air else None,
        NOW if on_air else None,
        NOW,
    )
    return stream_id


async def _move(pg: asyncpg.Connection, transaction: str, legs: dict[int, int]) -> None:
    async with pg.transaction():
        transaction_id = await pg.fetchval(
            "INSERT INTO ledger_transactions (kind, idempotency_key, fingerprint, created_at)"
            " VALUES ('tip', $1, 'f', $2) RETURNING id",
            transaction,
            NOW,
        )
        for account_id, amount in legs.items():
            await pg.execute(
                "INSERT INTO ledger_entries (transaction_id, account_id, amount) VALUES ($1, $2, $3)",
                transaction_id,
                account_id,
                amount,
            )


async def _balances(pg: asyncpg.Connection, *accounts: int) -> list[int]:
    return [
        await pg.fetchval("SELECT balance FROM ledger_accounts WHERE id = $1", account)
        for account in accounts
    ]


async def test_the_ledger_keeps_balances_and_refuses_to_change_history() -> None:
    async with migrated_postgres() as pg:
        topups = await pg.fetchval("SELECT id FROM ledger_accounts WHERE platform = 'topups'")
        alice, bob = [
            await pg.fetchval(
                "INSERT INTO ledger_accounts (member_id, created_at) VALUES ($1, $2) RETURNING id",
                member,
                NOW,
            )
            for member in (1001, 1002)
        ]
        await _move(pg, "topup-1", {topups: -100, alice: 100})
        await _move(pg, "tip-1", {alice: -30, bob: 30})
        assert await _balances(pg, topups, alice, bob) == [-100, 70, 30]

        # A member can't go below zero: the balance trigger's UPDATE fails the CHECK, so the
        # INSERT fails and the whole transaction with it.
        with pytest.raises(asyncpg.CheckViolationError, match="member_not_negative"):
            await _move(pg, "tip-2", {bob: 40, alice: -71})
        assert await _balances(pg, topups, alice, bob) == [-100, 70, 30]
        assert await pg.fetchval("SELECT count(*) FROM ledger_transactions") == 2

        for statement, message in (
            ("UPDATE ledger_entries SET amount = amount * 2", "ledger entries"),
            ("DELETE FROM ledger_entries", "ledger entries"),
            ("TRUNCATE ledger_entries CASCADE", "ledger entries"),
            ("UPDATE ledger_transactions SET memo = 'oops'", "ledger transactions"),
            ("DELETE FROM ledger_transactions", "ledger transactions"),
        ):
            # A constraint error, as SQLite's RAISE(ABORT) is, with SQLite's message.
            with pytest.raises(
                asyncpg.RestrictViolationError, match=f"^{message} are append-only$"
            ):
                await pg.execute(statement)
        assert await pg.fetchval("SELECT count(*) FROM ledger_entries") == 4
        assert await pg.fetchval(
            "SELECT bool_and(a.balance = (SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e"
            " WHERE e.account_id = a.id)) FROM ledger_accounts a"
        )


async def test_one_open_session_per_stream() -> None:
    async with migrated_postgres() as pg:
        stream = await _insert_stream(pg, "alice")
        open_session = (
            "INSERT INTO stream_sessions (stream_id, room_name, started_at) VALUES ($1, $2, $3)"
        )
        await pg.execute(open_session, stream, "live-alice-1", NOW)
        with pytest.raises(asyncpg.UniqueViolationError, match="stream_sessions_one_open"):
            await pg.execute(open_session, stream, "live-alice-2", NOW)
        await pg.execute("UPDATE stream_sessions SET ended_at = $1", NOW)
        await pg.execute(open_session, stream, "live-alice-2", NOW)


async def test_slugs_ignore_case_and_display_names_fold_ascii_only_as_on_sqlite() -> None:
    async with migrated_postgres() as pg:
        await _insert_stream(pg, "alice")
        with pytest.raises(asyncpg.UniqueViolationError):
            await _insert_stream(pg, "aLICE")
        assert await pg.fetchval("SELECT id FROM streams WHERE slug = 'ALICE'") == 1
        # citext folds with the database's own LC_CTYPE (not only ASCII as NOCASE does); the
        # slugs golive makes are ASCII (core.streams.slug_for), where the two agree. lower()
        # of a display name folds ASCII only, as SQLite's does, whatever the locale.
        await pg.execute("UPDATE streams SET owner_name = 'ÉMILE Zola'")
        assert await pg.fetchval("SELECT lower(owner_name) FROM streams") == "Émile zola"


async def test_discovery_counts_follow_every_write() -> None:
    async with migrated_postgres() as pg:

        async def counts() -> dict[str, int]:
            return dict(await pg.fetch("SELECT name, value FROM discovery_counts"))

        async def recount() -> dict[str, int]:
            return dict(
                await pg.fetch(
                    "SELECT 'all', count(*) FROM streams UNION ALL"
                    " SELECT 'live', count(*) FROM streams WHERE on_air = 1 UNION ALL"
                    " SELECT 'placed', count(*) FROM streams WHERE latitude IS NOT NULL UNION ALL"
                    " SELECT 'placed_live', count(*) FROM streams"
                    " WHERE latitude IS NOT NULL AND on_air = 1"
                )
            )

        lisbon = await _insert_stream(pg, "lisbon", (38.72, -9.14), on_air=False)
        await _insert_stream(pg, "unplaced")
        assert (
            await counts()
            == await recount()
            == {
                "all": 2,
                "live": 1,
                "placed": 1,
                "placed_live": 0,
            }
        )
        for change in (
            "UPDATE streams SET active = 1, room_name = 'r', live_since = 'now' WHERE id = $1",
            "UPDATE streams SET on_air = 1 WHERE id = $1",
            "UPDATE streams SET latitude = 35.68, longitude = 139.69 WHERE id = $1",
            "UPDATE streams SET latitude = NULL, longitude = NULL WHERE id = $1",
            "UPDATE streams SET latitude = 1, longitude = 2, on_air = 0 WHERE id = $1",
            "DELETE FROM streams WHERE id = $1",
        ):
            await pg.execute(change, lisbon)
            assert await counts() == await recount(), change


async def test_places_are_read_nearest_first_from_the_index() -> None:
    cities = {
        "lisbon": (38.72, -9.14),
        "porto": (41.15, -8.61),
        "madrid": (40.42, -3.70),
        "paris": (48.86, 2.35),
        "tokyo": (35.68, 139.69),
        "auckland": (-36.85, 174.76),
        "honolulu": (21.31, -157.86),
    }
    async with migrated_postgres() as pg:
        for slug, place in cities.items():
            await _insert_stream(pg, slug, place)
        await _insert_stream(pg, "offline-faro", (37.02, -7.93), on_air=False)
        knn = (
            "SELECT slug FROM streams WHERE latitude IS NOT NULL AND on_air = 1"
            " ORDER BY unit_sphere_point(latitude, longitude) <-> unit_sphere_point($1, $2)"
        )
        for origin in ((38.7, -9.1), (-33.87, 151.21), (64.15, -21.94), (0.0, 180.0)):
            by_haversine = sorted(cities, key=lambda slug: haversine_km(*origin, *cities[slug]))
            assert [row["slug"] for row in await pg.fetch(knn, *origin)] == by_haversine
        # Read from the partial GiST index, not by sorting every placed stream.
        await pg.execute("SET enable_seqscan = off")  # 8 rows: the planner would rather scan
        plan = "\n".join(row[0] for row in await pg.fetch(f"EXPLAIN {knn} LIMIT 3", 38.7, -9.1))
        assert "Index Scan using live_stream_places" in plan
        assert "Order By" in plan
