"""What a change recorded in the outbox, and a change whose transaction fails right after its
event was written: shared by the tests that show an event lands with its change or not at all."""

from __future__ import annotations

import json
import types
from typing import Any, TypeVar

import pytest

from core.kernel.clock import ManualClock
from core.services import Services
from core.store import Database, Transaction
from core.store import record as real_record
from core.store.outbox import FIRST_RETRY, decode

E = TypeVar("E")


class FailedAfterTheEvent(Exception):
    """The change's transaction failed after its event was written (and so rolls back)."""


async def recorded(db: Database, event_type: type[E]) -> list[E]:
    """The `event_type` events in the outbox, read back as the consumers get them, in order."""
    rows = await db.fetch_all(
        "SELECT payload FROM outbox_events WHERE type = ? ORDER BY id", (event_type.__name__,)
    )
    return [decode(event_type, json.loads(row["payload"])) for row in rows]


def fail_after_recording(monkeypatch: pytest.MonkeyPatch, module: types.ModuleType) -> None:
    """`module`'s `record` writes the event, then the transaction it was written in fails."""

    async def record_then_fail(tx: Transaction, *events: object, **options: Any) -> None:
        await real_record(tx, *events, **options)
        raise FailedAfterTheEvent

    monkeypatch.setattr(module, "record", record_then_fail)


async def deliver_again(services: Services, consumer: str) -> int:
    """As if the process that delivered `consumer`'s events died before marking them done: each
    is due again once its lease ran out, and is delivered now. Returns how many."""
    async with services.db.transaction() as tx:
        again = await tx.execute(
            "UPDATE outbox_deliveries SET done_at = NULL, available_at = NULL WHERE consumer = ?",
            (consumer,),
        )
    await services.outbox.drain()
    return again


async def deliver_after_first_retry(services: Services, clock: ManualClock) -> None:
    """Move past the outbox's wait after a first failed attempt, and deliver what is due."""
    clock.advance(FIRST_RETRY.total_seconds())
    await services.outbox.drain()
