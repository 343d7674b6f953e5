"""Posts a go-live announcement once per session per guild, and turns it into a summary on end."""

from __future__ import annotations

import functools
import io
import logging

import discord

from bot.chat_bridge import ChatBridge
from bot.custom_ids import posted, tip_button, watch_button
from bot.delivery import send_once, with_retries
from bot.embeds import ended_announcement, live_announcement
from bot.problems import AdminProblems
from bot.ui import GoLiveView, link_view
from core.community import CountToShow, session_summary, viewers_chart
from core.kernel.errors import GoLiveError
from core.kernel.i18n import DEFAULT, N_, Phrase, t
from core.services import Services
from core.streams import StreamEvent

log = logging.getLogger(__name__)

CHART_FILE = "viewers.png"


def announcement_view(stream_id: int, watch_url: str, locale: str = DEFAULT) -> discord.ui.View:
    """Watch and Tip (answered by the streams and tips cogs, after a restart too), and a link."""
    view = GoLiveView(timeout=None)
    view.add_item(posted(watch_button(stream_id, locale)))
    view.add_item(posted(tip_button(stream_id, locale)))
    view.add_item(discord.ui.Button(label=t(locale, "Open in browser"), url=watch_url))
    return view


class Announcer:
    def __init__(
        self,
        client: discord.Client,
        services: Services,
        chat_bridge: ChatBridge,
        problems: AdminProblems,
    ) -> None:
        self._client = client
        self._services = services
        self._chat_bridge = chat_bridge
        self._problems = problems

    def watch_url(self, slug: str) -> str:
        return f"{self._services.settings.web.public_url}/live/{slug}"

    async def on_stream_event(self, event: StreamEvent) -> None:
        # Announced when the stream is on air (its first video), not when go-live was pressed:
        # a studio that never sends video is never announced.
        if event.kind == "on_air":
            await self.announce(event)
        elif event.kind == "ended":
            await self._summarise(event)

    async def announce(self, event: StreamEvent) -> None:
        """Announce an on-air session in every guild that wants it (each guild claimed once)."""
        targets = await self._services.guilds.announcement_targets(event.session.id)
        owns_guild = self._services.settings.discord.owns_guild
        for guild_id, channel_id in targets.items():
            if not owns_guild(guild_id):
                continue  # another bot process's shard announces there
            channel = self._client.get_channel(channel_id)
            if not (isinstance(channel, discord.TextChannel) and channel.guild.id == guild_id):
                continue
            try:
                await self.announce_in(channel, event)
            except GoLiveError:
                # The claim was not taken or was given back: the catch-up job tries again.
                log.warning("announcement of %s in %s failed", event.stream.slug, guild_id)

    async def announce_in(self, channel: discord.TextChannel, event: StreamEvent) -> Phrase | None:
        """Announce the session in `channel` unless this guild already has it. Returns a problem
        (to say in the language of whoever reads it)."""
        guilds = self._services.guilds
        if not await guilds.claim_announcement(event.session.id, channel.guild.id, channel.id):
            return None
        watch_url = self.watch_url(event.stream.slug)
        # The ping role is mentioned in the announcement itself, so it pings once per session
        # and guild (the claim above), and the allowed mentions name that role and nothing else.
        ping_role = await self._ping_role(channel.guild)
        # Seen by everyone in the channel: the guild's language (/setup language).
        locale = await guilds.language(channel.guild.id)
        embed = live_announcement(event.stream, event.session, watch_url, locale=locale)
        try:
            message = await send_once(
                channel,
                is_ours=lambda m: self._is_announcement(m, embed),
                what=f"announce {event.stream.slug}",
                content=ping_role.mention if ping_role else None,
                embed=embed,
                view=announcement_view(event.stream.id, watch_url, locale),
                allowed_mentions=discord.AllowedMentions(
                    everyone=False, users=False, roles=[ping_role] if ping_role else False
                ),
            )
        except discord.HTTPException as error:
            await guilds.release_announcement(event.session.id, channel.guild.id)
            log.warning(
                "could not announce %s in channel %s: %s", event.stream.slug, channel.id, error
            )
            where = {"channel": channel.mention}
            if isinstance(error, discord.Forbidden):
                problem = Phrase(
                    N_(
                        "I can't post in %(channel)s: I need View Channel, Send Messages and "
                        "Embed Links there."
                    ),
                    where,
                )
                await self._problems.report(channel.guild, "announce", problem)
                return problem
            return Phrase(
                N_("Discord didn't accept the announcement in %(channel)s; it is not posted."),
                where,
            )
        await guilds.record_announcement(event.session.id, channel.guild.id, message.id)
        await self._chat_bridge.open_thread(message, event)
        return None

    def _is_announcement(self, message: discord.Message, embed: discord.Embed) -> bool:
        """The announcement an earlier, seemingly failed attempt posted after all."""
        return (
            self._client.user is not None
            and message.author.id == self._client.user.id
            and any(e.url == embed.url and e.timestamp == embed.timestamp for e in message.embeds)
        )

    async def _ping_role(self, guild: discord.Guild) -> discord.Role | None:
        role_id = (await self._services.community.roles(guild.id)).ping_role_id
        return guild.get_role(role_id) if role_id else None

    async def show_viewer_count(self, item: CountToShow) -> None:
        """Edit a live announcement to show how many are watching now."""
        if not self._services.settings.discord.owns_guild(item.guild_id):
            return  # the bot process of that guild's shard shows it
        channel = self._client.get_channel(item.channel_id)
        session = await self._services.streams.current_session(item.stream_id)
        if not isinstance(channel, discord.TextChannel) or session is None:
            return
        stream = await self._services.streams.get_by_id(item.stream_id)
        watch_url = self.watch_url(stream.slug)
        locale = await self._services.guilds.language(item.guild_id)
        embed = live_announcement(stream, session, watch_url, viewers=item.viewers, locale=locale)
        message = channel.get_partial_message(item.message_id)
        try:
            await with_retries(
                lambda: message.edit(embed=embed), what=f"show viewers of {stream.slug}"
            )
        except discord.NotFound:
            pass  # the announcement was deleted: remember the count so it isn't tried again
        except discord.HTTPException as error:
            log.warning("could not update the viewer count on %s: %s", item.message_id, error)
            return
        await self._services.community.count_shown(item.session_id, item.guild_id, item.viewers)

    async def _summarise(self, event: StreamEvent) -> None:
        watch_url = self.watch_url(event.stream.slug)
        services = self._services
        # The same numbers the studio shows the streamer at the end (core.community.summary).
        summary = await session_summary(
            event.session, services.live, services.stats, services.clock.now()
        )
        minutes = summary.duration_seconds // 60 + 1
        chart = viewers_chart(await services.live.viewer_samples(event.session.id), minutes)
        tips = (summary.tips, summary.tip_credits)
        guests = await self._services.stage.session_guests(event.session.id)
        owns_guild = self._services.settings.discord.owns_guild
        for announcement in await self._services.guilds.announcements(event.session.id):
            if not owns_guild(announcement.guild_id):
                continue
            channel = self._client.get_channel(announcement.channel_id)
            if not isinstance(channel, discord.TextChannel) or announcement.message_id is None:
                continue
            message = channel.get_partial_message(announcement.message_id)
            locale = await self._services.guilds.language(announcement.guild_id)
            embed = ended_announcement(
                event.stream,
                event.session,
                watch_url,
                summary.audience,
                CHART_FILE,
                tips,
                guests,
                locale,
            )
            page_link = link_view(t(locale, "Stream page"), watch_url)
            try:
                await with_retries(
                    functools.partial(_edit_with_chart, message, embed, chart, page_link),
                    what=f"summarise {event.stream.slug}",
                )
            except discord.HTTPException as error:
                log.warning(
                    "could not update the announcement %s: %s", announcement.message_id, error
                )


async def _edit_with_chart(
    message: discord.PartialMessage, embed: discord.Embed, chart: bytes, view: discord.ui.View
) -> None:
    # A fresh File per attempt: a retried upload must not start from an exhausted stream.
    await message.edit(
        embed=embed, attachments=[discord.File(io.BytesIO(chart), CHART_FILE)], view=view
    )
