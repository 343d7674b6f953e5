"""A process that puts a session on air, claims its announcement for delivery and is killed
before it posts (tests/golive/test_outbox_processes.py). Usage: crash_before_delivery.py DB SESSION"""

from __future__ import annotations

import asyncio
import os
import sys

from core.kernel.clock import SystemClock
from core.store import Consumer, Database, Outbox
from core.streams import StreamMediaStarted, StreamService


async def hang(event: object) -> None:
    await asyncio.Event().wait()


async def main(path: str, session_id: int) -> None:
    clock = SystemClock()
    async with Database.open(path) as db:
        streams = StreamService(db, livekit=None, clock=clock)  # type: ignore[arg-type]
        now = clock.now()
        claimed = await db.run_transaction(
            lambda tx: streams.claim_media_start(tx, session_id, now)
        )
        assert claimed, "the session was on air already"
        outbox = Outbox(db, clock)
        # The bot's announcer, by its consumer name; it never gets to post.
        outbox.wire("discord", [Consumer("Announcer.on_stream_event", StreamMediaStarted, hang)])
        await outbox.deliver_pending()
        row = await db.fetch_one(
            "SELECT claimed_by FROM outbox_deliveries WHERE consumer = 'Announcer.on_stream_event'"
        )
        assert row is not None and row["claimed_by"] == outbox.owner
        os._exit(9)  # killed between the claim and the post


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
