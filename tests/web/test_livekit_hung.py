"""A LiveKit that accepts calls and never answers: what needs it answers within `livekit.timeout`,
what is already decided (the stream is over) is visible at once, and nothing waits for ever.

Once with the LiveKit double told to hang, once with a real socket that accepts and says nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer

from core.config.settings import Settings
from core.kernel.clock import ManualClock
from core.services import Services
from golive.bootstrap import open_services
from tests.conftest import ALICE, SignIn
from tests.core.money.test_ledger import page
from tests.fakes.livekit import FakeLiveKit
from web.app import create_app, server_options
from web.keys import SESSION_COOKIE

Client = TestClient[Any, Any]
TIMEOUT_SECONDS = 1
# The bound plus what a loaded 2-core machine adds to a request.
ANSWERED_WITHIN = TIMEOUT_SECONDS + 1.0


def with_livekit_timeout(settings: Settings, url: str | None = None) -> Settings:
    livekit = dataclasses.replace(
        settings.livekit,
        timeout=timedelta(seconds=TIMEOUT_SECONDS),
        url=url or settings.livekit.url,
    )
    return dataclasses.replace(settings, livekit=livekit)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_livekit_timeout(settings)


async def timed_post(client: Client, path: str, body: dict[str, Any]) -> tuple[int, float]:
    started = time.monotonic()
    async with client.post(path, json=body) as response:
        await response.read()
        return response.status, time.monotonic() - started


async def test_go_live_end_and_health_answer_within_the_bound_when_livekit_hangs(
    services: Services, client: Client, sign_in: SignIn, livekit: FakeLiveKit
) -> None:
    await page(services, ALICE)
    await sign_in(client, ALICE)

    livekit.hang("CreateRoom")
    status, seconds = await timed_post(client, "/api/live/toggle-active", {"active": True})
    assert status == 503 and seconds < ANSWERED_WITHIN
    assert not (await services.streams.get_by_owner(ALICE.user_id)).active
    livekit.recover()
    assert (await timed_post(client, "/api/live/toggle-active", {"active": True}))[0] == 200

    livekit.hang("ListParticipants")
    started = time.monotonic()
    async with client.get("/api/live/alice/health") as response:
        assert response.status == 503
        assert "error" in await response.json()
    assert time.monotonic() - started < ANSWERED_WITHIN

    livekit.hang("DeleteRoom")
    ending = asyncio.create_task(timed_post(client, "/api/live/toggle-active", {"active": False}))
    # While LiveKit sits on the room, the stream is already over for viewers.
    over_for_viewers = False
    while not ending.done() and not over_for_viewers:
        async with client.get("/api/live/alice") as response:
            over_for_viewers = (await response.json())["active"] is False
    assert over_for_viewers and not ending.done()
    status, seconds = await ending
    assert status == 200 and seconds < ANSWERED_WITHIN
    livekit.recover()


@pytest_asyncio.fixture
async def silent_livekit_url() -> AsyncIterator[str]:
    """A TCP server that accepts connections, reads what it is sent and never answers."""

    async def say_nothing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(65536):
            pass
        writer.close()

    server = await asyncio.start_server(say_nothing, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}"


async def test_a_livekit_socket_that_never_answers_is_a_503_within_the_bound(
    settings: Settings, clock: ManualClock, silent_livekit_url: str
) -> None:
    silent = with_livekit_timeout(settings, silent_livekit_url)
    async with open_services(silent, clock) as services:
        await page(services, ALICE)
        link = await services.auth.create_login_link(ALICE, "/live")
        session_token, _ = await services.auth.redeem_login_link(link.token)
        server = TestServer(create_app(services))
        await server.start_server(**server_options())
        async with TestClient(server) as client:
            client.session.cookie_jar.update_cookies({SESSION_COOKIE: session_token})
            status, seconds = await timed_post(client, "/api/live/toggle-active", {"active": True})
        assert status == 503 and seconds < ANSWERED_WITHIN
        assert not (await services.streams.get_by_owner(ALICE.user_id)).active
