"""The process roles: `golive run` (bot + web sidecar + scheduler) and `golive web` (sidecar +
scheduler). Both open the same services (golive/bootstrap.py); the bot adds its event handlers
and its scheduler jobs to them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

import aiohttp
import discord

from core.config import Settings
from core.kernel.errors import StorageUnavailable
from core.services import Services
from golive import scheduler
from golive.bootstrap import attach_bot, open_services
from golive.sidecar import start_web

log = logging.getLogger("golive")

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


async def run(settings: Settings) -> int:
    if not settings.discord.token:
        log.warning("%s", HOW_TO_ADD_THE_BOT)
        return await run_web(settings)
    from bot.app import GoLiveBot

    async with open_services(settings) as services:
        await repair_at_start(services)
        runner = await start_web(services)
        try:
            async with GoLiveBot(services) as bot:
                attach_bot(services, bot)
                jobs = scheduler.core_jobs(services) + scheduler.discord_jobs(bot)
                async with scheduler.running(jobs):
                    await bot.start(settings.discord.token)
        except discord.LoginFailure:
            log.error(
                "Discord rejected DISCORD_TOKEN. Copy the bot token again from the developer portal."
            )
            return 1
        except (aiohttp.ClientError, OSError) as error:
            log.error("%s", discord_unreachable(error))
            return 1
        finally:
            await runner.cleanup()
    return 0


def discord_unreachable(error: BaseException) -> str:
    """One line for the operator when Discord can't be reached at all (DNS, network, firewall)."""
    return (
        f"Discord can't be reached from this machine ({_one_line(error)}): check its network, "
        "DNS and firewall (golive needs https://discord.com and its gateway), then start again."
    )


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:160] or type(error).__name__


async def run_web(settings: Settings) -> int:
    async with open_services(settings) as services:
        await repair_at_start(services)
        runner = await start_web(services)
        log.info("open %s/live in a browser", settings.web.public_url)
        try:
            async with scheduler.running(scheduler.core_jobs(services)):
                await asyncio.Event().wait()  # until the process is stopped
        finally:
            await runner.cleanup()
    return 0


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
