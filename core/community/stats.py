"""Numbers about streamers: sessions, hours live, viewers, followers."""

from __future__ import annotations

from dataclasses import dataclass

from core.store import Database, Row


@dataclass(frozen=True)
class StreamerStats:
    owner_id: int
    owner_name: str
    streams: int
    seconds_live: int
    average_viewers: float
    peak_viewers: int
    followers: int


_STATS = (
    "SELECT st.owner_id, st.owner_name,"
    " (SELECT COUNT(*) FROM stream_sessions s WHERE s.stream_id = st.id) AS streams,"
    " (SELECT COALESCE(SUM(s.duration_seconds), 0) FROM stream_sessions s"
    "   WHERE s.stream_id = st.id) AS seconds_live,"
    " (SELECT COALESCE(AVG(v.viewers), 0) FROM viewer_samples v"
    "   JOIN stream_sessions s ON s.id = v.session_id WHERE s.stream_id = st.id) AS average_viewers,"
    " (SELECT COALESCE(MAX(s.peak_viewers), 0) FROM stream_sessions s"
    "   WHERE s.stream_id = st.id) AS peak_viewers,"
    " (SELECT COUNT(*) FROM follows f WHERE f.streamer_id = st.owner_id) AS followers"
    " FROM streams st"
)


class StatsService:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def for_member(self, owner_id: int) -> StreamerStats | None:
        """A member's numbers, or None without a stream page. Sessions still live count so far."""
        row = await self._db.fetch_one(_STATS + " WHERE st.owner_id = ?", (owner_id,))
        return _stats(row) if row else None

    async def session_tips(self, session_id: int) -> tuple[int, int]:
        """(tips, credits) received during a session, refunded tips left out."""
        row = await self._db.fetch_one(
            "SELECT COUNT(*) AS tips, COALESCE(SUM(amount), 0) AS credits FROM tips"
            " WHERE session_id = ? AND refund_transaction_id IS NULL",
            (session_id,),
        )
        return (row["tips"], row["credits"]) if row else (0, 0)

    async def top(self, limit: int = 10) -> list[StreamerStats]:
        """The community's streamers with the most hours live (then peak viewers)."""
        rows = await self._db.fetch_all(
            f"SELECT * FROM ({_STATS}) AS stats WHERE streams > 0"  # noqa: S608 - constant SQL
            " ORDER BY seconds_live DESC, peak_viewers DESC, owner_id LIMIT ?",
            (limit,),
        )
        return [_stats(row) for row in rows]


def _stats(row: Row) -> StreamerStats:
    return StreamerStats(
        owner_id=row["owner_id"],
        owner_name=row["owner_name"],
        streams=row["streams"],
        seconds_live=row["seconds_live"],
        average_viewers=float(row["average_viewers"]),
        peak_viewers=row["peak_viewers"],
        followers=row["followers"],
    )
