"""GoLiveBot: the discord.py client, wired to golive's services.

The bot builds the Discord consumers of golive's events (announcer, chat bridge, live alerts,
stream problems, money DMs) and hands each what it needs (golive/event_table.py says which
events reach them); every feature's commands, views and persistent
buttons come from its extension in cogs/, which registers them itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import discord
from discord.ext import commands

from bot.announcer import Announcer
from bot.chat_bridge import ChatBridge
from bot.delivery import observe_retries
from bot.i18n import GoLiveTranslator
from bot.live_alerts import LiveAlerts
from bot.moderators import ModeratorRegistry
from bot.money_notices import MoneyNotices
from bot.observe import DiscordObserver, observe_requests
from bot.problems import AdminProblems
from bot.stream_problems import StreamProblemNotifier
from bot.tree import GoLiveTree
from core.services import Services

log = logging.getLogger(__name__)

EXTENSIONS = (
    "cogs.streams",
    "cogs.setup",
    "cogs.tips",
    "cogs.wallet",
    "cogs.credits",
    "cogs.follows",
    "cogs.stats",
    "cogs.chat",
    "cogs.moderation",
    "cogs.vods",
)


def golive_intents() -> discord.Intents:
    intents = discord.Intents.default()
    # Privileged: read what members write in stream chat threads (enable it in the Developer
    # Portal, Bot → Privileged Gateway Intents → Message Content).
    intents.message_content = True
    return intents


class GoLiveBot(commands.AutoShardedBot):
    """Sharded with discord.py's AutoShardedBot: `discord.shard_count` and `discord.shard_ids`
    (config) say how many shards there are and which this process runs; by default Discord's
    recommended count, all here. Events reach a process only for the guilds of its shards; what
    it does for guilds outside the gateway (the consumers of events written by other processes,
    the scheduler's jobs) asks `owns_guild` first."""

    def __init__(self, services: Services, observer: DiscordObserver | None = None) -> None:
        """`observer` (GET /metrics) is told of every REST call and every delivery retried."""
        shards = services.settings.discord
        # None for each: Discord's recommended count, every shard in this process.
        sharding: dict[str, Any] = {"shard_count": shards.shard_count}
        if shards.shard_ids is not None:
            sharding["shard_ids"] = list(shards.shard_ids)
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=golive_intents(),
            tree_cls=GoLiveTree,
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            **sharding,
        )
        # discord.py's AutoShardedClient.close() puts on a queue that only connect() makes, so
        # closing a bot that never connected (its login refused, a test's bot) would raise
        # AttributeError; connect() replaces this one.
        setattr(self, "_AutoShardedClient__queue", asyncio.PriorityQueue())  # noqa: B010
        self.services = services
        problems = AdminProblems(self, services.community, services.guilds)
        self.chat_bridge = ChatBridge(self, services)
        self.announcer = Announcer(self, services, self.chat_bridge, problems)
        self.moderators = ModeratorRegistry(services.moderation)
        self.live_alerts = LiveAlerts(self, services, self.announcer, problems)
        self.stream_problems = StreamProblemNotifier(self, services.guilds)
        self.money_notices = MoneyNotices(self, services)
        self._observer = observer
        self._stop_observing: Callable[[], None] | None = None

    async def setup_hook(self) -> None:
        if self._observer is not None and self._stop_observing is None:
            # Here, not in __init__: `self.http` is final once logging in has begun.
            observe_requests(self.http, self._observer)
            self._stop_observing = observe_retries(self._observer.delivery_retried)
        await self.tree.set_translator(GoLiveTranslator())
        for extension in EXTENSIONS:
            await self.load_extension(extension)

    async def close(self) -> None:
        if self._stop_observing is not None:
            self._stop_observing()
            self._stop_observing = None
        await super().close()

    def watch_url(self, slug: str) -> str:
        return self.announcer.watch_url(slug)

    def owns_guild(self, guild_id: int) -> bool:
        """Whether this process runs the shard of `guild_id` ((id >> 22) % shard_count)."""
        return self.services.settings.discord.owns_guild(guild_id)
