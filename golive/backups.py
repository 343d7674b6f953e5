"""`golive backup` and `golive restore`: copies of the SQLite file made with SQLite's online
backup API, so both are safe while golive runs and writes.

A backup reads one consistent snapshot (WAL readers don't block golive's writers), is written
to a temporary file beside its destination, checked with `PRAGMA integrity_check`, and only
then renamed into place: a backup that exists is whole. A restore writes through SQLite too
(into the target's own connection and locks), keeps the database it replaces beside it, and
refuses to replace an existing database without `--force`.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


class BackupError(Exception):
    """What went wrong, in words for the operator."""


@dataclass(frozen=True)
class Copied:
    path: Path
    size: int
    streams: int
    members: int  # wallets


def backup(database: Path | str, destination: Path | str, now: datetime | None = None) -> Copied:
    """Copy `database` to `destination`: a file, or a folder (existing, or written with a
    trailing slash) to put a dated file in."""
    as_folder = str(destination).endswith(("/", os.sep))
    database, destination = Path(database), Path(destination)
    if as_folder:
        destination.mkdir(parents=True, exist_ok=True)
    if not database.exists():
        raise BackupError(f"there is no database at {database} to back up")
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    target = destination / f"golive-{stamp}.db" if destination.is_dir() else destination
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        _copy(database, partial)
        _check(partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return _describe(target)


def restore(
    backup_file: Path, database: Path, *, force: bool, now: datetime | None = None
) -> tuple[Copied, Path | None]:
    """Put `backup_file` in place of `database`. Returns the restored database and where the
    replaced one was kept (None when there was none)."""
    if not backup_file.exists():
        raise BackupError(f"there is no backup at {backup_file}")
    _check(backup_file)
    kept: Path | None = None
    if database.exists():
        if not force:
            current = _describe(database)
            raise BackupError(
                f"{database} already holds a database ({current.streams} stream page(s), "
                f"{current.members} wallet(s)); stop golive and run again with --force to "
                "replace it (the current one is kept beside it)"
            )
        stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
        kept = database.with_name(f"{database.name}.before-restore-{stamp}")
        _copy(database, kept)
    database.parent.mkdir(parents=True, exist_ok=True)
    _copy(backup_file, database)
    _check(database)
    return _describe(database), kept


def _copy(source: Path, target: Path) -> None:
    """SQLite's online backup, all pages in one step: one snapshot, however busy the source."""
    with (
        contextlib.closing(sqlite3.connect(source, timeout=30)) as src,
        contextlib.closing(sqlite3.connect(target, timeout=30)) as dst,
    ):
        src.backup(dst)


def _check(path: Path) -> None:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            verdict = db.execute("PRAGMA integrity_check").fetchone()[0]
            db.execute("SELECT count(*) FROM schema_migrations").fetchone()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"{path} is not a golive database ({error})") from None
    if verdict != "ok":
        raise BackupError(f"{path} fails SQLite's integrity check: {verdict}")


def _describe(path: Path) -> Copied:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        streams = db.execute("SELECT count(*) FROM streams").fetchone()[0]
        members = db.execute(
            "SELECT count(*) FROM ledger_accounts WHERE member_id IS NOT NULL"
        ).fetchone()[0]
    return Copied(path=path, size=path.stat().st_size, streams=streams, members=members)
