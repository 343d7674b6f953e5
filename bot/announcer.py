"""Posts a go-live announcement once per session per guild, and turns it into a summary on end."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from bot.embeds import ended_announcement, live_announcement
from bot.views import announcement_view, link_view
from core.streams import StreamEvent

if TYPE_CHECKING:
    from bot.app import GoLiveBot

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()


class Announcer:
    def __init__(self, bot: GoLiveBot) -> None:
        self._bot = bot
        self._services = bot.services

    def watch_url(self, slug: str) -> str:
        return f"{self._services.settings.public_url}/live/{slug}"

    async def on_stream_event(self, event: StreamEvent) -> None:
        if event.kind == "live":
            for guild_id, channel_id in (await self._services.guilds.announce_channels()).items():
                channel = self._bot.get_channel(channel_id)
                if isinstance(channel, discord.TextChannel) and channel.guild.id == guild_id:
                    await self.announce_in(channel, event)
        elif event.kind == "ended":
            await self._summarise(event)

    async def announce_in(self, channel: discord.TextChannel, event: StreamEvent) -> str | None:
        """Announce the session in `channel` unless this guild already has it. Returns a problem."""
        guilds = self._services.guilds
        if not await guilds.claim_announcement(event.session.id, channel.guild.id, channel.id):
            return None
        watch_url = self.watch_url(event.stream.slug)
        try:
            message = await channel.send(
                embed=live_announcement(event.stream, event.session, watch_url),
                view=announcement_view(event.stream.id, watch_url),
                allowed_mentions=NO_MENTIONS,
            )
        except discord.HTTPException as error:
            await guilds.release_announcement(event.session.id, channel.guild.id)
            log.warning(
                "could not announce %s in channel %s: %s", event.stream.slug, channel.id, error
            )
            if isinstance(error, discord.Forbidden):
                return f"I can't post in {channel.mention}: I need View Channel, Send Messages and Embed Links there."
            return f"Discord didn't accept the announcement in {channel.mention}; it is not posted."
        await guilds.record_announcement(event.session.id, channel.guild.id, message.id)
        return None

    async def _summarise(self, event: StreamEvent) -> None:
        watch_url = self.watch_url(event.stream.slug)
        for announcement in await self._services.guilds.announcements(event.session.id):
            channel = self._bot.get_channel(announcement.channel_id)
            if not isinstance(channel, discord.TextChannel) or announcement.message_id is None:
                continue
            try:
                await channel.get_partial_message(announcement.message_id).edit(
                    embed=ended_announcement(event.stream, event.session, watch_url),
                    view=link_view("Stream page", watch_url),
                )
            except discord.HTTPException as error:
                log.warning(
                    "could not update the announcement %s: %s", announcement.message_id, error
                )
