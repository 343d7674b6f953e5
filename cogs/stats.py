"""/stats: a streamer's numbers, and the community's most active streamers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.embeds import GOLIVE_PURPLE
from core.community import StatsService, StreamerStats
from core.kernel.timefmt import human_duration
from core.stage import StageService

if TYPE_CHECKING:
    from bot.app import GoLiveBot

Interaction = discord.Interaction["GoLiveBot"]

TOP_SHOWN = 10


class Stats(commands.GroupCog, group_name="stats"):
    """Streaming statistics."""

    def __init__(self, stats: StatsService, stage: StageService) -> None:
        self.stats = stats
        self.stage = stage
        super().__init__()

    @app_commands.command(name="member")
    @app_commands.describe(member="Whose numbers to show (yours if left empty)")
    async def member(self, interaction: Interaction, member: discord.User | None = None) -> None:
        """A streamer's streams, hours live, viewers, followers and time on others' stages."""
        who = member or interaction.user
        stats = await self.stats.for_member(who.id)
        on_stage = await self.stage.time_on_stage(who.id)
        # Deferred once the answer is known: "no page yet" only concerns the caller.
        await interaction.response.defer(ephemeral=stats is None, thinking=True)
        if stats is None:
            mine = who.id == interaction.user.id
            text = (
                "You have no stream page yet. Create one with `/stream create`."
                if mine
                else f"{who.display_name} has no stream page yet."
            )
            if on_stage[0]:
                text += f"\nOn stage as a guest: {stage_text(on_stage)}."
            await interaction.followup.send(text, ephemeral=True)
            return
        await interaction.followup.send(embed=member_card(stats, on_stage))

    @app_commands.command(name="top")
    async def top(self, interaction: Interaction) -> None:
        """The community's streamers with the most hours live."""
        top = await self.stats.top(TOP_SHOWN)
        await interaction.response.defer(ephemeral=not top, thinking=True)
        if not top:
            await interaction.followup.send(
                "Nobody has streamed yet. Be the first: `/stream golive`.", ephemeral=True
            )
            return
        lines = [
            f"**{rank}.** {s.owner_name} · {human_duration(s.seconds_live)} live · "
            f"peak {s.peak_viewers} · {s.followers} follower{'s' if s.followers != 1 else ''}"
            for rank, s in enumerate(top, start=1)
        ]
        embed = discord.Embed(
            title="Top streamers", description="\n".join(lines), colour=GOLIVE_PURPLE
        )
        await interaction.followup.send(embed=embed)


def stage_text(on_stage: tuple[int, int]) -> str:
    streams, seconds = on_stage
    return f"{human_duration(seconds)} in {streams} stream{'s' * (streams != 1)}"


def member_card(stats: StreamerStats, on_stage: tuple[int, int] = (0, 0)) -> discord.Embed:
    embed = discord.Embed(title=f"{stats.owner_name}'s streams", colour=GOLIVE_PURPLE)
    embed.add_field(name="Streams", value=str(stats.streams))
    embed.add_field(name="Time live", value=human_duration(stats.seconds_live))
    embed.add_field(name="Average viewers", value=f"{stats.average_viewers:.1f}")
    embed.add_field(name="Peak viewers", value=str(stats.peak_viewers))
    embed.add_field(name="Followers", value=str(stats.followers))
    if on_stage[0]:
        embed.add_field(name="On stage as a guest", value=stage_text(on_stage))
    return embed


async def setup(bot: GoLiveBot) -> None:
    await bot.add_cog(Stats(bot.services.stats, bot.services.stage))
