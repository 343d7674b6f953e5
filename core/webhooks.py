"""LiveKit webhooks, once each: dedupe by event id, then hand each kind to its handlers.

The web front verifies the signature and passes the parsed ``WebhookEvent`` here. Handlers are
registered per event kind by the services that care (live_events for rooms and participants;
ingress/egress handlers can register beside them) and run inside the same transaction as the
dedupe row, so an event is either fully applied and remembered, or neither: a crash halfway
means LiveKit's retry is applied again rather than lost.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from livekit.protocol.webhook import WebhookEvent

from core.clock import Clock
from core.db import Database, Transaction
from core.errors import InvalidInput
from core.timefmt import to_db

log = logging.getLogger(__name__)

# Work to do once the event's transaction is committed (LiveKit calls, listeners).
AfterCommit = Callable[[], Awaitable[None]]
WebhookHandler = Callable[[Transaction, WebhookEvent], Awaitable[AfterCommit | None]]

# LiveKit retries a failed delivery for a few minutes; a day of ids is plenty to catch repeats.
KEEP_EVENT_IDS = timedelta(days=1)


class WebhookInbox:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._handlers: dict[str, list[WebhookHandler]] = {}

    def on(self, kind: str, handler: WebhookHandler) -> None:
        """Run ``handler`` for every new event of ``kind`` (e.g. 'participant_joined')."""
        self._handlers.setdefault(kind, []).append(handler)

    async def receive(self, event: WebhookEvent) -> bool:
        """Apply an event unless it was seen before. Returns False for a repeat."""
        if not event.id or not event.event:
            raise InvalidInput("A webhook event needs an id and a kind.")
        follow_ups: list[AfterCommit] = []
        async with self._db.transaction() as tx:
            fresh = await tx.execute(
                "INSERT INTO webhook_events (id, kind, room_name, created_at, received_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                (
                    event.id,
                    event.event,
                    event.room.name or None,
                    event.created_at,
                    to_db(self._clock.now()),
                ),
            )
            if not fresh:
                log.debug("webhook %s (%s) seen before; ignored", event.id, event.event)
                return False
            for handler in self._handlers.get(event.event, ()):
                follow_up = await handler(tx, event)
                if follow_up is not None:
                    follow_ups.append(follow_up)
        for follow_up in follow_ups:
            try:
                await follow_up()
            except Exception:
                # The event is recorded; the reconciler repairs whatever this left undone.
                log.exception("follow-up of webhook %s (%s) failed", event.id, event.event)
        return True

    async def forget_old(self) -> int:
        """Drop remembered ids older than LiveKit would ever retry. Returns how many."""
        cutoff = to_db(self._clock.now() - KEEP_EVENT_IDS)
        async with self._db.transaction() as tx:
            return await tx.execute("DELETE FROM webhook_events WHERE received_at < ?", (cutoff,))
