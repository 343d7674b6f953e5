"""Prove FakeLiveKit speaks LiveKit's wire protocol, using the real livekit-api client.

These tests are also the reference for how ``livekit-api`` itself behaves against a
LiveKit server: which exception types surface, how errors are parsed, and the
(absent) request timeout.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from livekit import api
from livekit.api.twirp_client import TwirpClient
from livekit.protocol import egress as lk_egress
from livekit.protocol import ingress as lk_ingress
from livekit.protocol import models as lk_models
from livekit.protocol import room as lk_room

from tests.fakes.livekit import FakeLiveKit, sign_webhook


@pytest.fixture
async def lk() -> AsyncIterator[FakeLiveKit]:
    async with FakeLiveKit() as fake:
        yield fake


@pytest.fixture
async def lkapi(lk: FakeLiveKit) -> AsyncIterator[api.LiveKitAPI]:
    async with lk.client() as client:
        yield client


async def _raw_twirp(
    lk: FakeLiveKit, method: str, request: lk_room.ListRoomsRequest, token: str | None
) -> tuple[int, str, str]:
    """POST one Twirp call by hand; returns (status, content type, body text)."""
    headers = {"Content-Type": "application/protobuf"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{lk.url}/twirp/livekit.RoomService/{method}",
            data=request.SerializeToString(),
            headers=headers,
        ) as resp,
    ):
        return resp.status, resp.content_type, await resp.text()


# --- rooms -------------------------------------------------------------------------------


async def test_create_list_delete_rooms(lk: FakeLiveKit, lkapi: api.LiveKitAPI) -> None:
    before = int(time.time())
    stage = await lkapi.room.create_room(
        api.CreateRoomRequest(name="stage", metadata='{"title":"hi"}', max_participants=50)
    )
    await lkapi.room.create_room(api.CreateRoomRequest(name="lobby"))

    assert stage.sid.startswith("RM_")
    assert stage.name == "stage"
    assert stage.metadata == '{"title":"hi"}'
    assert stage.max_participants == 50
    assert stage.empty_timeout == 300  # livekit-server's default
    assert stage.creation_time >= before
    assert lk.rooms["stage"].sid == stage.sid

    listed = await lkapi.room.list_rooms(api.ListRoomsRequest())
    assert sorted(r.name for r in listed.rooms) == ["lobby", "stage"]
    only = await lkapi.room.list_rooms(api.ListRoomsRequest(names=["stage", "nope"]))
    assert [r.sid for r in only.rooms] == [stage.sid]

    await lkapi.room.delete_room(api.DeleteRoomRequest(room="stage"))
    listed = await lkapi.room.list_rooms(api.ListRoomsRequest())
    assert [r.name for r in listed.rooms] == ["lobby"]


async def test_create_room_is_get_or_create(lk: FakeLiveKit, lkapi: api.LiveKitAPI) -> None:
    first = await lkapi.room.create_room(
        api.CreateRoomRequest(name="stage", metadata="v1", empty_timeout=60)
    )
    again = await lkapi.room.create_room(api.CreateRoomRequest(name="stage"))
    assert again == first  # zero-valued fields leave the existing room alone

    # Like livekit-server, non-zero fields of a repeated CreateRoom overwrite.
    updated = await lkapi.room.create_room(api.CreateRoomRequest(name="stage", metadata="v2"))
    assert (updated.sid, updated.creation_time) == (first.sid, first.creation_time)
    assert updated.metadata == "v2"
    assert updated.empty_timeout == 60
    assert len(lk.rooms) == 1


async def test_delete_missing_room_is_not_found(lkapi: api.LiveKitAPI) -> None:
    with pytest.raises(api.TwirpError) as err:
        await lkapi.room.delete_room(api.DeleteRoomRequest(room="ghost"))
    assert err.value.code == api.TwirpErrorCode.NOT_FOUND
    assert err.value.status == 404
    assert err.value.message == "requested room does not exist"


async def test_delete_missing_room_can_be_lenient() -> None:
    async with FakeLiveKit(delete_missing_room="ok") as lk, lk.client() as lkapi:
        await lkapi.room.delete_room(api.DeleteRoomRequest(room="ghost"))


async def test_update_room_metadata(lk: FakeLiveKit, lkapi: api.LiveKitAPI) -> None:
    lk.add_room("stage")
    room = await lkapi.room.update_room_metadata(
        api.UpdateRoomMetadataRequest(room="stage", metadata='{"live":true}')
    )
    assert room.metadata == lk.rooms["stage"].metadata == '{"live":true}'
    with pytest.raises(api.TwirpError) as err:
        await lkapi.room.update_room_metadata(api.UpdateRoomMetadataRequest(room="ghost"))
    assert err.value.code == "not_found"


# --- participants ------------------------------------------------------------------------


async def test_participants_round_trip(lk: FakeLiveKit, lkapi: api.LiveKitAPI) -> None:
    lk.add_participant("stage", "alice", "Alice", is_publisher=True, metadata="m")
    lk.add_participant("stage", "bob", kind="ingress")
    assert lk.rooms["stage"].num_participants == 2  # add_participant auto-created the room
    assert lk.rooms["stage"].num_publishers == 1

    listed = await lkapi.room.list_participants(api.ListParticipantsRequest(room="stage"))
    assert sorted(p.identity for p in listed.participants) == ["alice", "bob"]

    alice = await lkapi.room.get_participant(
        api.RoomParticipantIdentity(room="stage", identity="alice")
    )
    assert alice.name == "Alice"
    assert alice.sid.startswith("PA_")
    assert alice.state == lk_models.ParticipantInfo.State.ACTIVE
    bob = await lkapi.room.get_participant(
        api.RoomParticipantIdentity(room="stage", identity="bob")
    )
    assert bob.kind == lk_models.ParticipantInfo.Kind.INGRESS

    updated = await lkapi.room.update_participant(
        api.UpdateParticipantRequest(
            room="stage",
            identity="alice",
            metadata='{"role":"host"}',
            permission=api.ParticipantPermission(can_publish=False, can_subscribe=True),
            attributes={"seat": "1"},
        )
    )
    assert updated.metadata == '{"role":"host"}'
    assert updated.attributes == {"seat": "1"}
    assert not lk.participants["stage"]["alice"].permission.can_publish

    await lkapi.room.remove_participant(api.RoomParticipantIdentity(room="stage", identity="bob"))
    assert list(lk.participants["stage"]) == ["alice"]
    assert lk.rooms["stage"].num_participants == 1

    with pytest.raises(api.TwirpError) as err:
        await lkapi.room.remove_participant(
            api.RoomParticipantIdentity(room="stage", identity="bob")
        )
    assert (err.value.code, err.value.status) == ("not_found", 404)


async def test_participant_lookups_in_missing_room(lkapi: api.LiveKitAPI) -> None:
    with pytest.raises(api.TwirpError) as err:
        await lkapi.room.get_participant(api.RoomParticipantIdentity(room="ghost", identity="x"))
    assert (err.value.code, err.value.message) == ("not_found", "participant does not exist")

    # livekit-server answers ListParticipants of an unknown room with an empty list...
    listed = await lkapi.room.list_participants(api.ListParticipantsRequest(room="ghost"))
    assert list(listed.participants) == []


async def test_list_participants_of_missing_room_can_be_not_found() -> None:
    # ...and tests that want the stricter behaviour can switch it on.
    async with FakeLiveKit(missing_room_participants="not_found") as lk, lk.client() as lkapi:
        with pytest.raises(api.TwirpError) as err:
            await lkapi.room.list_participants(api.ListParticipantsRequest(room="ghost"))
    assert (err.value.code, err.value.status) == ("not_found", 404)


async def test_participant_leaving_directly(lk: FakeLiveKit, lkapi: api.LiveKitAPI) -> None:
    lk.add_participant("stage", "alice")
    gone = lk.remove_participant_directly("stage", "alice")
    assert gone.state == lk_models.ParticipantInfo.State.DISCONNECTED
    listed = await lkapi.room.list_participants(api.ListParticipantsRequest(room="stage"))
    assert list(listed.participants) == []


async def test_mute_published_track(lk: FakeLiveKit, lkapi: api.LiveKitAPI) -> None:
    lk.add_participant("stage", "alice")
    track = lk.publish_track("stage", "alice", kind="audio")
    assert track.source == lk_models.TrackSource.MICROPHONE

    muted = await lkapi.room.mute_published_track(
        api.MuteRoomTrackRequest(room="stage", identity="alice", track_sid=track.sid, muted=True)
    )
    assert muted.track.muted
    assert lk.participants["stage"]["alice"].tracks[0].muted

    # livekit-server refuses remote unmute unless enable_remote_unmute is configured.
    with pytest.raises(api.TwirpError) as err:
        await lkapi.room.mute_published_track(
            api.MuteRoomTrackRequest(
                room="stage", identity="alice", track_sid=track.sid, muted=False
            )
        )
    assert (err.value.code, err.value.status) == ("failed_precondition", 412)


# --- auth --------------------------------------------------------------------------------


async def test_requests_record_the_grants_used(lk: FakeLiveKit, lkapi: api.LiveKitAPI) -> None:
    await lkapi.room.create_room(api.CreateRoomRequest(name="stage"))
    await lkapi.room.list_participants(api.ListParticipantsRequest(room="stage"))

    create, list_participants = lk.requests
    assert (create.service, create.method, create.status) == ("RoomService", "CreateRoom", 200)
    assert create.grants is not None
    assert create.grants.room_create
    assert not create.grants.room_admin
    assert isinstance(create.request, lk_room.CreateRoomRequest)
    assert create.request.name == "stage"
    assert create.request_id  # the client's idempotency key header
    assert list_participants.grants is not None
    assert list_participants.grants.room_admin
    assert list_participants.grants.room == "stage"
    assert lk.calls("CreateRoom") == [create]


async def test_token_without_needed_grant_is_refused(lk: FakeLiveKit) -> None:
    token = lk.make_token(api.VideoGrants(room_list=True))
    async with api.LiveKitAPI.with_token(token, lk.url) as client:
        assert (await client.room.list_rooms(api.ListRoomsRequest())).rooms == []
        with pytest.raises(api.TwirpError) as err:
            await client.room.create_room(api.CreateRoomRequest(name="stage"))
    assert err.value.code == api.TwirpErrorCode.UNAUTHENTICATED
    assert err.value.status == 401
    assert err.value.message == "permissions denied"
    assert lk.rooms == {}


async def test_room_admin_grant_is_scoped_to_its_room(lk: FakeLiveKit) -> None:
    lk.add_participant("other", "alice")
    token = lk.make_token(api.VideoGrants(room_admin=True, room="stage"))
    async with api.LiveKitAPI.with_token(token, lk.url) as client:
        with pytest.raises(api.TwirpError) as err:
            await client.room.list_participants(api.ListParticipantsRequest(room="other"))
    assert (err.value.code, err.value.message) == ("unauthenticated", "permissions denied")


async def test_missing_token_is_permission_denied_json(lk: FakeLiveKit) -> None:
    status, content_type, body = await _raw_twirp(lk, "ListRooms", api.ListRoomsRequest(), None)
    assert status == 401
    assert content_type == "application/json"
    assert json.loads(body) == {"code": "unauthenticated", "msg": "permissions denied"}


async def test_wrong_secret_is_401_with_plain_text_body(lk: FakeLiveKit) -> None:
    async with api.LiveKitAPI(lk.url, lk.api_key, "w" * 40) as client:
        with pytest.raises(api.TwirpError) as err:
            await client.room.list_rooms(api.ListRoomsRequest())
    # livekit-server's auth middleware answers bad tokens with text/plain, so the client
    # cannot parse a Twirp code: it reports "unknown" with an empty message.
    assert (err.value.status, err.value.code, err.value.message) == (401, "unknown", "")
    assert lk.requests[-1].status == 401
    assert lk.requests[-1].claims is None

    bad = lk.make_token(api.VideoGrants(room_list=True), api_secret="w" * 40)
    status, content_type, body = await _raw_twirp(lk, "ListRooms", api.ListRoomsRequest(), bad)
    assert (status, content_type) == (401, "text/plain")
    assert body.startswith("invalid token: ")


async def test_unknown_api_key_is_401(lk: FakeLiveKit) -> None:
    async with api.LiveKitAPI(lk.url, "otherkey", lk.api_secret) as client:
        with pytest.raises(api.TwirpError) as err:
            await client.room.list_rooms(api.ListRoomsRequest())
    assert err.value.status == 401


async def test_unknown_method_is_bad_route(lk: FakeLiveKit) -> None:
    async with aiohttp.ClientSession() as session:
        client = TwirpClient(session, lk.url, "livekit")
        headers = {"authorization": f"Bearer {lk.make_token(api.VideoGrants(room_list=True))}"}
        with pytest.raises(api.TwirpError) as err:
            await client.request(
                "RoomService", "Nope", api.ListRoomsRequest(), headers, api.ListRoomsResponse
            )
    assert (err.value.code, err.value.status) == ("bad_route", 404)
    assert err.value.metadata == {
        "twirp_invalid_route": "POST /twirp/livekit.RoomService/Nope",
    }


async def test_twirp_json_encoding_is_supported(lk: FakeLiveKit) -> None:
    lk.add_room("stage")
    token = lk.make_token(api.VideoGrants(room_list=True))
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{lk.url}/twirp/livekit.RoomService/ListRooms",
            json={"names": ["stage"]},
            headers={"Authorization": f"Bearer {token}"},
        ) as resp,
    ):
        assert resp.status == 200
        body = await resp.json()
    assert [r["name"] for r in body["rooms"]] == ["stage"]


# --- data --------------------------------------------------------------------------------


async def test_send_data_is_recorded(lk: FakeLiveKit, lkapi: api.LiveKitAPI) -> None:
    lk.add_participant("stage", "alice")
    request = api.SendDataRequest(
        room="stage",
        data=b'{"type":"chat"}',
        topic="chat",
        destination_identities=["alice"],
        kind=lk_models.DataPacket.Kind.RELIABLE,
    )
    await lkapi.room.send_data(request)

    (sent,) = lk.sent_data
    assert sent.room == "stage"
    assert sent.text == '{"type":"chat"}'
    assert sent.topic == "chat"
    assert sent.destination_identities == ("alice",)
    assert sent.kind == lk_models.DataPacket.Kind.RELIABLE
    assert len(sent.nonce) == 16  # the client stamps a fresh uuid4 nonce...
    assert request.nonce == sent.nonce  # ...by mutating the request you passed in

    with pytest.raises(api.TwirpError) as err:
        await lkapi.room.send_data(api.SendDataRequest(room="ghost", data=b"x"))
    assert err.value.code == "not_found"


# --- failure switches --------------------------------------------------------------------


async def test_fail_next_produces_twirp_error(lk: FakeLiveKit, lkapi: api.LiveKitAPI) -> None:
    lk.fail_next("CreateRoom", code="unavailable", msg="node draining", times=2)
    for _ in range(2):
        with pytest.raises(api.TwirpError) as err:
            await lkapi.room.create_room(api.CreateRoomRequest(name="stage"))
        assert (err.value.code, err.value.status) == ("unavailable", 503)
        assert err.value.message == "node draining"
    assert lk.rooms == {}  # injected failures do not touch state

    room = await lkapi.room.create_room(api.CreateRoomRequest(name="stage"))
    assert room.name == "stage"
    # Against a self-hosted URL the client does not retry 5xx: one HTTP call each.
    assert [r.status for r in lk.calls("CreateRoom")] == [503, 503, 200]


async def test_fail_next_with_custom_status_and_service(lk: FakeLiveKit) -> None:
    lk.fail_next("RoomService/ListRooms", code="resource_exhausted", status=429)
    async with lk.client() as lkapi:
        with pytest.raises(api.TwirpError) as err:
            await lkapi.room.list_rooms(api.ListRoomsRequest())
    assert (err.value.code, err.value.status) == ("resource_exhausted", 429)
    with pytest.raises(ValueError, match="does not implement"):
        lk.fail_next("CreateRoomz")


async def test_down_refuses_connections_and_up_recovers(
    lk: FakeLiveKit, lkapi: api.LiveKitAPI
) -> None:
    room = await lkapi.room.create_room(api.CreateRoomRequest(name="stage"))
    port = lk.port

    await lk.down()
    assert not lk.is_up
    # The same client (with a pooled keep-alive connection) now gets connection refused.
    with pytest.raises(aiohttp.ClientConnectorError):
        await lkapi.room.list_rooms(api.ListRoomsRequest())

    await lk.up()
    assert lk.port == port
    listed = await lkapi.room.list_rooms(api.ListRoomsRequest())
    assert [r.sid for r in listed.rooms] == [room.sid]


async def test_client_timeout_setting_does_not_bound_requests(lk: FakeLiveKit) -> None:
    """livekit-api passes ``timeout=None`` per request, which disables the session
    timeout: LiveKitAPI(timeout=...) has no effect, so callers must bound calls
    themselves (asyncio.timeout)."""
    lk.slow(0.3)
    async with lk.client(timeout=aiohttp.ClientTimeout(total=0.05)) as lkapi:
        listed = await lkapi.room.list_rooms(api.ListRoomsRequest())
        assert list(listed.rooms) == []
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await lkapi.room.list_rooms(api.ListRoomsRequest())


async def test_down_cuts_in_flight_requests(lk: FakeLiveKit, lkapi: api.LiveKitAPI) -> None:
    lk.slow(5)
    call = asyncio.create_task(lkapi.room.list_rooms(api.ListRoomsRequest()))
    await asyncio.sleep(0.05)
    await lk.down()
    with pytest.raises(aiohttp.ClientConnectionError):
        await call
    assert [(r.method, r.status) for r in lk.requests] == [("ListRooms", 0)]  # never answered


# --- webhooks ----------------------------------------------------------------------------


async def test_signed_webhook_passes_webhook_receiver(lk: FakeLiveKit) -> None:
    lk.add_participant("stage", "alice", "Alice")
    event = lk.event("participant_joined", "stage", "alice")
    assert event.id.startswith("EV_")
    assert event.id != lk.event("participant_joined", "stage", "alice").id
    assert abs(event.created_at - time.time()) < 5

    body, headers = lk.signed_webhook(event)
    assert headers["Content-Type"] == "application/webhook+json"
    assert not headers["Authorization"].startswith("Bearer")

    receiver = api.WebhookReceiver(api.TokenVerifier(lk.api_key, lk.api_secret))
    received = receiver.receive(body, headers["Authorization"])
    assert received == event
    assert received.room.sid == lk.rooms["stage"].sid
    assert received.participant.name == "Alice"
    assert json.loads(body)["event"] == "participant_joined"

    with pytest.raises(Exception, match="hash mismatch"):
        receiver.receive(body.replace("alice", "mallory"), headers["Authorization"])
    _, forged = lk.signed_webhook(event, api_secret="f" * 40)
    with pytest.raises(Exception, match="Signature"):
        receiver.receive(body, forged["Authorization"])
    assert sign_webhook(body, lk.api_key, lk.api_secret).count(".") == 2


async def test_event_for_unknown_room_and_bad_kind(lk: FakeLiveKit) -> None:
    event = lk.event("room_finished", "never-seen")
    assert event.room.name == "never-seen"
    assert event.room.sid.startswith("RM_")
    assert not event.HasField("participant")
    with pytest.raises(ValueError, match="unknown LiveKit webhook event"):
        lk.event("room_exploded", "stage")


async def test_post_webhook_delivers_to_receiver(lk: FakeLiveKit) -> None:
    received: list[api.WebhookEvent] = []
    receiver = api.WebhookReceiver(api.TokenVerifier(lk.api_key, lk.api_secret))

    async def handle(request: web.Request) -> web.Response:
        assert request.content_type == "application/webhook+json"
        received.append(receiver.receive(await request.text(), request.headers["Authorization"]))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/livekit/webhook", handle)
    async with TestServer(app) as server:
        event = lk.event("room_started", "stage")
        status = await lk.post_webhook(str(server.make_url("/livekit/webhook")), event)
    assert status == 200
    assert received == [event]


# --- ingress & egress --------------------------------------------------------------------


async def test_ingress_round_trip(lk: FakeLiveKit, lkapi: api.LiveKitAPI) -> None:
    rtmp = await lkapi.ingress.create_ingress(
        api.CreateIngressRequest(
            input_type=api.IngressInput.RTMP_INPUT,
            name="obs",
            room_name="stage",
            participant_identity="streamer",
        )
    )
    assert rtmp.ingress_id.startswith("IN_")
    assert rtmp.url == lk.rtmp_base_url
    assert rtmp.stream_key
    assert rtmp.reusable
    assert rtmp.enable_transcoding
    assert rtmp.state.status == lk_ingress.IngressState.Status.ENDPOINT_INACTIVE

    whip = await lkapi.ingress.create_ingress(
        api.CreateIngressRequest(input_type=api.IngressInput.WHIP_INPUT, room_name="other")
    )
    assert whip.url.endswith("/w")
    assert whip.bypass_transcoding
    assert whip.stream_key != rtmp.stream_key

    listed = await lkapi.ingress.list_ingress(api.ListIngressRequest())
    assert {i.ingress_id for i in listed.items} == {rtmp.ingress_id, whip.ingress_id}
    in_stage = await lkapi.ingress.list_ingress(api.ListIngressRequest(room_name="stage"))
    assert [i.ingress_id for i in in_stage.items] == [rtmp.ingress_id]

    updated = await lkapi.ingress.update_ingress(
        api.UpdateIngressRequest(ingress_id=rtmp.ingress_id, name="obs-2")
    )
    assert (updated.name, updated.room_name) == ("obs-2", "stage")

    deleted = await lkapi.ingress.delete_ingress(
        api.DeleteIngressRequest(ingress_id=rtmp.ingress_id)
    )
    assert deleted.ingress_id == rtmp.ingress_id
    assert set(lk.ingresses) == {whip.ingress_id}
    with pytest.raises(api.TwirpError) as err:
        await lkapi.ingress.delete_ingress(api.DeleteIngressRequest(ingress_id=rtmp.ingress_id))
    assert (err.value.code, err.value.message) == ("not_found", "ingress does not exist")

    assert all(r.grants and r.grants.ingress_admin for r in lk.requests if r.service == "Ingress")


async def test_ingress_requires_ingress_admin(lk: FakeLiveKit) -> None:
    token = lk.make_token(api.VideoGrants(room_create=True, room_list=True))
    async with api.LiveKitAPI.with_token(token, lk.url) as client:
        with pytest.raises(api.TwirpError) as err:
            await client.ingress.list_ingress(api.ListIngressRequest())
    assert (err.value.code, err.value.status) == ("unauthenticated", 401)


# Every Ingress call needs ingressAdmin and every Egress call roomRecord (livekit-server's
# EnsureIngressAdminPermission / EnsureRecordPermission); other grants, even all room ones, don't do.
_ROOM_GRANTS = api.VideoGrants(room_create=True, room_list=True, room_admin=True, room="stage")
_GUARDED_CALLS = [
    ("Ingress", "CreateIngress", lk_ingress.CreateIngressRequest(room_name="stage")),
    ("Ingress", "UpdateIngress", lk_ingress.UpdateIngressRequest(ingress_id="IN_x")),
    ("Ingress", "ListIngress", lk_ingress.ListIngressRequest()),
    ("Ingress", "DeleteIngress", lk_ingress.DeleteIngressRequest(ingress_id="IN_x")),
    ("Egress", "StartRoomCompositeEgress", lk_egress.RoomCompositeEgressRequest(room_name="stage")),
    ("Egress", "ListEgress", lk_egress.ListEgressRequest()),
    ("Egress", "StopEgress", lk_egress.StopEgressRequest(egress_id="EG_x")),
]


@pytest.mark.parametrize(("service", "method", "request_message"), _GUARDED_CALLS)
async def test_ingress_and_egress_calls_need_their_own_grant(
    lk: FakeLiveKit, service: str, method: str, request_message: Any
) -> None:
    lk.add_room("stage")
    token = lk.make_token(_ROOM_GRANTS)
    async with aiohttp.ClientSession() as session:
        client = TwirpClient(session, lk.url, "livekit")
        with pytest.raises(api.TwirpError) as err:
            await client.request(
                service,
                method,
                request_message,
                {"Authorization": f"Bearer {token}"},
                type(request_message),
            )
    assert (err.value.code, err.value.message) == ("unauthenticated", "permissions denied")
    assert lk.ingresses == {} and lk.egresses == {}


async def test_egress_round_trip(lk: FakeLiveKit, lkapi: api.LiveKitAPI) -> None:
    composite = api.RoomCompositeEgressRequest(
        room_name="stage",
        layout="speaker",
        stream_outputs=[api.StreamOutput(urls=["rtmp://a.example/live/key"])],
    )
    with pytest.raises(api.TwirpError) as err:
        await lkapi.egress.start_room_composite_egress(composite)
    assert (err.value.code, err.value.message) == ("not_found", "requested room does not exist")

    room = lk.add_room("stage")
    info = await lkapi.egress.start_room_composite_egress(composite)
    assert info.egress_id.startswith("EG_")
    assert (info.room_name, info.room_id) == ("stage", room.sid)
    assert info.status == lk_egress.EgressStatus.EGRESS_STARTING
    assert info.room_composite.layout == "speaker"
    assert [s.url for s in info.stream_results] == ["rtmp://a.example/live/key"]

    lk.set_egress_status(info.egress_id, lk_egress.EgressStatus.EGRESS_ACTIVE)
    active = await lkapi.egress.list_egress(api.ListEgressRequest(room_name="stage", active=True))
    assert [e.egress_id for e in active.items] == [info.egress_id]

    stopped = await lkapi.egress.stop_egress(api.StopEgressRequest(egress_id=info.egress_id))
    assert stopped.status == lk_egress.EgressStatus.EGRESS_ENDING
    active = await lkapi.egress.list_egress(api.ListEgressRequest(active=True))
    assert list(active.items) == []
    everything = await lkapi.egress.list_egress(api.ListEgressRequest())
    assert [e.egress_id for e in everything.items] == [info.egress_id]

    with pytest.raises(api.TwirpError) as err:
        await lkapi.egress.stop_egress(api.StopEgressRequest(egress_id=info.egress_id))
    assert (err.value.code, err.value.status) == ("failed_precondition", 412)
    with pytest.raises(api.TwirpError) as err:
        await lkapi.egress.stop_egress(api.StopEgressRequest(egress_id="EG_nope"))
    assert (err.value.code, err.value.message) == ("not_found", "egress does not exist")


async def test_image_outputs_write_real_jpegs_where_livekits_egress_would(
    lk: FakeLiveKit, lkapi: api.LiveKitAPI, tmp_path: Path
) -> None:
    lk.add_room("stage")
    overwrite = api.ImageOutput(
        capture_interval=10,
        width=64,
        height=36,
        filename_prefix=str(tmp_path / "thumbs" / "stage"),
        filename_suffix=api.ImageFileSuffix.IMAGE_SUFFIX_NONE_OVERWRITE,
    )
    indexed = api.ImageOutput(filename_prefix=str(tmp_path / "frames" / "stage"))
    info = await lkapi.egress.start_room_composite_egress(
        api.RoomCompositeEgressRequest(room_name="stage", image_outputs=[overwrite, indexed])
    )
    assert [r.filename_prefix for r in info.image_results] == [
        overwrite.filename_prefix,
        indexed.filename_prefix,
    ]

    first = lk.capture_snapshots()
    assert first == [tmp_path / "thumbs" / "stage.jpeg", tmp_path / "frames" / "stage_00000.jpeg"]
    picture = first[0].read_bytes()
    assert picture.startswith(b"\xff\xd8\xff\xe0") and picture.endswith(b"\xff\xd9")
    second = lk.capture_snapshots(info.egress_id)
    assert second == [first[0], tmp_path / "frames" / "stage_00001.jpeg"]
    assert first[0].read_bytes() != picture  # overwritten with the next picture
    assert [r.image_count for r in lk.egresses[info.egress_id].image_results] == [2, 2]

    await lkapi.egress.stop_egress(api.StopEgressRequest(egress_id=info.egress_id))
    assert lk.capture_snapshots() == []  # a stopping egress takes no more pictures

    # No prefix: named after the room and the time, in the egress's working directory.
    lk.egress_working_dir = tmp_path / "egress"
    unnamed = await lkapi.egress.start_room_composite_egress(
        api.RoomCompositeEgressRequest(room_name="stage", image_outputs=[api.ImageOutput()])
    )
    [written] = lk.capture_snapshots(unnamed.egress_id)
    assert written.parent == tmp_path / "egress" and written.name.startswith("stage-")

    assert all(r.grants and r.grants.room_record for r in lk.requests if r.service == "Egress")


async def test_root_health_probe(lk: FakeLiveKit) -> None:
    async with aiohttp.ClientSession() as session, session.get(lk.url) as resp:
        assert (resp.status, await resp.text()) == (200, "OK")


async def test_reset_clears_state(lk: FakeLiveKit) -> None:
    lk.add_participant("stage", "alice")
    lk.fail_next("ListRooms")
    lk.slow(1)
    lk.reset()
    assert (lk.rooms, lk.participants, lk.requests, lk.delay) == ({}, {}, [], 0.0)
    async with lk.client() as lkapi:
        assert list((await lkapi.room.list_rooms(api.ListRoomsRequest())).rooms) == []
