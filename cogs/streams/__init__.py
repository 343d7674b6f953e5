"""/stream: your stream page, going live, the studio, OBS, recording, health and search, with the
Watch button (on announcements and search results) and the search's page buttons.

_cog.py holds the command group and the page form, _search.py the search and its page buttons,
_watch.py the Watch button, _embeds.py how OBS settings, recording and health look.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cogs.streams._cog import Streams

if TYPE_CHECKING:
    from bot.app import GoLiveBot


async def setup(bot: GoLiveBot) -> None:
    await bot.add_cog(Streams(bot, bot.services, bot.announcer))
