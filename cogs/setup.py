"""/setup: per-guild settings, for members with Manage Server."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import GoLiveBot

Interaction = discord.Interaction[GoLiveBot]

ANNOUNCE_NEEDS = ("view_channel", "send_messages", "embed_links")


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class Setup(commands.GroupCog, group_name="setup"):
    """Server settings for golive."""

    def __init__(self, bot: GoLiveBot) -> None:
        self.bot = bot
        super().__init__()

    @app_commands.command(name="announce-channel")
    @app_commands.describe(channel="Where go-live announcements are posted")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def announce_channel(
        self, interaction: Interaction, channel: discord.TextChannel
    ) -> None:
        """Choose the channel where golive announces streams that go live."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        missing = [
            name.replace("_", " ").title()
            for name in ANNOUNCE_NEEDS
            if not getattr(channel.permissions_for(channel.guild.me), name)
        ]
        if missing:
            await interaction.followup.send(
                f"I can't post in {channel.mention} yet: I need **{', '.join(missing)}** there. "
                "Give me those permissions and run this again. Nothing was changed.",
                ephemeral=True,
            )
            return
        assert interaction.guild_id is not None  # noqa: S101 - guild_only
        await self.bot.services.guilds.set_announce_channel(interaction.guild_id, channel.id)
        await interaction.followup.send(
            f"Go-live announcements will be posted in {channel.mention}.", ephemeral=True
        )


async def setup(bot: GoLiveBot) -> None:
    await bot.add_cog(Setup(bot))
