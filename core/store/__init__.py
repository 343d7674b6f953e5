"""The store: the database, its numbered migrations, and group commit.

The public module: other packages import from here, never from the modules inside."""

from core.store.db import Database, SyncTransaction, Transaction
from core.store.group_commit import GroupCommit, observe_batches

__all__ = ["Database", "GroupCommit", "SyncTransaction", "Transaction", "observe_batches"]
