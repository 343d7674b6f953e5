"""What golive does in each guild around a go-live: ping and live roles, the problems it met
there (missing permissions), the live roles it handed out, and the viewer count shown on
announcements."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from core.kernel.clock import Clock
from core.kernel.timefmt import from_db, to_db
from core.store import Database

# The announcement's viewer count is edited at most this often (Discord rate limits, and noise).
COUNT_EDIT_GAP = timedelta(minutes=1)


@dataclass(frozen=True)
class GuildRoles:
    guild_id: int
    ping_role_id: int | None
    live_role_id: int | None
    configured_by: int | None


@dataclass(frozen=True)
class GuildProblem:
    guild_id: int
    what: str
    detail: str
    noticed_at: datetime


@dataclass(frozen=True)
class LiveRoleGrant:
    session_id: int
    guild_id: int
    user_id: int
    role_id: int


@dataclass(frozen=True)
class CountToShow:
    """An announcement whose viewer count is out of date."""

    session_id: int
    stream_id: int
    guild_id: int
    channel_id: int
    message_id: int
    viewers: int


class CommunityService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    # -- roles ---------------------------------------------------------------------------------

    async def set_ping_role(self, guild_id: int, role_id: int | None, by: int) -> None:
        await self._set_role("ping_role_id", guild_id, role_id, by)

    async def set_live_role(self, guild_id: int, role_id: int | None, by: int) -> None:
        await self._set_role("live_role_id", guild_id, role_id, by)

    async def _set_role(self, column: str, guild_id: int, role_id: int | None, by: int) -> None:
        assert column in ("ping_role_id", "live_role_id")  # noqa: S101 - never user input
        async with self._db.transaction() as tx:
            await tx.execute(
                f"INSERT INTO guild_settings (guild_id, {column}, configured_by, updated_at)"  # noqa: S608
                f" VALUES (?, ?, ?, ?) ON CONFLICT (guild_id) DO UPDATE SET"
                f" {column} = excluded.{column}, configured_by = excluded.configured_by,"
                " updated_at = excluded.updated_at",
                (guild_id, role_id, by, to_db(self._clock.now())),
            )

    async def note_configured_by(self, guild_id: int, by: int) -> None:
        """Remember who last ran /setup here: they are told when a permission goes missing."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE guild_settings SET configured_by = ? WHERE guild_id = ?", (by, guild_id)
            )

    async def roles(self, guild_id: int) -> GuildRoles:
        row = await self._db.fetch_one(
            "SELECT ping_role_id, live_role_id, configured_by FROM guild_settings"
            " WHERE guild_id = ?",
            (guild_id,),
        )
        if row is None:
            return GuildRoles(guild_id, None, None, None)
        return GuildRoles(guild_id, row["ping_role_id"], row["live_role_id"], row["configured_by"])

    async def guilds_with_live_role(self) -> list[GuildRoles]:
        rows = await self._db.fetch_all(
            "SELECT guild_id, ping_role_id, live_role_id, configured_by FROM guild_settings"
            " WHERE live_role_id IS NOT NULL"
        )
        return [
            GuildRoles(r["guild_id"], r["ping_role_id"], r["live_role_id"], r["configured_by"])
            for r in rows
        ]

    # -- problems ------------------------------------------------------------------------------

    async def report_problem(self, guild_id: int, what: str, detail: str) -> bool:
        """Remember a problem. True when it is new (so the admin is told once, not every time)."""
        async with self._db.transaction() as tx:
            known = await tx.fetch_one(
                "SELECT detail FROM guild_problems WHERE guild_id = ? AND what = ?",
                (guild_id, what),
            )
            await tx.execute(
                "INSERT INTO guild_problems (guild_id, what, detail, noticed_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (guild_id, what) DO UPDATE SET detail = excluded.detail,"
                " noticed_at = excluded.noticed_at",
                (guild_id, what, detail, to_db(self._clock.now())),
            )
        return known is None or known["detail"] != detail

    async def clear_problem(self, guild_id: int, what: str) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "DELETE FROM guild_problems WHERE guild_id = ? AND what = ?", (guild_id, what)
            )

    async def problems(self) -> list[GuildProblem]:
        rows = await self._db.fetch_all("SELECT * FROM guild_problems ORDER BY guild_id, what")
        return [
            GuildProblem(
                r["guild_id"], r["what"], r["detail"], from_db(r["noticed_at"]) or self._clock.now()
            )
            for r in rows
        ]

    # -- live roles handed out -----------------------------------------------------------------

    async def claim_live_role(self, grant: LiveRoleGrant) -> bool:
        """Record a live role about to be given. False if this session already has it here."""
        async with self._db.transaction() as tx:
            claimed = await tx.execute(
                "INSERT INTO live_roles (session_id, guild_id, user_id, role_id) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (session_id, guild_id) DO NOTHING",
                (grant.session_id, grant.guild_id, grant.user_id, grant.role_id),
            )
        return claimed == 1

    async def release_live_role(self, grant: LiveRoleGrant) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "DELETE FROM live_roles WHERE session_id = ? AND guild_id = ?",
                (grant.session_id, grant.guild_id),
            )

    async def live_roles_to_remove(self, session_id: int) -> list[LiveRoleGrant]:
        rows = await self._db.fetch_all(
            "SELECT * FROM live_roles WHERE session_id = ? AND removed = 0", (session_id,)
        )
        return [
            LiveRoleGrant(r["session_id"], r["guild_id"], r["user_id"], r["role_id"]) for r in rows
        ]

    async def sessions_with_roles_to_take_back(self) -> list[int]:
        """Ended sessions whose live role could not be taken back yet."""
        rows = await self._db.fetch_all(
            "SELECT DISTINCT r.session_id FROM live_roles r"
            " JOIN stream_sessions s ON s.id = r.session_id"
            " WHERE r.removed = 0 AND s.ended_at IS NOT NULL"
        )
        return [row["session_id"] for row in rows]

    async def mark_live_role_removed(self, grant: LiveRoleGrant) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE live_roles SET removed = 1 WHERE session_id = ? AND guild_id = ?",
                (grant.session_id, grant.guild_id),
            )

    # -- the viewer count on announcements -----------------------------------------------------

    async def counts_to_show(self) -> list[CountToShow]:
        """Announcements of live sessions whose count changed, not edited in the last minute."""
        cutoff = to_db(self._clock.now() - COUNT_EDIT_GAP)
        rows = await self._db.fetch_all(
            "SELECT a.session_id, s.stream_id, a.guild_id, a.channel_id, a.message_id,"
            " COALESCE(au.current_viewers, 0) AS viewers"
            " FROM announcements a JOIN stream_sessions s ON s.id = a.session_id"
            " LEFT JOIN session_audience au ON au.session_id = a.session_id"
            " WHERE s.ended_at IS NULL AND a.message_id IS NOT NULL"
            " AND COALESCE(a.viewers_shown, 0) <> COALESCE(au.current_viewers, 0)"
            " AND COALESCE(a.edited_at, s.started_at) <= ?",
            (cutoff,),
        )
        return [
            CountToShow(
                r["session_id"],
                r["stream_id"],
                r["guild_id"],
                r["channel_id"],
                r["message_id"],
                r["viewers"],
            )
            for r in rows
        ]

    async def count_shown(self, session_id: int, guild_id: int, viewers: int) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE announcements SET viewers_shown = ?, edited_at = ?"
                " WHERE session_id = ? AND guild_id = ?",
                (viewers, to_db(self._clock.now()), session_id, guild_id),
            )
