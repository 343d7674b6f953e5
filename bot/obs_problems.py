"""Tells a streamer by DM when OBS connected but golive couldn't take them live."""

from __future__ import annotations

import logging

import discord

from core.live import ObsProblem

log = logging.getLogger(__name__)


class ObsProblemNotifier:
    def __init__(self, client: discord.Client) -> None:
        self._client = client

    async def on_problem(self, event: ObsProblem) -> None:
        owner_id, problem = event.owner_id, event.problem
        try:
            user = self._client.get_user(owner_id) or await self._client.fetch_user(owner_id)
            await user.send(
                "OBS connected, but I couldn't take your stream live: "
                f"{problem}\nStop streaming in OBS, fix this, then start again."
            )
        except discord.HTTPException:
            log.info("could not DM user %s about their OBS stream", owner_id)
