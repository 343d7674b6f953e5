"""Problems in a guild that only its admin can fix (a permission lost after setup, say).

Told once: remembered for `golive check`, and sent by DM to whoever set golive up there.
"""

from __future__ import annotations

import logging

import discord

from bot.embeds import NO_MENTIONS
from core.community import CommunityService, GuildService
from core.kernel.i18n import Phrase, t

log = logging.getLogger(__name__)


class AdminProblems:
    def __init__(
        self, client: discord.Client, community: CommunityService, guilds: GuildService
    ) -> None:
        self._client = client
        self._community = community
        self._guilds = guilds

    async def report(self, guild: discord.Guild, what: str, detail: Phrase) -> None:
        """Remember a problem for `golive check` (in English, for the operator) and tell whoever
        set golive up here, once, in the server's language."""
        if not await self._community.report_problem(guild.id, what, str(detail)):
            return
        admin_id = (await self._community.roles(guild.id)).configured_by
        if admin_id is None:
            return
        try:
            admin = self._client.get_user(admin_id) or await self._client.fetch_user(admin_id)
            locale = await self._guilds.language(guild.id)
            text = t(
                locale,
                "golive has a problem in **%(server)s**: %(detail)s",
                server=guild.name,
                detail=detail,
            )
            await admin.send(text, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as error:
            log.warning("could not tell the admin of %s about %s: %s", guild.id, what, error)
