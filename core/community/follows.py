"""Follows between members, their go-live DM preference, and one DM per (session, follower)."""

from __future__ import annotations

from core.kernel.clock import Clock
from core.kernel.errors import InvalidInput, NotFound
from core.kernel.timefmt import to_db
from core.store import Database
from core.streams import Stream, StreamService


class FollowService:
    def __init__(self, db: Database, clock: Clock, streams: StreamService) -> None:
        self._db = db
        self._clock = clock
        self._streams = streams

    async def follow(self, follower_id: int, streamer_id: int) -> tuple[Stream, bool]:
        """Follow a member's stream page. Returns the page and False if already followed."""
        if follower_id == streamer_id:
            raise InvalidInput("You can't follow yourself.")
        stream = await self._streams.find_by_owner(streamer_id)
        if stream is None:
            raise NotFound("That member has no stream page yet, so there is nothing to follow.")
        async with self._db.transaction() as tx:
            added = await tx.execute(
                "INSERT INTO follows (follower_id, streamer_id, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT (follower_id, streamer_id) DO NOTHING",
                (follower_id, streamer_id, to_db(self._clock.now())),
            )
        return stream, added == 1

    async def unfollow(self, follower_id: int, streamer_id: int) -> bool:
        """Stop following. False if they did not follow that member."""
        async with self._db.transaction() as tx:
            removed = await tx.execute(
                "DELETE FROM follows WHERE follower_id = ? AND streamer_id = ?",
                (follower_id, streamer_id),
            )
        return removed == 1

    async def following(self, follower_id: int) -> list[Stream]:
        """The stream pages a member follows, live ones first."""
        rows = await self._db.fetch_all(
            "SELECT st.owner_id FROM follows f JOIN streams st ON st.owner_id = f.streamer_id"
            " WHERE f.follower_id = ? ORDER BY st.active DESC, lower(st.owner_name)",
            (follower_id,),
        )
        return [await self._streams.get_by_owner(row["owner_id"]) for row in rows]

    async def follower_count(self, streamer_id: int) -> int:
        row = await self._db.fetch_one(
            "SELECT COUNT(*) AS n FROM follows WHERE streamer_id = ?", (streamer_id,)
        )
        return int(row["n"]) if row else 0

    async def set_dms(self, user_id: int, enabled: bool) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO notification_settings (user_id, dms, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (user_id) DO UPDATE SET dms = excluded.dms,"
                " updated_at = excluded.updated_at",
                (user_id, int(enabled), to_db(self._clock.now())),
            )

    async def dms_enabled(self, user_id: int) -> bool:
        row = await self._db.fetch_one(
            "SELECT dms FROM notification_settings WHERE user_id = ?", (user_id,)
        )
        return row is None or bool(row["dms"])

    async def followers_to_alert(self, session_id: int, streamer_id: int) -> list[int]:
        """Followers who want DMs and were not alerted for this session yet."""
        rows = await self._db.fetch_all(
            "SELECT f.follower_id FROM follows f"
            " LEFT JOIN notification_settings n ON n.user_id = f.follower_id"
            " WHERE f.streamer_id = ? AND COALESCE(n.dms, 1) = 1 AND NOT EXISTS ("
            "  SELECT 1 FROM follower_alerts a WHERE a.session_id = ? AND a.user_id = f.follower_id)"
            " ORDER BY f.created_at",
            (streamer_id, session_id),
        )
        return [row["follower_id"] for row in rows]

    async def claim_alert(self, session_id: int, user_id: int) -> bool:
        """Reserve the go-live DM of a session for one follower. False if it is taken."""
        async with self._db.transaction() as tx:
            claimed = await tx.execute(
                "INSERT INTO follower_alerts (session_id, user_id) VALUES (?, ?)"
                " ON CONFLICT (session_id, user_id) DO NOTHING",
                (session_id, user_id),
            )
        return claimed == 1

    async def record_alert_sent(self, session_id: int, user_id: int) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE follower_alerts SET sent_at = ? WHERE session_id = ? AND user_id = ?",
                (to_db(self._clock.now()), session_id, user_id),
            )

    async def release_alert(self, session_id: int, user_id: int) -> None:
        """Give a claim back after Discord failed, so a later attempt may send it."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "DELETE FROM follower_alerts WHERE session_id = ? AND user_id = ? AND sent_at IS NULL",
                (session_id, user_id),
            )
