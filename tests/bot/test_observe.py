"""GET /metrics sees the bot's talk with Discord: every REST call by route with its outcome and
time, and the deliveries golive tried again (under SimCord: the real discord.py, a fake Discord)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families

from bot.app import GoLiveBot
from core.services import Services
from golive.bootstrap import attach_bot
from tests.bot.helpers import go_live, setup_announcements
from tests.conftest import World
from web.metrics import Metrics

POST_MESSAGE = "POST /channels/{channel_id}/messages"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest_asyncio.fixture
async def simcord_bot(services: Services, metrics: Metrics) -> AsyncIterator[GoLiveBot]:
    bot = GoLiveBot(services, observer=metrics)  # as `golive run` builds it with metrics on
    attach_bot(services, bot)
    yield bot
    await bot.close()


async def samples(metrics: Metrics, services: Services) -> Samples:
    text = (await metrics.render(services)).decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(seen: Samples, name: str, **labels: str) -> float:
    return seen.get((name, frozenset(labels.items())), 0.0)


async def test_every_rest_call_is_counted_by_route_with_its_outcome_and_time(
    world: World, services: Services, metrics: Metrics
) -> None:
    await setup_announcements(world)
    world.env.inject_error(
        "POST", "/channels/*/messages", status=429, code=0, message="You are being rate limited."
    )
    await go_live(world)
    await services.events.drain()

    seen = await samples(metrics, services)
    # The announcement: refused once with a 429, then posted on the retry.
    assert (
        value(seen, "golive_discord_requests_total", route=POST_MESSAGE, outcome="error 429") == 1
    )
    assert value(seen, "golive_discord_requests_total", route=POST_MESSAGE, outcome="ok") == 1
    assert value(seen, "golive_discord_request_seconds_count", route=POST_MESSAGE) == 2
    assert value(seen, "golive_discord_delivery_retries_total", status="429") == 1
    # Its chat thread, opened on the posted message: routes are templates, never ids.
    routes = {
        dict(labels)["route"] for name, labels in seen if name == "golive_discord_requests_total"
    }
    assert "POST /channels/{channel_id}/messages/{message_id}/threads" in routes
    assert not any(char.isdigit() for route in routes for char in route)
