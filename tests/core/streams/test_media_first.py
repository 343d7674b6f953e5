"""Media first: a stream is on air (listed, announced) when its first video arrives, once.

Going live opens the room and the session ("starting"); the broadcaster's first video track, as
LiveKit's webhooks or its participant list report it, or an OBS ingress publishing, takes the
session on air exactly once, and only then is `StreamMediaStarted` published. Deployments whose
video can't be seen may set `streams.media_wait_seconds`: the scheduler's media-wait job takes a
session on air after that long anyway.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio

from core.config import Settings
from core.kernel.clock import ManualClock
from core.kernel.events import inline
from core.livekit import host_identity
from core.services import Services
from core.streams import StreamDraft, StreamEnded, StreamEvent, StreamMediaStarted
from golive import scheduler
from golive.bootstrap import open_services
from tests.conftest import ALICE, BOB
from tests.fakes.livekit import FakeLiveKit
from tests.studio import send_video, studio_joins

HOST = host_identity(ALICE.user_id)


async def open_room(services: Services) -> str:
    """Alice presses go live: her room and session open, nothing is sent yet."""
    await services.streams.create(
        owner_id=ALICE.user_id,
        username=ALICE.username,
        display_name=ALICE.display_name,
        draft=StreamDraft(title="Painting live"),
    )
    event = await services.streams.go_live(ALICE.user_id)
    assert event.stream.room_name is not None
    return event.stream.room_name


def heard(services: Services) -> list[StreamEvent]:
    seen: list[StreamEvent] = []

    async def listener(event: StreamEvent) -> None:
        seen.append(event)

    services.events.wire(
        "test", [inline(StreamMediaStarted, listener), inline(StreamEnded, listener)]
    )
    return seen


async def listed(services: Services) -> list[str]:
    return [hit.stream.slug for hit in (await services.search.by_name("")).hits]


async def test_going_live_is_starting_until_the_first_video_then_on_air_once(
    services: Services, livekit: FakeLiveKit
) -> None:
    seen = heard(services)
    room = await open_room(services)
    stream = await services.streams.get_by_owner(ALICE.user_id)
    assert (stream.active, stream.state) == (True, "starting")
    assert await listed(services) == []  # nobody finds a stream that shows nothing yet

    await studio_joins(services, livekit, ALICE.user_id)
    microphone = livekit.publish_track(room, HOST, kind="audio")
    await services.webhooks.receive(livekit.event("track_published", room, HOST, track=microphone))
    await services.events.drain()
    assert (await services.streams.get_by_owner(ALICE.user_id)).state == "starting"
    assert seen == []

    await send_video(services, livekit, ALICE.user_id)
    [on_air] = seen
    assert isinstance(on_air, StreamMediaStarted)
    assert on_air.stream.state == "live" and on_air.session.media_started_at is not None
    assert await listed(services) == ["alice"]

    # A second camera, a repeated webhook and the reconciler seeing the same video: no repeat.
    await send_video(services, livekit, ALICE.user_id)
    await services.live.reconcile_once()
    await services.events.drain()
    assert seen == [on_air]


async def test_a_viewer_or_guest_sending_video_does_not_take_the_stream_on_air(
    services: Services, livekit: FakeLiveKit
) -> None:
    seen = heard(services)
    room = await open_room(services)
    guest = f"viewer-{BOB.user_id}-tab"
    livekit.add_participant(room, guest)
    await services.webhooks.receive(livekit.event("participant_joined", room, guest))
    track = livekit.publish_track(room, guest, kind="video")
    await services.webhooks.receive(livekit.event("track_published", room, guest, track=track))
    await services.live.reconcile_once()
    await services.events.drain()
    assert seen == []
    assert (await services.streams.get_by_owner(ALICE.user_id)).state == "starting"


async def test_lost_webhooks_the_reconciler_sees_the_video_and_takes_it_on_air(
    services: Services, livekit: FakeLiveKit
) -> None:
    seen = heard(services)
    room = await open_room(services)
    livekit.add_participant(room, HOST)
    livekit.publish_track(room, HOST, kind="video")  # LiveKit's webhooks never arrive
    await services.live.reconcile_once()
    await services.events.drain()
    [on_air] = seen
    assert on_air.kind == "on_air" and on_air.stream.on_air


async def test_a_stream_ended_before_any_video_was_never_on_air(
    services: Services, livekit: FakeLiveKit
) -> None:
    seen = heard(services)
    await open_room(services)
    await studio_joins(services, livekit, ALICE.user_id)
    ended = await services.streams.end(ALICE.user_id)
    await services.events.drain()
    assert seen == [ended]
    assert ended.session.media_started_at is None and ended.stream.state == "offline"


async def test_ending_takes_the_stream_off_air_and_off_the_grid(
    services: Services, livekit: FakeLiveKit
) -> None:
    await open_room(services)
    await send_video(services, livekit, ALICE.user_id)
    assert await listed(services) == ["alice"]
    await services.streams.end(ALICE.user_id)
    stream = await services.streams.get_by_owner(ALICE.user_id)
    assert (stream.on_air, stream.state) == (False, "offline")
    assert await listed(services) == []
    assert (await services.search.by_name("", include_offline=True)).total == 1


async def test_only_one_of_two_racing_claims_goes_on_air(services: Services) -> None:
    """Two processes (or a webhook and the reconciler) seeing the first video at once."""
    await open_room(services)
    session = await services.streams.current_session(
        (await services.streams.get_by_owner(ALICE.user_id)).id
    )
    assert session is not None
    now = services.clock.now()
    claims = [
        await services.db.run_transaction(
            lambda tx: services.streams.claim_media_start(tx, session.id, now)
        )
        for _ in range(2)
    ]
    assert claims == [True, False]


def test_without_a_media_wait_there_is_no_fallback_job(services: Services) -> None:
    assert services.streams.media_wait == timedelta(0)
    assert "media-wait" not in [job.name for job in scheduler.core_jobs(services)]


class TestMediaWait:
    """streams.media_wait_seconds = 20: for a LiveKit whose video golive can't see."""

    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return dataclasses.replace(
            settings,
            streams=dataclasses.replace(settings.streams, media_wait=timedelta(seconds=20)),
        )

    @pytest_asyncio.fixture
    async def services(self, settings: Settings, clock: ManualClock) -> AsyncIterator[Services]:
        async with open_services(settings, clock) as opened:
            yield opened

    async def test_a_stream_with_no_video_goes_on_air_after_the_wait_once(
        self, services: Services, clock: ManualClock
    ) -> None:
        seen = heard(services)
        await open_room(services)
        [job] = [job for job in scheduler.core_jobs(services) if job.name == "media-wait"]
        assert job.every == scheduler.MEDIA_WAIT_TICK

        clock.advance(19)
        await scheduler.run_once([job])
        await services.events.drain()
        assert seen == [] and await listed(services) == []

        clock.advance(1)
        await scheduler.run_once([job])
        await scheduler.run_once([job])  # the next turn (or another process) finds nothing to do
        await services.events.drain()
        [on_air] = seen
        assert on_air.kind == "on_air" and await listed(services) == ["alice"]

    async def test_video_before_the_wait_makes_the_fallback_a_no_op(
        self, services: Services, livekit: FakeLiveKit, clock: ManualClock
    ) -> None:
        seen = heard(services)
        await open_room(services)
        await send_video(services, livekit, ALICE.user_id)
        clock.advance(60)
        assert await services.streams.start_overdue_media() == []
        await services.events.drain()
        assert len(seen) == 1
