"""/tip a streamer, /tips top leaderboards, and the streamer's tip alert (a DM)."""

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
from core.money import Standing, TipEvent, credits_text

log = logging.getLogger(__name__)

Interaction = discord.Interaction[GoLiveBot]
PERIOD_NAMES = {"week": "this week", "all": "all time"}


class Tips(commands.Cog):
    """Tipping streamers with credits."""

    tips_group = app_commands.Group(name="tips", description="Tip leaderboards.")

    def __init__(self, bot: GoLiveBot) -> None:
        self.bot = bot
        self.services = bot.services

    async def cog_load(self) -> None:
        self.services.tips.subscribe(self.alert_streamer)

    async def cog_unload(self) -> None:
        self.services.tips.unsubscribe(self.alert_streamer)

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

    async def alert_streamer(self, event: TipEvent) -> None:
        """The streamer hears of every tip by DM: private, in any guild, no channel to configure."""
        tip = event.tip
        embed = discord.Embed(
            title=f"💸 {tip.donor_name} tipped you {credits_text(tip.amount)}",
            description=tip.message or None,
            colour=GOLIVE_PURPLE,
            timestamp=tip.created_at,
        )
        embed.set_footer(text=f"Tip #{tip.id} · see /wallet history")
        try:
            user = self.bot.get_user(tip.streamer_id) or await self.bot.fetch_user(tip.streamer_id)
            await user.send(embed=embed, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as error:
            # Closed DMs: the tip still counts and shows in /wallet; nothing else to do.
            log.info("could not DM tip %s to %s: %s", tip.id, tip.streamer_id, error)


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
