"""The `golive` command: run, bot, web, migrate, sync-commands, check, login-link, backup,
restore."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sqlite3
import sys
import warnings
from collections.abc import Awaitable, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import aiohttp
import discord
from jwt.warnings import InsecureKeyLengthWarning

from core.accounts import Identity
from core.config import Settings, load_settings
from core.kernel.errors import ConfigError, LiveKitUnavailable, StorageUnavailable
from core.livekit import livekit_trouble
from core.services import Services
from golive import backups, migrate_sqlite
from golive.bootstrap import open_services
from golive.dev_livekit import FLAG
from golive.logs import configure_logging
from golive.runtime import discord_unreachable, run, run_bot, run_event_loop, run_web
from golive.sidecar import CannotStart

log = logging.getLogger("golive")

DISCORD_CHECK_SECONDS = 15


COMMANDS: dict[str, str] = {
    "run": "Run the bot and the web sidecar in one process (the web sidecar alone without "
    "DISCORD_TOKEN).",
    "bot": "Run the Discord bot alone (gateway, announcements, DMs, chat threads; this "
    "process's shards) with the scheduler, and no web server.",
    "web": "Run the web sidecar alone (pages, API, LiveKit webhooks), e.g. as extra replicas.",
    "migrate": "Apply the database migrations that are missing, then exit.",
    "sync-commands": "Publish the slash commands to Discord (globally, or to one server).",
    "check": "Check the configuration and reach the database, LiveKit and Discord; say what is "
    "wrong in plain words.",
    "backup": "Copy the database to PATH while golive runs (SQLite's online backup, then checked).",
    "restore": "Put a backup in place of the database (stop golive first; --force to replace "
    "an existing one).",
    "login-link": "Print a one-time sign-in link for a member (e.g. to open their studio).",
}


def golive_version() -> str:
    try:
        return version("golive")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="golive",
        description="golive: livestreams for Discord communities (a bot, a web sidecar, LiveKit).",
        epilog="Run `golive COMMAND --help` for a command's options. Settings come from "
        "config.toml, .env and the environment; `golive check` tells whether they work.",
    )
    parser.add_argument("--version", action="version", version=f"golive {golive_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=COMMANDS[name], description=COMMANDS[name])

    for serving in (command("run"), command("bot"), command("web")):
        serving.add_argument(
            FLAG,
            action="store_true",
            help="if no LiveKit answers at livekit.url on this machine, start one for development "
            "(livekit-server --dev, or Docker) with its webhook pointed at golive, and stop it "
            "with golive (make run does this)",
        )
    migrating = command("migrate")
    migrating.add_argument(
        "--from-sqlite",
        type=Path,
        metavar="PATH",
        help="copy a community's SQLite file into the (empty) PostgreSQL database of "
        "database.url, then verify the copy (row counts, ledger sums); stop golive first",
    )
    sync = command("sync-commands")
    sync.add_argument("--guild", type=int, help="sync to one server (instant) instead of globally")
    command("check")
    copy = command("backup")
    copy.add_argument(
        "path", help="a file, or a folder (existing, or ending in /) to put a dated copy in"
    )
    back = command("restore")
    back.add_argument("path", type=Path, help="the backup file")
    back.add_argument(
        "--force",
        action="store_true",
        help="replace an existing database (it is kept beside it as .before-restore-<time>)",
    )
    link = command("login-link")
    link.add_argument("--user-id", type=int, required=True, help="the member's Discord user id")
    link.add_argument("--username", required=True, help="the member's Discord username")
    link.add_argument("--display-name", help="the name shown on the web (defaults to the username)")
    link.add_argument(
        "--next", default=None, help="page to open after signing in (default: their studio)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        # A bare `golive` used to start the bot silently; now it says what it can do. Exit
        # code 2, like any other usage mistake: scripts must name the command they mean.
        parser.print_help(sys.stderr)
        return 2
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"golive: configuration error: {error.key}: {error.problem}", file=sys.stderr)
        return 2
    configure_logging(settings)
    # `livekit-server --dev`'s secret is short; PyJWT would warn on every LiveKit call. `check`
    # says it once, in words, instead.
    warnings.filterwarnings("ignore", category=InsecureKeyLengthWarning)
    command = args.command
    runners = {
        "run": lambda: run(settings, start_livekit=args.start_livekit),
        "bot": lambda: run_bot(settings, start_livekit=args.start_livekit),
        "web": lambda: run_web(settings, start_livekit=args.start_livekit),
        "migrate": lambda: (
            migrate(settings)
            if args.from_sqlite is None
            else migrate_sqlite.run(settings, args.from_sqlite)
        ),
        "sync-commands": lambda: sync_commands(settings, args.guild),
        "check": lambda: check(settings),
        "login-link": lambda: login_link(settings, args),
        "backup": lambda: backup(settings, args.path),
        "restore": lambda: restore(settings, args.path, force=args.force),
    }
    with contextlib.suppress(KeyboardInterrupt):
        try:
            return run_event_loop(runners[command]())
        except CannotStart as error:
            print(f"golive: {error}", file=sys.stderr)
            return 1
    return 0


async def migrate(settings: Settings) -> int:
    # Opening the database applies what is missing.
    async with open_services(settings):
        log.info("database %s is up to date", settings.database.shown)
    return 0


async def sync_commands(settings: Settings, guild_id: int | None) -> int:
    if not settings.discord.token:
        log.error("sync-commands needs DISCORD_TOKEN")
        return 2
    from bot.app import GoLiveBot

    async with open_services(settings) as services, GoLiveBot(services) as bot:
        await bot.login(settings.discord.token)
        if guild_id is None:
            synced = await bot.tree.sync()
            where = "globally (may take up to an hour to appear)"
        else:
            bot.tree.copy_global_to(guild=discord.Object(guild_id))
            synced = await bot.tree.sync(guild=discord.Object(guild_id))
            where = f"to server {guild_id}"
        log.info("synced %d commands %s: %s", len(synced), where, ", ".join(c.name for c in synced))
    return 0


async def check(settings: Settings) -> int:
    """Say, in plain words, whether golive can work with this configuration.

    Every part is reported, whatever another part ran into."""
    problems: list[str] = []
    print(
        f"config        ok (database {settings.database.shown}, public URL {settings.web.public_url})"
    )
    try:
        async with open_services(settings) as services:
            print("database      ok (migrations applied)")
            problems += await _part("LiveKit", _check_livekit(services))
            problems += check_recording(services)
            problems += await _part("server permissions", guild_problem_lines(services))
    except (StorageUnavailable, sqlite3.Error, OSError) as error:
        problems.append(
            f"the database {settings.database.shown} can't be opened ({error}): "
            + (
                "check the URL (GOLIVE_DATABASE_URL) and that the PostgreSQL server is up"
                if settings.database.url
                else "check the path (GOLIVE_DATABASE), its folder's permissions and the free "
                "disk space"
            )
        )
    problems += await _part("Discord", _check_discord(settings))
    describe_discord_sign_in(settings)
    for problem in problems:
        print(f"PROBLEM       {problem}")
    print("all good" if not problems else f"{len(problems)} problem(s) found")
    return 1 if problems else 0


async def _part(name: str, findings: Awaitable[list[str]]) -> list[str]:
    """One part's problems; a failure nobody foresaw is one more problem, not the end of `check`."""
    try:
        return await findings
    except Exception as error:
        log.debug("checking %s failed", name, exc_info=True)
        return [f"{name} could not be checked ({type(error).__name__}: {error})"]


async def _check_livekit(services: Services) -> list[str]:
    try:
        rooms = await services.livekit.list_room_names()
    except LiveKitUnavailable as error:
        return [f"{livekit_trouble(error)} (LIVEKIT_URL is {services.settings.livekit.url})"]
    print(f"livekit       ok ({services.settings.livekit.url}, {len(rooms)} room(s) open)")
    if len(services.settings.livekit.api_secret.encode()) < 32:
        print(
            "livekit       note: the API secret is a short development one; use a long one in production"
        )
    return []


def check_recording(services: Services) -> list[str]:
    """Whether recordings can be made with these settings (LiveKit's egress is asked at go-live)."""
    config = services.recording.config
    if config.output == "none" and not config.record_all:
        print('recording     off (recording.output = "none")')
        return []
    if config.problem is not None:
        return [f"recording: {config.problem}, so streams can't be recorded"]
    where = f"bucket {config.s3_bucket}" if config.output == "s3" else "the egress server's disk"
    print(f"recording     {config.output} ({where}, {config.file_prefix}<slug>/<room>.mp4)")
    if config.output == "file" and config.local_dir is not None:
        if not config.local_dir.is_dir():
            return [
                f"recording: recording.local_dir ({config.local_dir}) is not a folder here, so "
                "recording pages can't play files from golive nor delete them"
            ]
        print(f"recordings    played and deleted by golive from {config.local_dir}")
    if config.retention_days:
        print(f"recordings    deleted {config.retention_days} days after their stream")
    return []


async def guild_problem_lines(services: Services) -> list[str]:
    """Permissions the bot found missing in a server (kept until /setup is run again there)."""
    return [
        f"server {problem.guild_id} ({problem.what.replace('_', ' ')}, since "
        f"{problem.noticed_at:%Y-%m-%d %H:%M} UTC): {problem.detail}"
        for problem in await services.community.problems()
    ]


def describe_discord_sign_in(settings: Settings) -> None:
    """Whether the pages offer "Sign in with Discord"; the client secret is never printed."""
    config = settings.discord
    if not config.sign_in_enabled:
        print("sign-in       Discord sign-in off (no DISCORD_CLIENT_ID / DISCORD_CLIENT_SECRET)")
        return
    print(
        f"sign-in       Discord sign-in on (client id {config.client_id}, client secret ********,"
        f" redirect {settings.web.public_url}/auth/discord/callback)"
    )


async def _check_discord(settings: Settings) -> list[str]:
    if not settings.discord.token:
        print("discord       no DISCORD_TOKEN: the web sidecar runs alone")
        return []
    client = discord.Client(intents=discord.Intents.none())
    try:
        async with asyncio.timeout(DISCORD_CHECK_SECONDS):
            await client.login(settings.discord.token)
        print(f"discord       ok (logged in as {client.user})")
        return []
    except discord.LoginFailure:
        return [
            "Discord rejected DISCORD_TOKEN: copy the bot token again from the developer portal."
        ]
    except discord.HTTPException as error:
        return [f"Discord answered with an error ({error}): try again in a few minutes."]
    except (aiohttp.ClientError, OSError, TimeoutError) as error:
        return [discord_unreachable(error)]
    finally:
        await client.close()


async def backup(settings: Settings, path: str) -> int:
    try:
        copied = await asyncio.to_thread(backups.backup, settings.database.path, path)
    except (backups.BackupError, OSError) as error:
        print(f"golive: backup failed: {error}", file=sys.stderr)
        return 1
    print(
        f"backed up {settings.database.path} to {copied.path} ({copied.size // 1024} KiB, "
        f"{copied.streams} stream page(s), {copied.members} wallet(s); integrity check ok)"
    )
    return 0


async def restore(settings: Settings, path: Path, *, force: bool) -> int:
    try:
        restored, kept = await asyncio.to_thread(
            backups.restore, path, settings.database.path, force=force
        )
    except (backups.BackupError, OSError) as error:
        print(f"golive: restore refused: {error}", file=sys.stderr)
        return 1
    if kept is not None:
        print(f"kept the database it replaced at {kept}")
    print(
        f"restored {path} to {restored.path} ({restored.streams} stream page(s), "
        f"{restored.members} wallet(s)); start golive again"
    )
    return 0


async def login_link(settings: Settings, args: argparse.Namespace) -> int:
    identity = Identity(args.user_id, args.username, args.display_name or args.username)
    async with open_services(settings) as services:
        next_path = args.next
        if next_path is None:
            stream = await services.streams.find_by_owner(identity.user_id)
            next_path = f"/live/{stream.slug}/studio" if stream else "/live"
        link = await services.auth.create_login_link(identity, next_path)
    print(link.url)
    print(
        f"(works once, for {int(link.expires_in.total_seconds() // 60)} minutes)", file=sys.stderr
    )
    return 0
