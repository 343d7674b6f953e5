"""The store: the database (SQLite or PostgreSQL), its numbered migrations, and group commit.

The public module: other packages import from here, never from the modules inside."""

from core.store import db as _sqlite_store  # noqa: F401 - registers how SQLite opens
from core.store import postgres as _postgres_store  # noqa: F401 - and PostgreSQL
from core.store.base import (
    WRITE_LOCK_KEY,
    Database,
    DatabaseRefused,
    IntegrityError,
    Row,
    SyncTransaction,
    Transaction,
    is_postgres_url,
)
from core.store.group_commit import GroupCommit, observe_batches
from core.store.outbox import (
    Consumer,
    Outbox,
    Shards,
    claim_effect,
    record,
    release_effect,
)

__all__ = [
    "WRITE_LOCK_KEY",
    "Consumer",
    "Database",
    "DatabaseRefused",
    "GroupCommit",
    "IntegrityError",
    "Outbox",
    "Row",
    "Shards",
    "SyncTransaction",
    "Transaction",
    "claim_effect",
    "is_postgres_url",
    "observe_batches",
    "record",
    "release_effect",
]
