"""Direct messages about money: a tip to the streamer, and the streaming pass's renewals.

DMs are private, work in any guild and need no channel to configure. A closed DM is not an
error: the tip still counts and shows in /wallet, the pass's state in /wallet pass. They are
written in the servers' language (`GuildService.dm_language`): a DM answers no interaction, so
Discord does not say which language the member reads.
"""

from __future__ import annotations

import logging

import discord

from bot.embeds import GOLIVE_PURPLE, NO_MENTIONS
from core.kernel.i18n import Credits, t
from core.money import Renewal, StreamingPass, TipEvent
from core.services import Services

log = logging.getLogger(__name__)


class MoneyNotices:
    def __init__(self, client: discord.Client, services: Services) -> None:
        self._client = client
        self._services = services

    async def alert_streamer(self, event: TipEvent) -> None:
        """The streamer hears of every tip by DM."""
        tip = event.tip
        locale = await self._services.guilds.dm_language()
        embed = discord.Embed(
            title=t(
                locale,
                "💸 %(name)s tipped you %(amount)s",
                name=tip.donor_name,
                amount=Credits(tip.amount),
            ),
            description=tip.message or None,
            colour=GOLIVE_PURPLE,
            timestamp=tip.created_at,
        )
        embed.set_footer(text=t(locale, "Tip #%(id)s · see /wallet history", id=str(tip.id)))
        await self._dm(tip.streamer_id, f"tip {tip.id}", embed=embed)

    async def tell_renewal(self, renewal: Renewal) -> None:
        locale = await self._services.guilds.dm_language()
        await self._dm(
            renewal.member_id, "their pass renewal", content=_renewal_text(renewal, locale)
        )

    async def remind_renewals(self) -> None:
        """A day before a pass renews, its member is told once (claimed in the database)."""
        if self._services.passes.policy.mode != "pass":
            return
        locale = await self._services.guilds.dm_language()
        policy = self._services.passes.policy
        for due in await self._services.passes.reminders_due():
            text = _reminder_text(due, locale, policy.pass_price, policy.pass_days)
            await self._dm(due.member_id, "their pass", content=text)

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


def _reminder_text(due: StreamingPass, locale: str, price: int, days: int) -> str:
    # Discord writes "in 23 hours" in the reader's own language.
    return t(
        locale,
        "Your golive streaming pass renews %(when)s (%(price)s for %(days)s days, from your "
        "balance). Don't want that? `/wallet pass cancel`.",
        when=discord.utils.format_dt(due.paid_until, "R"),
        price=Credits(price),
        days=days,
    )


def _renewal_text(renewal: Renewal, locale: str) -> str:
    if renewal.renewed:
        return t(
            locale,
            "Your golive streaming pass was renewed until %(until)s.",
            until=discord.utils.format_dt(renewal.paid_until, "f"),
        )
    return t(
        locale,
        "Your golive streaming pass could not be renewed and has ended: %(reason)s",
        reason=renewal.reason or "",
    )
