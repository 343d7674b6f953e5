"""GET /live/<slug>/thumbnail.jpg, and where the pages and the API point at it.

A stream's newest snapshot at a stable address, cached for one capture interval and cheap to
ask again (304); a 404 that nothing keeps when there is none; the address in the grid's JSON (with
a version) and in the watch page's `og:image`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient

from core.config import Settings
from core.kernel.clock import ManualClock
from core.services import Services
from core.streams import StreamDraft
from golive.bootstrap import open_services
from tests.conftest import ALICE
from tests.fakes.livekit import FakeLiveKit
from tests.studio import send_video

Client = TestClient[Any, Any]


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return dataclasses.replace(
        settings,
        thumbnails=dataclasses.replace(
            settings.thumbnails, directory=tmp_path / "thumbs", interval=timedelta(seconds=15)
        ),
    )


@pytest_asyncio.fixture
async def services(settings: Settings, clock: ManualClock) -> AsyncIterator[Services]:
    async with open_services(settings, clock) as opened:
        yield opened


async def alice_on_air(services: Services, livekit: FakeLiveKit) -> Path:
    """Alice goes live, her camera arrives, and the egress takes its first snapshot."""
    await services.streams.create(
        owner_id=ALICE.user_id,
        username=ALICE.username,
        display_name=ALICE.display_name,
        draft=StreamDraft(title="Painting live"),
    )
    await services.streams.go_live(ALICE.user_id)
    await send_video(services, livekit, ALICE.user_id)
    [written] = livekit.capture_snapshots()
    return written


async def test_the_snapshot_is_served_with_headers_for_a_changing_image(
    client: Client, services: Services, livekit: FakeLiveKit
) -> None:
    written = await alice_on_air(services, livekit)
    response = await client.get("/live/alice/thumbnail.jpg")
    assert response.status == 200
    assert response.content_type == "image/jpeg"
    assert await response.read() == written.read_bytes()
    assert response.headers["Cache-Control"] == "public, max-age=15, must-revalidate"
    etag = response.headers["ETag"]
    assert response.headers["Last-Modified"]

    again = await client.get("/live/alice/thumbnail.jpg", headers={"If-None-Match": etag})
    assert again.status == 304  # unchanged: nothing sent again

    livekit.capture_snapshots()  # a new picture
    newer = await client.get("/live/alice/thumbnail.jpg", headers={"If-None-Match": etag})
    assert newer.status == 200 and await newer.read() == written.read_bytes()


async def test_no_snapshot_is_a_404_nothing_keeps(
    client: Client, services: Services, livekit: FakeLiveKit
) -> None:
    await services.streams.create(
        owner_id=ALICE.user_id,
        username=ALICE.username,
        display_name=ALICE.display_name,
        draft=StreamDraft(title="Painting live"),
    )
    offline = await client.get("/live/alice/thumbnail.jpg")
    assert offline.status == 404 and offline.headers["Cache-Control"] == "no-store"
    await services.streams.go_live(ALICE.user_id)
    starting = await client.get("/live/alice/thumbnail.jpg")
    assert starting.status == 404  # no video yet, so no picture either
    unknown = await client.get("/live/nobody/thumbnail.jpg")
    assert unknown.status == 404
    # The file is found from the stream's own room, never from the address: nothing to climb.
    climbing = await client.get("/live/..%2F..%2Fetc/thumbnail.jpg")
    assert climbing.status == 404


async def test_the_snapshot_goes_when_the_stream_ends(
    client: Client, services: Services, livekit: FakeLiveKit
) -> None:
    await alice_on_air(services, livekit)
    assert (await client.get("/live/alice/thumbnail.jpg")).status == 200
    await services.streams.end(ALICE.user_id)
    await services.events.drain()
    assert (await client.get("/live/alice/thumbnail.jpg")).status == 404


async def test_the_search_and_the_stream_json_point_at_the_newest_snapshot(
    client: Client, services: Services, livekit: FakeLiveKit
) -> None:
    written = await alice_on_air(services, livekit)
    found = await client.post("/api/live/search", json={"slug": ""})
    [card] = (await found.json())["streams"]
    version = written.stat().st_mtime_ns
    assert card["thumbnailUrl"] == f"/live/alice/thumbnail.jpg?v={version}"
    assert card["state"] == "live"
    stream = await (await client.get("/api/live/alice")).json()
    assert stream["thumbnailUrl"] == card["thumbnailUrl"]
    # The versioned address serves the same picture.
    assert (await client.get(card["thumbnailUrl"])).status == 200


async def test_the_watch_page_offers_the_snapshot_to_link_previews(
    client: Client, services: Services, livekit: FakeLiveKit
) -> None:
    await alice_on_air(services, livekit)
    page = await (await client.get("/live/alice")).text()
    head = page.split("</head>", 1)[0]
    assert (
        '<meta property="og:image" content="http://golive.test/live/alice/thumbnail.jpg">' in head
    )
    assert '<meta property="og:title" content="🔴 LIVE: Painting live">' in head


async def test_a_watch_page_without_a_snapshot_has_no_og_image(
    client: Client, services: Services
) -> None:
    await services.streams.create(
        owner_id=ALICE.user_id,
        username=ALICE.username,
        display_name=ALICE.display_name,
        draft=StreamDraft(title="Painting live"),
    )
    await services.streams.go_live(ALICE.user_id)
    page = await (await client.get("/live/alice")).text()
    assert "og:image" not in page
    # Starting: not called LIVE in link previews yet.
    assert '<meta property="og:title" content="Painting live">' in page
    assert '"state": "starting"' in page  # the page's data tells its scripts
