"""/stats: a streamer's numbers, and the community's most active streamers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.embeds import GOLIVE_PURPLE
from bot.i18n import locale_of, tr
from core.community import StatsService, StreamerStats
from core.kernel import i18n
from core.kernel.i18n import Duration, duration_in, t, tn
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
        locale = locale_of(interaction)
        if stats is None:
            mine = who.id == interaction.user.id
            text = (
                t(locale, "You have no stream page yet. Create one with `/stream create`.")
                if mine
                else t(locale, "%(name)s has no stream page yet.", name=who.display_name)
            )
            if on_stage[0]:
                text += "\n" + t(
                    locale, "On stage as a guest: %(time)s.", time=stage_text(on_stage, locale)
                )
            await interaction.followup.send(text, ephemeral=True)
            return
        await interaction.followup.send(embed=member_card(stats, on_stage, locale))

    @app_commands.command(name="top")
    async def top(self, interaction: Interaction) -> None:
        """The community's streamers with the most hours live."""
        top = await self.stats.top(TOP_SHOWN)
        await interaction.response.defer(ephemeral=not top, thinking=True)
        if not top:
            await interaction.followup.send(
                tr(interaction, "Nobody has streamed yet. Be the first: `/stream golive`."),
                ephemeral=True,
            )
            return
        locale = locale_of(interaction)
        lines = [
            f"**{rank}.** {s.owner_name} · "
            + t(
                locale,
                "%(time)s live · peak %(peak)s",
                time=Duration(s.seconds_live),
                peak=s.peak_viewers,
            )
            + " · "
            + tn(locale, "%(n)s follower", "%(n)s followers", s.followers)
            for rank, s in enumerate(top, start=1)
        ]
        embed = discord.Embed(
            title=t(locale, "Top streamers"), description="\n".join(lines), colour=GOLIVE_PURPLE
        )
        await interaction.followup.send(embed=embed)


def stage_text(on_stage: tuple[int, int], locale: str = i18n.DEFAULT) -> str:
    streams, seconds = on_stage
    return tn(
        locale,
        "%(time)s in %(n)s stream",
        "%(time)s in %(n)s streams",
        streams,
        time=Duration(seconds),
    )


def member_card(
    stats: StreamerStats, on_stage: tuple[int, int] = (0, 0), locale: str = i18n.DEFAULT
) -> discord.Embed:
    def number(value: float, digits: str = "#,##0") -> str:
        return i18n.decimal_in(locale, value, digits)

    embed = discord.Embed(
        title=t(locale, "%(name)s's streams", name=stats.owner_name), colour=GOLIVE_PURPLE
    )
    embed.add_field(name=t(locale, "Streams"), value=number(stats.streams))
    embed.add_field(name=t(locale, "Time live"), value=duration_in(locale, stats.seconds_live))
    embed.add_field(
        name=t(locale, "Average viewers"), value=number(stats.average_viewers, "#,##0.0")
    )
    embed.add_field(name=t(locale, "Peak viewers"), value=number(stats.peak_viewers))
    embed.add_field(name=t(locale, "Followers"), value=number(stats.followers))
    if on_stage[0]:
        embed.add_field(name=t(locale, "On stage as a guest"), value=stage_text(on_stage, locale))
    return embed


async def setup(bot: GoLiveBot) -> None:
    await bot.add_cog(Stats(bot.services.stats, bot.services.stage))
