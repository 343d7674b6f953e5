"""The stream lifecycle against a real SQLite file and the LiveKit double."""

from __future__ import annotations

import asyncio
import json

import pytest

from core.kernel.clock import ManualClock
from core.kernel.errors import Conflict, InvalidInput, LiveKitUnavailable, NotFound
from core.kernel.events import inline
from core.services import Services
from core.streams import StreamDraft, StreamEnded, StreamWentLive
from core.streams.service import slug_for
from tests.fakes.livekit import FakeLiveKit


async def create_alice(services: Services, title: str = "Painting live") -> None:
    await services.streams.create(
        owner_id=1, username="alice", display_name="Alice", draft=StreamDraft(title, "Watercolours")
    )


async def test_create_gives_one_page_per_member_with_the_username_as_slug(
    services: Services,
) -> None:
    await create_alice(services)
    stream = await services.streams.get_by_slug("alice")
    assert (stream.owner_id, stream.title, stream.description, stream.active) == (
        1,
        "Painting live",
        "Watercolours",
        False,
    )
    with pytest.raises(Conflict, match="already have a stream page"):
        await create_alice(services)


async def test_a_taken_slug_gets_a_suffix(services: Services) -> None:
    await create_alice(services)
    await services.streams.create(
        owner_id=2, username="Alice", display_name="A2", draft=StreamDraft("x")
    )
    assert (await services.streams.get_by_owner(2)).slug == "alice-2"


@pytest.mark.parametrize(
    ("draft_args", "message"),
    [
        ({"title": "   "}, "needs a title"),
        ({"title": "x" * 101}, "at most 100"),
        ({"title": "ok", "description": "d" * 1001}, "at most 1,000"),
        ({"title": "ok", "latitude": 10.0}, "both latitude and longitude"),
        ({"title": "ok", "latitude": 91.0, "longitude": 0.0}, "Latitude"),
        ({"title": "ok", "latitude": 0.0, "longitude": 181.0}, "Longitude"),
    ],
)
def test_drafts_refuse_bad_input(draft_args: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        StreamDraft(**draft_args)  # type: ignore[arg-type]


def test_slugs_are_url_safe() -> None:
    assert slug_for("Old Name#1234") == "old-name-1234"
    assert slug_for("###") == "streamer"


async def test_go_live_opens_a_fresh_room_with_metadata_and_a_session(
    services: Services, livekit: FakeLiveKit, clock: ManualClock
) -> None:
    await create_alice(services)
    event = await services.streams.go_live(1)
    room_name = f"live-alice-{int(clock.now().timestamp())}"
    assert event.stream.active and event.stream.room_name == room_name
    assert event.session.room_name == room_name and event.session.ended_at is None
    assert json.loads(livekit.rooms[room_name].metadata) == {
        "streamId": event.stream.id,
        "slug": "alice",
        "title": "Painting live",
    }
    with pytest.raises(Conflict, match="already live"):
        await services.streams.go_live(1)


async def test_end_closes_the_room_and_records_the_duration(
    services: Services, livekit: FakeLiveKit, clock: ManualClock
) -> None:
    await create_alice(services)
    live = await services.streams.go_live(1)
    clock.advance(72 * 60)
    ended = await services.streams.end(1)
    assert ended.session.duration_seconds == 72 * 60
    assert not ended.stream.active and ended.stream.last_live_at == clock.now()
    assert live.session.room_name not in livekit.rooms
    with pytest.raises(Conflict, match="not live"):
        await services.streams.end(1)


async def test_every_go_live_gets_a_new_room(services: Services, clock: ManualClock) -> None:
    await create_alice(services)
    first = await services.streams.go_live(1)
    await services.streams.end(1)  # same second: the name must still be new
    second = await services.streams.go_live(1)
    assert first.session.room_name != second.session.room_name


async def test_livekit_down_means_nothing_is_written(
    services: Services, livekit: FakeLiveKit
) -> None:
    await create_alice(services)
    await livekit.down()
    with pytest.raises(LiveKitUnavailable, match="can't be reached"):
        await services.streams.go_live(1)
    stream = await services.streams.get_by_owner(1)
    assert not stream.active and await services.streams.current_session(stream.id) is None


async def test_livekit_refusing_means_nothing_is_written(
    services: Services, livekit: FakeLiveKit
) -> None:
    await create_alice(services)
    livekit.fail_next("CreateRoom", code="resource_exhausted", status=429)
    with pytest.raises(LiveKitUnavailable, match="refused"):
        await services.streams.go_live(1)
    assert not (await services.streams.get_by_owner(1)).active
    assert livekit.rooms == {}


async def test_two_go_lives_at_once_make_one_session(
    services: Services, livekit: FakeLiveKit
) -> None:
    await create_alice(services)
    results = await asyncio.gather(
        services.streams.go_live(1), services.streams.go_live(1), return_exceptions=True
    )
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "StreamWentLive"]
    stream = await services.streams.get_by_owner(1)
    assert list(livekit.rooms) == [stream.room_name]


async def test_ending_works_even_when_livekit_is_down(
    services: Services, livekit: FakeLiveKit
) -> None:
    await create_alice(services)
    await services.streams.go_live(1)
    await livekit.down()
    ended = await services.streams.end(1)
    assert not ended.stream.active


async def test_startup_reconcile_ends_streams_whose_room_is_gone(
    services: Services, livekit: FakeLiveKit
) -> None:
    await create_alice(services)
    await services.streams.create(
        owner_id=2, username="bob", display_name="Bob", draft=StreamDraft("b")
    )
    alice = await services.streams.go_live(1)
    bob = await services.streams.go_live(2)
    livekit.close_room(alice.session.room_name)
    ended = await services.streams.reconcile_with_livekit()
    assert [e.stream.slug for e in ended] == ["alice"]
    assert ended[0].session.end_reason == "room_gone"
    assert (await services.streams.get_by_owner(2)).active
    assert bob.session.room_name in livekit.rooms


async def test_startup_reconcile_closes_rooms_of_ended_sessions_only(
    services: Services, livekit: FakeLiveKit
) -> None:
    await create_alice(services)
    first = await services.streams.go_live(1)
    await livekit.down()
    await services.streams.end(1)  # LiveKit missed the delete: the room lingers
    await livekit.up()
    livekit.add_room("live-alice-9999999999")  # no session yet: e.g. OBS about to go live
    await services.streams.reconcile_with_livekit()
    assert first.session.room_name not in livekit.rooms
    assert "live-alice-9999999999" in livekit.rooms


async def test_startup_reconcile_leaves_everything_when_livekit_is_down(
    services: Services, livekit: FakeLiveKit
) -> None:
    await create_alice(services)
    await services.streams.go_live(1)
    await livekit.down()
    assert await services.streams.reconcile_with_livekit() == []
    assert (await services.streams.get_by_owner(1)).active


async def test_listeners_hear_live_and_ended_after_commit(services: Services) -> None:
    heard: list[tuple[str, bool]] = []

    async def listener(event: object) -> None:
        stream = await services.streams.get_by_owner(1)
        heard.append((event.kind, stream.active))  # type: ignore[attr-defined]

    services.events.wire("test", [inline(StreamWentLive, listener), inline(StreamEnded, listener)])
    await create_alice(services)
    await services.streams.go_live(1)
    await services.streams.end(1)
    assert heard == [("live", True), ("ended", False)]


async def test_a_failing_listener_does_not_undo_going_live(services: Services) -> None:
    async def broken(_: object) -> None:
        raise RuntimeError("discord is down")

    services.events.wire("test", [inline(StreamWentLive, broken)])
    await create_alice(services)
    await services.streams.go_live(1)
    assert (await services.streams.get_by_owner(1)).active


async def test_unknown_pages_are_not_found(services: Services) -> None:
    with pytest.raises(NotFound, match="no stream page called 'nobody'"):
        await services.streams.get_by_slug("nobody")
    with pytest.raises(NotFound, match="/stream create"):
        await services.streams.go_live(42)


async def test_a_hung_livekit_fails_within_the_timeout(
    services: Services, livekit: FakeLiveKit
) -> None:
    await create_alice(services)
    services.livekit.timeout = 0.2  # keep the test fast
    livekit.slow(5)
    with pytest.raises(LiveKitUnavailable, match="can't be reached"):
        await services.streams.go_live(1)
    assert not (await services.streams.get_by_owner(1)).active


async def test_usernames_that_shadow_api_routes_get_a_suffix(services: Services) -> None:
    await services.streams.create(
        owner_id=7, username="token", display_name="T", draft=StreamDraft("t")
    )
    assert (await services.streams.get_by_owner(7)).slug == "token-2"


def test_nul_characters_are_refused() -> None:
    with pytest.raises(InvalidInput, match="NUL"):
        StreamDraft("bad\x00title")
