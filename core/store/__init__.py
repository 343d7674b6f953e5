"""The store: the database (SQLite or PostgreSQL), its numbered migrations, and group commit.

The public module: other packages import from here, never from the modules inside."""

from core.store.base import (
    Database,
    DatabaseRefused,
    IntegrityError,
    Row,
    SyncTransaction,
    Transaction,
    is_postgres_url,
)
from core.store.group_commit import GroupCommit, observe_batches

__all__ = [
    "Database",
    "DatabaseRefused",
    "GroupCommit",
    "IntegrityError",
    "Row",
    "SyncTransaction",
    "Transaction",
    "is_postgres_url",
    "observe_batches",
]
