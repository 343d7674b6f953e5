"""Cluster coordination: what several golive processes agree on through the database.

Leases say which process runs each periodic job (golive/scheduler.py); shared limits are the
flood limits and slow mode every replica counts against (core/chat). Migration 0015.
"""

from core.cluster.leases import HEARTBEAT, LEASE_TURNS, LONGEST_LEASE, Leases, process_holder_id
from core.cluster.limits import Limit, Refusal, SharedLimits, forget_spent

__all__ = [
    "HEARTBEAT",
    "LEASE_TURNS",
    "LONGEST_LEASE",
    "Leases",
    "Limit",
    "Refusal",
    "SharedLimits",
    "forget_spent",
    "process_holder_id",
]
