"""What the watch page hands its player before it joins the room (<script id="page-data">): the
viewer count golive knows, whether the streamer's video was flowing, and who counts as watching."""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp.test_utils import TestClient

from core.livekit import host_identity
from core.services import Services
from core.streams import StreamDraft
from tests.conftest import ALICE
from tests.fakes.livekit import FakeLiveKit

Client = TestClient[object, object]
PAGE_DATA = re.compile(r'<script id="page-data" type="application/json">(.*?)</script>', re.S)


async def page_data(client: Client, path: str) -> dict[str, Any]:
    async with client.get(path) as response:
        assert response.status == 200
        found = PAGE_DATA.search(await response.text())
    assert found is not None
    return dict(json.loads(found.group(1)))


async def alice_live(services: Services) -> str:
    await services.streams.create(
        owner_id=ALICE.user_id,
        username=ALICE.username,
        display_name=ALICE.display_name,
        draft=StreamDraft(title="Painting live"),
    )
    room = (await services.streams.go_live(ALICE.user_id)).stream.room_name
    assert room is not None
    return room


async def test_a_live_page_carries_the_count_golive_knows(
    client: Client, services: Services, livekit: FakeLiveKit
) -> None:
    room = await alice_live(services)
    livekit.add_participant(room, host_identity(ALICE.user_id))
    livekit.publish_track(room, host_identity(ALICE.user_id), kind="video")
    livekit.add_participant(room, "guest-0a1b2c3d4e5f")
    livekit.add_participant(room, "viewer-1002-t1")
    assert await services.live.reconcile_once() == []

    data = await page_data(client, "/live/alice")

    assert (data["viewers"], data["broadcasterVideo"]) == (2, True)
    assert data["audiencePrefixes"] == ["viewer-", "guest-"]
    async with client.get("/live/alice") as response:
        assert "2 watching" in await response.text()  # shown before any script runs


async def test_a_stream_that_just_went_live_has_no_viewers_and_no_video_yet(
    client: Client, services: Services
) -> None:
    await alice_live(services)

    data = await page_data(client, "/live/alice")

    assert (data["viewers"], data["broadcasterVideo"]) == (0, False)


async def test_an_offline_page_carries_no_audience(client: Client, services: Services) -> None:
    await services.streams.create(
        owner_id=ALICE.user_id,
        username=ALICE.username,
        display_name=ALICE.display_name,
        draft=StreamDraft(title="Painting live"),
    )

    data = await page_data(client, "/live/alice")

    assert data["active"] is False
    assert not {"viewers", "broadcasterVideo", "audiencePrefixes"} & set(data)
