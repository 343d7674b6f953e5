"""Tells a streamer by DM when their stream couldn't do what they asked: OBS connected but
golive couldn't take them live, or the recording they wanted was refused. In the servers'
language (`GuildService.dm_language`: a DM answers no interaction that would name the member's)."""

from __future__ import annotations

import logging

import discord

from core.community import GuildService
from core.kernel import i18n
from core.live import ObsProblem, RecordingRefused

log = logging.getLogger(__name__)


class StreamProblemNotifier:
    def __init__(self, client: discord.Client, guilds: GuildService) -> None:
        self._client = client
        self._guilds = guilds

    async def on_obs_problem(self, event: ObsProblem) -> None:
        locale = await self._guilds.dm_language()
        await self._dm(
            event.owner_id,
            i18n.t(
                locale,
                "OBS connected, but I couldn't take your stream live: %(problem)s\n"
                "Stop streaming in OBS, fix this, then start again.",
                problem=i18n.gettext(locale, event.problem),
            ),
        )

    async def on_recording_refused(self, event: RecordingRefused) -> None:
        locale = await self._guilds.dm_language()
        await self._dm(
            event.owner_id,
            i18n.t(
                locale,
                "You're live, but this stream is not being recorded: %(problem)s",
                problem=i18n.gettext(locale, event.problem),
            ),
        )

    async def _dm(self, user_id: int, text: str) -> None:
        try:
            user = self._client.get_user(user_id) or await self._client.fetch_user(user_id)
            await user.send(text)
        except discord.HTTPException:
            log.info("could not DM user %s about their stream", user_id)
