"""/follow, /unfollow, /following, /notifications: hear when the streamers you like go live."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.embeds import GOLIVE_PURPLE
from bot.i18n import locale_of, tr
from core.community import FollowService
from core.kernel.i18n import N_, t, tn

if TYPE_CHECKING:
    from bot.app import GoLiveBot

Interaction = discord.Interaction["GoLiveBot"]

FOLLOWING_SHOWN = 25


class Follows(commands.Cog):
    """Following streamers and go-live DMs."""

    def __init__(self, bot: GoLiveBot, follows: FollowService) -> None:
        self.bot = bot
        self.follows = follows

    @app_commands.command(name="follow")
    @app_commands.describe(member="The streamer you want to hear from when they go live")
    async def follow(self, interaction: Interaction, member: discord.User) -> None:
        """Follow a streamer: golive sends you a DM when they go live."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        stream, added = await self.follows.follow(interaction.user.id, member.id)
        name = stream.owner_name
        if not added:
            text = tr(interaction, "You already follow **%(name)s**.", name=name)
        elif await self.follows.dms_enabled(interaction.user.id):
            text = tr(
                interaction,
                "You follow **%(name)s** now: I'll DM you when they go live.",
                name=name,
            )
        else:
            text = tr(
                interaction,
                "You follow **%(name)s** now. Your go-live DMs are off; "
                "turn them on with `/notifications dms:True`.",
                name=name,
            )
        await interaction.followup.send(text, ephemeral=True)

    @app_commands.command(name="unfollow")
    @app_commands.describe(member="The streamer you no longer want DMs about")
    async def unfollow(self, interaction: Interaction, member: discord.User) -> None:
        """Stop following a streamer."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        removed = await self.follows.unfollow(interaction.user.id, member.id)
        text = (
            N_("You no longer follow **%(name)s**.")
            if removed
            else N_("You weren't following **%(name)s**.")
        )
        await interaction.followup.send(
            tr(interaction, text, name=member.display_name), ephemeral=True
        )

    @app_commands.command(name="following")
    async def following(self, interaction: Interaction) -> None:
        """The streamers you follow, and who of them is live now."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        streams = await self.follows.following(interaction.user.id)
        if not streams:
            await interaction.followup.send(
                tr(
                    interaction,
                    "You don't follow anyone yet. Try `/follow` with a streamer's name.",
                ),
                ephemeral=True,
            )
            return
        locale = locale_of(interaction)
        lines = [
            f"{'🔴' if s.active else '⚫'} [{s.owner_name}]({self.bot.watch_url(s.slug)}) · {s.title}"
            for s in streams[:FOLLOWING_SHOWN]
        ]
        if len(streams) > FOLLOWING_SHOWN:
            more = len(streams) - FOLLOWING_SHOWN
            lines.append(tn(locale, "… and %(n)s more", "… and %(n)s more", more))
        embed = discord.Embed(
            title=tn(
                locale, "You follow %(n)s streamer", "You follow %(n)s streamers", len(streams)
            ),
            description="\n".join(lines),
            colour=GOLIVE_PURPLE,
        )
        dms = await self.follows.dms_enabled(interaction.user.id)
        embed.set_footer(
            text=t(locale, "Go-live DMs are on · /notifications")
            if dms
            else t(locale, "Go-live DMs are off · /notifications")
        )
        await interaction.followup.send(embed=embed, ephemeral=True)

    @app_commands.command(name="notifications")
    @app_commands.describe(dms="Whether golive DMs you when someone you follow goes live")
    async def notifications(self, interaction: Interaction, dms: bool) -> None:
        """Turn go-live DMs from streamers you follow on or off."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self.follows.set_dms(interaction.user.id, dms)
        text = (
            N_("Go-live DMs are on.")
            if dms
            else N_(
                "Go-live DMs are off. You still follow everyone; `/following` shows who is live."
            )
        )
        await interaction.followup.send(tr(interaction, text), ephemeral=True)


async def setup(bot: GoLiveBot) -> None:
    await bot.add_cog(Follows(bot, bot.services.follows))
