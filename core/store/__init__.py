"""The store: the database, its numbered migrations, and group commit.

The public module: other packages import from here, never from the modules inside."""

from core.store.db import Database, SyncTransaction, Transaction
from core.store.group_commit import GroupCommit

__all__ = ["Database", "GroupCommit", "SyncTransaction", "Transaction"]
