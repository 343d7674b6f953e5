"""/report, the report as it lands in the mod-log channel, and the buttons under it: dismiss, end
the stream, ban. They keep working after a restart because the report id and the action live in
the custom_id."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.i18n import tr
from bot.ui import GoLiveDynamicItem, GoLiveView
from cogs.moderation._mod_log import post_to_mod_log
from core.kernel import i18n
from core.kernel.errors import Conflict
from core.kernel.i18n import N_, Phrase, t
from core.moderation import REPORT_REASON_MAX, Report
from core.services import Services

if TYPE_CHECKING:
    from bot.app import GoLiveBot

Interaction = discord.Interaction["GoLiveBot"]

Action = Literal["dismiss", "end", "ban"]
REPORT_ORANGE = discord.Colour.from_rgb(242, 153, 74)
HANDLED_GREY = discord.Colour.from_rgb(88, 101, 120)
OUTCOME_WORDS = {
    "dismissed": N_("Dismissed"),
    "ended": N_("Stream ended"),
    "banned": N_("Banned from chat and streaming"),
}
# What a moderator's click did, as the clicker is told.
OUTCOME_DONE = {
    "dismissed": N_("Report #%(id)s: dismissed."),
    "ended": N_("Report #%(id)s: their stream is ended."),
    "banned": N_("Report #%(id)s: banned from chat and streaming."),
}

_LOOK: dict[str, tuple[str, discord.ButtonStyle]] = {
    "dismiss": (N_("Dismiss"), discord.ButtonStyle.secondary),
    "end": (N_("End their stream"), discord.ButtonStyle.primary),
    "ban": (N_("Ban"), discord.ButtonStyle.danger),
}


def report_embed(report: Report, locale: str = i18n.DEFAULT) -> discord.Embed:
    """A report as the mod-log channel shows it, in the server's language."""
    embed = discord.Embed(
        title=t(locale, "Report #%(id)s", id=str(report.id)),
        description=report.reason,
        colour=REPORT_ORANGE if report.status == "open" else HANDLED_GREY,
        timestamp=report.created_at,
    )
    embed.add_field(name=t(locale, "Member"), value=f"<@{report.member_id}>")
    embed.add_field(name=t(locale, "Reported by"), value=f"<@{report.reporter_id}>")
    if report.status != "open" and report.outcome:
        outcome = OUTCOME_WORDS.get(report.outcome, report.outcome)
        moderator = f"<@{report.handled_by}>"
        embed.add_field(
            name=t(locale, "Handled"),
            value=t(
                locale,
                "%(outcome)s by %(moderator)s",
                outcome=Phrase(outcome),
                moderator=moderator,
            ),
            inline=False,
        )
    return embed


def report_view(report_id: int, locale: str = i18n.DEFAULT) -> discord.ui.View:
    view = GoLiveView(timeout=None)
    actions: tuple[Action, ...] = ("dismiss", "end", "ban")
    for action in actions:
        view.add_item(ReportButton(report_id, action, locale))
    return view


class ReportButton(
    GoLiveDynamicItem[discord.ui.Button[discord.ui.View]],
    template=r"golive:report:(?P<action>dismiss|end|ban):(?P<report_id>\d+)",
):
    def __init__(self, report_id: int, action: Action, locale: str = i18n.DEFAULT) -> None:
        label, style = _LOOK[action]
        super().__init__(
            discord.ui.Button(
                label=t(locale, label), style=style, custom_id=f"golive:report:{action}:{report_id}"
            )
        )
        self.report_id = report_id
        self.action: Action = action

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> ReportButton:
        return cls(int(match["report_id"]), match["action"])  # type: ignore[arg-type]

    async def clicked(self, interaction: Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        bot = interaction.client
        moderator = await bot.moderators.require(interaction)
        moderation = bot.services.moderation
        report = await moderation.get_report(self.report_id)
        if report.status != "open":
            await interaction.followup.send(
                tr(interaction, "This report has already been handled."), ephemeral=True
            )
            return
        if self.action == "end":
            await moderation.end_stream(
                moderator_id=moderator.id, owner_id=report.member_id, reason=f"report #{report.id}"
            )
            outcome = "ended"
        elif self.action == "ban":
            await moderation.ban(
                moderator_id=moderator.id,
                user_id=report.member_id,
                scope="both",
                duration=None,
                reason=f"report #{report.id}: {report.reason[:200]}",
            )
            outcome = "banned"
        else:
            outcome = "dismissed"
        report = await moderation.close_report(
            report_id=report.id,
            moderator_id=moderator.id,
            outcome=outcome,  # type: ignore[arg-type]
        )
        if interaction.message is not None:
            server = await bot.services.guilds.language(interaction.guild_id)
            await interaction.message.edit(embed=report_embed(report, server), view=None)
        await interaction.followup.send(
            tr(interaction, OUTCOME_DONE[outcome], id=str(report.id)), ephemeral=True
        )


class Reports(commands.Cog):
    def __init__(self, bot: GoLiveBot, services: Services) -> None:
        self.bot = bot
        self.services = services

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(ReportButton)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(ReportButton)

    @app_commands.command(name="report")
    @app_commands.guild_only()
    @app_commands.describe(member="Who you are reporting", reason="What happened")
    async def report(
        self,
        interaction: Interaction,
        member: discord.User,
        reason: app_commands.Range[str, 1, REPORT_REASON_MAX],
    ) -> None:
        """Tell the moderators about a member who breaks the rules (privately)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        guild = interaction.guild
        assert guild is not None  # noqa: S101 - guild_only
        if await self.services.moderation.mod_log_channel(guild.id) is None:
            raise Conflict(
                "This server has no mod-log channel yet, so nobody would see your report. "
                "Ask an admin to run `/setup mod-log`."
            )
        report = await self.services.moderation.file_report(
            guild_id=guild.id, reporter_id=interaction.user.id, member_id=member.id, reason=reason
        )
        # The mod-log channel is read by every moderator: the server's language.
        server = await self.services.guilds.language(guild.id)
        posted = await post_to_mod_log(
            self.services.moderation,
            guild,
            embed=report_embed(report, server),
            view=report_view(report.id, server),
        )
        if posted is None:
            await self.services.moderation.withdraw_report(report.id)
            raise Conflict(
                "I couldn't post in the mod-log channel; your report was not sent. "
                "Please tell a moderator directly."
            )
        await interaction.followup.send(
            tr(interaction, "Thanks — the moderators have your report. Only they can see it."),
            ephemeral=True,
        )
