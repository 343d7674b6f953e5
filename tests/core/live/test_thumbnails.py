"""Thumbnails: an image egress per on-air session, against the LiveKit double's egress.

The double writes real JPEGs where LiveKit's egress would (`capture_snapshots`), so these tests
read the files golive would serve.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from livekit.protocol import egress as lk_egress

from core.config import Settings
from core.kernel.clock import ManualClock
from core.services import Services
from core.streams import Stream, StreamDraft
from golive.bootstrap import open_services
from tests.conftest import ALICE
from tests.fakes.jpeg import solid_jpeg
from tests.fakes.livekit import FakeLiveKit
from tests.outbox_events import deliver_after_first_retry, deliver_again
from tests.studio import send_video

JPEG_START = b"\xff\xd8"


@pytest.fixture
def thumbnails_dir(tmp_path: Path) -> Path:
    return tmp_path / "thumbnails"


@pytest.fixture
def settings(settings: Settings, thumbnails_dir: Path) -> Settings:
    return dataclasses.replace(
        settings,
        thumbnails=dataclasses.replace(
            settings.thumbnails, directory=thumbnails_dir, interval=timedelta(seconds=20)
        ),
    )


@pytest_asyncio.fixture
async def services(settings: Settings, clock: ManualClock) -> AsyncIterator[Services]:
    async with open_services(settings, clock) as opened:
        yield opened


async def alice_goes_live(services: Services) -> Stream:
    await services.streams.create(
        owner_id=ALICE.user_id,
        username=ALICE.username,
        display_name=ALICE.display_name,
        draft=StreamDraft(title="Painting live"),
    )
    return (await services.streams.go_live(ALICE.user_id)).stream


async def on_air(services: Services, livekit: FakeLiveKit) -> Stream:
    await send_video(services, livekit, ALICE.user_id)
    return await services.streams.get_by_owner(ALICE.user_id)


def image_egresses(livekit: FakeLiveKit) -> list[lk_egress.EgressInfo]:
    return [info for info in livekit.egresses.values() if info.room_composite.image_outputs]


async def test_the_first_video_starts_one_image_egress_into_the_shared_folder(
    services: Services, livekit: FakeLiveKit, thumbnails_dir: Path
) -> None:
    stream = await alice_goes_live(services)
    await services.events.drain()
    assert image_egresses(livekit) == []  # starting: nothing to take pictures of yet

    stream = await on_air(services, livekit)
    await send_video(services, livekit, ALICE.user_id)  # a second camera: still one egress
    [egress] = image_egresses(livekit)
    request = egress.room_composite
    assert (request.room_name, request.video_only) == (stream.room_name, True)
    assert not request.file_outputs  # a thumbnail egress records nothing
    [image] = request.image_outputs
    assert image.filename_prefix == str(thumbnails_dir / str(stream.room_name))
    assert image.filename_suffix == lk_egress.ImageFileSuffix.IMAGE_SUFFIX_NONE_OVERWRITE
    assert (image.capture_interval, image.width, image.height) == (20, 640, 360)
    assert image.disable_manifest
    grants = livekit.calls("StartRoomCompositeEgress")[0].grants
    assert grants is not None and grants.room_record


async def test_the_newest_snapshot_is_the_file_the_egress_wrote(
    services: Services, livekit: FakeLiveKit, thumbnails_dir: Path
) -> None:
    await alice_goes_live(services)
    stream = await on_air(services, livekit)
    assert services.thumbnails.snapshot(stream) is None  # no picture taken yet

    [written] = livekit.capture_snapshots()
    assert written == thumbnails_dir / f"{stream.room_name}.jpeg"
    snapshot = services.thumbnails.snapshot(stream)
    assert snapshot is not None and snapshot.path == written
    assert snapshot.path.read_bytes().startswith(JPEG_START)
    first = snapshot.path.read_bytes()
    livekit.capture_snapshots()  # overwritten in place, a new picture
    assert services.thumbnails.snapshot(stream) is not None
    assert written.read_bytes() != first


async def test_the_end_stops_the_egress_and_removes_the_snapshot(
    services: Services, livekit: FakeLiveKit
) -> None:
    await alice_goes_live(services)
    stream = await on_air(services, livekit)
    [written] = livekit.capture_snapshots()
    [egress] = image_egresses(livekit)

    await services.streams.end(ALICE.user_id)
    await services.events.drain()
    assert [call.request.egress_id for call in livekit.calls("StopEgress")] == [egress.egress_id]  # type: ignore[union-attr]
    assert livekit.egresses[egress.egress_id].status == lk_egress.EgressStatus.EGRESS_ENDING
    assert not written.exists()
    assert services.thumbnails.snapshot(stream) is None
    assert livekit.capture_snapshots() == []  # a stopped egress takes no more pictures


async def test_a_snapshot_written_after_the_stop_goes_when_the_egress_ends(
    services: Services, livekit: FakeLiveKit
) -> None:
    await alice_goes_live(services)
    await on_air(services, livekit)
    [egress] = image_egresses(livekit)
    [late] = livekit.capture_snapshots()
    await services.streams.end(ALICE.user_id)
    await services.events.drain()
    assert not late.exists()
    # The egress, still winding down, writes one last picture after golive's clean-up.
    late.write_bytes(solid_jpeg(640, 360, (0, 0, 0)))

    done = livekit.set_egress_status(egress.egress_id, lk_egress.EgressStatus.EGRESS_COMPLETE)
    assert await services.webhooks.receive(livekit.event("egress_ended", egress_info=done))
    assert not late.exists()


async def test_livekit_down_while_starting_thumbnails_does_not_stop_going_live(
    services: Services, livekit: FakeLiveKit, clock: ManualClock
) -> None:
    await alice_goes_live(services)
    await livekit.down()
    stream = await on_air(services, livekit)  # the video's webhooks still arrive
    assert stream.state == "live"
    assert [hit.stream.slug for hit in (await services.search.by_name("")).hits] == ["alice"]
    assert services.thumbnails.snapshot(stream) is None
    # The claim was given back: the outbox tries again once LiveKit answers.
    assert await services.db.fetch_one("SELECT 1 FROM thumbnails") is None
    await livekit.up()
    await deliver_after_first_retry(services, clock)
    [egress] = image_egresses(livekit)
    assert len(livekit.calls("StartRoomCompositeEgress")) == 1  # the first never reached it
    row = await services.db.fetch_one("SELECT egress_id, status FROM thumbnails")
    assert row is not None and row["egress_id"] == egress.egress_id
    assert row["status"] in ("starting", "active")


async def test_a_redelivered_on_air_starts_no_second_image_egress(
    services: Services, livekit: FakeLiveKit
) -> None:
    await alice_goes_live(services)
    await on_air(services, livekit)
    assert await deliver_again(services, "ThumbnailService.follow_stream") == 1
    assert len(image_egresses(livekit)) == 1
    assert len(livekit.calls("StartRoomCompositeEgress")) == 1


async def test_a_run_cut_short_before_livekit_answered_is_taken_over(
    services: Services, livekit: FakeLiveKit
) -> None:
    """Its process died holding the claim: the redelivery (after the lease) starts the egress."""
    await alice_goes_live(services)
    await on_air(services, livekit)
    async with services.db.transaction() as tx:
        await tx.execute("UPDATE thumbnails SET egress_id = NULL, status = 'starting'")
    livekit.egresses.clear()
    await deliver_again(services, "ThumbnailService.follow_stream")
    [egress] = image_egresses(livekit)
    row = await services.db.fetch_one("SELECT egress_id FROM thumbnails")
    assert row is not None and row["egress_id"] == egress.egress_id


async def test_a_redelivered_end_stops_the_image_egress_once(
    services: Services, livekit: FakeLiveKit
) -> None:
    await alice_goes_live(services)
    await on_air(services, livekit)
    await services.streams.end(ALICE.user_id)
    await services.events.drain()
    assert await deliver_again(services, "ThumbnailService.follow_stream") == 2
    assert len(livekit.calls("StopEgress")) == 1
    assert len(livekit.calls("StartRoomCompositeEgress")) == 1  # the ended session: none


async def test_livekit_down_at_the_end_stops_the_image_egress_later(
    services: Services, livekit: FakeLiveKit, clock: ManualClock
) -> None:
    await alice_goes_live(services)
    await on_air(services, livekit)
    [egress] = image_egresses(livekit)
    [written] = livekit.capture_snapshots()
    await livekit.down()
    await services.streams.end(ALICE.user_id)
    await services.events.drain()
    await livekit.up()
    assert livekit.egresses[egress.egress_id].status != lk_egress.EgressStatus.EGRESS_ENDING
    await deliver_after_first_retry(services, clock)
    assert livekit.egresses[egress.egress_id].status == lk_egress.EgressStatus.EGRESS_ENDING
    assert not written.exists()


async def test_a_refused_thumbnail_egress_is_kept_and_the_stream_goes_on(
    services: Services, livekit: FakeLiveKit
) -> None:
    await alice_goes_live(services)
    livekit.fail_next("StartRoomCompositeEgress", code="unavailable")
    stream = await on_air(services, livekit)
    assert stream.state == "live"
    row = await services.db.fetch_one("SELECT status, error FROM thumbnails")
    assert row is not None and row["status"] == "failed" and "unavailable" in row["error"]


async def test_the_thumbnail_egress_is_never_mistaken_for_a_recording(
    services: Services, livekit: FakeLiveKit
) -> None:
    await alice_goes_live(services)
    stream = await on_air(services, livekit)
    [egress] = image_egresses(livekit)
    active = livekit.set_egress_status(egress.egress_id, lk_egress.EgressStatus.EGRESS_ACTIVE)
    assert await services.webhooks.receive(livekit.event("egress_started", egress_info=active))
    done = livekit.set_egress_status(egress.egress_id, lk_egress.EgressStatus.EGRESS_COMPLETE)
    assert await services.webhooks.receive(livekit.event("egress_ended", egress_info=done))
    assert await services.db.fetch_all("SELECT * FROM recordings") == []
    assert await services.recording.list_vods(stream.id) == []
    row = await services.db.fetch_one("SELECT status FROM thumbnails")
    assert row is not None and row["status"] == "complete"


async def test_without_a_folder_there_are_no_thumbnails(
    settings: Settings, clock: ManualClock, livekit: FakeLiveKit
) -> None:
    off = dataclasses.replace(
        settings, thumbnails=dataclasses.replace(settings.thumbnails, directory=None)
    )
    async with open_services(off, clock) as services:
        await alice_goes_live(services)
        stream = await on_air(services, livekit)
        assert image_egresses(livekit) == []
        assert services.thumbnails.snapshot(stream) is None
