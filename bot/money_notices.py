"""Direct messages about money: a tip to the streamer, and the streaming pass's renewals.

DMs are private, work in any guild and need no channel to configure. A closed DM is not an
error: the tip still counts and shows in /wallet, the pass's state in /wallet pass.
"""

from __future__ import annotations

import logging

import discord

from bot.embeds import GOLIVE_PURPLE, NO_MENTIONS
from core.money import Renewal, StreamingPass, TipEvent, credits_text
from core.services import Services

log = logging.getLogger(__name__)


class MoneyNotices:
    def __init__(self, client: discord.Client, services: Services) -> None:
        self._client = client
        self._services = services

    async def alert_streamer(self, event: TipEvent) -> None:
        """The streamer hears of every tip by DM."""
        tip = event.tip
        embed = discord.Embed(
            title=f"💸 {tip.donor_name} tipped you {credits_text(tip.amount)}",
            description=tip.message or None,
            colour=GOLIVE_PURPLE,
            timestamp=tip.created_at,
        )
        embed.set_footer(text=f"Tip #{tip.id} · see /wallet history")
        await self._dm(tip.streamer_id, f"tip {tip.id}", embed=embed)

    async def tell_renewal(self, renewal: Renewal) -> None:
        await self._dm(renewal.member_id, "their pass renewal", content=_renewal_text(renewal))

    async def remind_renewals(self) -> None:
        """A day before a pass renews, its member is told once (claimed in the database)."""
        if self._services.passes.policy.mode != "pass":
            return
        for due in await self._services.passes.reminders_due():
            await self._dm(due.member_id, "their pass", content=_reminder_text(due, self._price()))

    def _price(self) -> str:
        policy = self._services.passes.policy
        return f"{credits_text(policy.pass_price)} for {policy.pass_days} days"

    async def _dm(
        self,
        user_id: int,
        about: str,
        *,
        content: str | None = None,
        embed: discord.Embed | None = None,
    ) -> None:
        try:
            user = self._client.get_user(user_id) or await self._client.fetch_user(user_id)
            if embed is not None:
                await user.send(content, embed=embed, allowed_mentions=NO_MENTIONS)
            else:
                await user.send(content, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as error:
            log.info("could not DM %s about %s: %s", user_id, about, error)


def _reminder_text(due: StreamingPass, price: str) -> str:
    return (
        f"Your golive streaming pass renews {discord.utils.format_dt(due.paid_until, 'R')} "
        f"({price}, from your balance). Don't want that? `/wallet pass cancel`."
    )


def _renewal_text(renewal: Renewal) -> str:
    if renewal.renewed:
        return (
            "Your golive streaming pass was renewed until "
            f"{discord.utils.format_dt(renewal.paid_until, 'f')}."
        )
    return f"Your golive streaming pass could not be renewed and has ended: {renewal.reason}"
