"""Moderation: the /mod command group (_cog.py), and /report with the buttons under a report in
the mod-log channel (_reports.py); both post to the mod-log channel (_mod_log.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.moderation._cog import Moderation
from cogs.moderation._reports import Reports

if TYPE_CHECKING:
    from bot.app import GoLiveBot


async def setup(bot: GoLiveBot) -> None:
    await bot.add_cog(Moderation(bot, bot.services, bot.moderators))
    await bot.add_cog(Reports(bot, bot.services))
