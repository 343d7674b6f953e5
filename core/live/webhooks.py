"""LiveKit webhooks, once each: dedupe by event id, then hand each kind to its handlers.

The web front verifies the signature and passes the parsed ``WebhookEvent`` here. Handlers are
registered per event kind in golive/event_table.py (presence for rooms and participants,
ingress, recording) and run inside the same transaction as the
dedupe row, so an event is either fully applied and remembered, or neither: a crash halfway
means LiveKit's retry is applied again rather than lost.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from livekit.protocol.webhook import WebhookEvent

from core.kernel.clock import Clock
from core.kernel.errors import InvalidInput
from core.kernel.timefmt import to_db
from core.store import Database, GroupCommit, SyncTransaction

log = logging.getLogger(__name__)

# Work to do once the event's transaction is committed (LiveKit calls, publishing events).
AfterCommit = Callable[[], Awaitable[None]]
# A handler runs on the database's thread, inside the event's transaction (see
# Database.run_transaction): it only reads and writes SQLite, and returns async work for later.
WebhookHandler = Callable[[SyncTransaction, WebhookEvent, datetime], AfterCommit | None]

# LiveKit retries a failed delivery for a few minutes; a day of ids is plenty to catch repeats.
KEEP_EVENT_IDS = timedelta(days=1)


# What applying one event gave: None for a repeat, else the work to do after the commit.
_Outcome = list[AfterCommit] | None


class WebhookInbox:
    """Dedupes and applies events, committing the events that arrive together in one go.

    Group commit: while one batch is being written, new deliveries wait and are then written
    together, in one transaction and one trip to the database's thread. Under load that is most
    of the cost of an event saved; alone, an event is written at once as before.
    """

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._handlers: dict[str, list[WebhookHandler]] = {}
        self._commits: GroupCommit[WebhookEvent, _Outcome] = GroupCommit(
            self._write, what="webhooks"
        )

    def on(self, kind: str, handler: WebhookHandler) -> None:
        """Run ``handler`` for every new event of ``kind`` (e.g. 'participant_joined')."""
        self._handlers.setdefault(kind, []).append(handler)

    async def receive(self, event: WebhookEvent) -> bool:
        """Apply an event unless it was seen before. Returns False for a repeat."""
        if not event.id or not event.event:
            raise InvalidInput("A webhook event needs an id and a kind.")
        follow_ups = await self._commits.submit(event)
        if follow_ups is None:
            log.debug("webhook %s (%s) seen before; ignored", event.id, event.event)
            return False
        for follow_up in follow_ups:
            try:
                await follow_up()
            except Exception:
                # The event is recorded; the reconciler repairs whatever this left undone.
                log.exception("follow-up of webhook %s (%s) failed", event.id, event.event)
        return True

    async def flush(self) -> None:
        """Wait for webhooks still being stored (at shutdown)."""
        await self._commits.flush()

    async def _write(self, events: list[WebhookEvent]) -> list[_Outcome]:
        now = self._clock.now()
        return await self._db.run_transaction(
            lambda tx: [self._apply(tx, event, now) for event in events]
        )

    def _apply(self, tx: SyncTransaction, event: WebhookEvent, now: datetime) -> _Outcome:
        """Runs on the database's thread: remember the id, then let the handlers apply it."""
        fresh = tx.execute(
            "INSERT INTO webhook_events (id, kind, room_name, created_at, received_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            (event.id, event.event, event.room.name or None, event.created_at, to_db(now)),
        )
        if not fresh:
            return None
        handlers = self._handlers.get(event.event, ())
        return [f for f in (handler(tx, event, now) for handler in handlers) if f is not None]

    async def forget_old(self) -> int:
        """Drop remembered ids older than LiveKit would ever retry. Returns how many."""
        cutoff = to_db(self._clock.now() - KEEP_EVENT_IDS)
        async with self._db.transaction() as tx:
            return await tx.execute("DELETE FROM webhook_events WHERE received_at < ?", (cutoff,))
