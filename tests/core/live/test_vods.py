"""VODs: a recording's chat replay at its moments, deleting a recording, and retention."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from core.kernel.clock import ManualClock
from core.kernel.errors import Forbidden, NotFound
from core.services import Services
from tests.conftest import ALICE, BOB, FILE_RECORDING
from tests.core.live.recorded import CAROL, Line, record_stream, record_to
from tests.fakes.livekit import FakeLiveKit

DAY = 86_400


async def test_the_replay_places_each_message_at_its_moment_in_the_file(
    services: Services, livekit: FakeLiveKit, clock: ManualClock, tmp_path: Path
) -> None:
    record_to(services, tmp_path)
    vod = await record_stream(
        services,
        livekit,
        clock,
        [Line(1, BOB, "hello!"), Line(4, ALICE, "welcome Bob"), Line(9, BOB, "bye")],
    )
    messages = await services.chat.session_messages(vod.session_id)
    # The file started when the egress did, not when golive went live.
    assert [(vod.offset_ms(m.created_at), m.body) for m in messages] == [
        (1000, "hello!"),
        (4000, "welcome Bob"),
        (9000, "bye"),
    ]


async def test_hidden_messages_and_banned_members_are_not_replayed(
    services: Services, livekit: FakeLiveKit, clock: ManualClock, tmp_path: Path
) -> None:
    record_to(services, tmp_path)
    vod = await record_stream(
        services,
        livekit,
        clock,
        [Line(1, BOB, "nice"), Line(2, CAROL, "spam spam"), Line(3, BOB, "oops, rude")],
    )
    rude = [m for m in await services.chat.session_messages(vod.session_id) if "rude" in m.body]
    await services.chat.hide(rude[0].id, moderator_id=ALICE.user_id)
    # The ban lands; hiding the member's messages follows in the background.
    await services.moderation.ban(
        moderator_id=ALICE.user_id, user_id=CAROL.user_id, scope="chat", duration=None
    )

    replayed = [m.body for m in await services.chat.session_messages(vod.session_id)]
    assert replayed == ["nice"]


async def test_the_replay_comes_in_pages_in_order(
    services: Services, livekit: FakeLiveKit, clock: ManualClock, tmp_path: Path
) -> None:
    record_to(services, tmp_path)
    lines = [Line(second, BOB if second % 2 else ALICE, f"line {second}") for second in range(5)]
    vod = await record_stream(services, livekit, clock, lines)
    first = await services.chat.session_messages(vod.session_id, limit=2)
    rest = await services.chat.session_messages(vod.session_id, after_id=first[-1].id, limit=10)
    assert [m.body for m in first + rest] == [f"line {n}" for n in range(5)]


async def test_the_file_start_falls_back_to_when_golive_asked(
    services: Services, livekit: FakeLiveKit, clock: ManualClock, tmp_path: Path
) -> None:
    record_to(services, tmp_path)
    vod = await record_stream(services, livekit, clock, [])
    assert vod.media_started_at > vod.started_at  # LiveKit's own word
    await services.db.run_transaction(
        lambda tx: tx.execute("UPDATE recordings SET media_started_at = NULL")
    )
    again = await services.recording.get_vod(vod.id)
    assert again.media_started_at == vod.started_at


async def test_the_owner_deletes_a_recording_and_its_file(
    services: Services, livekit: FakeLiveKit, clock: ManualClock, tmp_path: Path
) -> None:
    record_to(services, tmp_path)
    vod = await record_stream(services, livekit, clock, [])
    path = services.recording.local_file(vod)
    assert path is not None and path.is_relative_to(tmp_path) and path.exists()

    done = await services.recording.delete_vod(vod.id, by_user_id=ALICE.user_id, as_moderator=False)

    assert done.file_removed and not path.exists()
    assert await services.recording.list_vods(vod.stream_id) == []
    with pytest.raises(NotFound):
        await services.recording.get_vod(vod.id)
    assert await services.moderation.audit_log() == []  # the owner's own: nothing to audit


async def test_someone_else_can_not_delete_a_recording(
    services: Services, livekit: FakeLiveKit, clock: ManualClock, tmp_path: Path
) -> None:
    record_to(services, tmp_path)
    vod = await record_stream(services, livekit, clock, [])
    with pytest.raises(Forbidden, match="Only the streamer and moderators"):
        await services.recording.delete_vod(vod.id, by_user_id=BOB.user_id, as_moderator=False)
    assert [v.id for v in await services.recording.list_vods(vod.stream_id)] == [vod.id]
    path = services.recording.local_file(vod)
    assert path is not None and path.exists()


async def test_a_moderator_deletes_anyones_recording_into_the_audit_log(
    services: Services, livekit: FakeLiveKit, clock: ManualClock, tmp_path: Path
) -> None:
    record_to(services, tmp_path)
    vod = await record_stream(services, livekit, clock, [])
    await services.recording.delete_vod(vod.id, by_user_id=BOB.user_id, as_moderator=True)
    [action] = await services.moderation.audit_log()
    assert (action.moderator_id, action.action, action.target_id) == (
        BOB.user_id,
        "delete_recording",
        ALICE.user_id,
    )
    assert f"recording #{vod.id}" in action.details
    with pytest.raises(NotFound):  # a second try finds nothing
        await services.recording.delete_vod(vod.id, by_user_id=BOB.user_id, as_moderator=True)


async def test_a_recording_of_another_stream_is_not_found_under_this_one(
    services: Services, livekit: FakeLiveKit, clock: ManualClock, tmp_path: Path
) -> None:
    record_to(services, tmp_path)
    vod = await record_stream(services, livekit, clock, [])
    with pytest.raises(NotFound):
        await services.recording.get_vod(vod.id, stream_id=vod.stream_id + 1)


async def test_without_local_dir_deleting_removes_the_listing_only(
    services: Services, livekit: FakeLiveKit, clock: ManualClock
) -> None:
    services.recording.config = dataclasses.replace(FILE_RECORDING, record_all=True)
    vod = await record_stream(services, livekit, clock, [])
    assert services.recording.local_file(vod) is None
    done = await services.recording.delete_vod(vod.id, by_user_id=ALICE.user_id, as_moderator=False)
    assert not done.file_removed
    assert await services.recording.list_vods(vod.stream_id) == []


@pytest.mark.parametrize(
    "filename", ["../outside.mp4", "recordings/../../outside.mp4", "/", "", None]
)
def test_a_file_name_never_reaches_outside_local_dir(tmp_path: Path, filename: str | None) -> None:
    config = dataclasses.replace(FILE_RECORDING, local_dir=tmp_path / "rec")
    assert config.local_file(filename) is None


def test_an_absolute_file_name_is_read_inside_local_dir(tmp_path: Path) -> None:
    config = dataclasses.replace(FILE_RECORDING, local_dir=tmp_path)
    assert config.local_file("/recordings/a/b.mp4") == tmp_path.resolve() / "recordings/a/b.mp4"
    s3 = dataclasses.replace(config, output="s3")
    assert s3.local_file("recordings/a/b.mp4") is None


async def test_retention_deletes_what_is_older_and_keeps_the_rest(
    services: Services, livekit: FakeLiveKit, clock: ManualClock, tmp_path: Path
) -> None:
    record_to(services, tmp_path)
    old = await record_stream(services, livekit, clock, [])
    clock.advance(20 * DAY)
    recent = await record_stream(services, livekit, clock, [])
    services.recording.config = dataclasses.replace(services.recording.config, retention_days=30)
    old_file, recent_file = (
        services.recording.local_file(old),
        services.recording.local_file(recent),
    )
    assert old_file is not None and recent_file is not None

    assert await services.recording.expire_old() == 0  # nothing is 30 days old yet
    clock.advance(11 * DAY)
    assert await services.recording.expire_old() == 1
    assert [v.id for v in await services.recording.list_vods(old.stream_id)] == [recent.id]
    assert not old_file.exists() and recent_file.exists()
    assert await services.recording.expire_old() == 0  # another process's round finds nothing


async def test_retention_of_zero_days_keeps_recordings_for_ever(
    services: Services, livekit: FakeLiveKit, clock: ManualClock, tmp_path: Path
) -> None:
    record_to(services, tmp_path)
    vod = await record_stream(services, livekit, clock, [])
    clock.advance(3650 * DAY)
    assert services.recording.config.retention_days == 0
    assert await services.recording.expire_old() == 0
    assert [v.id for v in await services.recording.list_vods(vod.stream_id)] == [vod.id]
