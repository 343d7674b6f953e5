"""Recording with LiveKit egress: the switch, starting at go-live, and webhooks making VODs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from livekit.protocol import egress as lk_egress

from core.kernel.clock import ManualClock
from core.kernel.errors import Conflict
from core.live import RecordingRefused
from core.live import recording as recording_module
from core.live.recording import KEEP_TRYING
from core.services import Services
from core.streams import Stream, StreamDraft
from golive.cli import check_recording
from tests.conftest import ALICE, FILE_RECORDING
from tests.fakes.livekit import FakeLiveKit
from tests.outbox_events import (
    FailedAfterTheEvent,
    deliver_after_first_retry,
    deliver_again,
    fail_after_recording,
    recorded,
)

Status = lk_egress.EgressStatus
FILE_CONFIG = FILE_RECORDING


async def make_page(services: Services) -> Stream:
    return await services.streams.create(
        owner_id=ALICE.user_id,
        username=ALICE.username,
        display_name=ALICE.display_name,
        draft=StreamDraft(title="Painting live"),
    )


def only_egress(livekit: FakeLiveKit) -> lk_egress.EgressInfo:
    [info] = livekit.egresses.values()
    return info


async def egress_finishes(
    services: Services,
    livekit: FakeLiveKit,
    *,
    seconds: int = 3725,
    status: int = Status.EGRESS_COMPLETE,
    error: str = "",
) -> None:
    """What LiveKit's egress reports while recording: started, active, then ended with a file."""
    info = only_egress(livekit)
    assert await services.webhooks.receive(livekit.event("egress_started", egress_info=info))
    livekit.set_egress_status(info.egress_id, Status.EGRESS_ACTIVE)
    assert await services.webhooks.receive(livekit.event("egress_updated", egress_info=info))
    livekit.set_egress_status(info.egress_id, status)  # type: ignore[arg-type]
    info.error = error
    if status == Status.EGRESS_COMPLETE:
        path = info.room_composite.file_outputs[0].filepath
        info.file_results.append(
            lk_egress.FileInfo(
                filename=path,
                duration=seconds * 1_000_000_000,
                size=123_456_789,
                location=f"/out/{path}",
            )
        )
    assert await services.webhooks.receive(livekit.event("egress_ended", egress_info=info))


async def test_recording_can_not_be_turned_on_where_storage_is_not_configured(
    services: Services,
) -> None:
    await make_page(services)
    assert services.recording.config.output == "none"  # config.toml's default
    with pytest.raises(Conflict, match=r"isn't set up.*\[recording\] output"):
        await services.recording.set_enabled(ALICE.user_id, True)
    assert not await services.recording.wants_recording((await make_stream(services)).id)


async def make_stream(services: Services) -> Stream:
    return await services.streams.get_by_owner(ALICE.user_id)


async def test_a_chosen_recording_starts_at_go_live_and_becomes_a_vod(
    services: Services, livekit: FakeLiveKit
) -> None:
    services.recording.config = FILE_CONFIG
    stream = await make_page(services)
    change = await services.recording.set_enabled(ALICE.user_id, True)
    assert change.enabled and not change.recording_now
    event = await services.streams.go_live(ALICE.user_id)
    await services.events.drain()

    info = only_egress(livekit)
    assert info.room_name == event.session.room_name
    [output] = info.room_composite.file_outputs
    assert output.filepath == f"recordings/alice/{event.session.room_name}.mp4"
    assert all(r.grants and r.grants.room_record for r in livekit.calls("StartRoomCompositeEgress"))
    assert await services.recording.list_vods(stream.id) == []  # not finished yet

    await services.streams.end(ALICE.user_id)
    await services.events.drain()
    assert livekit.calls("StopEgress")  # golive finishes the file without waiting for LiveKit
    await egress_finishes(services, livekit)
    [vod] = await services.recording.list_vods(stream.id)
    assert vod.duration_seconds == 3725
    assert vod.link == f"https://media.golive.test/recordings/alice/{event.session.room_name}.mp4"
    assert vod.started_at == event.session.started_at


async def test_an_s3_upload_links_to_its_own_url_when_no_public_url_is_set(
    services: Services, livekit: FakeLiveKit
) -> None:
    services.recording.config = replace(
        FILE_CONFIG,
        output="s3",
        record_all=True,
        file_prefix="vods/",
        public_url=None,
        s3_bucket="golive",
        s3_region="eu-central-1",
        s3_access_key="AKIA-test",
        s3_secret="s3-secret-test",
    )
    stream = await make_page(services)
    await services.streams.go_live(ALICE.user_id)
    await services.events.drain()
    s3 = only_egress(livekit).room_composite.file_outputs[0].s3
    assert (s3.bucket, s3.region, s3.access_key) == ("golive", "eu-central-1", "AKIA-test")
    info = only_egress(livekit)
    info.file_results.append(
        lk_egress.FileInfo(
            filename="vods/alice/x.mp4",
            duration=60_000_000_000,
            location="https://golive.s3.eu-central-1.amazonaws.com/vods/alice/x.mp4",
        )
    )
    livekit.set_egress_status(info.egress_id, Status.EGRESS_COMPLETE)
    assert await services.webhooks.receive(livekit.event("egress_ended", egress_info=info))
    [vod] = await services.recording.list_vods(stream.id)
    assert vod.link == "https://golive.s3.eu-central-1.amazonaws.com/vods/alice/x.mp4"


async def test_record_all_records_streamers_who_never_asked(
    services: Services, livekit: FakeLiveKit
) -> None:
    services.recording.config = replace(FILE_CONFIG, record_all=True)
    await make_page(services)
    await services.streams.go_live(ALICE.user_id)
    await services.events.drain()
    assert len(livekit.egresses) == 1
    with pytest.raises(Conflict, match="records every stream"):
        await services.recording.set_enabled(ALICE.user_id, False)


async def test_without_the_switch_nothing_is_recorded(
    services: Services, livekit: FakeLiveKit
) -> None:
    services.recording.config = FILE_CONFIG
    await make_page(services)
    await services.streams.go_live(ALICE.user_id)
    await services.events.drain()
    assert livekit.egresses == {}


async def test_turning_recording_on_while_live_starts_it_and_off_stops_it(
    services: Services, livekit: FakeLiveKit
) -> None:
    services.recording.config = FILE_CONFIG
    await make_page(services)
    await services.streams.go_live(ALICE.user_id)
    await services.events.drain()
    on = await services.recording.set_enabled(ALICE.user_id, True)
    assert on.recording_now and on.problem is None
    again = await services.recording.set_enabled(ALICE.user_id, True)
    assert again.recording_now and len(livekit.egresses) == 1  # not a second recording
    off = await services.recording.set_enabled(ALICE.user_id, False)
    assert off.stopped_now and not off.enabled
    assert only_egress(livekit).status == Status.EGRESS_ENDING


async def test_an_egress_livekit_refuses_is_explained_for_the_session(
    services: Services, livekit: FakeLiveKit
) -> None:
    services.recording.config = replace(FILE_CONFIG, record_all=True)
    await make_page(services)
    livekit.fail_next("StartRoomCompositeEgress", code="unavailable", msg="egress not connected")
    event = await services.streams.go_live(ALICE.user_id)
    await services.events.drain()
    assert event.stream.active  # the stream itself is fine
    problem = await services.recording.session_problem(event.session.id)
    assert problem is not None and "livekit-egress" in problem and "unavailable" in problem
    # The owner's DM was written with the failed recording's row.
    assert await recorded(services.db, RecordingRefused) == [
        RecordingRefused(ALICE.user_id, problem)
    ]


async def test_a_refused_recording_whose_row_is_not_written_tells_nobody(
    services: Services, livekit: FakeLiveKit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The DM is written in the transaction of the failed recording's row: if that fails after
    the DM's write, neither is kept."""
    services.recording.config = FILE_CONFIG
    await make_page(services)
    event = await services.streams.go_live(ALICE.user_id)
    await services.events.drain()  # not recorded: nobody asked
    services.recording.config = replace(FILE_CONFIG, record_all=True)
    livekit.fail_next("StartRoomCompositeEgress", code="unavailable", msg="egress not connected")
    fail_after_recording(monkeypatch, recording_module)
    with pytest.raises(FailedAfterTheEvent):
        await services.recording.follow_stream(event)
    assert await services.recording.session_problem(event.session.id) is None
    assert await recorded(services.db, RecordingRefused) == []


async def test_recording_turned_on_while_live_answers_the_problem_without_a_dm(
    services: Services, livekit: FakeLiveKit
) -> None:
    services.recording.config = FILE_CONFIG
    await make_page(services)
    await services.streams.go_live(ALICE.user_id)
    await services.events.drain()
    livekit.fail_next("StartRoomCompositeEgress", code="unavailable", msg="egress not connected")
    change = await services.recording.set_enabled(ALICE.user_id, True)
    assert change.problem is not None and "livekit-egress" in change.problem
    assert await recorded(services.db, RecordingRefused) == []  # the reply says it


async def test_a_failed_egress_is_shown_to_the_streamer_not_listed_as_a_vod(
    services: Services, livekit: FakeLiveKit
) -> None:
    services.recording.config = replace(FILE_CONFIG, record_all=True)
    stream = await make_page(services)
    event = await services.streams.go_live(ALICE.user_id)
    await services.events.drain()
    await egress_finishes(
        services, livekit, status=Status.EGRESS_FAILED, error="could not upload: access denied"
    )
    assert await services.recording.list_vods(stream.id) == []
    [failure] = await services.recording.failures(stream.id)
    assert failure.error == "could not upload: access denied"
    assert await services.recording.session_problem(event.session.id) == failure.error


async def test_late_egress_news_does_not_undo_the_end(
    services: Services, livekit: FakeLiveKit
) -> None:
    services.recording.config = replace(FILE_CONFIG, record_all=True)
    stream = await make_page(services)
    await services.streams.go_live(ALICE.user_id)
    await services.events.drain()
    info = only_egress(livekit)
    stale_update = livekit.event("egress_updated", egress_info=info)
    await egress_finishes(services, livekit)
    assert await services.webhooks.receive(stale_update)
    [vod] = await services.recording.list_vods(stream.id)
    assert vod.status == "complete"


async def test_an_egress_golive_did_not_record_itself_is_adopted_if_it_records_our_room(
    services: Services, livekit: FakeLiveKit
) -> None:
    services.recording.config = FILE_CONFIG
    stream = await make_page(services)
    event = await services.streams.go_live(ALICE.user_id)
    await services.events.drain()
    # Say golive crashed between LiveKit starting the egress and writing its row.
    async with livekit.client() as lkapi:
        from livekit import api

        await lkapi.egress.start_room_composite_egress(
            api.RoomCompositeEgressRequest(
                room_name=event.session.room_name,
                file_outputs=[api.EncodedFileOutput(filepath="recordings/alice/r.mp4")],
            )
        )
    await egress_finishes(services, livekit, seconds=90)
    [vod] = await services.recording.list_vods(stream.id)
    assert vod.duration_seconds == 90


def test_golive_check_reports_recording_settings_that_cannot_work(
    services: Services, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert check_recording(services) == []
    assert "recording     off" in capsys.readouterr().out
    services.recording.config = replace(FILE_CONFIG, output="none", record_all=True)
    assert check_recording(services) == [
        'recording: recording.output is "none", so streams can\'t be recorded'
    ]
    services.recording.config = FILE_CONFIG
    assert check_recording(services) == []
    assert "recording     file" in capsys.readouterr().out
    services.recording.config = replace(FILE_CONFIG, local_dir=tmp_path / "missing")
    [problem] = check_recording(services)
    assert "recording.local_dir" in problem and "not a folder" in problem
    services.recording.config = replace(FILE_CONFIG, local_dir=tmp_path, retention_days=30)
    assert check_recording(services) == []
    out = capsys.readouterr().out
    assert f"played and deleted by golive from {tmp_path}" in out
    assert "deleted 30 days after their stream" in out


# -- delivered through the outbox: at least once --------------------------------------------

CONSUMER = "RecordingService.follow_stream"


async def test_a_redelivered_go_live_starts_no_second_recording(
    services: Services, livekit: FakeLiveKit
) -> None:
    services.recording.config = replace(FILE_CONFIG, record_all=True)
    await make_page(services)
    await services.streams.go_live(ALICE.user_id)
    await services.events.drain()
    assert await deliver_again(services, CONSUMER) == 1
    assert len(livekit.calls("StartRoomCompositeEgress")) == 1
    rows = await services.db.fetch_all("SELECT egress_id FROM recordings")
    assert [row["egress_id"] for row in rows] == [only_egress(livekit).egress_id]


async def test_a_redelivered_refusal_tells_the_streamer_once(
    services: Services, livekit: FakeLiveKit
) -> None:
    services.recording.config = replace(FILE_CONFIG, record_all=True)
    await make_page(services)
    livekit.fail_next("StartRoomCompositeEgress", code="unavailable", msg="egress not connected")
    await services.streams.go_live(ALICE.user_id)
    await services.events.drain()
    await deliver_again(services, CONSUMER)
    assert len(livekit.calls("StartRoomCompositeEgress")) == 1  # a refusal is final
    assert len(await recorded(services.db, RecordingRefused)) == 1


async def test_a_run_cut_short_before_livekit_answered_is_taken_over(
    services: Services, livekit: FakeLiveKit
) -> None:
    """Its process died holding the claim (a 'starting' row, no egress): the redelivery, after
    the lease, starts the recording."""
    services.recording.config = replace(FILE_CONFIG, record_all=True)
    await make_page(services)
    event = await services.streams.go_live(ALICE.user_id)
    await services.events.drain()
    async with services.db.transaction() as tx:
        await tx.execute("UPDATE recordings SET egress_id = NULL, status = 'starting'")
    livekit.egresses.clear()
    await deliver_again(services, CONSUMER)
    rows = await services.db.fetch_all("SELECT egress_id FROM recordings")
    assert [row["egress_id"] for row in rows] == [only_egress(livekit).egress_id]
    assert await services.recording.session_problem(event.session.id) is None


async def test_an_egress_started_before_the_process_died_is_not_started_again(
    services: Services, livekit: FakeLiveKit
) -> None:
    """LiveKit started it, the process died before writing it down: egress_started adopted it,
    and the redelivery finds that row next to the claim."""
    services.recording.config = replace(FILE_CONFIG, record_all=True)
    await make_page(services)
    event = await services.streams.go_live(ALICE.user_id)
    await services.events.drain()
    async with services.db.transaction() as tx:
        await tx.execute("DELETE FROM recordings")
        await tx.execute(
            "INSERT INTO recordings (session_id, stream_id, status, requested_at)"
            " VALUES (?, ?, 'starting', '2026-01-01 00:00:00')",
            (event.session.id, event.stream.id),
        )
    info = only_egress(livekit)
    assert await services.webhooks.receive(livekit.event("egress_started", egress_info=info))
    await deliver_again(services, CONSUMER)
    assert len(livekit.calls("StartRoomCompositeEgress")) == 1
    rows = await services.db.fetch_all("SELECT egress_id FROM recordings")
    assert [row["egress_id"] for row in rows] == [info.egress_id]  # the claim went


async def test_a_redelivered_end_stops_the_recording_once(
    services: Services, livekit: FakeLiveKit
) -> None:
    services.recording.config = replace(FILE_CONFIG, record_all=True)
    await make_page(services)
    await services.streams.go_live(ALICE.user_id)
    await services.events.drain()
    await services.streams.end(ALICE.user_id)
    await services.events.drain()
    assert await deliver_again(services, CONSUMER) == 2
    assert len(livekit.calls("StopEgress")) == 1
    assert len(livekit.calls("StartRoomCompositeEgress")) == 1


async def test_livekit_down_at_go_live_is_tried_again_and_records(
    services: Services, livekit: FakeLiveKit, clock: ManualClock
) -> None:
    services.recording.config = replace(FILE_CONFIG, record_all=True)
    await make_page(services)
    event = await services.streams.go_live(ALICE.user_id)
    await livekit.down()
    await services.events.drain()
    assert await services.db.fetch_one("SELECT 1 FROM recordings") is None  # claim given back
    await livekit.up()
    await deliver_after_first_retry(services, clock)
    info = only_egress(livekit)
    assert info.room_composite.room_name == event.session.room_name
    assert await services.recording.session_problem(event.session.id) is None
    assert await recorded(services.db, RecordingRefused) == []  # nothing to tell


async def test_livekit_down_for_minutes_tells_the_streamer_once(
    services: Services, livekit: FakeLiveKit, clock: ManualClock
) -> None:
    services.recording.config = replace(FILE_CONFIG, record_all=True)
    await make_page(services)
    event = await services.streams.go_live(ALICE.user_id)
    await livekit.down()
    await services.events.drain()
    clock.advance(KEEP_TRYING.total_seconds())
    await services.outbox.drain()
    problem = await services.recording.session_problem(event.session.id)
    assert problem is not None and "can't be reached" in problem
    assert await recorded(services.db, RecordingRefused) == [
        RecordingRefused(ALICE.user_id, problem)
    ]


async def test_livekit_down_at_the_end_stops_the_recording_later(
    services: Services, livekit: FakeLiveKit, clock: ManualClock
) -> None:
    services.recording.config = replace(FILE_CONFIG, record_all=True)
    await make_page(services)
    await services.streams.go_live(ALICE.user_id)
    await services.events.drain()
    await livekit.down()
    await services.streams.end(ALICE.user_id)
    await services.events.drain()
    await livekit.up()
    assert livekit.calls("StopEgress") == []
    await deliver_after_first_retry(services, clock)
    assert len(livekit.calls("StopEgress")) == 1
    assert only_egress(livekit).status == Status.EGRESS_ENDING
