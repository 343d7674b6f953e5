"""The buttons under a report in the mod-log channel: dismiss, end the stream, ban. They keep
working after a restart because the report id and the action live in the custom_id."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Literal

import discord

from bot.tree import reply_with_error
from core.moderation import Report

if TYPE_CHECKING:
    from bot.app import GoLiveBot

Action = Literal["dismiss", "end", "ban"]
REPORT_ORANGE = discord.Colour.from_rgb(242, 153, 74)
HANDLED_GREY = discord.Colour.from_rgb(88, 101, 120)
OUTCOME_WORDS = {
    "dismissed": "Dismissed",
    "ended": "Stream ended",
    "banned": "Banned from chat and streaming",
}

_LOOK: dict[str, tuple[str, discord.ButtonStyle]] = {
    "dismiss": ("Dismiss", discord.ButtonStyle.secondary),
    "end": ("End their stream", discord.ButtonStyle.primary),
    "ban": ("Ban", discord.ButtonStyle.danger),
}


def report_embed(report: Report) -> discord.Embed:
    embed = discord.Embed(
        title=f"Report #{report.id}",
        description=report.reason,
        colour=REPORT_ORANGE if report.status == "open" else HANDLED_GREY,
        timestamp=report.created_at,
    )
    embed.add_field(name="Member", value=f"<@{report.member_id}>")
    embed.add_field(name="Reported by", value=f"<@{report.reporter_id}>")
    if report.status != "open" and report.outcome:
        embed.add_field(
            name="Handled",
            value=f"{OUTCOME_WORDS.get(report.outcome, report.outcome)} by <@{report.handled_by}>",
            inline=False,
        )
    return embed


def report_view(report_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    actions: tuple[Action, ...] = ("dismiss", "end", "ban")
    for action in actions:
        view.add_item(ReportButton(report_id, action))
    return view


class ReportButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=r"golive:report:(?P<action>dismiss|end|ban):(?P<report_id>\d+)",
):
    def __init__(self, report_id: int, action: Action) -> None:
        label, style = _LOOK[action]
        super().__init__(
            discord.ui.Button(
                label=label, style=style, custom_id=f"golive:report:{action}:{report_id}"
            )
        )
        self.report_id = report_id
        self.action: Action = action

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> ReportButton:
        return cls(int(match["report_id"]), match["action"])  # type: ignore[arg-type]

    async def callback(self, interaction: discord.Interaction[GoLiveBot]) -> None:  # type: ignore[override]
        try:
            await self._handle(interaction)
        except Exception as error:
            await reply_with_error(interaction, error)

    async def _handle(self, interaction: discord.Interaction[GoLiveBot]) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        bot = interaction.client
        moderator = await bot.moderators.require(interaction)
        moderation = bot.services.moderation
        report = await moderation.get_report(self.report_id)
        if report.status != "open":
            await interaction.followup.send("This report has already been handled.", ephemeral=True)
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
            await interaction.message.edit(embed=report_embed(report), view=None)
        await interaction.followup.send(
            f"Report #{report.id}: {OUTCOME_WORDS[outcome].lower()}.", ephemeral=True
        )
