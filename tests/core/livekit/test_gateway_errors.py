"""The gateway's one error type carries LiveKit's code: refused, bad credentials, or unreachable."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from livekit import api

from core.kernel.errors import LiveKitUnavailable
from core.livekit import LiveKitGateway
from tests.fakes.livekit import FakeLiveKit


@pytest_asyncio.fixture
async def gateway(livekit: FakeLiveKit) -> AsyncIterator[LiveKitGateway]:
    client = livekit.client()
    try:
        yield LiveKitGateway(client)
    finally:
        await client.aclose()


async def test_a_refusal_carries_livekits_code(
    gateway: LiveKitGateway, livekit: FakeLiveKit
) -> None:
    livekit.fail_next("SendData", code="resource_exhausted")
    with pytest.raises(LiveKitUnavailable) as raised:
        await gateway.send_data("live-a-1", b"{}", topic="chat")
    assert raised.value.code == "resource_exhausted" and raised.value.refused
    assert not raised.value.bad_credentials


async def test_a_wrong_secret_is_bad_credentials_not_unreachable(livekit: FakeLiveKit) -> None:
    client = api.LiveKitAPI(livekit.url, livekit.api_key, "a-wrong-secret-" + "x" * 40)
    try:
        with pytest.raises(LiveKitUnavailable) as raised:
            await LiveKitGateway(client).list_room_names()
    finally:
        await client.aclose()
    assert raised.value.code == LiveKitUnavailable.UNAUTHENTICATED
    assert raised.value.bad_credentials


async def test_nobody_listening_has_no_code() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = api.LiveKitAPI(f"http://127.0.0.1:{port}", "key", "s" * 40)
    try:
        with pytest.raises(LiveKitUnavailable) as raised:
            await LiveKitGateway(client).list_room_names()
    finally:
        await client.aclose()
    assert raised.value.code is None and not raised.value.refused
    assert "can't be reached" in raised.value.message


async def test_a_hung_server_times_out_without_a_code(
    gateway: LiveKitGateway, livekit: FakeLiveKit
) -> None:
    gateway.timeout = 0.05
    livekit.slow(5)
    with pytest.raises(LiveKitUnavailable) as raised:
        await gateway.list_room_names()
    livekit.slow(0)
    assert raised.value.code is None


async def test_not_found_is_an_answer_not_an_error(gateway: LiveKitGateway) -> None:
    assert await gateway.list_participants("no-such-room") == []
    assert await gateway.remove_participant("no-such-room", "viewer-1-ab") is False
    assert await gateway.get_ingress("IN_missing") is None


async def test_permission_updates_name_the_one_room_and_report_a_gone_participant(
    gateway: LiveKitGateway, livekit: FakeLiveKit
) -> None:
    livekit.add_participant("live-a-1", "viewer-2-t")

    assert await gateway.update_participant_permission(
        "live-a-1", "viewer-2-t", sources=("camera", "microphone")
    )
    [call] = livekit.calls("UpdateParticipant")
    assert call.grants is not None and call.grants.room == "live-a-1" and call.grants.room_admin
    permission = livekit.participants["live-a-1"]["viewer-2-t"].permission
    assert permission.can_publish and not permission.can_publish_data
    assert livekit.may_publish("live-a-1", "viewer-2-t", "microphone")
    assert not livekit.may_publish("live-a-1", "viewer-2-t", "screen_share")

    assert not await gateway.update_participant_permission("live-a-1", "viewer-9-x", sources=())
    livekit.fail_next("UpdateParticipant", code="unavailable")
    with pytest.raises(LiveKitUnavailable) as raised:
        await gateway.update_participant_permission("live-a-1", "viewer-2-t", sources=())
    assert raised.value.code == "unavailable"
