"""Live rooms as LiveKit reports them: viewer counts, the broadcaster, repairs and auto-end."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from core.config.settings import Settings, load_settings
from core.kernel.clock import ManualClock
from core.kernel.errors import ConfigError
from core.services import Services
from core.streams import Stream, StreamDraft
from golive.bootstrap import open_services
from tests.conftest import ALICE
from tests.fakes.livekit import FakeLiveKit

HOST = f"host-{ALICE.user_id}"


async def go_live(services: Services) -> Stream:
    await services.streams.create(
        owner_id=ALICE.user_id,
        username=ALICE.username,
        display_name=ALICE.display_name,
        draft=StreamDraft(title="Painting live"),
    )
    event = await services.streams.go_live(ALICE.user_id)
    return event.stream


async def join(services: Services, livekit: FakeLiveKit, room: str, identity: str) -> Any:
    livekit.add_participant(room, identity)
    event = livekit.event("participant_joined", room, identity)
    assert await services.webhooks.receive(event)
    return event


async def leave(services: Services, livekit: FakeLiveKit, room: str, identity: str) -> Any:
    info = livekit.remove_participant_directly(room, identity)
    event = livekit.event("participant_left", room, participant=info)
    assert await services.webhooks.receive(event)
    return event


async def session_id(services: Services, stream: Stream) -> int:
    session = await services.streams.current_session(stream.id)
    assert session is not None
    return session.id


async def test_viewers_joining_and_leaving_move_current_peak_and_unique(
    services: Services, livekit: FakeLiveKit
) -> None:
    stream = await go_live(services)
    room = stream.room_name
    assert room is not None
    await join(services, livekit, room, HOST)
    await join(services, livekit, room, "viewer-1002-aaa")
    await join(services, livekit, room, "viewer-1002-bbb")  # Bob's second tab: one person
    await join(services, livekit, room, "guest-xyz")
    await leave(services, livekit, room, "viewer-1002-aaa")

    audience = await services.live.audience(await session_id(services, stream))
    assert (audience.current_viewers, audience.peak_viewers, audience.unique_viewers) == (2, 3, 2)
    assert audience.broadcaster_present


async def test_a_replayed_event_counts_once(services: Services, livekit: FakeLiveKit) -> None:
    stream = await go_live(services)
    assert stream.room_name is not None
    joined = await join(services, livekit, stream.room_name, "guest-1")
    assert not await services.webhooks.receive(joined)  # LiveKit delivered it again
    assert (await services.live.audience(await session_id(services, stream))).current_viewers == 1


async def test_a_leave_that_arrives_before_its_join_is_not_undone(
    services: Services, livekit: FakeLiveKit
) -> None:
    stream = await go_live(services)
    room = stream.room_name
    assert room is not None
    livekit.add_participant(room, "guest-late")
    joined = livekit.event("participant_joined", room, "guest-late")
    left = livekit.event(
        "participant_left",
        room,
        participant=livekit.remove_participant_directly(room, "guest-late"),
    )
    left.created_at = joined.created_at  # same second: only the order key can tell them apart
    assert await services.webhooks.receive(left)
    assert await services.webhooks.receive(joined)
    audience = await services.live.audience(await session_id(services, stream))
    assert audience.current_viewers == 0 and audience.unique_viewers == 1


async def test_older_news_loses_to_newer_news_across_seconds(
    services: Services, livekit: FakeLiveKit
) -> None:
    stream = await go_live(services)
    room = stream.room_name
    assert room is not None
    livekit.add_participant(room, "guest-a")
    joined = livekit.event("participant_joined", room, "guest-a")
    left = livekit.event(
        "participant_left", room, participant=livekit.remove_participant_directly(room, "guest-a")
    )
    joined.created_at, left.created_at = 1_000, 1_005
    await services.webhooks.receive(left)
    await services.webhooks.receive(joined)
    assert (await services.live.audience(await session_id(services, stream))).current_viewers == 0


async def test_the_reconciler_repairs_dropped_webhooks(
    services: Services, livekit: FakeLiveKit
) -> None:
    stream = await go_live(services)
    room = stream.room_name
    assert room is not None
    await join(services, livekit, room, "guest-gone")
    # These never reach golive: one viewer left, two joined, the host is publishing.
    livekit.remove_participant_directly(room, "guest-gone")
    livekit.add_participant(room, "guest-1")
    livekit.add_participant(room, "viewer-1002-t1")
    livekit.add_participant(room, HOST)
    livekit.publish_track(room, HOST, kind="video")

    assert await services.live.reconcile_once() == []
    audience = await services.live.audience(await session_id(services, stream))
    assert audience.current_viewers == 2 and audience.unique_viewers == 3
    assert audience.broadcaster_present and audience.broadcaster_video
    assert audience.auto_end_at is None


async def test_the_broadcasters_video_follows_track_events(
    services: Services, livekit: FakeLiveKit
) -> None:
    stream = await go_live(services)
    room = stream.room_name
    assert room is not None
    await join(services, livekit, room, HOST)
    track = livekit.publish_track(room, HOST, kind="video")
    await services.webhooks.receive(livekit.event("track_published", room, HOST, track=track))
    sid = await session_id(services, stream)
    assert (await services.live.audience(sid)).broadcaster_video

    livekit.participants[room][HOST].ClearField("tracks")
    await services.webhooks.receive(livekit.event("track_unpublished", room, HOST, track=track))
    assert not (await services.live.audience(sid)).broadcaster_video


async def test_a_viewer_publishing_video_is_not_the_broadcaster(
    services: Services, livekit: FakeLiveKit
) -> None:
    stream = await go_live(services)
    room = stream.room_name
    assert room is not None
    await join(services, livekit, room, "guest-1")
    track = livekit.publish_track(room, "guest-1", kind="video")
    await services.webhooks.receive(livekit.event("track_published", room, "guest-1", track=track))
    audience = await services.live.audience(await session_id(services, stream))
    assert not audience.broadcaster_present and not audience.broadcaster_video


async def test_the_stream_ends_when_the_broadcaster_stays_away_past_the_grace(
    services: Services, livekit: FakeLiveKit, clock: ManualClock
) -> None:
    stream = await go_live(services)
    room = stream.room_name
    assert room is not None
    await join(services, livekit, room, HOST)
    await leave(services, livekit, room, HOST)

    clock.advance(119)
    assert await services.live.reconcile_once() == []
    assert (await services.streams.get_by_id(stream.id)).active

    clock.advance(2)
    [ended] = await services.live.reconcile_once()
    assert ended.session.end_reason == "broadcaster_left"
    assert not (await services.streams.get_by_id(stream.id)).active
    assert room not in livekit.rooms


async def test_coming_back_within_the_grace_keeps_the_same_session(
    services: Services, livekit: FakeLiveKit, clock: ManualClock
) -> None:
    stream = await go_live(services)
    room = stream.room_name
    assert room is not None
    first = await session_id(services, stream)
    await join(services, livekit, room, HOST)
    await leave(services, livekit, room, HOST)
    clock.advance(100)
    await join(services, livekit, room, HOST)  # network came back
    clock.advance(600)
    assert await services.live.reconcile_once() == []
    assert await session_id(services, await services.streams.get_by_id(stream.id)) == first


async def test_a_stream_nobody_joined_yet_is_not_ended(
    services: Services, clock: ManualClock
) -> None:
    stream = await go_live(services)
    clock.advance(3600)  # the streamer is still setting up OBS; their room is open
    assert await services.live.reconcile_once() == []
    assert (await services.streams.get_by_id(stream.id)).active


async def test_a_room_livekit_closed_ends_the_stream_after_the_grace(
    services: Services, livekit: FakeLiveKit, clock: ManualClock
) -> None:
    stream = await go_live(services)
    room = stream.room_name
    assert room is not None
    livekit.close_room(room)
    await services.webhooks.receive(livekit.event("room_finished", room))
    assert await services.live.reconcile_once() == []
    clock.advance(121)
    [ended] = await services.live.reconcile_once()
    assert ended.session.end_reason == "broadcaster_left"


async def test_the_auto_end_deadline_survives_a_restart(
    services: Services, livekit: FakeLiveKit, clock: ManualClock, settings: Settings
) -> None:
    stream = await go_live(services)
    room = stream.room_name
    assert room is not None
    await join(services, livekit, room, HOST)
    await leave(services, livekit, room, HOST)
    clock.advance(130)
    async with open_services(settings, clock) as after_restart:
        [ended] = await after_restart.live.reconcile_once()
    assert ended.stream.id == stream.id and ended.session.end_reason == "broadcaster_left"


async def test_events_of_rooms_golive_does_not_own_are_remembered_but_change_nothing(
    services: Services, livekit: FakeLiveKit
) -> None:
    livekit.add_participant("someone-elses-room", "guest-1")
    event = livekit.event("participant_joined", "someone-elses-room", "guest-1")
    assert await services.webhooks.receive(event)
    assert not await services.webhooks.receive(event)


async def test_viewers_over_time_are_sampled_per_minute(
    services: Services, livekit: FakeLiveKit, clock: ManualClock
) -> None:
    stream = await go_live(services)
    room = stream.room_name
    assert room is not None
    await join(services, livekit, room, "guest-1")
    await join(services, livekit, room, "guest-2")
    await leave(services, livekit, room, "guest-2")
    clock.advance(60)
    await services.live.reconcile_once()
    clock.advance(60)
    await join(services, livekit, room, "guest-3")
    assert await services.live.viewer_samples(await session_id(services, stream)) == [
        (0, 2),
        (1, 1),
        (2, 2),
    ]


async def test_deliveries_arriving_together_are_each_applied_once(
    services: Services, livekit: FakeLiveKit
) -> None:
    stream = await go_live(services)
    room = stream.room_name
    assert room is not None
    events = []
    for n in range(40):
        livekit.add_participant(room, f"guest-{n}")
        events.append(livekit.event("participant_joined", room, f"guest-{n}"))
    results = await asyncio.gather(*(services.webhooks.receive(e) for e in [*events, *events[:10]]))
    assert results.count(True) == 40 and results.count(False) == 10
    audience = await services.live.audience(await session_id(services, stream))
    assert (audience.current_viewers, audience.peak_viewers) == (40, 40)


async def test_an_event_a_handler_chokes_on_does_not_sink_the_others(
    services: Services, livekit: FakeLiveKit
) -> None:
    stream = await go_live(services)
    room = stream.room_name
    assert room is not None

    def choke(*_: object) -> None:
        raise RuntimeError("a handler bug")

    services.webhooks.on("room_started", choke)
    livekit.add_participant(room, "guest-0")
    livekit.add_participant(room, "guest-1")
    first = livekit.event("participant_joined", room, "guest-0")
    joined = livekit.event("participant_joined", room, "guest-1")
    started = livekit.event("room_started", room)
    # The first delivery is being written while the other two wait: they are written together.
    results = await asyncio.gather(
        services.webhooks.receive(first),
        services.webhooks.receive(started),
        services.webhooks.receive(joined),
        return_exceptions=True,
    )
    assert results[0] is True and isinstance(results[1], RuntimeError) and results[2] is True
    assert (await services.live.audience(await session_id(services, stream))).current_viewers == 2
    # The failed event was not remembered, so LiveKit's retry is applied when the bug is gone.
    assert await services.webhooks.receive(joined) is False


async def test_rooms_stay_open_through_the_grace_after_everyone_left(
    services: Services, livekit: FakeLiveKit
) -> None:
    # LiveKit would otherwise close the room 20 s after the broadcaster dropped.
    stream = await go_live(services)
    assert stream.room_name is not None
    assert livekit.rooms[stream.room_name].departure_timeout == 120


def test_the_grace_and_the_tick_are_settings(settings: Settings) -> None:
    tuned = load_settings(
        {"GOLIVE_AUTO_END_GRACE_SECONDS": "300", "GOLIVE_RECONCILE_SECONDS": "10"},
        dotenv_path=None,
    )
    assert (tuned.live.auto_end_grace, tuned.live.reconcile_interval) == (
        timedelta(minutes=5),
        timedelta(seconds=10),
    )
    assert settings.live.auto_end_grace == timedelta(minutes=2)
    with pytest.raises(ConfigError, match="GOLIVE_AUTO_END_GRACE_SECONDS"):
        load_settings({"GOLIVE_AUTO_END_GRACE_SECONDS": "0"}, dotenv_path=None)


async def test_with_livekit_down_counts_stay_and_deadlines_still_run(
    services: Services, livekit: FakeLiveKit, clock: ManualClock
) -> None:
    stream = await go_live(services)
    room = stream.room_name
    assert room is not None
    await join(services, livekit, room, "guest-1")
    await join(services, livekit, room, HOST)
    await leave(services, livekit, room, HOST)
    await livekit.down()
    clock.advance(121)
    [ended] = await services.live.reconcile_once()
    assert ended.session.end_reason == "broadcaster_left"
    assert (await services.live.audience(ended.session.id)).peak_viewers == 1
