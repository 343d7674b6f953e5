"""GET /healthz (the process is alive) and GET /readyz (each part it needs, 503 until all are)."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from core.kernel.clock import ManualClock
from core.services import Services
from golive.runtime import discord_readiness
from tests.fakes.livekit import FakeLiveKit
from web.app import create_app
from web.ops import Readiness

Client = TestClient[Any, Any]


async def readyz(client: Client) -> tuple[int, dict[str, Any]]:
    async with client.get("/readyz") as response:
        return response.status, await response.json()


async def test_healthz_says_ok_without_asking_anything(
    client: Client, livekit: FakeLiveKit
) -> None:
    await livekit.down()
    async with client.get("/healthz") as response:
        assert response.status == 200
        assert await response.json() == {"status": "ok", "storage": "writable"}
    assert livekit.requests == []


async def test_ready_when_the_store_is_writable_and_livekit_answers(client: Client) -> None:
    assert await readyz(client) == (
        200,
        {
            "status": "ready",
            "parts": {
                "store": {"ok": True, "detail": "writable"},
                "livekit": {"ok": True, "detail": "reachable, 0 room(s) open"},
            },
        },
    )


async def test_readiness_flips_when_livekit_stops_and_back_when_it_returns(
    client: Client, livekit: FakeLiveKit, clock: ManualClock
) -> None:
    assert (await readyz(client))[0] == 200
    await livekit.down()
    clock.advance(3)
    status, answer = await readyz(client)
    assert status == 503 and answer["status"] == "not ready"
    assert answer["parts"]["livekit"]["ok"] is False
    assert "can't be reached" in answer["parts"]["livekit"]["detail"]
    assert answer["parts"]["store"]["ok"] is True
    await livekit.up()
    clock.advance(3)
    assert (await readyz(client))[0] == 200


async def test_a_crowd_of_probes_costs_livekit_one_call(
    client: Client, livekit: FakeLiveKit
) -> None:
    for _ in range(5):
        await readyz(client)
    assert len(livekit.calls("ListRooms")) == 1


async def test_a_process_with_a_bot_reports_its_gateway_connection(
    services: Services, simcord_env: Any
) -> None:
    readiness = Readiness(services)
    readiness.add("discord", discord_readiness(simcord_env.bot))
    async with TestClient(TestServer(create_app(services, readiness))) as client:
        status, answer = await readyz(client)
        assert status == 200
        assert answer["parts"]["discord"]["ok"] is True
        assert answer["parts"]["discord"]["detail"].startswith("connected")
        await simcord_env.bot.close()
        services.clock.advance(3)  # type: ignore[attr-defined]
        status, answer = await readyz(client)
    assert status == 503
    assert answer["parts"]["discord"] == {
        "ok": False,
        "detail": "the bot's connection to Discord is closed",
    }
