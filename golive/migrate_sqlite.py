"""`golive migrate --from-sqlite PATH`: a community's SQLite file, copied into PostgreSQL whole.

The target is the PostgreSQL database named by ``database.url``; it is migrated first, and must
hold nothing but what the migrations themselves put there. Then, in ONE PostgreSQL transaction:

1. every table is copied, parents before children (the foreign keys decide the order), row for
   row with its ids (binary COPY);
2. the tables' own triggers are switched off for the copy (``ALTER TABLE … DISABLE TRIGGER USER``,
   switched on again before COMMIT), so the copy is verbatim: the ledger's balance trigger does not
   move the copied balances a second time, and the stream counts are the file's. This needs only
   the tables' owner (whoever ran the migrations), not a superuser as ``session_replication_role``
   would, and unlike that setting it leaves the foreign keys checked during the copy;
3. every identity is moved past the copied ids (``setval``), so new rows get new ids;
4. it is verified: row counts per table equal, each table's rows equal (an order-free digest of
   every row, read back), the sum of the balances equal, and every account's entries summing to
   its balance. Anything off rolls the whole copy back: the target is left as empty as it was.

The SQLite file is only read (one read transaction, so a consistent snapshot), never changed; it
must be at the same migration as this golive. Stop golive on the file first: what it writes after
the snapshot is not copied.
"""

from __future__ import annotations

import hashlib
import sqlite3
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

from core.config import Settings
from core.kernel.errors import StorageUnavailable
from core.store import WRITE_LOCK_KEY as WRITE_LOCK
from core.store import Database, DatabaseRefused

# Rows the migrations themselves insert (the platform accounts, the zeroed stream counts): a
# target holding only these is empty. They are replaced by the file's own.
MIGRATION_SEEDS = {
    "ledger_accounts": "platform IS NOT NULL AND balance = 0",
    "discovery_counts": "value = 0",
}
NOT_COPIED = "schema_migrations"  # each database records its own migrations
CHUNK_ROWS = 5_000
_DIGEST_MODULUS = 2**128


class MigrationRefused(Exception):
    """Nothing was copied, and trying again as it is won't help (exit 2): the message says why."""


class MigrationFailed(Exception):
    """Nothing was kept (the transaction rolled back): the copy could not be done or verified."""


@dataclass(frozen=True)
class TableCopy:
    name: str
    source_rows: int
    target_rows: int
    rows_equal: bool  # the digests of every row matched

    @property
    def ok(self) -> bool:
        return self.rows_equal and self.source_rows == self.target_rows


@dataclass(frozen=True)
class LedgerCheck:
    accounts: int
    entries: int
    source_balances: int
    target_balances: int
    source_entries: int
    target_entries: int
    accounts_off: list[int]  # accounts (on PostgreSQL) whose entries don't sum to their balance

    @property
    def ok(self) -> bool:
        return (
            self.source_balances == self.target_balances
            and self.source_entries == self.target_entries
            and not self.accounts_off
        )


@dataclass
class Copied:
    versions: list[int]
    tables: list[TableCopy] = field(default_factory=list)
    ledger: LedgerCheck | None = None
    next_ids: dict[str, int] = field(default_factory=dict)  # table → the id its next row gets
    skipped: list[str] = field(default_factory=list)  # the file's own index tables (R*Tree)


@dataclass(frozen=True)
class _Table:
    name: str
    columns: list[str]
    types: list[str]  # PostgreSQL type names (udt_name), in column order
    identity: str | None  # the column whose sequence must move past the copied ids


async def run(settings: Settings, path: Path) -> int:
    """The CLI: copy, print the summary; one line and exit 2 (refused) or 1 (failed) otherwise."""
    if settings.database.url is None:
        print(
            "golive: migrate --from-sqlite copies into PostgreSQL, and database.url "
            f"(GOLIVE_DATABASE_URL) names the SQLite file {settings.database.path}: set it to the "
            "postgresql://… URL of an empty database first",
            file=sys.stderr,
        )
        return 2
    try:
        copied = await migrate_from_sqlite(path, settings.database.url)
    except MigrationRefused as error:
        print(f"golive: migrate refused: {error}", file=sys.stderr)
        return 2
    except MigrationFailed as error:
        print(f"golive: migrate failed, nothing was kept: {error}", file=sys.stderr)
        return 1
    print(summary(copied, path, settings.database.shown))
    return 0


async def migrate_from_sqlite(source: Path, url: str) -> Copied:
    """Copy ``source`` into the PostgreSQL database at ``url`` (see the module's docstring)."""
    with _open_source(source) as sqlite:
        source_versions = _source_versions(sqlite, source)
        target_versions = await _migrate_target(url)
        if source_versions != target_versions:
            raise MigrationRefused(_version_mismatch(source, source_versions, target_versions))
        copied = Copied(versions=target_versions)
        try:
            connection = await asyncpg.connect(url)
        except (OSError, asyncpg.PostgresError, TimeoutError) as error:
            raise MigrationFailed(f"can't reach PostgreSQL ({error})") from error
        try:
            await _alias_extension_types(connection)
            async with connection.transaction():
                await connection.execute("SELECT pg_advisory_xact_lock($1)", WRITE_LOCK)
                await _copy_all(connection, sqlite, copied)
        except asyncpg.PostgresError as error:
            raise MigrationFailed(f"PostgreSQL refused the copy ({error})") from error
        finally:
            await connection.close()
    return copied


# -- the source ----------------------------------------------------------------------------------


@contextmanager
def _open_source(path: Path) -> Iterator[sqlite3.Connection]:
    """The file, read-only, inside one read transaction (a snapshot for the whole copy)."""
    if not path.is_file():
        raise MigrationRefused(f"{path} is not a file")
    try:
        connection = sqlite3.connect(
            f"file:{path.resolve()}?mode=ro", uri=True, isolation_level=None
        )
    except sqlite3.Error as error:
        raise MigrationRefused(f"{path} can't be opened ({error})") from error
    try:
        try:
            connection.execute("BEGIN")
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as error:
            raise MigrationRefused(f"{path} is not a SQLite database ({error})") from error
        yield connection
    finally:
        connection.close()


def _source_versions(sqlite: sqlite3.Connection, path: Path) -> list[int]:
    try:
        rows = sqlite.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
    except sqlite3.OperationalError as error:
        raise MigrationRefused(f"{path} is not a golive database (no schema_migrations)") from error
    return [int(row[0]) for row in rows]


def _source_tables(sqlite: sqlite3.Connection) -> tuple[set[str], set[str]]:
    """(the tables holding data, the tables of R*Tree indexes: PostgreSQL indexes the rows)."""
    tables: set[str] = set()
    indexes: set[str] = set()
    for name, sql in sqlite.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    ):
        if "USING RTREE" in (sql or "").upper():
            indexes |= {name, f"{name}_node", f"{name}_parent", f"{name}_rowid"}
        else:
            tables.add(name)
    return tables - indexes - {NOT_COPIED}, indexes


def _source_columns(sqlite: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in sqlite.execute(f'PRAGMA table_info("{table}")')}


def _version_mismatch(path: Path, source: list[int], target: list[int]) -> str:
    have = f"{max(source):04d}" if source else "none"
    want = f"{max(target):04d}" if target else "none"
    if set(source) < set(target):
        return (
            f"{path} is at migration {have} and this golive at {want}: bring the file up to date "
            f"first with `GOLIVE_DATABASE_URL={path} golive migrate`, then run this again"
        )
    return (
        f"{path} has migrations this golive doesn't know ({have} against {want}): "
        "migrate with the golive version that wrote it"
    )


# -- the target ----------------------------------------------------------------------------------


async def _migrate_target(url: str) -> list[int]:
    try:
        async with Database.open(url) as target:
            rows = await target.fetch_all("SELECT version FROM schema_migrations ORDER BY version")
    except DatabaseRefused as error:
        raise MigrationRefused(f"{error} (database.url / GOLIVE_DATABASE_URL)") from error
    except StorageUnavailable as error:
        raise MigrationFailed(str(error)) from error
    return [int(row[0]) for row in rows]


async def _alias_extension_types(connection: Any) -> None:
    """citext travels as text (it is, on the wire); binary COPY needs to be told so."""
    rows = await connection.fetch(
        "SELECT n.nspname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace"
        " WHERE t.typname = 'citext'"
    )
    for row in rows:
        await connection.set_builtin_type_codec("citext", schema=row[0], codec_name="text")


async def _target_tables(connection: Any) -> dict[str, _Table]:
    rows = await connection.fetch(
        "SELECT c.table_name, c.column_name, c.udt_name, c.is_identity, c.column_default"
        " FROM information_schema.columns c JOIN information_schema.tables t"
        "   ON t.table_schema = c.table_schema AND t.table_name = c.table_name"
        " WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'"
        " ORDER BY c.table_name, c.ordinal_position"
    )
    columns: dict[str, list[tuple[str, str]]] = {}
    identities: dict[str, str] = {}
    for row in rows:
        columns.setdefault(row["table_name"], []).append((row["column_name"], row["udt_name"]))
        if row["is_identity"] == "YES" or (row["column_default"] or "").startswith("nextval("):
            identities[row["table_name"]] = row["column_name"]
    return {
        name: _Table(name, [c for c, _ in cols], [t for _, t in cols], identities.get(name))
        for name, cols in columns.items()
        if name != NOT_COPIED
    }


async def _dependency_order(connection: Any, tables: Iterable[str]) -> list[str]:
    """Parents before children; a cycle of foreign keys can't be copied in one pass."""
    rows = await connection.fetch(
        "SELECT conrelid::regclass::text AS child, confrelid::regclass::text AS parent"
        " FROM pg_constraint WHERE contype = 'f' AND connamespace = current_schema()::regnamespace"
    )
    parents: dict[str, set[str]] = {name: set() for name in tables}
    for row in rows:
        child, parent = row["child"].strip('"'), row["parent"].strip('"')
        if child in parents and parent in parents and child != parent:
            parents[child].add(parent)
    order: list[str] = []
    while parents:
        ready = sorted(name for name, waiting in parents.items() if not waiting)
        if not ready:
            raise MigrationFailed(f"the foreign keys of {', '.join(sorted(parents))} form a cycle")
        for name in ready:
            order.append(name)
            del parents[name]
        for waiting in parents.values():
            waiting.difference_update(ready)
    return order


async def _refuse_unless_empty(connection: Any, tables: Iterable[str]) -> None:
    holding: list[str] = []
    for name in sorted(tables):
        seeds = MIGRATION_SEEDS.get(name)
        extra = f" WHERE NOT ({seeds})" if seeds else ""
        count = await connection.fetchval(f'SELECT count(*) FROM "{name}"{extra}')  # noqa: S608 - a catalog name
        if count:
            holding.append(f"{name}: {count}")
    if holding:
        raise MigrationRefused(
            "the PostgreSQL database already holds data ("
            + ", ".join(holding[:5])
            + (", …" if len(holding) > 5 else "")
            + "): migrate into a new, empty database"
        )


# -- the copy ------------------------------------------------------------------------------------


async def _copy_all(connection: Any, sqlite: sqlite3.Connection, copied: Copied) -> None:
    targets = await _target_tables(connection)
    source_tables, indexes = _source_tables(sqlite)
    copied.skipped = sorted(indexes)
    _refuse_unless_same_tables(sqlite, source_tables, targets)
    order = await _dependency_order(connection, targets)
    await _refuse_unless_empty(connection, order)
    digests: dict[str, tuple[int, int]] = {}
    for name in order:
        await connection.execute(f'ALTER TABLE "{name}" DISABLE TRIGGER USER')
    for name, seeds in MIGRATION_SEEDS.items():
        if name in targets:
            await connection.execute(f'DELETE FROM "{name}" WHERE {seeds}')  # noqa: S608 - constants
    for name in order:
        digests[name] = await _copy_table(connection, sqlite, targets[name])
    for name in order:
        await connection.execute(f'ALTER TABLE "{name}" ENABLE TRIGGER USER')
    for name in order:
        table = targets[name]
        if table.identity is not None:
            copied.next_ids[name] = await _advance_identity(connection, table)
    for name in order:
        copied.tables.append(await _verify_table(connection, targets[name], digests[name]))
    copied.ledger = await _verify_ledger(connection, sqlite)
    problems = [
        f"{t.name} ({t.source_rows} → {t.target_rows} rows)" for t in copied.tables if not t.ok
    ]
    if problems:
        raise MigrationFailed("the copy differs from the file: " + ", ".join(problems))
    if not copied.ledger.ok:
        raise MigrationFailed(_ledger_problem(copied.ledger))


def _refuse_unless_same_tables(
    sqlite: sqlite3.Connection, source: set[str], targets: dict[str, _Table]
) -> None:
    """Every table and column of the file has a place to go (else the copy would lose it)."""
    missing = sorted(source - set(targets))
    absent = sorted(set(targets) - source)
    if missing or absent:
        raise MigrationRefused(
            f"the file's tables differ from PostgreSQL's (only in the file: {missing or 'none'}; "
            f"only in PostgreSQL: {absent or 'none'})"
        )
    for name in sorted(source):
        extra = _source_columns(sqlite, name) - set(targets[name].columns)
        lacking = set(targets[name].columns) - _source_columns(sqlite, name)
        if extra or lacking:
            raise MigrationRefused(
                f"{name}'s columns differ (only in the file: {sorted(extra) or 'none'}; only in "
                f"PostgreSQL: {sorted(lacking) or 'none'})"
            )


async def _copy_table(
    connection: Any, sqlite: sqlite3.Connection, table: _Table
) -> tuple[int, int]:
    """Copy one table in chunks; returns (rows, digest) of what was read from the file."""
    selected = ", ".join(f'"{column}"' for column in table.columns)
    cursor = sqlite.execute(f'SELECT {selected} FROM "{table.name}"')  # noqa: S608 - catalog names
    floats = [n for n, kind in enumerate(table.types) if kind in ("float8", "float4")]
    rows = digest = 0
    while chunk := cursor.fetchmany(CHUNK_ROWS):
        records = [_as_target(row, floats) for row in chunk]
        for record in records:
            digest = (digest + _row_digest(record)) % _DIGEST_MODULUS
        try:
            await connection.copy_records_to_table(
                table.name, records=records, columns=table.columns
            )
        except (asyncpg.DataError, asyncpg.InternalClientError) as error:
            raise MigrationFailed(
                f"a row of {table.name} doesn't fit PostgreSQL ({error})"
            ) from error
        rows += len(records)
    return rows, digest


def _as_target(row: Sequence[Any], floats: list[int]) -> tuple[Any, ...]:
    """A whole number in a REAL column is stored as an integer by SQLite; PostgreSQL wants a float."""
    if not floats:
        return tuple(row)
    values = list(row)
    for n in floats:
        if isinstance(values[n], int):
            values[n] = float(values[n])
    return tuple(values)


def _row_digest(row: tuple[Any, ...]) -> int:
    return int.from_bytes(hashlib.blake2b(repr(row).encode(), digest_size=16).digest(), "big")


async def _advance_identity(connection: Any, table: _Table) -> int:
    """Move the id sequence past the copied ids; returns the id the next row gets."""
    column = table.identity
    top = await connection.fetchval(f'SELECT max("{column}") FROM "{table.name}"')  # noqa: S608 - catalog names
    sequence = await connection.fetchval(
        "SELECT pg_get_serial_sequence($1, $2)", f'"{table.name}"', column
    )
    if top is None:
        await connection.execute("SELECT setval($1, 1, false)", sequence)
        return 1
    await connection.execute("SELECT setval($1, $2)", sequence, top)
    return int(top) + 1


# -- verifying -----------------------------------------------------------------------------------


async def _verify_table(connection: Any, table: _Table, read: tuple[int, int]) -> TableCopy:
    source_rows, source_digest = read
    selected = ", ".join(f'"{column}"' for column in table.columns)
    rows = digest = 0
    async for record in connection.cursor(
        f'SELECT {selected} FROM "{table.name}"',  # noqa: S608 - catalog names
        prefetch=CHUNK_ROWS,
    ):
        rows += 1
        digest = (digest + _row_digest(tuple(record))) % _DIGEST_MODULUS
    return TableCopy(table.name, source_rows, rows, rows_equal=digest == source_digest)


LEDGER_SUMS = (
    "SELECT (SELECT count(*) FROM ledger_accounts),"
    " (SELECT count(*) FROM ledger_entries),"
    " (SELECT coalesce(sum(balance), 0) FROM ledger_accounts),"
    " (SELECT coalesce(sum(amount), 0) FROM ledger_entries)"
)
ACCOUNTS_OFF = (
    "SELECT a.id FROM ledger_accounts a"
    " LEFT JOIN (SELECT account_id, sum(amount) AS total FROM ledger_entries GROUP BY account_id) e"
    "   ON e.account_id = a.id"
    " WHERE a.balance <> coalesce(e.total, 0) ORDER BY a.id"
)


async def _verify_ledger(connection: Any, sqlite: sqlite3.Connection) -> LedgerCheck:
    _, _, source_balances, source_entries = sqlite.execute(LEDGER_SUMS).fetchone()
    accounts, entries, target_balances, target_entries = await connection.fetchrow(LEDGER_SUMS)
    off = [int(row[0]) for row in await connection.fetch(ACCOUNTS_OFF)]
    return LedgerCheck(
        accounts=int(accounts),
        entries=int(entries),
        source_balances=int(source_balances),
        target_balances=int(target_balances),
        source_entries=int(source_entries),
        target_entries=int(target_entries),
        accounts_off=off,
    )


def _ledger_problem(ledger: LedgerCheck) -> str:
    if ledger.accounts_off:
        return (
            f"the entries of account(s) {ledger.accounts_off[:10]} don't sum to their balance "
            "(are the file's books right? `golive check` on it says)"
        )
    return (
        f"the ledger's sums differ (balances {ledger.source_balances} → {ledger.target_balances}, "
        f"entries {ledger.source_entries} → {ledger.target_entries})"
    )


def summary(copied: Copied, source: Path, target: str) -> str:
    """What was copied, table by table, and the checks that passed."""
    last = f"{max(copied.versions):04d}" if copied.versions else "none"
    width = max((len(t.name) for t in copied.tables), default=5)
    lines = [
        f"copied {source} into {target} (schema at migration {last})",
        f"{'table':<{width}}  {'SQLite':>9}  {'PostgreSQL':>10}  rows",
    ]
    for table in copied.tables:
        verdict = "equal" if table.ok else "DIFFER"
        lines.append(
            f"{table.name:<{width}}  {table.source_rows:>9}  {table.target_rows:>10}  {verdict}"
        )
    total_source = sum(t.source_rows for t in copied.tables)
    total_target = sum(t.target_rows for t in copied.tables)
    lines.append(f"{'total':<{width}}  {total_source:>9}  {total_target:>10}")
    if copied.ledger is not None:
        ledger = copied.ledger
        lines.append(
            f"ledger: {ledger.accounts} accounts, {ledger.entries} entries; balances sum to "
            f"{ledger.target_balances} on both, entries to {ledger.target_entries}; every "
            "account's entries sum to its balance"
        )
    if copied.next_ids:
        lines.append(
            "next ids: " + ", ".join(f"{name} {n}" for name, n in sorted(copied.next_ids.items()))
        )
    if copied.skipped:
        indexes = sorted(name for name in copied.skipped if not name.endswith(_RTREE_PARTS))
        lines.append(
            f"not copied: {', '.join(indexes)} (the file's location indexes; PostgreSQL indexes "
            "streams itself)"
        )
    return "\n".join(lines)


_RTREE_PARTS = ("_node", "_parent", "_rowid")
