"""Around a go-live, beyond the announcement: follower DMs and the live role; and the
scheduler's Discord jobs (viewer counts, catching up on what failed).

Every Discord action that must happen once is claimed in the database first (a follower's DM
per session, a live role per session and guild), so a retry, a flap or a restart never repeats
it. Claims whose action failed are given back, and the catch-up job tries them again later.
"""

from __future__ import annotations

import functools
import logging

import discord

from bot.announcer import Announcer
from bot.delivery import send_once, with_retries
from bot.embeds import LIVE_RED
from bot.problems import AdminProblems
from bot.ui import link_view
from core.community import LiveRoleGrant
from core.kernel.i18n import N_, Phrase, t
from core.services import Services
from core.streams import StreamEvent, StreamMediaStarted

log = logging.getLogger(__name__)


class LiveAlerts:
    def __init__(
        self,
        client: discord.Client,
        services: Services,
        announcer: Announcer,
        problems: AdminProblems,
    ) -> None:
        self._client = client
        self._services = services
        self._announcer = announcer
        self._problems = problems

    # -- stream events -------------------------------------------------------------------------

    async def on_stream_event(self, event: StreamEvent) -> None:
        # On air (first video), not at go-live: nobody is pinged for a studio still starting.
        if event.kind == "on_air":
            await self.give_live_roles(event)
            await self.alert_followers(event)
        elif event.kind == "ended":
            await self.take_live_roles(event.session.id)

    async def alert_followers(self, event: StreamEvent) -> None:
        follows = self._services.follows
        watch_url = self._announcer.watch_url(event.stream.slug)
        # A DM answers no interaction, so Discord doesn't say the follower's language.
        locale = await self._services.guilds.dm_language()
        embed = discord.Embed(
            title=event.stream.title,
            description=t(
                locale, "**%(name)s**, whom you follow, is live now.", name=event.stream.owner_name
            ),
            url=watch_url,
            colour=LIVE_RED,
            timestamp=event.session.started_at,
        )
        embed.set_footer(text=t(locale, "Turn these off with /notifications"))
        for user_id in await follows.followers_to_alert(event.session.id, event.stream.owner_id):
            if not await follows.claim_alert(event.session.id, user_id):
                continue
            try:
                user = self._client.get_user(user_id) or await self._client.fetch_user(user_id)
                await send_once(
                    await user.create_dm(),
                    is_ours=lambda m: any(
                        e.url == embed.url and e.timestamp == embed.timestamp for e in m.embeds
                    ),
                    what=f"DM a follower of {event.stream.slug}",
                    embed=embed,
                    view=link_view(t(locale, "Watch"), watch_url, "▶️"),
                )
            except (discord.Forbidden, discord.NotFound):
                # DMs closed, no shared server, or the account is gone: asking again won't
                # help. Keep the claim.
                log.info("follower %s can't be sent DMs", user_id)
            except discord.HTTPException as error:
                log.warning("could not DM follower %s: %s", user_id, error)
                await follows.release_alert(event.session.id, user_id)
                continue
            await follows.record_alert_sent(event.session.id, user_id)

    # -- the live role -------------------------------------------------------------------------

    async def give_live_roles(self, event: StreamEvent) -> None:
        owns_guild = self._services.settings.discord.owns_guild
        for settings in await self._services.community.guilds_with_live_role():
            if not owns_guild(settings.guild_id):
                continue  # another bot process's shard gives it there
            guild = self._client.get_guild(settings.guild_id)
            role = (
                guild.get_role(settings.live_role_id) if guild and settings.live_role_id else None
            )
            if guild is None or role is None:
                continue
            grant = LiveRoleGrant(event.session.id, guild.id, event.stream.owner_id, role.id)
            if not await self._services.community.claim_live_role(grant):
                continue
            try:
                member = guild.get_member(grant.user_id) or await guild.fetch_member(grant.user_id)
                await with_retries(
                    functools.partial(member.add_roles, role, reason="live on golive"),
                    what="give the live role",
                )
            except discord.NotFound:
                await self._services.community.release_live_role(grant)  # not in this guild
            except discord.HTTPException as error:
                await self._services.community.release_live_role(grant)
                if isinstance(error, discord.Forbidden):
                    problem = N_(
                        "I can't give the live role %(role)s: I need **Manage Roles**, and my "
                        "own role must be above it in Server Settings → Roles."
                    )
                    await self._problems.report(
                        guild, "live_role", Phrase(problem, {"role": role.mention})
                    )
                else:
                    log.warning("could not give the live role in %s: %s", guild.id, error)

    async def take_live_roles(self, session_id: int) -> None:
        owns_guild = self._services.settings.discord.owns_guild
        for grant in await self._services.community.live_roles_to_remove(session_id):
            if not owns_guild(grant.guild_id):
                continue
            guild = self._client.get_guild(grant.guild_id)
            if guild is None:
                continue
            try:
                await with_retries(
                    functools.partial(
                        self._client.http.remove_role,
                        guild.id,
                        grant.user_id,
                        grant.role_id,
                        reason="stream ended",
                    ),
                    what="take the live role back",
                )
            except discord.NotFound:
                pass  # the member or the role is gone: nothing left to take back
            except discord.HTTPException as error:
                log.warning("could not take the live role back in %s: %s", guild.id, error)
                continue  # the catch-up job tries again
            await self._services.community.mark_live_role_removed(grant)

    # -- scheduler jobs (golive/scheduler.py) -----------------------------------------------------

    async def show_viewer_counts(self) -> None:
        """Live announcements show the current viewer count (each edited at most once a minute)."""
        for item in await self._services.community.counts_to_show():
            await self._announcer.show_viewer_count(item)

    async def catch_up(self) -> None:
        """Retry what failed earlier: announcements, follower DMs, live roles to take back.

        Only streams on air: one still starting is announced when its video arrives."""
        services = self._services
        for stream in await services.streams.list_live(limit=1_000_000):
            session = await services.streams.current_session(stream.id)
            if session is None or session.media_started_at is None:
                continue
            event = StreamMediaStarted(stream, session)
            await self._announcer.announce(event)
            await self.alert_followers(event)
        for session_id in await services.community.sessions_with_roles_to_take_back():
            await self.take_live_roles(session_id)
