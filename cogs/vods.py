"""/vods: a streamer's past streams that were recorded, with their length and a link."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.embeds import GOLIVE_PURPLE, OFFLINE_GREY
from core.kernel.timefmt import human_duration
from core.live import Recording
from core.services import Services
from core.streams import Stream

if TYPE_CHECKING:
    from bot.app import GoLiveBot

Interaction = discord.Interaction["GoLiveBot"]


class Vods(commands.Cog):
    def __init__(self, bot: GoLiveBot, services: Services) -> None:
        self.bot = bot
        self.services = services

    @app_commands.command(name="vods")
    @app_commands.describe(member="Whose past streams to list (yours if left empty)")
    async def vods(self, interaction: Interaction, member: discord.User | None = None) -> None:
        """Watch past streams: the recorded streams of a member."""
        who = member or interaction.user
        mine = who.id == interaction.user.id
        # Your own list may show why a stream wasn't recorded: only you see it then.
        await interaction.response.defer(ephemeral=mine, thinking=True)
        stream = await self.services.streams.find_by_owner(who.id)
        if stream is None:
            await interaction.followup.send(
                "You have no stream page yet. Create one with `/stream create`."
                if mine
                else f"{who.display_name} has no stream page yet.",
                ephemeral=mine,
            )
            return
        recording = self.services.recording
        vods = await recording.list_vods(stream.id)
        failures = await recording.failures(stream.id) if mine else []
        embed = vods_embed(stream, vods, failures, self.bot.watch_url(stream.slug))
        await interaction.followup.send(embed=embed, ephemeral=mine)


def vods_embed(
    stream: Stream, vods: list[Recording], failures: list[Recording], watch_url: str
) -> discord.Embed:
    """Past streams with a recording; failures only when the owner asks (they pass them)."""
    embed = discord.Embed(
        title=f"Past streams of {stream.owner_name}",
        url=watch_url,
        colour=GOLIVE_PURPLE if vods else OFFLINE_GREY,
    )
    if not vods:
        embed.description = "No recorded streams yet."
    lines = []
    for vod in vods:
        when = discord.utils.format_dt(vod.started_at, "f")
        length = human_duration(vod.duration_seconds or 0)
        link = f"[Watch]({vod.link})" if vod.link else "no link (ask an admin where files go)"
        lines.append(f"{when} · **{length}** · {link}")
    if lines:
        embed.description = "\n".join(lines)
    for failure in failures:
        embed.add_field(
            name=f"⚠️ Not recorded: {failure.started_at:%d %b %Y, %H:%M} UTC",
            value=(failure.error or "The recording failed.")[:1024],
            inline=False,
        )
    embed.set_footer(text=f"golive · {stream.slug}")
    return embed


async def setup(bot: GoLiveBot) -> None:
    await bot.add_cog(Vods(bot, bot.services))
