"""What the bot tells GET /metrics about its talk with Discord (golive/runtime.py wires it).

Every REST call goes through the bot's `HTTPClient.request`, whichever client is installed (the
real one, or SimCord's in the tests), so wrapping that one method times every call: messages,
edits, roles, DMs, history. Its label is discord.py's route template ("POST
/channels/{channel_id}/messages"), a few dozen values, never an id. The time includes
discord.py's own rate-limit waits and retries inside one call: what a delivery really waited.
Interaction answers (defer, follow-ups) go through discord.py's webhook adapter instead and are
not counted here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Protocol

import aiohttp
import discord
from discord.http import HTTPClient, Route


class DiscordObserver(Protocol):
    """Must be cheap and must not raise (it runs on every call)."""

    def discord_call(self, route: str, outcome: str, seconds: float) -> None: ...

    def delivery_retried(self, status: int) -> None: ...


def observe_requests(http: HTTPClient, observer: DiscordObserver) -> None:
    """Time every `http.request` and tell `observer` its route, outcome and duration."""
    request: Callable[..., Any] = http.request

    async def timed(route: Route, **kwargs: Any) -> Any:
        started = time.perf_counter()
        outcome = "ok"
        try:
            return await request(route, **kwargs)
        except discord.HTTPException as error:
            outcome = f"error {error.status}"
            raise
        except (aiohttp.ClientError, OSError, TimeoutError):
            outcome = "unreachable"
            raise
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        finally:
            observer.discord_call(
                f"{route.method} {route.path}", outcome, time.perf_counter() - started
            )

    http.request = timed  # type: ignore[method-assign]
