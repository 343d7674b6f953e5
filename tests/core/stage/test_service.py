"""The stage in core: who may raise a hand, invite and accept; the stage size and expiry; least
privilege through the LiveKit double (a guest's token never publishes, the permission granted
on stage is revoked on removal); records in the audit log and the session's totals."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.kernel.clock import ManualClock
from core.kernel.errors import Conflict, Forbidden, InvalidInput, LiveKitUnavailable
from core.livekit import viewer_identity
from core.services import Services
from core.stage import Member, StageChanged
from core.stage import service as stage_module
from core.streams import Stream, StreamDraft
from tests.fakes.livekit import FakeLiveKit, PublishRefused
from tests.outbox_events import FailedAfterTheEvent, deliver_again, fail_after_recording, recorded

ALICE, BOB, CAROL, DAVE, ERIN, MOD = 1, 2, 3, 4, 5, 6
BOB_M = Member(BOB, "Bob")
HOUR = timedelta(hours=1)


async def live_alice(services: Services) -> Stream:
    await services.streams.create(
        owner_id=ALICE, username="alice", display_name="Alice", draft=StreamDraft("Duets")
    )
    return (await services.streams.go_live(ALICE)).stream


def watch(services: Services, livekit: FakeLiveKit, stream: Stream, user_id: int) -> str:
    """The member opens the watch page: a viewer token from golive, and a connection with it."""
    assert stream.room_name is not None
    token = services.tokens.mint(
        room=stream.room_name,
        identity=viewer_identity(user_id, "tab1"),
        name=f"user {user_id}",
        role="viewer",
    )
    return livekit.join_with_token(token).identity


async def invite_and_accept(
    services: Services, livekit: FakeLiveKit, stream: Stream, member: Member
) -> str:
    identity = watch(services, livekit, stream, member.user_id)
    await services.stage.invite(stream, by=ALICE, member=member)
    await services.stage.accept(stream, member, identity)
    return identity


async def test_a_guest_publishes_only_while_on_stage(
    services: Services, livekit: FakeLiveKit
) -> None:
    stream = await live_alice(services)
    room = stream.room_name
    assert room is not None
    identity = watch(services, livekit, stream, BOB)
    # The viewer token allows nothing to publish.
    with pytest.raises(PublishRefused):
        livekit.publish_track(room, identity, kind="video", source="camera")

    await services.stage.raise_hand(stream, BOB_M)
    assert [h.user_id for h in (await services.stage.state(stream)).hands] == [BOB]
    await services.stage.invite(stream, by=ALICE, member=BOB_M)
    guest = await services.stage.accept(stream, BOB_M, identity)

    assert guest.identity == identity
    state = await services.stage.state(stream)
    assert [g.user_id for g in state.guests] == [BOB]
    assert state.hands == []  # coming on stage lowers the hand
    livekit.publish_track(room, identity, kind="video", source="camera")
    livekit.publish_track(room, identity, kind="audio", source="microphone")
    livekit.publish_track(room, identity, kind="video", source="screen_share")
    [update] = livekit.calls("UpdateParticipant")
    assert update.grants is not None and update.grants.room == room  # that one room only
    permission = livekit.participants[room][identity].permission
    assert not permission.can_publish_data

    await services.stage.remove(stream, by=ALICE, user_id=BOB)

    # LiveKit took the tracks down, and what Bob still holds can't publish again.
    assert livekit.participants[room][identity].tracks == []
    with pytest.raises(PublishRefused):
        livekit.publish_track(room, identity, kind="video", source="camera")
    assert (await services.stage.state(stream)).guests == []


async def test_only_signed_in_watchers_can_be_invited(
    services: Services, livekit: FakeLiveKit
) -> None:
    stream = await live_alice(services)
    assert stream.room_name is not None
    livekit.add_participant(stream.room_name, "guest-abc123")  # someone watching unsigned

    with pytest.raises(Conflict, match="isn't watching"):
        await services.stage.invite(stream, by=ALICE, member=BOB_M)
    assert (await services.stage.state(stream)).invitations == []


async def test_an_invitation_twice_beyond_the_stage_or_by_others_is_refused(
    services: Services, livekit: FakeLiveKit
) -> None:
    stream = await live_alice(services)
    for user in (BOB, CAROL, DAVE, ERIN):
        watch(services, livekit, stream, user)
    await services.stage.invite(stream, by=ALICE, member=BOB_M)

    with pytest.raises(Conflict, match="already has an invitation"):
        await services.stage.invite(stream, by=ALICE, member=BOB_M)
    with pytest.raises(Forbidden, match="streamer and moderators"):
        await services.stage.invite(stream, by=CAROL, member=Member(DAVE, "Dave"))
    await services.stage.invite(stream, by=ALICE, member=Member(CAROL, "Carol"))
    await services.stage.invite(stream, by=ALICE, member=Member(DAVE, "Dave"))
    with pytest.raises(Conflict, match="The stage is full"):
        await services.stage.invite(stream, by=ALICE, member=Member(ERIN, "Erin"))

    assert services.settings.stage.max_guests == 3
    assert len((await services.stage.state(stream)).invitations) == 3
    assert len(await services.moderation.audit_log(limit=50)) == 3


async def test_a_moderator_may_invite(services: Services, livekit: FakeLiveKit) -> None:
    stream = await live_alice(services)
    watch(services, livekit, stream, BOB)
    await services.moderation.remember_moderator(MOD, 99, True)

    invitation = await services.stage.invite(stream, by=MOD, member=BOB_M)

    assert invitation.invited_by == MOD


async def test_an_unanswered_invitation_runs_out(
    services: Services, livekit: FakeLiveKit, clock: ManualClock
) -> None:
    stream = await live_alice(services)
    identity = watch(services, livekit, stream, BOB)
    await services.stage.invite(stream, by=ALICE, member=BOB_M)

    clock.advance(services.settings.stage.invite_ttl.total_seconds() + 1)

    assert (await services.stage.state(stream)).invitations == []
    with pytest.raises(Conflict, match="no invitation"):
        await services.stage.accept(stream, BOB_M, identity)
    assert livekit.calls("UpdateParticipant") == []
    # Its seat is free again, and Bob can be invited anew.
    await services.stage.invite(stream, by=ALICE, member=BOB_M)


async def test_declining_withdraws_the_invitation(services: Services, livekit: FakeLiveKit) -> None:
    stream = await live_alice(services)
    identity = watch(services, livekit, stream, BOB)
    await services.stage.invite(stream, by=ALICE, member=BOB_M)

    await services.stage.decline(stream, BOB)

    with pytest.raises(Conflict):
        await services.stage.accept(stream, BOB_M, identity)
    assert livekit.participants[stream.room_name or ""][identity].permission.can_publish is False


async def test_banned_or_timed_out_members_cannot_raise_a_hand_or_be_invited(
    services: Services, livekit: FakeLiveKit
) -> None:
    stream = await live_alice(services)
    watch(services, livekit, stream, BOB)
    watch(services, livekit, stream, CAROL)
    await services.moderation.timeout(moderator_id=MOD, user_id=BOB, duration=timedelta(hours=1))
    await services.moderation.ban(
        moderator_id=MOD, user_id=CAROL, scope="chat", duration=None, reason="spam"
    )

    with pytest.raises(Forbidden, match="timed out you for 1h"):
        await services.stage.raise_hand(stream, BOB_M)
    with pytest.raises(Forbidden, match="Carol is banned for good"):
        await services.stage.invite(stream, by=ALICE, member=Member(CAROL, "Carol"))
    state = await services.stage.state(stream)
    assert (state.hands, state.invitations) == ([], [])


async def test_a_sanctioned_guest_leaves_the_stage(
    services: Services, livekit: FakeLiveKit
) -> None:
    stream = await live_alice(services)
    identity = await invite_and_accept(services, livekit, stream, BOB_M)

    await services.moderation.timeout(moderator_id=MOD, user_id=BOB, duration=timedelta(hours=1))
    await services.events.drain()

    assert (await services.stage.state(stream)).guests == []
    assert not livekit.may_publish(stream.room_name or "", identity, "camera")
    actions = [a.action for a in await services.moderation.audit_log(target_id=BOB)]
    assert actions[:2] == ["stage:remove", "timeout"]


async def test_a_kicked_guest_leaves_the_room_and_the_stage(
    services: Services, livekit: FakeLiveKit
) -> None:
    stream = await live_alice(services)
    identity = await invite_and_accept(services, livekit, stream, BOB_M)

    await services.moderation.kick(moderator_id=MOD, user_id=BOB)
    await services.events.drain()

    assert identity not in livekit.participants[stream.room_name or ""]
    assert (await services.stage.state(stream)).guests == []


async def test_the_stage_size_holds_at_accept_time_too(
    services: Services, livekit: FakeLiveKit
) -> None:
    stream = await live_alice(services)
    members = [Member(user, f"user {user}") for user in (BOB, CAROL, DAVE)]
    for member in members:
        await invite_and_accept(services, livekit, stream, member)

    erin = watch(services, livekit, stream, ERIN)
    with pytest.raises(Conflict, match="The stage is full"):
        await services.stage.invite(stream, by=ALICE, member=Member(ERIN, "Erin"))
    await services.stage.remove(stream, by=ALICE, user_id=BOB)
    await services.stage.invite(stream, by=ALICE, member=Member(ERIN, "Erin"))
    await services.stage.accept(stream, Member(ERIN, "Erin"), erin)

    assert len((await services.stage.state(stream)).guests) == 3


async def test_nobody_accepts_with_someone_elses_connection(
    services: Services, livekit: FakeLiveKit
) -> None:
    stream = await live_alice(services)
    carol = watch(services, livekit, stream, CAROL)
    watch(services, livekit, stream, BOB)
    await services.stage.invite(stream, by=ALICE, member=BOB_M)

    with pytest.raises(InvalidInput, match="isn't yours"):
        await services.stage.accept(stream, BOB_M, carol)
    assert not livekit.may_publish(stream.room_name or "", carol, "camera")


async def test_livekit_down_changes_nothing(services: Services, livekit: FakeLiveKit) -> None:
    stream = await live_alice(services)
    identity = watch(services, livekit, stream, BOB)
    await services.stage.invite(stream, by=ALICE, member=BOB_M)
    livekit.fail_next("UpdateParticipant", "unavailable")

    with pytest.raises(LiveKitUnavailable):
        await services.stage.accept(stream, BOB_M, identity)

    state = await services.stage.state(stream)
    assert (state.guests, [i.user_id for i in state.invitations]) == ([], [BOB])
    await services.stage.accept(stream, BOB_M, identity)  # the invitation still stands
    livekit.fail_next("UpdateParticipant", "unavailable")
    with pytest.raises(LiveKitUnavailable):
        await services.stage.remove(stream, by=ALICE, user_id=BOB)
    # Still on stage as far as anyone can tell, because LiveKit still lets Bob publish.
    assert [g.user_id for g in (await services.stage.state(stream)).guests] == [BOB]


async def test_the_studio_mutes_a_guests_microphone(
    services: Services, livekit: FakeLiveKit
) -> None:
    stream = await live_alice(services)
    room = stream.room_name or ""
    identity = await invite_and_accept(services, livekit, stream, BOB_M)
    camera = livekit.publish_track(room, identity, kind="video", source="camera")
    microphone = livekit.publish_track(room, identity, kind="audio", source="microphone")

    muted = await services.stage.mute(stream, by=ALICE, user_id=BOB, source="microphone")

    assert muted == 1
    tracks = {t.sid: t.muted for t in livekit.participants[room][identity].tracks}
    assert tracks == {camera.sid: False, microphone.sid: True}


async def test_the_end_of_the_stream_clears_the_stage_and_counts_time_on_stage(
    services: Services, livekit: FakeLiveKit, clock: ManualClock
) -> None:
    stream = await live_alice(services)
    watch(services, livekit, stream, CAROL)
    await services.stage.raise_hand(stream, Member(CAROL, "Carol"))
    await invite_and_accept(services, livekit, stream, BOB_M)
    clock.advance(300)
    await services.stage.remove(stream, by=ALICE, user_id=BOB)
    await services.stage.invite(stream, by=ALICE, member=BOB_M)
    await services.stage.accept(stream, BOB_M)  # their newest connection
    clock.advance(120)

    ended = await services.streams.end(ALICE)
    await services.events.drain()

    [bob] = await services.stage.session_guests(ended.session.id)
    assert (bob.display_name, bob.seconds) == ("Bob", 420)
    assert await services.stage.time_on_stage(BOB) == (1, 420)
    assert (await services.stage.state(ended.stream)).live is False
    with pytest.raises(Conflict, match="isn't live"):
        await services.stage.invite(ended.stream, by=ALICE, member=BOB_M)
    # The next session starts with an empty queue.
    again = (await services.streams.go_live(ALICE)).stream
    assert (await services.stage.state(again)).hands == []
    actions = [a.action for a in await services.moderation.audit_log(target_id=BOB)]
    assert actions == [
        "stage:accept",
        "stage:invite",
        "stage:remove",
        "stage:accept",
        "stage:invite",
    ]


async def test_a_guest_whose_connection_leaves_is_off_stage(
    services: Services, livekit: FakeLiveKit
) -> None:
    stream = await live_alice(services)
    room = stream.room_name or ""
    identity = await invite_and_accept(services, livekit, stream, BOB_M)
    livekit.remove_participant_directly(room, identity)

    await services.webhooks.receive(livekit.event("participant_left", room, identity))

    assert (await services.stage.state(stream)).guests == []


async def test_guests_and_the_streamer_cannot_raise_a_hand(
    services: Services, livekit: FakeLiveKit
) -> None:
    stream = await live_alice(services)
    with pytest.raises(InvalidInput, match="streamer"):
        await services.stage.raise_hand(stream, Member(ALICE, "Alice"))
    await services.stage.raise_hand(stream, BOB_M)
    await services.stage.raise_hand(stream, BOB_M)  # twice is still one hand
    await services.stage.lower_hand(stream, BOB)
    assert (await services.stage.state(stream)).hands == []


async def test_the_room_is_told_when_the_stage_changes(
    services: Services, livekit: FakeLiveKit
) -> None:
    stream = await live_alice(services)
    await services.stage.raise_hand(stream, BOB_M)
    await services.events.drain()
    assert [(d.room, d.topic) for d in livekit.sent_data] == [(stream.room_name, "stage")]


async def test_each_stage_change_writes_its_room_packet_in_its_own_transaction(
    services: Services, livekit: FakeLiveKit
) -> None:
    """One StageChanged per change, written with it (any process sends the packet from it)."""
    stream = await live_alice(services)
    carol, dave = Member(CAROL, "Carol"), Member(DAVE, "Dave")
    identity = watch(services, livekit, stream, BOB)
    watch(services, livekit, stream, CAROL)
    changes = [
        lambda: services.stage.raise_hand(stream, BOB_M),
        lambda: services.stage.lower_hand(stream, BOB),
        lambda: services.stage.invite(stream, by=ALICE, member=BOB_M),
        lambda: services.stage.decline(stream, BOB),
        lambda: services.stage.invite(stream, by=ALICE, member=BOB_M),
        lambda: services.stage.accept(stream, BOB_M, identity),
        lambda: services.stage.leave(stream, BOB),
        lambda: services.stage.invite(stream, by=ALICE, member=carol),
        lambda: services.stage.remove(stream, by=ALICE, user_id=CAROL),  # withdrawn
        lambda: services.stage.raise_hand(stream, dave),
        # The sanction's own reaction lowers Dave's hand.
        lambda: services.moderation.timeout(moderator_id=MOD, user_id=DAVE, duration=HOUR),
    ]
    for done, change in enumerate(changes, start=1):
        await change()
        await services.events.drain()
        told = await recorded(services.db, StageChanged)
        assert [event.room_name for event in told] == [stream.room_name] * done
    assert told[0].stream.id == stream.id


async def test_a_stage_change_whose_transaction_fails_tells_no_room(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = await live_alice(services)
    with monkeypatch.context() as failing:
        fail_after_recording(failing, stage_module)
        with pytest.raises(FailedAfterTheEvent):
            await services.stage.raise_hand(stream, BOB_M)
    assert (await services.stage.state(stream)).hands == []  # the hand rolled back with it
    with pytest.raises(Conflict, match="no invitation to decline"):
        await services.stage.decline(stream, BOB)  # refused inside the transaction
    assert await recorded(services.db, StageChanged) == []


async def test_a_redelivered_stream_end_closes_the_stage_once(
    services: Services, livekit: FakeLiveKit, clock: ManualClock
) -> None:
    """The outbox may deliver StreamEnded again (its process died before marking it): the
    stage's rows keep what the first delivery wrote, and LiveKit hears nothing more."""
    stream = await live_alice(services)
    watch(services, livekit, stream, CAROL)
    await services.stage.raise_hand(stream, Member(CAROL, "Carol"))
    watch(services, livekit, stream, DAVE)
    await services.stage.invite(stream, by=ALICE, member=Member(DAVE, "Dave"))
    await invite_and_accept(services, livekit, stream, BOB_M)
    clock.advance(60)
    ended = await services.streams.end(ALICE)
    await services.events.drain()

    async def stage_rows() -> list[object]:
        members = await services.db.fetch_all(
            "SELECT user_id, left_at, left_reason FROM stage_members ORDER BY id"
        )
        invitations = await services.db.fetch_all(
            "SELECT user_id, status, answered_at FROM stage_invitations ORDER BY id"
        )
        hands = await services.db.fetch_all("SELECT user_id FROM stage_hands")
        return [dict(row) for row in [*members, *invitations, *hands]]

    before = await stage_rows()
    livekit_calls = len(livekit.requests)
    clock.advance(1)  # (not past the retry of the room's stage packet, which has no room now)
    assert await deliver_again(services, "StageService.close_for_stream_end") == 1
    assert await stage_rows() == before
    assert len(livekit.requests) == livekit_calls
    [bob] = await services.stage.session_guests(ended.session.id)
    assert bob.seconds == 60
