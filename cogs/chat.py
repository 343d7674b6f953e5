"""The Discord side of the live chat: thread messages go to the watch page, deletions hide them.

Reading what members write needs the privileged **message_content** intent (enabled in
bot/app.py; switch it on in the Developer Portal too). Only messages in a live stream's chat
thread are read; everything else is ignored at once.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot.moderators import ModeratorRegistry
from core.chat import ChatAuthor
from core.kernel.errors import Forbidden, GoLiveError, RateLimited
from core.services import Services

if TYPE_CHECKING:
    from bot.app import GoLiveBot

log = logging.getLogger(__name__)


class Chat(commands.Cog):
    def __init__(self, services: Services, moderators: ModeratorRegistry) -> None:
        self.services = services
        self.moderators = moderators

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if (
            not isinstance(message.channel, discord.Thread)
            or message.author.bot
            or message.webhook_id is not None  # our own copies of page messages
            or not message.content
        ):
            return
        if await self.services.chat.thread(message.channel.id) is None:
            return
        if isinstance(message.author, discord.Member):
            await self.moderators.is_moderator(message.author)
        try:
            await self.services.chat.post_from_thread(
                message.channel.id,
                ChatAuthor(message.author.id, message.author.display_name),
                message.clean_content,
                discord_message_id=message.id,
            )
        except (Forbidden, RateLimited) as refused:
            # Banned, timed out, a link or a blocked word, too fast: the chat's rules hold on
            # both sides, so the thread loses the message too (needs Manage Messages).
            log.info("thread message %s refused: %s", message.id, refused.message)
            with contextlib.suppress(discord.HTTPException):
                await message.delete()
        except GoLiveError as refused:
            log.info("thread message %s not relayed: %s", message.id, refused.message)

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        """Deleting a bridged message in Discord hides it on the page."""
        await self.services.chat.hide_discord_message(payload.message_id)

    @commands.Cog.listener()
    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        """A purge in a chat thread hides every bridged message it removed."""
        for message_id in payload.message_ids:
            await self.services.chat.hide_discord_message(message_id)


async def setup(bot: GoLiveBot) -> None:
    await bot.add_cog(Chat(bot.services, bot.moderators))
