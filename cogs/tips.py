"""/tip a streamer and /tips top leaderboards (the streamer's DM: bot/money_notices.py)."""

from __future__ import annotations

import logging
from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import GoLiveBot
from bot.embeds import GOLIVE_PURPLE
from bot.members import identity_of
from bot.tip_views import NO_MENTIONS, tip_sent_text
from core.money import Standing, credits_text

log = logging.getLogger(__name__)

Interaction = discord.Interaction[GoLiveBot]
PERIOD_NAMES = {"week": "this week", "all": "all time"}


class Tips(commands.Cog):
    """Tipping streamers with credits."""

    tips_group = app_commands.Group(name="tips", description="Tip leaderboards.")

    def __init__(self, bot: GoLiveBot) -> None:
        self.bot = bot
        self.services = bot.services

    @app_commands.command(name="tip")
    @app_commands.describe(
        member="The streamer to tip",
        amount="How many credits to give",
        message="A short message shown to the streamer and on stream (links are removed)",
    )
    async def tip(
        self,
        interaction: Interaction,
        member: discord.User,
        amount: app_commands.Range[int, 1, 1_000_000_000],
        message: app_commands.Range[str, 0, 500] = "",
    ) -> None:
        """Tip a streamer from your wallet."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        outcome = await self.services.tips.tip_member(
            identity_of(interaction.user),
            member.id,
            amount,
            message,
            f"discord:{interaction.id}",
        )
        await interaction.followup.send(
            tip_sent_text(outcome), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    @tips_group.command(name="top")
    @app_commands.describe(
        period="This week or all time",
        streamer="Only tips to this streamer (the whole community if left empty)",
    )
    async def top(
        self,
        interaction: Interaction,
        period: Literal["week", "all"] = "week",
        streamer: discord.User | None = None,
    ) -> None:
        """Who tipped the most, and who received the most."""
        await interaction.response.defer(thinking=True)
        tips = self.services.tips
        when = PERIOD_NAMES[period]
        if streamer is not None:
            embed = discord.Embed(
                title=f"Top tippers of {streamer.display_name}, {when}", colour=GOLIVE_PURPLE
            )
            embed.description = _board(await tips.top_donors(period, streamer.id))
        else:
            embed = discord.Embed(title=f"Tips, {when}", colour=GOLIVE_PURPLE)
            embed.add_field(name="Top tippers", value=_board(await tips.top_donors(period)))
            embed.add_field(name="Top streamers", value=_board(await tips.top_streamers(period)))
        await interaction.followup.send(embed=embed, allowed_mentions=NO_MENTIONS)


def _board(standings: list[Standing]) -> str:
    if not standings:
        return "No tips yet."
    medals = ["🥇", "🥈", "🥉"]
    return "\n".join(
        f"{medals[i] if i < 3 else f'{i + 1}.'} **{discord.utils.escape_markdown(s.name)}** · "
        f"{credits_text(s.total)} ({s.count} tip{'s' if s.count != 1 else ''})"
        for i, s in enumerate(standings)
    )


async def setup(bot: GoLiveBot) -> None:
    await bot.add_cog(Tips(bot))
