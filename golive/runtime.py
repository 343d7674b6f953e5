"""The process roles: `golive run` (bot + web sidecar + scheduler, all in one: the default),
`golive bot` (the Discord gateway, the Discord consumers and the scheduler, no web server) and
`golive web` (sidecar + scheduler, stateless: any number of replicas). All open the same services
(golive/bootstrap.py); a bot adds its event handlers and its scheduler jobs to them. Every job
with a lease runs in one process of the cluster at a time (golive/scheduler.py).

All stop the same way on SIGTERM or SIGINT: the listener closes, requests in flight get
`web.shutdown_grace_seconds` to finish, queued writes are committed, background deliveries end
(or are cancelled after the grace), the scheduler gives its leases back, the bot and the LiveKit
client close, and the exit code is 0. A stop while a PostgreSQL that is down at start is still
being waited for ends the wait at once, and the exit code is 0 too (nothing had started).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Coroutine
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
from aiohttp import web

from core.cluster import Leases
from core.config import Settings
from core.kernel.errors import StorageUnavailable
from core.services import Services
from golive import scheduler
from golive.bootstrap import StoppedWhileWaiting, attach_bot, delivering, open_services
from golive.dev_livekit import for_development
from golive.livekit_watch import LiveKitWatch
from golive.sidecar import start_web
from web.metrics import Metrics
from web.ops import PartState, Readiness, ReadinessCheck

if TYPE_CHECKING:
    from bot.app import GoLiveBot

log = logging.getLogger("golive")

SHUTDOWN_SIGNALS = (signal.SIGTERM, signal.SIGINT)

HOW_TO_ADD_THE_BOT = """\
No DISCORD_TOKEN is set, so only the web sidecar runs. To add the bot:
  1. Create an application at https://discord.com/developers/applications, add a Bot, copy its token.
  2. Put DISCORD_TOKEN=<token> in .env (or the environment) and run `make run` again.
  3. Invite it with the scopes `bot applications.commands` (see README, "Discord application").
  4. Run `golive sync-commands --guild <your server id>` once so the slash commands appear."""


def run_event_loop(main: Coroutine[Any, Any, int]) -> int:
    """Run on uvloop where it exists (Linux, macOS), else on asyncio's own loop.

    uvloop makes the web sidecar's token endpoint cheaper per request (bench/token_endpoint.py,
    docs/architecture.md "Token minting"); discord.py, aiohttp and aiosqlite all run on it.
    """
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


async def run(settings: Settings, *, start_livekit: bool = False) -> int:
    """`start_livekit`: start a LiveKit for development if none answers (golive/dev_livekit.py)."""
    if not settings.discord.token:
        log.warning("%s", HOW_TO_ADD_THE_BOT)
        return await run_web(settings, start_livekit=start_livekit)
    return await stopping_cleanly(
        serve_bot(settings, settings.discord.token, start_livekit, with_web=True)
    )


async def run_bot(settings: Settings, *, start_livekit: bool = False) -> int:
    """`golive bot`: the Discord gateway (this process's shards), its consumers and the
    scheduler, and no web server (run `golive web` replicas for the pages and the API)."""
    if not settings.discord.token:
        log.error(
            "golive bot needs DISCORD_TOKEN (in .env or the environment); without a bot, run "
            "`golive web`"
        )
        return 2
    return await stopping_cleanly(
        serve_bot(settings, settings.discord.token, start_livekit, with_web=False)
    )


async def stopping_cleanly(role: Awaitable[int]) -> int:
    """The role's exit code; a stop signal while its database was still waited for is a normal
    stop (code 0, one line after the signal's): nothing had started, nothing to shut down."""
    try:
        return await role
    except StoppedWhileWaiting as stopped:
        log.info("%s", stopped)
        return 0


async def serve_bot(settings: Settings, token: str, start_livekit: bool, *, with_web: bool) -> int:
    """The bot, and with `with_web` the web sidecar beside it, until a signal."""
    from bot.app import GoLiveBot

    stop = stop_on_signals(settings.web.shutdown_grace)
    # GET /metrics is the sidecar's: a process without one keeps no metrics.
    metrics = Metrics() if settings.metrics.enabled and with_web else None
    async with (
        for_development(settings, start=start_livekit) as hint,
        open_services(settings, metrics=metrics, stop=stop) as services,
        watching(services, hint) as watch,
        delivering(services),
    ):
        await repair_at_start(services)
        readiness = Readiness(services)
        runner = await start_web(services, readiness, metrics) if with_web else None
        try:
            async with GoLiveBot(services, observer=metrics) as bot:
                attach_bot(services, bot)
                readiness.add("discord", discord_readiness(bot))
                if metrics is not None:
                    metrics.watch_gateway(lambda: bot.latency)
                connection = asyncio.create_task(bot.start(token), name="discord")
                try:
                    jobs = (
                        scheduler.core_jobs(services)
                        + scheduler.watch_jobs(services, watch)
                        + scheduler.discord_jobs(bot)
                    )
                    async with scheduler.running(jobs, leases_of(services)):
                        await first_of(stop, connection)
                    if connection.done():
                        connection.result()  # a rejected token ends the connection at once
                finally:
                    # The bot stays connected while the web stops and background deliveries
                    # (announcements, DMs) finish: they need it.
                    await shut_down(services, runner)
                    await bot.close()
                    await asyncio.gather(connection, return_exceptions=True)
        except discord.LoginFailure:
            log.error(
                "Discord rejected DISCORD_TOKEN. Copy the bot token again from the developer portal."
            )
            return 1
        except (aiohttp.ClientError, OSError) as error:
            log.error("%s", discord_unreachable(error))
            return 1
    log.info("golive stopped")
    return 0


def leases_of(services: Services) -> Leases:
    """This process's scheduler leases; their holder id is logged, to match rows to processes."""
    leases = Leases(services.db, services.clock)
    log.info("scheduler: this process holds leases as %s", leases.holder)
    return leases


def discord_unreachable(error: BaseException) -> str:
    """One line for the operator when Discord can't be reached at all (DNS, network, firewall)."""
    return (
        f"Discord can't be reached from this machine ({_one_line(error)}): check its network, "
        "DNS and firewall (golive needs https://discord.com and its gateway), then start again."
    )


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:160] or type(error).__name__


async def run_web(settings: Settings, *, start_livekit: bool = False) -> int:
    """`golive web`: the web sidecar and the scheduler, until a signal."""
    return await stopping_cleanly(serve_web(settings, start_livekit))


async def serve_web(settings: Settings, start_livekit: bool) -> int:
    stop = stop_on_signals(settings.web.shutdown_grace)
    metrics = Metrics() if settings.metrics.enabled else None
    async with (
        for_development(settings, start=start_livekit) as hint,
        open_services(settings, metrics=metrics, stop=stop) as services,
        watching(services, hint) as watch,
        delivering(services),
    ):
        await repair_at_start(services)
        runner = await start_web(services, metrics=metrics)
        log.info("open %s/live in a browser", settings.web.public_url)
        jobs = scheduler.core_jobs(services) + scheduler.watch_jobs(services, watch)
        try:
            async with scheduler.running(jobs, leases_of(services)):
                await stop.wait()
        finally:
            await shut_down(services, runner)
    log.info("golive stopped")
    return 0


@asynccontextmanager
async def watching(services: Services, hint: str) -> AsyncIterator[LiveKitWatch]:
    """The LiveKit watch on every log handler, after a first look at LiveKit (before the
    start-up repairs, whose warnings it then holds back). `hint`: what to run if it's down."""
    watch = LiveKitWatch(services, hint)
    handlers = list(logging.getLogger().handlers)
    for handler in handlers:
        handler.addFilter(watch)
    try:
        await watch.check()
        yield watch
    finally:
        for handler in handlers:
            handler.removeFilter(watch)


def stop_on_signals(grace: timedelta) -> asyncio.Event:
    """An event set by the first SIGTERM (docker stop, systemd) or SIGINT (Ctrl-C).

    The handlers are removed once it fires, so a second signal stops the process at once.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def on_signal(number: signal.Signals) -> None:
        log.info(
            "%s received: stopping within %ds (send it again to stop at once)",
            number.name,
            grace.total_seconds(),
        )
        for each in SHUTDOWN_SIGNALS:
            loop.remove_signal_handler(each)
        stop.set()

    for number in SHUTDOWN_SIGNALS:
        try:
            loop.add_signal_handler(number, on_signal, number)
        except NotImplementedError:  # Windows: Ctrl-C still raises KeyboardInterrupt
            break
    return stop


async def first_of(stop: asyncio.Event, connection: asyncio.Task[None]) -> None:
    """Until a stop signal, or until the bot's connection ends by itself."""
    waiter = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({waiter, connection}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()


async def shut_down(services: Services, runner: web.AppRunner | None) -> None:
    """Stop accepting, let requests in flight finish (the runner's shutdown timeout is the
    grace), then write what is still queued and let background deliveries end."""
    grace = services.settings.web.shutdown_grace.total_seconds()
    if runner is not None:
        await runner.cleanup()
    await services.chat.flush()
    await services.ledger.flush()
    await services.webhooks.flush()
    services.outbox.stop()  # no new claims: what is left waits for the next process
    await services.events.aclose(grace)


def discord_readiness(bot: GoLiveBot) -> ReadinessCheck:
    """/readyz's Discord part: the gateway connection of this process's bot."""

    async def check() -> PartState:
        if bot.is_closed():
            return PartState(False, "the bot's connection to Discord is closed")
        if not bot.is_ready():
            return PartState(False, "not connected to the Discord gateway (yet)")
        return PartState(True, f"connected, latency {bot.latency * 1000:.0f} ms")

    return check


async def repair_at_start(services: Services) -> None:
    """Before serving: end streams whose room is gone, close rooms of ended sessions, recount.

    With the database not writable (a full disk) golive still starts: reads work, writes answer
    "try again in a moment", and the reconcile job repairs the rest once writes work again.
    """
    try:
        await services.streams.reconcile_with_livekit()
        await services.live.reconcile_once()
    except StorageUnavailable as error:
        log.warning("start-up repair skipped: %s", error.message)
