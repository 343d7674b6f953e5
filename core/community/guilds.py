"""Per-guild settings and the record of announcements posted in each guild."""

from __future__ import annotations

from dataclasses import dataclass

from core.kernel import i18n
from core.kernel.clock import Clock
from core.kernel.errors import InvalidInput
from core.kernel.timefmt import to_db
from core.store import Database


@dataclass(frozen=True)
class Announcement:
    session_id: int
    guild_id: int
    channel_id: int
    message_id: int | None


class GuildService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def set_announce_channel(self, guild_id: int, channel_id: int | None) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO guild_settings (guild_id, announce_channel_id, updated_at)"
                " VALUES (?, ?, ?) ON CONFLICT (guild_id) DO UPDATE SET"
                " announce_channel_id = excluded.announce_channel_id,"
                " updated_at = excluded.updated_at",
                (guild_id, channel_id, to_db(self._clock.now())),
            )

    async def announce_channel(self, guild_id: int) -> int | None:
        row = await self._db.fetch_one(
            "SELECT announce_channel_id FROM guild_settings WHERE guild_id = ?", (guild_id,)
        )
        return None if row is None else row["announce_channel_id"]

    async def set_language(self, guild_id: int, locale: str) -> None:
        """What the guild reads posts meant for everyone in (a locale from core.kernel.i18n)."""
        if locale not in i18n.SUPPORTED:
            raise InvalidInput("That language is not available.")
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO guild_settings (guild_id, language, updated_at)"
                " VALUES (?, ?, ?) ON CONFLICT (guild_id) DO UPDATE SET"
                " language = excluded.language, updated_at = excluded.updated_at",
                (guild_id, locale, to_db(self._clock.now())),
            )

    async def language(self, guild_id: int | None) -> str:
        if guild_id is None:
            return i18n.DEFAULT
        row = await self._db.fetch_one(
            "SELECT language FROM guild_settings WHERE guild_id = ?", (guild_id,)
        )
        return i18n.locale_or_default(None if row is None else row["language"])

    async def dm_language(self) -> str:
        """What a DM speaks that no interaction tells the language of (a tip alert, a pass
        renewal): Discord tells a bot a member's language only when they use it. The language
        the servers golive serves chose with /setup language, English if they chose different
        ones or none."""
        rows = await self._db.fetch_all(
            "SELECT DISTINCT language FROM guild_settings WHERE language IS NOT NULL"
        )
        chosen = {i18n.locale_or_default(row["language"]) for row in rows}
        return chosen.pop() if len(chosen) == 1 else i18n.DEFAULT

    async def announce_channels(self) -> dict[int, int]:
        """guild id → announcement channel id, for every guild that set one."""
        rows = await self._db.fetch_all(
            "SELECT guild_id, announce_channel_id FROM guild_settings"
            " WHERE announce_channel_id IS NOT NULL"
        )
        return {row["guild_id"]: row["announce_channel_id"] for row in rows}

    async def request_announcement(self, session_id: int, guild_id: int, channel_id: int) -> None:
        """Announce this session in `channel_id` once it is on air (a guild with no announcement
        channel, where `/stream golive` was typed). The first request per guild stands."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO announcement_requests (session_id, guild_id, channel_id)"
                " VALUES (?, ?, ?) ON CONFLICT (session_id, guild_id) DO NOTHING",
                (session_id, guild_id, channel_id),
            )

    async def announcement_targets(self, session_id: int) -> dict[int, int]:
        """guild id → channel to announce a session in: the guild's announcement channel, else
        where its streamer asked for it (`request_announcement`)."""
        rows = await self._db.fetch_all(
            "SELECT guild_id, channel_id FROM announcement_requests WHERE session_id = ?",
            (session_id,),
        )
        requested = {row["guild_id"]: row["channel_id"] for row in rows}
        return requested | await self.announce_channels()

    async def claim_announcement(self, session_id: int, guild_id: int, channel_id: int) -> bool:
        """Reserve the right to announce a session in a guild. False if it is taken already."""
        async with self._db.transaction() as tx:
            inserted = await tx.execute(
                "INSERT INTO announcements (session_id, guild_id, channel_id) VALUES (?, ?, ?)"
                " ON CONFLICT (session_id, guild_id) DO NOTHING",
                (session_id, guild_id, channel_id),
            )
        return inserted == 1

    async def record_announcement(self, session_id: int, guild_id: int, message_id: int) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE announcements SET message_id = ? WHERE session_id = ? AND guild_id = ?",
                (message_id, session_id, guild_id),
            )

    async def release_announcement(self, session_id: int, guild_id: int) -> None:
        """Give a claim back after posting failed, so a later attempt may post."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "DELETE FROM announcements WHERE session_id = ? AND guild_id = ? AND message_id IS NULL",
                (session_id, guild_id),
            )

    async def announcements(self, session_id: int) -> list[Announcement]:
        rows = await self._db.fetch_all(
            "SELECT * FROM announcements WHERE session_id = ? AND message_id IS NOT NULL",
            (session_id,),
        )
        return [
            Announcement(row["session_id"], row["guild_id"], row["channel_id"], row["message_id"])
            for row in rows
        ]
