"""Streaming from OBS: the ingress, its key, its room, and going live when OBS starts."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from livekit.protocol import ingress as lk_ingress

from core.kernel.clock import ManualClock
from core.kernel.errors import LiveKitUnavailable, NotFound
from core.kernel.events import inline
from core.live import ObsProblem
from core.live.ingress import obs_identity
from core.services import Services
from core.streams import Stream, StreamDraft, StreamEvent, StreamMediaStarted
from tests.conftest import ALICE, BOB
from tests.fakes.livekit import FakeLiveKit
from tests.outbox_events import deliver_after_first_retry, deliver_again

OBS = obs_identity(ALICE.user_id)
Status = lk_ingress.IngressState.Status


async def make_page(services: Services) -> Stream:
    return await services.streams.create(
        owner_id=ALICE.user_id,
        username=ALICE.username,
        display_name=ALICE.display_name,
        draft=StreamDraft(title="Painting live"),
    )


def only_ingress(livekit: FakeLiveKit) -> lk_ingress.IngressInfo:
    [info] = livekit.ingresses.values()
    return info


async def obs_starts(services: Services, livekit: FakeLiveKit, *, webhook: bool = True) -> str:
    """OBS connects: LiveKit's ingress joins its room, publishes, and (maybe) says so."""
    info = only_ingress(livekit)
    livekit.set_ingress_status(info.ingress_id, Status.ENDPOINT_PUBLISHING)
    info.state.video.CopyFrom(
        lk_ingress.InputVideoState(width=1920, height=1080, framerate=30, average_bitrate=4_500_000)
    )
    livekit.add_participant(info.room_name, OBS, kind="ingress")
    track = livekit.publish_track(info.room_name, OBS)
    if webhook:
        assert await services.webhooks.receive(livekit.event("ingress_started", ingress_info=info))
    else:
        event = livekit.event("track_published", info.room_name, OBS, track=track)
        assert await services.webhooks.receive(event)
    return info.room_name


async def obs_stops(services: Services, livekit: FakeLiveKit) -> None:
    info = only_ingress(livekit)
    livekit.set_ingress_status(info.ingress_id, Status.ENDPOINT_INACTIVE)
    livekit.remove_participant_directly(info.room_name, OBS)
    assert await services.webhooks.receive(livekit.event("ingress_ended", ingress_info=info))


async def test_obs_settings_are_made_once_and_shown_again(
    services: Services, livekit: FakeLiveKit
) -> None:
    await make_page(services)
    first = await services.ingress.setup(ALICE.user_id, ALICE.display_name)
    again = await services.ingress.setup(ALICE.user_id, ALICE.display_name)
    info = only_ingress(livekit)
    assert (first.protocol, first.server_url, first.new_key) == (
        "rtmp",
        livekit.rtmp_base_url,
        True,
    )
    assert (again.stream_key, again.new_key) == (first.stream_key, False)
    assert first.stream_key == info.stream_key
    # The ingress publishes as the streamer into a fresh room of their page.
    assert info.participant_identity == OBS
    assert info.room_name.startswith("live-alice-")
    assert all(r.grants and r.grants.ingress_admin for r in livekit.calls("CreateIngress"))


async def test_reset_rotates_the_key_and_the_old_one_stops_working(
    services: Services, livekit: FakeLiveKit
) -> None:
    await make_page(services)
    old = await services.ingress.setup(ALICE.user_id, ALICE.display_name)
    new = await services.ingress.setup(ALICE.user_id, ALICE.display_name, reset=True)
    assert new.stream_key != old.stream_key and new.new_key
    # Only the new key is known to LiveKit: OBS with the old one is refused.
    assert [i.stream_key for i in livekit.ingresses.values()] == [new.stream_key]
    shown = await services.ingress.setup(ALICE.user_id, ALICE.display_name)
    assert shown.stream_key == new.stream_key


async def test_switching_to_whip_makes_a_whip_ingress_and_drops_the_rtmp_one(
    services: Services, livekit: FakeLiveKit
) -> None:
    await make_page(services)
    rtmp = await services.ingress.setup(ALICE.user_id, ALICE.display_name, "rtmp")
    whip = await services.ingress.setup(ALICE.user_id, ALICE.display_name, "whip")
    assert (whip.protocol, whip.server_url) == ("whip", livekit.whip_base_url)
    assert whip.stream_key != rtmp.stream_key
    assert only_ingress(livekit).input_type == lk_ingress.IngressInput.WHIP_INPUT


async def test_obs_settings_need_a_stream_page(services: Services) -> None:
    with pytest.raises(NotFound, match="/stream create"):
        await services.ingress.setup(BOB.user_id, BOB.display_name)


async def test_a_livekit_without_ingress_is_explained(
    services: Services, livekit: FakeLiveKit
) -> None:
    await make_page(services)
    livekit.fail_next("CreateIngress", code="unavailable", msg="ingress not connected")
    with pytest.raises(LiveKitUnavailable, match="livekit-ingress"):
        await services.ingress.setup(ALICE.user_id, ALICE.display_name)
    assert livekit.ingresses == {}


async def test_a_failed_rotation_keeps_the_old_key(
    services: Services, livekit: FakeLiveKit
) -> None:
    await make_page(services)
    old = await services.ingress.setup(ALICE.user_id, ALICE.display_name)
    livekit.fail_next("DeleteIngress", code="internal")
    with pytest.raises(LiveKitUnavailable):
        await services.ingress.setup(ALICE.user_id, ALICE.display_name, reset=True)
    # The half-made new ingress is removed; the member keeps a working (old) key.
    assert [i.stream_key for i in livekit.ingresses.values()] == [old.stream_key]
    shown = await services.ingress.setup(ALICE.user_id, ALICE.display_name)
    assert shown.stream_key == old.stream_key


async def test_obs_starting_takes_the_stream_live_in_the_ingress_room(
    services: Services, livekit: FakeLiveKit
) -> None:
    stream = await make_page(services)
    await services.ingress.setup(ALICE.user_id, ALICE.display_name)
    room = await obs_starts(services, livekit)
    live = await services.streams.get_by_owner(ALICE.user_id)
    assert live.active and live.room_name == room
    session = await services.streams.current_session(stream.id)
    assert session is not None
    audience = await services.live.audience(session.id)
    assert audience.broadcaster_present and audience.broadcaster_video
    assert await services.ingress.input_video(stream.id) == (1920, 1080, 30.0, 4_500_000)


async def test_a_track_from_the_ingress_goes_live_when_ingress_started_was_lost(
    services: Services, livekit: FakeLiveKit
) -> None:
    await make_page(services)
    await services.ingress.setup(ALICE.user_id, ALICE.display_name)
    room = await obs_starts(services, livekit, webhook=False)
    assert (await services.streams.get_by_owner(ALICE.user_id)).room_name == room


async def test_both_signals_make_one_session(services: Services, livekit: FakeLiveKit) -> None:
    stream = await make_page(services)
    await services.ingress.setup(ALICE.user_id, ALICE.display_name)
    on_air: list[StreamEvent] = []

    async def listener(event: StreamEvent) -> None:
        on_air.append(event)

    services.events.wire("test", [inline(StreamMediaStarted, listener)])
    room = await obs_starts(services, livekit)
    [track] = livekit.participants[room][OBS].tracks
    assert await services.webhooks.receive(livekit.event("track_published", room, OBS, track=track))
    sessions = await services.db.fetch_all(
        "SELECT room_name FROM stream_sessions WHERE stream_id = ?", (stream.id,)
    )
    assert [row["room_name"] for row in sessions] == [room]
    # OBS sends video from its first second: on air (announced) once, for both signals.
    assert [event.session.room_name for event in on_air] == [room]
    assert (await services.streams.get_by_owner(ALICE.user_id)).state == "live"


async def test_obs_stopping_ends_the_stream_after_the_grace_and_rearms_the_ingress(
    services: Services, livekit: FakeLiveKit, clock: object
) -> None:
    stream = await make_page(services)
    await services.ingress.setup(ALICE.user_id, ALICE.display_name)
    room = await obs_starts(services, livekit)
    # A viewer keeps the room open: LiveKit would never close it by itself.
    livekit.add_participant(room, "viewer-2002-ab")
    await obs_stops(services, livekit)
    session = await services.streams.current_session(stream.id)
    assert session is not None
    audience = await services.live.audience(session.id)
    assert audience.auto_end_at == services.clock.now() + services.live.grace

    services.clock.advance(services.live.grace.total_seconds() + 1)  # type: ignore[attr-defined]
    [ended] = await services.live.end_overdue()
    await services.events.drain()
    assert ended.session.end_reason == "broadcaster_left"
    # The next OBS start must open a new session: the ingress now points at a fresh room.
    rearmed = only_ingress(livekit).room_name
    assert rearmed != room and rearmed.startswith("live-alice-")


async def test_obs_back_within_the_grace_keeps_the_session(
    services: Services, livekit: FakeLiveKit
) -> None:
    stream = await make_page(services)
    await services.ingress.setup(ALICE.user_id, ALICE.display_name)
    room = await obs_starts(services, livekit)
    await obs_stops(services, livekit)
    services.clock.advance(30)  # type: ignore[attr-defined]
    participant = livekit.add_participant(room, OBS, kind="ingress")
    assert await services.webhooks.receive(
        livekit.event("participant_joined", room, participant=participant)
    )
    session = await services.streams.current_session(stream.id)
    assert session is not None and session.room_name == room
    assert (await services.live.audience(session.id)).auto_end_at is None


async def test_going_live_from_discord_uses_the_room_obs_publishes_into(
    services: Services, livekit: FakeLiveKit
) -> None:
    await make_page(services)
    await services.ingress.setup(ALICE.user_id, ALICE.display_name)
    armed = only_ingress(livekit).room_name
    event = await services.streams.go_live(ALICE.user_id)
    await services.events.drain()
    assert event.session.room_name == armed
    await services.streams.end(ALICE.user_id)
    await services.events.drain()
    assert only_ingress(livekit).room_name != armed
    second = await services.streams.go_live(ALICE.user_id)
    await services.events.drain()
    assert second.session.room_name == only_ingress(livekit).room_name != armed


async def test_obs_settings_made_while_live_point_at_the_live_room(
    services: Services, livekit: FakeLiveKit
) -> None:
    await make_page(services)
    event = await services.streams.go_live(ALICE.user_id)
    await services.events.drain()
    await services.ingress.setup(ALICE.user_id, ALICE.display_name)
    assert only_ingress(livekit).room_name == event.session.room_name


async def test_obs_cannot_take_a_banned_streamer_live_and_says_why(
    services: Services, livekit: FakeLiveKit
) -> None:
    stream = await make_page(services)
    await services.ingress.setup(ALICE.user_id, ALICE.display_name)
    told: list[tuple[int, str]] = []

    async def listener(event: ObsProblem) -> None:
        told.append((event.owner_id, event.problem))

    services.events.wire("test", [inline(ObsProblem, listener)])
    await services.moderation.ban(
        moderator_id=BOB.user_id,
        user_id=ALICE.user_id,
        scope="streaming",
        duration=timedelta(days=1),
    )
    await obs_starts(services, livekit)
    await services.events.drain()
    assert not (await services.streams.get_by_owner(ALICE.user_id)).active
    [(owner, problem)] = told
    assert owner == ALICE.user_id and "stream" in problem.lower()
    noted = await services.ingress.last_problem(stream.id)
    assert noted is not None and noted[0] == problem
    shown = await services.ingress.setup(ALICE.user_id, ALICE.display_name)
    assert shown.problem == problem


async def test_the_stream_key_is_never_logged(
    services: Services, livekit: FakeLiveKit, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await make_page(services)
    first = await services.ingress.setup(ALICE.user_id, ALICE.display_name)
    second = await services.ingress.setup(ALICE.user_id, ALICE.display_name, reset=True)
    await obs_starts(services, livekit)
    await services.events.drain()
    await obs_stops(services, livekit)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "OBS ingress" in logged  # the logs did speak about it...
    assert first.stream_key not in logged and second.stream_key not in logged  # ...not its key


async def test_ingress_events_of_unknown_ingresses_change_nothing(
    services: Services, livekit: FakeLiveKit
) -> None:
    await make_page(services)
    stranger = lk_ingress.IngressInfo(ingress_id="IN_stranger", room_name="live-alice-1")
    assert await services.webhooks.receive(livekit.event("ingress_started", ingress_info=stranger))
    assert not (await services.streams.get_by_owner(ALICE.user_id)).active


# -- delivered through the outbox: at least once --------------------------------------------

CONSUMER = "IngressService.follow_stream"


async def test_a_redelivered_end_rearms_the_ingress_once(
    services: Services, livekit: FakeLiveKit
) -> None:
    await make_page(services)
    await services.ingress.setup(ALICE.user_id, ALICE.display_name)
    await services.streams.go_live(ALICE.user_id)
    await services.events.drain()
    await services.streams.end(ALICE.user_id)
    await services.events.drain()
    rearmed = only_ingress(livekit).room_name
    assert len(livekit.calls("UpdateIngress")) == 1
    assert await deliver_again(services, CONSUMER) == 2  # the go-live and the end
    assert len(livekit.calls("UpdateIngress")) == 1
    assert only_ingress(livekit).room_name == rearmed


async def test_a_late_go_live_never_points_obs_at_a_room_that_is_over(
    services: Services, livekit: FakeLiveKit
) -> None:
    await make_page(services)
    await services.ingress.setup(ALICE.user_id, ALICE.display_name)
    live = await services.streams.go_live(ALICE.user_id)
    await services.events.drain()
    # The armed name was stale: the redelivered go-live moves OBS into the live room, once.
    async with services.db.transaction() as tx:
        await tx.execute("UPDATE stream_ingress SET room_name = 'live-alice-stale'")
    await deliver_again(services, CONSUMER)
    await deliver_again(services, CONSUMER)
    assert len(livekit.calls("UpdateIngress")) == 1
    assert only_ingress(livekit).room_name == live.session.room_name
    await services.streams.end(ALICE.user_id)
    await services.events.drain()
    rearmed = only_ingress(livekit).room_name
    assert rearmed != live.session.room_name
    await deliver_again(services, CONSUMER)  # the go-live again, after its session ended
    assert only_ingress(livekit).room_name == rearmed


async def test_livekit_down_at_the_end_rearms_the_ingress_later(
    services: Services, livekit: FakeLiveKit, clock: ManualClock
) -> None:
    await make_page(services)
    await services.ingress.setup(ALICE.user_id, ALICE.display_name)
    live = await services.streams.go_live(ALICE.user_id)
    await services.events.drain()
    await livekit.down()
    await services.streams.end(ALICE.user_id)
    await services.events.drain()
    await livekit.up()
    assert only_ingress(livekit).room_name == live.session.room_name  # not re-armed yet
    await deliver_after_first_retry(services, clock)
    rearmed = only_ingress(livekit).room_name
    assert rearmed != live.session.room_name and rearmed.startswith("live-alice-")
    assert len(livekit.calls("UpdateIngress")) == 1
