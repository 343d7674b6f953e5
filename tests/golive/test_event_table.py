"""The event table: fan-out never holds up an answer, and the docs show the table as it is."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import GoLiveBot
from core.chat import ChatMessagePosted
from core.kernel.events import Mode, background
from core.money import TipEvent
from core.services import Services
from core.streams import StreamWentLive
from golive.event_table import discord_events, domain_events, livekit_webhooks
from tests.conftest import ALICE, BOB, SignIn
from tests.core.money.test_ledger import fund, page
from tests.fakes.livekit import FakeLiveKit

ROOT = Path(__file__).resolve().parents[2]
# Everything golive asks LiveKit for on the way out of a request, besides opening the room.
FAN_OUT = ("SendData", "StartRoomCompositeEgress", "UpdateIngress", "ListIngress")


async def test_answers_do_not_wait_for_hung_discord_or_livekit_fan_out(
    services: Services,
    client: TestClient[Any, Any],
    sign_in: SignIn,
    livekit: FakeLiveKit,
) -> None:
    await page(services, ALICE)
    await fund(services, BOB, 100)
    discord_back = asyncio.Event()
    reached: list[str] = []

    async def hung_discord(event: object) -> None:
        # Stands in for a Discord that accepts the call and never answers.
        reached.append(type(event).__name__)
        await discord_back.wait()

    services.events.wire(
        "discord",
        [background(kind, hung_discord) for kind in (StreamWentLive, ChatMessagePosted, TipEvent)],
    )
    livekit.hang(*FAN_OUT)

    async with asyncio.timeout(1):
        await sign_in(client, ALICE)
        live = await client.post("/api/live/toggle-active", json={"active": True})
        assert live.status == 200
        await sign_in(client, BOB)
        chat = await client.post("/api/live/alice/chat", json={"text": "hello"})
        assert chat.status == 201
        tip = await client.post(
            "/api/live/alice/tip", json={"amount": 20, "message": "gg", "requestId": "req-00000001"}
        )
        assert tip.status == 201
    assert livekit.sent_data == []  # the room packets are still on their way

    livekit.recover()
    discord_back.set()
    await services.events.drain()
    assert sorted({sent.topic for sent in livekit.sent_data}) == ["chat", "tips"]
    assert reached == ["StreamWentLive", "ChatMessagePosted", "TipEvent"]


def test_fan_out_runs_in_the_background(services: Services) -> None:
    """Only what an answer must be consistent with runs inline."""
    inline = [row.name for row in domain_events(services) if row.mode is Mode.INLINE]
    # Queuing a chat packet is instant; its SendData runs in the room's background sender.
    assert inline == [
        "ChatService.hide_messages_of_banned",
        "ChatService.queue_for_room",
        "ChatService.queue_for_room",
    ]


def documented_rows() -> set[str]:
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = text.split("## The event table", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `(\w+)` \| `([\w.]+)` \|", section, flags=re.M))  # type: ignore[arg-type]


def test_the_docs_show_every_row_of_the_table(
    services: Services, make_bot: Callable[[], GoLiveBot]
) -> None:
    bot = make_bot()
    rows = {(row.event_type.__name__, row.name) for row in domain_events(services)}
    rows |= {(row.event_type.__name__, row.name) for row in discord_events(bot)}
    rows |= {
        (kind, getattr(handler, "__qualname__", "")) for kind, handler in livekit_webhooks(services)
    }
    assert documented_rows() == rows
