"""The composition root: opens the resources, builds every service once, wires the event table.

Both fronts get the same `Services`; the Discord front's handlers are added to the event table
when a bot is attached (`attach_bot`), so `golive web` runs the same services without them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
from livekit import api

from core.accounts import AuthService, DiscordSignIn
from core.chat import ChatService
from core.community import CommunityService, FollowService, GuildService, StatsService
from core.config import Settings
from core.discovery import PlaceDirectory, SearchService
from core.kernel.clock import Clock, SystemClock
from core.kernel.errors import StorageUnavailable
from core.kernel.events import EventBus, Mode, Subscription
from core.live import (
    IngressService,
    LiveEventService,
    RecordingService,
    StreamHealthService,
    ThumbnailService,
    WebhookInbox,
)
from core.livekit import LiveKitGateway, TokenMinter
from core.moderation import ModerationService
from core.money import (
    GoLiveFees,
    Ledger,
    PassService,
    PayoutService,
    TipService,
    TopupService,
    record_tip_events,
)
from core.services import Services
from core.stage import StageService
from core.store import Consumer, Database, DatabaseRefused, Outbox, observe_batches
from core.streams import StreamService
from golive.event_table import discord_events, domain_events, livekit_webhooks, metrics_events
from golive.sidecar import CannotStart
from web.metrics import WEBHOOK_KINDS, Metrics

if TYPE_CHECKING:
    from bot.app import GoLiveBot

log = logging.getLogger(__name__)


# Waits between attempts to reach a PostgreSQL that is down at start (seconds), the last repeated.
_CONNECT_BACKOFF = (1, 2, 4, 8, 15, 30)


class StoppedWhileWaiting(Exception):
    """A stop signal came while golive waited for its database: nothing had started yet."""


@asynccontextmanager
async def _open_database(
    settings: Settings, stop: asyncio.Event | None = None
) -> AsyncIterator[Database]:
    """The store; a PostgreSQL that can't be reached yet is retried with backoff, one line each
    time, so golive and its database can start in any order. `stop` (the serving roles' stop
    signal) ends the wait: StoppedWhileWaiting."""
    busy_timeout = settings.database.busy_timeout.total_seconds()
    async with contextlib.AsyncExitStack() as stack:
        for attempt in itertools.count():
            try:
                db = await stack.enter_async_context(
                    Database.open(settings.database.target, busy_timeout=busy_timeout)
                )
                break
            except DatabaseRefused as error:
                raise CannotStart(f"{error} (database.url / GOLIVE_DATABASE_URL)") from None
            except StorageUnavailable as error:
                if settings.database.url is None:  # a SQLite file: retrying won't help
                    raise
                wait = _CONNECT_BACKOFF[min(attempt, len(_CONNECT_BACKOFF) - 1)]
                log.warning("%s; trying again in %d s", error, wait)
                await _wait_unless_stopped(wait, stop, settings.database.shown)
        yield db


async def _wait_unless_stopped(seconds: float, stop: asyncio.Event | None, database: str) -> None:
    """Sleep `seconds`, or less if `stop` is set: then raise StoppedWhileWaiting.

    The attempts themselves run to their end (a refused port answers at once, a silent host
    within the connect timeout): cutting one short could cut into its migrations."""
    if stop is None:
        await asyncio.sleep(seconds)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
    if stop.is_set():
        raise StoppedWhileWaiting(f"golive stopped while waiting for PostgreSQL ({database})")


@asynccontextmanager
async def open_services(
    settings: Settings,
    clock: Clock | None = None,
    metrics: Metrics | None = None,
    stop: asyncio.Event | None = None,
) -> AsyncIterator[Services]:
    """Open everything; with `metrics`, the services are observed for GET /metrics. `stop`: a
    stop signal while the database is being waited for ends the wait (StoppedWhileWaiting)."""
    clock = clock or SystemClock()
    timeout = aiohttp.ClientTimeout(total=10, connect=3)
    events = EventBus(observer=metrics)
    traces = [metrics.livekit_trace(settings.livekit.url)] if metrics else []
    async with (
        _open_database(settings, stop) as db,
        aiohttp.ClientSession(timeout=timeout, trace_configs=traces) as http,
        _observed_batches(metrics),
    ):
        client = api.LiveKitAPI(
            settings.livekit.url,
            settings.livekit.api_key,
            settings.livekit.api_secret,
            session=http,
        )
        try:
            gateway = LiveKitGateway(client, timeout=settings.livekit.timeout.total_seconds())
            services = build_services(settings, clock, db, http, gateway, events)
            wire(services, "domain", domain_events(services))
            await services.outbox.register_routes()
            for kind, handler in livekit_webhooks(services):
                services.webhooks.on(kind, handler)
            if metrics is not None:
                db.timer = metrics.database_time
                events.wire("metrics", metrics_events(metrics))
                for kind in WEBHOOK_KINDS:
                    services.webhooks.on(kind, metrics.count_webhook)
            try:
                yield services
            finally:
                await events.aclose()
                await services.outbox.aclose()
        finally:
            await client.aclose()


@asynccontextmanager
async def _observed_batches(metrics: Metrics | None) -> AsyncIterator[None]:
    if metrics is None:
        yield
        return
    stop_observing = observe_batches(metrics.batch_written)
    try:
        yield
    finally:
        stop_observing()


def attach_bot(services: Services, bot: GoLiveBot) -> None:
    """Add the Discord front's rows to the event table (a restarted bot replaces the old one's)."""
    wire(services, "discord", discord_events(bot), shards=services.settings.discord.shard_scope)


def wire(services: Services, group: str, rows: list[Subscription], shards: str = "") -> None:
    """A group of the event table: inline and background rows on the bus, durable rows in the
    outbox (which this process then delivers, and whose routes it registers).

    ``shards``: this bot process's shard scope ("shards 0,1/4"; "" for all). Consumers that act
    per guild (announcements, roles, threads) are named after it, so every group of shards gets
    each event and acts in its own guilds; DMs (``repeat=False``), which belong to no guild, keep
    one name: one delivery among all bot processes."""
    services.events.wire(group, rows)
    services.outbox.wire(
        group,
        [
            Consumer(
                _consumer_name(row, shards),
                row.event_type,
                services.events.observed(row),
                repeat=row.repeat,
            )
            for row in rows
            if row.mode is Mode.DURABLE
        ],
    )


def _consumer_name(row: Subscription, shards: str) -> str:
    return f"{row.name} [{shards}]" if shards and row.repeat else row.name


@asynccontextmanager
async def delivering(services: Services) -> AsyncIterator[None]:
    """Deliver the outbox's events for this process's consumers, also those recorded by other
    processes, until the block exits (the serving roles; tests deliver through the bus)."""
    task = asyncio.create_task(services.outbox.run(), name="outbox")
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def build_services(
    settings: Settings,
    clock: Clock,
    db: Database,
    http: aiohttp.ClientSession,
    livekit: LiveKitGateway,
    events: EventBus,
) -> Services:
    ledger = Ledger(db, clock, on_tip=record_tip_events)
    outbox = Outbox(db, clock, spawn=events.spawn)
    events.on_durable = lambda _event: outbox.kick()
    passes = PassService(db, ledger, clock, settings.fees, events=events)
    # The fee (or pass) is checked and charged before a go-live opens its room.
    streams = StreamService(
        db,
        livekit,
        clock,
        gate=GoLiveFees(ledger, passes, clock, settings.fees),
        room_departure_timeout=int(settings.live.auto_end_grace.total_seconds()),
        events=events,
        media_wait=settings.streams.media_wait,
    )
    moderation = ModerationService(
        db, clock, livekit, streams, kick_block=settings.moderation.kick_block, events=events
    )
    # A member banned from streaming can't go live (from Discord or the web).
    streams.add_go_live_check(moderation.check_may_stream)
    webhooks = WebhookInbox(db, clock)
    live = LiveEventService(
        db, clock, livekit, streams, webhooks, grace=settings.live.auto_end_grace
    )
    ingress = IngressService(db, clock, livekit, streams, live, events=events)
    auth = AuthService(
        db,
        clock,
        secret=resolve_secret(settings),
        public_url=settings.web.public_url,
        link_ttl=settings.security.login_link_ttl,
        session_ttl=settings.security.session_ttl,
    )
    return Services(
        settings=settings,
        clock=clock,
        db=db,
        events=events,
        outbox=outbox,
        livekit=livekit,
        tokens=TokenMinter(
            settings.livekit.api_key, settings.livekit.api_secret, settings.livekit.token_ttl
        ),
        streams=streams,
        ledger=ledger,
        tips=TipService(db, ledger, streams, livekit, clock, settings.tips, events=events),
        passes=passes,
        payouts=PayoutService(db, ledger, clock, minimum=settings.wallet.payout_min),
        topups=TopupService(
            db, ledger, clock, http, settings.stripe, settings.wallet, settings.web.public_url
        ),
        guilds=GuildService(db, clock),
        moderation=moderation,
        chat=ChatService(db, clock, livekit, streams, moderation, settings.chat, events=events),
        auth=auth,
        discord_sign_in=DiscordSignIn(
            db, clock, http, auth, settings.discord, public_url=settings.web.public_url
        ),
        places=PlaceDirectory(),
        search=SearchService(db),
        webhooks=webhooks,
        live=live,
        follows=FollowService(db, clock, streams),
        community=CommunityService(db, clock),
        stats=StatsService(db),
        ingress=ingress,
        recording=RecordingService(db, clock, livekit, streams, settings.recording, events=events),
        thumbnails=ThumbnailService(db, clock, livekit, settings.thumbnails),
        health=StreamHealthService(livekit, ingress, clock),
        stage=StageService(db, clock, livekit, streams, moderation, settings.stage, events=events),
    )


def resolve_secret(settings: Settings) -> str:
    """GOLIVE_SECRET, or a random one kept beside the database so `make run` needs no setup.

    The file is shared by every process on this machine (bot, `golive web`, `golive login-link`),
    so links minted by one are accepted by the others.
    """
    if settings.security.secret:
        return settings.security.secret
    path = Path(settings.database.path).with_name(".golive-secret")
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret)
    log.info("no GOLIVE_SECRET set; generated one in %s", path)
    return secret
