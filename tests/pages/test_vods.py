"""The offline stream page lists recorded past streams."""

from __future__ import annotations

import dataclasses
from typing import Any

from aiohttp.test_utils import TestClient
from livekit.protocol import egress as lk_egress

from core.kernel.clock import ManualClock
from core.services import Services
from core.streams import StreamDraft
from tests.conftest import ALICE, FILE_RECORDING
from tests.fakes.livekit import FakeLiveKit

Client = TestClient[Any, Any]


async def record_a_stream(
    services: Services, livekit: FakeLiveKit, clock: ManualClock, minutes: int
) -> None:
    await services.streams.go_live(ALICE.user_id)
    clock.advance(minutes * 60)
    await services.streams.end(ALICE.user_id)
    [info] = [e for e in livekit.egresses.values() if not e.file_results]
    livekit.set_egress_status(info.egress_id, lk_egress.EgressStatus.EGRESS_COMPLETE)
    path = info.room_composite.file_outputs[0].filepath
    info.file_results.append(
        lk_egress.FileInfo(filename=path, duration=minutes * 60 * 1_000_000_000, location=path)
    )
    assert await services.webhooks.receive(livekit.event("egress_ended", egress_info=info))
    clock.advance(3600)


async def test_the_offline_page_lists_past_streams_with_length_and_link(
    client: Client, services: Services, livekit: FakeLiveKit, clock: ManualClock
) -> None:
    services.recording.config = dataclasses.replace(
        FILE_RECORDING, record_all=True, file_prefix="rec/"
    )
    await services.streams.create(
        owner_id=ALICE.user_id,
        username=ALICE.username,
        display_name=ALICE.display_name,
        draft=StreamDraft(title="Painting live"),
    )
    await record_a_stream(services, livekit, clock, 72)
    await record_a_stream(services, livekit, clock, 25)

    async with client.get("/live/alice") as response:
        assert response.status == 200
        html = await response.text()
    section = html.split('data-testid="past-streams"', 1)[1].split("</section>", 1)[0]
    assert "Past streams" in section
    # Newest first, each with its length and a link to its file.
    assert section.index("25m") < section.index("1h 12m")
    assert section.count('href="https://media.golive.test/rec/alice/live-alice-') == 2


async def test_a_page_without_recordings_shows_no_past_streams(
    client: Client, services: Services
) -> None:
    await services.streams.create(
        owner_id=ALICE.user_id,
        username=ALICE.username,
        display_name=ALICE.display_name,
        draft=StreamDraft(title="Painting live"),
    )
    async with client.get("/live/alice") as response:
        assert "Past streams" not in await response.text()
