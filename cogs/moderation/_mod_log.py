"""The guild's mod-log channel, where /mod actions are logged and /report lands."""

from __future__ import annotations

import discord

from bot.embeds import NO_MENTIONS
from core.moderation import ModerationService


async def post_to_mod_log(
    moderation: ModerationService,
    guild: discord.Guild | None,
    content: str | None = None,
    *,
    embed: discord.Embed | None = None,
    view: discord.ui.View | None = None,
) -> discord.Message | None:
    """Best effort: a line (or a report) in the guild's mod-log channel, if one is set."""
    if guild is None:
        return None
    channel_id = await moderation.mod_log_channel(guild.id)
    channel = guild.get_channel(channel_id) if channel_id else None
    if not isinstance(channel, discord.TextChannel):
        return None
    try:
        if embed is not None and view is not None:
            return await channel.send(content, embed=embed, view=view, allowed_mentions=NO_MENTIONS)
        return await channel.send(content, allowed_mentions=NO_MENTIONS)
    except discord.HTTPException:
        return None
