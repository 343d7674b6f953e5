"""GET /metrics after a scripted session (a go-live, a viewer token, chat, a tip, webhooks):
the counters say what happened, and only a scraper with the token sees them."""

from __future__ import annotations

import json
import re
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest_asyncio
from aiohttp.test_utils import TestServer
from prometheus_client.parser import text_string_to_metric_families

from core.config import Settings
from core.kernel.clock import ManualClock
from golive.bootstrap import open_services
from tests.conftest import ROOT
from tests.fakes.livekit import FakeLiveKit
from tests.golive.process import GoliveProcess, golive_environment, settings_of
from tests.golive.session import SESSION_ENVIRONMENT, TIP, prepare, run_session
from web.app import create_app
from web.metrics import Metrics

TOKEN = "metrics-token-for-the-scraper-0123456789"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def environment_for(tmp_path: Path, livekit: FakeLiveKit, **extra: str) -> dict[str, str]:
    return golive_environment(
        tmp_path,
        livekit,
        GOLIVE_METRICS_ENABLED="true",
        GOLIVE_METRICS_TOKEN=TOKEN,
        **SESSION_ENVIRONMENT,
        **extra,
    )


@pytest_asyncio.fixture
async def served(tmp_path: Path, livekit: FakeLiveKit) -> AsyncIterator[tuple[str, Settings]]:
    """golive's app with metrics on, in this test's loop, after `prepare`."""
    environment = environment_for(tmp_path, livekit)
    sessions = await prepare(environment)
    settings = settings_of(environment)
    metrics = Metrics()
    async with open_services(settings, ManualClock(), metrics=metrics) as services:
        server = TestServer(create_app(services, metrics=metrics))
        await server.start_server(access_log=None)
        try:
            url = str(server.make_url("")).rstrip("/")
            await run_session(url, livekit, sessions)
            await services.events.drain()
            yield url, settings
        finally:
            await server.close()


async def scrape(url: str, token: str | None = TOKEN) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as http, http.get(f"{url}/metrics", headers=headers) as r:
        return r.status, await r.text()


async def test_the_counters_tell_what_the_session_did(served: tuple[str, Settings]) -> None:
    url, _ = served
    status, text = await scrape(url)
    assert status == 200
    samples = parse(text)
    assert value(samples, "golive_tokens_minted_total") == 1
    assert value(samples, "golive_chat_messages_total") == 1
    assert value(samples, "golive_tips_total") == 1
    assert value(samples, "golive_tip_credits_total") == TIP
    assert value(samples, "golive_webhooks_total", kind="participant_joined") == 1
    assert value(samples, "golive_webhooks_total", kind="room_started") == 1
    assert value(samples, "golive_live_streams") == 1
    assert value(samples, "golive_viewers") == 1
    requests = {
        (labels["route"], labels["status"]): count
        for (name, frozen), count in samples.items()
        if name == "golive_http_requests_total"
        for labels in [dict(frozen)]
    }
    assert requests == {
        ("/api/live/toggle-active", "200"): 1,
        ("/api/live/token", "200"): 1,
        ("/api/live/{slug}/chat", "201"): 1,
        ("/api/live/{slug}/tip", "201"): 1,
        ("/livekit/webhook", "200"): 2,
    }
    assert (
        value(samples, "golive_http_request_duration_seconds_count", route="/api/live/token") == 1
    )
    # The go-live created its room; the chat and the tip reached the room over LiveKit data.
    assert value(samples, "golive_livekit_calls_total", method="CreateRoom", outcome="ok") == 1
    assert value(samples, "golive_livekit_call_seconds_count", method="CreateRoom") == 1
    assert value(samples, "golive_livekit_calls_total", method="SendData", outcome="ok") >= 2
    delivered = sum(
        count
        for (name, frozen), count in samples.items()
        if name == "golive_event_handlers_total" and ("outcome", "delivered") in frozen
    )
    assert delivered >= 4  # chat to the room, tip to the room, and the two counters
    assert value(samples, "golive_group_commit_batch_size_count", what="chat messages") == 1
    assert value(samples, "golive_group_commit_batch_size_sum", what="webhooks") == 2
    # Database time: the go-live, the chat batch, the tip and the webhook batch were written
    # (each a transaction from BEGIN to COMMIT); the pages' and the scrape's reads were timed.
    assert value(samples, "golive_database_seconds_count", kind="write") >= 4
    assert value(samples, "golive_database_seconds_count", kind="read") >= 1
    assert value(samples, "golive_database_seconds_sum", kind="write") > 0


async def test_metrics_need_the_token(served: tuple[str, Settings]) -> None:
    url, _ = served
    assert (await scrape(url, token=None))[0] == 401
    assert (await scrape(url, token="wrong-token-but-just-as-long-01234567"))[0] == 401


async def test_metrics_are_off_unless_enabled(client: aiohttp.ClientSession) -> None:
    async with client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}) as response:
        assert response.status == 404


async def test_a_golive_process_with_metrics_enabled_serves_them(
    tmp_path: Path, livekit: FakeLiveKit
) -> None:
    environment = environment_for(tmp_path, livekit)
    golive = await GoliveProcess.start(["web"], environment, cwd=tmp_path)
    try:
        url = await golive.listening()
        async with aiohttp.ClientSession() as http, http.get(f"{url}/healthz"):
            pass
        status, text = await scrape(url)
        assert await golive.stop(signal.SIGTERM) == 0
    finally:
        await golive.kill()
    assert status == 200
    assert (
        value(
            parse(text), "golive_http_requests_total", route="/healthz", method="GET", status="200"
        )
        == 1
    )


def test_the_grafana_dashboard_charts_every_metric_golive_exports_and_no_other() -> None:
    dashboard = json.loads((ROOT / "docs" / "grafana-golive.json").read_text(encoding="utf-8"))
    exported = {metric.name for metric in Metrics().registry.collect()}
    charted = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"golive_[a-z_]+", target["expr"])
    }
    suffixes = ("_total", "_bucket", "_sum", "_count")
    bases = {next((n.removesuffix(s) for s in suffixes if n.endswith(s)), n) for n in charted}
    assert bases <= exported, bases - exported
    assert exported <= bases, f"not on the dashboard: {exported - bases}"
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])
