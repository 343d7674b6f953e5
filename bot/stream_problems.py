"""Tells a streamer by DM when their stream couldn't do what they asked: OBS connected but
golive couldn't take them live, or the recording they wanted was refused."""

from __future__ import annotations

import logging

import discord

from core.live import ObsProblem, RecordingRefused

log = logging.getLogger(__name__)


class StreamProblemNotifier:
    def __init__(self, client: discord.Client) -> None:
        self._client = client

    async def on_obs_problem(self, event: ObsProblem) -> None:
        await self._dm(
            event.owner_id,
            "OBS connected, but I couldn't take your stream live: "
            f"{event.problem}\nStop streaming in OBS, fix this, then start again.",
        )

    async def on_recording_refused(self, event: RecordingRefused) -> None:
        await self._dm(
            event.owner_id,
            f"You're live, but this stream is not being recorded: {event.problem}",
        )

    async def _dm(self, user_id: int, text: str) -> None:
        try:
            user = self._client.get_user(user_id) or await self._client.fetch_user(user_id)
            await user.send(text)
        except discord.HTTPException:
            log.info("could not DM user %s about their stream", user_id)
