"""/vods: a streamer's past streams that were recorded, with their length and a link."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import GoLiveBot
from bot.obs_embeds import vods_embed

Interaction = discord.Interaction[GoLiveBot]


class Vods(commands.Cog):
    def __init__(self, bot: GoLiveBot) -> None:
        self.bot = bot
        self.services = bot.services

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


async def setup(bot: GoLiveBot) -> None:
    await bot.add_cog(Vods(bot))
