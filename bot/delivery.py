"""Talking to Discord when Discord is having a bad minute: 429s and 5xx are retried with backoff.

discord.py already retries some of these inside one request; what still escapes is retried
here, a few times, with growing pauses. A message create that failed with a 5xx may still have
been stored by Discord, so before posting again we look at the channel's latest messages for it:
a retry never posts a second copy.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import discord

log = logging.getLogger(__name__)

T = TypeVar("T")

ATTEMPTS = 4
FIRST_PAUSE = 0.5  # seconds; doubles after each failure
LOOK_BACK = 10  # messages searched for a post that "failed" but landed

_retry_observers: list[Callable[[int], None]] = []


def observe_retries(observer: Callable[[int], None]) -> Callable[[], None]:
    """Call ``observer(status)`` for every retry made here (metrics); returns the undo."""
    _retry_observers.append(observer)
    return lambda: _retry_observers.remove(observer)


def is_transient(error: discord.HTTPException) -> bool:
    """Worth trying again: rate limited, or Discord's own trouble."""
    return error.status == 429 or error.status >= 500


def _pause(error: discord.HTTPException, attempt: int) -> float:
    retry_after: object = getattr(error, "retry_after", None)
    if isinstance(retry_after, int | float) and retry_after > 0:
        return min(float(retry_after), 60.0)
    return FIRST_PAUSE * float(2**attempt)


async def with_retries(call: Callable[[], Awaitable[T]], *, what: str) -> T:
    """Run an idempotent Discord call (edit, role change), retrying transient failures."""
    for attempt in range(ATTEMPTS):
        try:
            return await call()
        except discord.HTTPException as error:
            if not is_transient(error) or attempt == ATTEMPTS - 1:
                raise
            pause = _pause(error, attempt)
            log.warning("Discord said %s to %s; trying again in %.1fs", error.status, what, pause)
            _retrying(error.status)
            await asyncio.sleep(pause)
    raise AssertionError("unreachable")  # pragma: no cover


async def send_once(
    channel: discord.abc.Messageable,
    *,
    is_ours: Callable[[discord.Message], bool],
    what: str,
    **send_kwargs: Any,
) -> discord.Message:
    """Send a message, retrying transient failures without ever posting it twice.

    ``is_ours`` recognises the message if an earlier attempt landed despite its error.
    """
    for attempt in range(ATTEMPTS):
        try:
            return await channel.send(**send_kwargs)
        except discord.HTTPException as error:
            if not is_transient(error) or attempt == ATTEMPTS - 1:
                raise
            pause = _pause(error, attempt)
            log.warning("Discord said %s to %s; trying again in %.1fs", error.status, what, pause)
            _retrying(error.status)
            await asyncio.sleep(pause)
            if error.status >= 500:
                landed = await _find_landed(channel, is_ours)
                if landed is not None:
                    return landed
    raise AssertionError("unreachable")  # pragma: no cover


def _retrying(status: int) -> None:
    for observer in _retry_observers:
        observer(status)


async def _find_landed(
    channel: discord.abc.Messageable, is_ours: Callable[[discord.Message], bool]
) -> discord.Message | None:
    try:
        async for message in channel.history(limit=LOOK_BACK):
            if is_ours(message):
                return message
    except discord.HTTPException:
        return None  # can't tell; posting again is the lesser evil than never announcing
    return None
