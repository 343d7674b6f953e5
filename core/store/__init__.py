"""The store: the database, its numbered migrations, and group commit.

The public module: other packages import from here, never from the modules inside."""

from core.store.db import Database, SyncTransaction, Transaction
from core.store.group_commit import GroupCommit, observe_batches
from core.store.outbox import (
    Consumer,
    LateRecords,
    Outbox,
    Shards,
    claim_effect,
    record,
    record_now,
    release_effect,
)

__all__ = [
    "Consumer",
    "Database",
    "GroupCommit",
    "LateRecords",
    "Outbox",
    "Shards",
    "SyncTransaction",
    "Transaction",
    "claim_effect",
    "observe_batches",
    "record",
    "record_now",
    "release_effect",
]
