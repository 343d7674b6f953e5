"""GET /metrics: golive's Prometheus metrics, on a registry of their own.

Off unless `metrics.enabled`; then only scrapers that send `Authorization: Bearer
<metrics.token>` get them (others get a 401). Nothing in core knows Prometheus: the domain is
observed from the outside, through its own seams —

| metric                                   | observed at                                        |
|------------------------------------------|----------------------------------------------------|
| golive_http_requests_total, _duration    | the request context middleware (web/ops.py)        |
| golive_tokens_minted_total               | POST /api/live/token answered 200 (same place)     |
| golive_chat_messages_total               | the ChatMessagePosted event (golive/event_table.py) |
| golive_tips_total, golive_tip_credits_total | the TipEvent event                              |
| golive_webhooks_total{kind}              | a handler per kind on the webhook inbox (new ids only) |
| golive_event_handlers_total{outcome}     | the event bus's observer hook (core/kernel/events.py) |
| golive_livekit_calls_total, _seconds     | an aiohttp trace on the session that talks to LiveKit |
| golive_discord_requests_total, _seconds  | the bot's HTTPClient.request, wrapped (bot/observe.py) |
| golive_discord_delivery_retries_total    | bot/delivery.py's retries (announcements, DMs, roles) |
| golive_group_commit_batch_size{what}     | group commit's batch observer (core/store)         |
| golive_database_seconds{kind}            | the store's timer (core/store/db.py `Database.timer`) |
| golive_live_streams, golive_viewers      | the database, read at each scrape                  |
| golive_discord_gateway_latency_seconds   | the bot's heartbeat, read at each scrape           |
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import aiohttp
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from core.chat import ChatMessagePosted
from core.kernel.events import Subscription
from core.money import TipEvent
from core.services import Services
from web.keys import SERVICES

routes = web.RouteTableDef()

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
# Every kind LiveKit sends (livekit.protocol's WebhookEvent), counted when its id is new.
WEBHOOK_KINDS = (
    "room_started",
    "room_finished",
    "participant_joined",
    "participant_left",
    "participant_connection_aborted",
    "track_published",
    "track_unpublished",
    "egress_started",
    "egress_updated",
    "egress_ended",
    "ingress_started",
    "ingress_ended",
)


class Metrics:
    """Every golive metric, on its own registry (so tests and processes never share one)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "golive_http_requests",
            "HTTP requests answered",
            ["route", "method", "status"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "golive_http_request_duration_seconds",
            "Time to answer an HTTP request",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.tokens = Counter("golive_tokens_minted", "LiveKit tokens handed out", registry=r)
        self.chat_messages = Counter("golive_chat_messages", "Chat messages posted", registry=r)
        self.tips = Counter("golive_tips", "Tips made", registry=r)
        self.tip_credits = Counter("golive_tip_credits", "Credits moved by tips", registry=r)
        self.webhooks = Counter(
            "golive_webhooks", "LiveKit webhooks received (new ids)", ["kind"], registry=r
        )
        self.event_handlers = Counter(
            "golive_event_handlers",
            "Event handler runs",
            ["event", "mode", "outcome"],
            registry=r,
        )
        self.livekit_calls = Counter(
            "golive_livekit_calls",
            "Calls to LiveKit's server API",
            ["method", "outcome"],
            registry=r,
        )
        self.livekit_seconds = Histogram(
            "golive_livekit_call_seconds",
            "Time LiveKit took to answer",
            ["method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.discord_requests = Counter(
            "golive_discord_requests",
            "REST calls the bot made to Discord",
            ["route", "outcome"],
            registry=r,
        )
        self.discord_seconds = Histogram(
            "golive_discord_request_seconds",
            "Time a REST call to Discord took (discord.py's rate-limit waits included)",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.delivery_retries = Counter(
            "golive_discord_delivery_retries",
            "Deliveries to Discord (announcements, follower DMs, live roles) tried again",
            ["status"],
            registry=r,
        )
        self.database_seconds = Histogram(
            "golive_database_seconds",
            "Time in the database: a read, or a write transaction from BEGIN to COMMIT",
            ["kind"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.batch_size = Histogram(
            "golive_group_commit_batch_size",
            "Items written per group-commit transaction",
            ["what"],
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.live_streams = Gauge("golive_live_streams", "Streams live now", registry=r)
        self.viewers = Gauge("golive_viewers", "Viewers in live streams now", registry=r)
        self.discord_latency = Gauge(
            "golive_discord_gateway_latency_seconds",
            "The bot's gateway heartbeat latency (NaN without a connected bot)",
            registry=r,
        )
        self.discord_latency.set(float("nan"))
        self._gateway_latency: Callable[[], float] | None = None
        self._livekit_origin = "\x00"  # matches no URL until livekit_trace() is asked for

    # -- seams -------------------------------------------------------------------------------

    def handled(self, row: Subscription, event: object, ok: bool, seconds: float) -> None:
        """The event bus's observer."""
        outcome = "delivered" if ok else "failed"
        self.event_handlers.labels(type(event).__name__, row.mode.value, outcome).inc()

    def count_webhook(self, _tx: object, event: Any, _now: object) -> None:
        self.webhooks.labels(event.event).inc()

    def discord_call(self, route: str, outcome: str, seconds: float) -> None:
        """bot/observe.py's DiscordObserver: one REST call."""
        self.discord_requests.labels(route, outcome).inc()
        self.discord_seconds.labels(route).observe(seconds)

    def delivery_retried(self, status: int) -> None:
        self.delivery_retries.labels(str(status)).inc()

    def database_time(self, kind: str, seconds: float) -> None:
        self.database_seconds.labels(kind).observe(seconds)

    def batch_written(self, what: str, size: int) -> None:
        self.batch_size.labels(what).observe(size)

    def answered(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.request_seconds.labels(route).observe(seconds)
        if route == "/api/live/token" and status == 200:
            self.tokens.inc()

    def watch_gateway(self, latency: Callable[[], float]) -> None:
        """A process with a bot: report its heartbeat latency at each scrape."""
        self._gateway_latency = latency

    def livekit_trace(self, livekit_url: str) -> aiohttp.TraceConfig:
        """Times every request the LiveKit client makes, by Twirp method."""
        origin = (
            livekit_url.replace("ws", "http", 1) if livekit_url.startswith("ws") else livekit_url
        )
        trace = aiohttp.TraceConfig()

        async def start(_: aiohttp.ClientSession, context: SimpleNamespace, params: Any) -> None:
            context.livekit_started = time.perf_counter()

        async def end(_: aiohttp.ClientSession, context: SimpleNamespace, params: Any) -> None:
            outcome = "ok" if params.response.status < 400 else f"error {params.response.status}"
            self._livekit_done(context, str(params.url), outcome)

        async def failed(_: aiohttp.ClientSession, context: SimpleNamespace, params: Any) -> None:
            self._livekit_done(context, str(params.url), "unreachable")

        trace.on_request_start.append(start)
        trace.on_request_end.append(end)
        trace.on_request_exception.append(failed)
        self._livekit_origin = origin.rstrip("/")
        return trace

    # -- scrape ------------------------------------------------------------------------------

    async def render(self, services: Services) -> bytes:
        row = await services.db.fetch_one(
            "SELECT count(*), coalesce(sum(a.current_viewers), 0) FROM streams s"
            " LEFT JOIN stream_sessions ss ON ss.stream_id = s.id AND ss.ended_at IS NULL"
            " LEFT JOIN session_audience a ON a.session_id = ss.id WHERE s.active = 1"
        )
        if row is not None:
            self.live_streams.set(row[0])
            self.viewers.set(row[1])
        if self._gateway_latency is not None:
            self.discord_latency.set(self._gateway_latency())
        return generate_latest(self.registry)

    async def count_chat_message(self, _event: ChatMessagePosted) -> None:
        self.chat_messages.inc()

    async def count_tip(self, event: TipEvent) -> None:
        self.tips.inc()
        self.tip_credits.inc(event.tip.amount)

    def _livekit_done(self, context: SimpleNamespace, url: str, outcome: str) -> None:
        if not url.startswith(self._livekit_origin):
            return  # the same session talks to Stripe
        method = url.rsplit("/", 1)[-1]
        self.livekit_calls.labels(method, outcome).inc()
        started = getattr(context, "livekit_started", None)
        if started is not None:
            self.livekit_seconds.labels(method).observe(time.perf_counter() - started)


METRICS = web.AppKey("metrics", Metrics)


@routes.get("/metrics", name="metrics")
async def metrics(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    token = services.settings.metrics.token or ""
    offered = request.headers.get("Authorization", "")
    if not hmac.compare_digest(offered.encode(), f"Bearer {token}".encode()):
        return web.json_response(
            {"error": "Send the metrics token as 'Authorization: Bearer <token>'."},
            status=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    body = await request.app[METRICS].render(services)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
