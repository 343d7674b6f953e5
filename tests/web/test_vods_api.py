"""The VOD endpoints: a recording's page, its file (seekable), its chat replay and deleting it;
and bad input on each, answered with a JSON error (or a page) and nothing written."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

import web.vods
from core.kernel.clock import ManualClock
from core.live import Recording
from core.services import Services
from tests.conftest import ALICE, BOB, FILE_RECORDING, SignIn
from tests.core.live.recorded import CAROL, Line, record_stream, record_to
from tests.fakes.livekit import FakeLiveKit

Client = TestClient[Any, Any]
VIDEO = bytes(range(256)) * 40  # 10 KiB standing in for an MP4


@pytest.fixture
async def vod(
    services: Services, livekit: FakeLiveKit, clock: ManualClock, tmp_path: Path
) -> Recording:
    record_to(services, tmp_path)
    return await record_stream(
        services,
        livekit,
        clock,
        [Line(2, BOB, "first!"), Line(5, ALICE, "thanks for coming"), Line(7, BOB, "rude words")],
        video=VIDEO,
    )


async def still_listed(services: Services, vod: Recording) -> bool:
    path = services.recording.local_file(vod)
    listed = [v.id for v in await services.recording.list_vods(vod.stream_id)] == [vod.id]
    return listed and path is not None and path.exists()


# -- the chat replay ---------------------------------------------------------------------------


async def test_the_replay_gives_each_message_its_moment_in_the_file(
    client: Client, services: Services, vod: Recording
) -> None:
    rude = [m for m in await services.chat.session_messages(vod.session_id) if "rude" in m.body]
    await services.chat.hide(rude[0].id, moderator_id=ALICE.user_id)

    async with client.get(f"/api/live/alice/vods/{vod.id}/chat") as response:
        assert response.status == 200
        body = await response.json()
    assert body["recording"] == {"id": vod.id, "durationMs": 12_000}
    assert [(m["atMs"], m["author"]["name"], m["text"]) for m in body["messages"]] == [
        (2000, "Bob", "first!"),
        (5000, "Alice", "thanks for coming"),
    ]
    assert body["messages"][1]["author"]["role"] == "streamer"
    assert body["next"] is None


async def test_the_replay_comes_in_pages(
    client: Client, vod: Recording, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(web.vods, "REPLAY_PAGE", 2)
    async with client.get(f"/api/live/alice/vods/{vod.id}/chat") as response:
        first = await response.json()
    assert [m["text"] for m in first["messages"]] == ["first!", "thanks for coming"]
    async with client.get(f"/api/live/alice/vods/{vod.id}/chat?after={first['next']}") as response:
        second = await response.json()
    assert [m["text"] for m in second["messages"]] == ["rude words"]
    assert second["next"] is None


async def test_a_banned_members_messages_are_not_replayed(
    client: Client, services: Services, livekit: FakeLiveKit, clock: ManualClock, tmp_path: Path
) -> None:
    record_to(services, tmp_path)
    vod = await record_stream(
        services, livekit, clock, [Line(1, CAROL, "buy my stuff"), Line(3, BOB, "hi")]
    )
    await services.moderation.ban(
        moderator_id=ALICE.user_id, user_id=CAROL.user_id, scope="both", duration=None
    )
    async with client.get(f"/api/live/alice/vods/{vod.id}/chat") as response:
        texts = [m["text"] for m in (await response.json())["messages"]]
    assert texts == ["hi"]


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/api/live/nobody/vods/{id}/chat", 404, "stream"),
        ("/api/live/alice/vods/999999/chat", 404, "recording does not exist"),
        ("/api/live/alice/vods/abc/chat", 404, "recording does not exist"),
        ("/api/live/alice/vods/99999999999999999999999/chat", 404, "recording does not exist"),
        ("/api/live/alice/vods/{id}/chat?after=abc", 400, "'after'"),
        ("/api/live/alice/vods/{id}/chat?after=-1", 400, "'after'"),
    ],
)
async def test_the_replay_refuses_what_it_does_not_know(
    client: Client, vod: Recording, path: str, status: int, words: str
) -> None:
    async with client.get(path.format(id=vod.id)) as response:
        assert response.status == status
        assert response.content_type == "application/json"
        assert words in (await response.json())["error"]


async def test_a_recording_is_not_found_under_another_streams_address(
    client: Client, services: Services, livekit: FakeLiveKit, clock: ManualClock, vod: Recording
) -> None:
    bobs = await record_stream(services, livekit, clock, [], who=BOB)
    async with client.get(f"/api/live/alice/vods/{bobs.id}/chat") as response:
        assert response.status == 404
    async with client.get(f"/live/alice/vods/{bobs.id}") as response:
        assert response.status == 404
    async with client.get(f"/live/bob/vods/{bobs.id}") as response:
        assert response.status == 200


# -- the file ----------------------------------------------------------------------------------


async def test_the_file_is_served_with_ranges_so_the_player_can_seek(
    client: Client, vod: Recording
) -> None:
    url = f"/live/alice/vods/{vod.id}/video"
    async with client.get(url) as response:
        assert response.status == 200
        assert response.headers["Accept-Ranges"] == "bytes"
        assert await response.read() == VIDEO
    async with client.get(url, headers={"Range": "bytes=1000-1999"}) as response:
        assert response.status == 206
        assert response.headers["Content-Range"] == f"bytes 1000-1999/{len(VIDEO)}"
        assert await response.read() == VIDEO[1000:2000]


async def test_a_file_golive_can_not_reach_is_not_found(
    client: Client, services: Services, vod: Recording
) -> None:
    services.recording.config = dataclasses.replace(services.recording.config, local_dir=None)
    async with client.get(f"/live/alice/vods/{vod.id}/video") as response:
        assert response.status == 404


# -- the page ----------------------------------------------------------------------------------


async def test_the_page_plays_the_file_from_golive(client: Client, vod: Recording) -> None:
    async with client.get(f"/live/alice/vods/{vod.id}") as response:
        assert response.status == 200
        html = await response.text()
        csp = response.headers["Content-Security-Policy"]
    assert f'src="/live/alice/vods/{vod.id}/video"' in html
    assert "media-src 'self' blob: mediastream:" in csp
    assert 'data-testid="vod-delete"' not in html  # nobody signed in
    assert "12s" in html


async def test_without_local_dir_the_page_plays_the_public_link_and_allows_only_its_origin(
    client: Client, services: Services, vod: Recording
) -> None:
    services.recording.config = dataclasses.replace(services.recording.config, local_dir=None)
    async with client.get(f"/live/alice/vods/{vod.id}") as response:
        html = await response.text()
        csp = response.headers["Content-Security-Policy"]
    assert 'src="https://media.golive.test/recordings/alice/live-alice-' in html
    assert "media-src 'self' https://media.golive.test blob:" in csp
    assert "script-src 'self';" in csp


async def test_without_any_way_to_the_file_the_page_says_so(
    client: Client, services: Services, vod: Recording
) -> None:
    services.recording.config = dataclasses.replace(FILE_RECORDING, local_dir=None, public_url=None)
    async with client.get(f"/live/alice/vods/{vod.id}") as response:
        html = await response.text()
    assert 'data-testid="vod-missing"' in html and "<video" not in html


async def test_the_owner_and_moderators_get_a_delete_button(
    client: Client, services: Services, vod: Recording, sign_in: SignIn
) -> None:
    await sign_in(client, ALICE)
    async with client.get(f"/live/alice/vods/{vod.id}") as response:
        assert 'data-testid="vod-delete"' in await response.text()
    await sign_in(client, BOB)
    async with client.get(f"/live/alice/vods/{vod.id}") as response:
        assert 'data-testid="vod-delete"' not in await response.text()
    await services.moderation.remember_moderator(BOB.user_id, 1, True)
    async with client.get(f"/live/alice/vods/{vod.id}") as response:
        assert 'data-testid="vod-delete"' in await response.text()


async def test_an_unknown_recording_is_a_not_found_page(client: Client, vod: Recording) -> None:
    async with client.get(f"/live/alice/vods/{vod.id + 1}") as response:
        assert response.status == 404
        assert "recording does not exist" in await response.text()


async def test_the_stream_page_links_each_past_stream_to_its_page(
    client: Client, services: Services, livekit: FakeLiveKit, clock: ManualClock, vod: Recording
) -> None:
    newer = await record_stream(services, livekit, clock, [], seconds=72 * 60)
    async with client.get("/live/alice?lang=de") as response:
        html = await response.text()
    section = html.split('data-testid="past-streams"', 1)[1].split("</section>", 1)[0]
    # Newest first, each with its length in the page's language.
    assert section.index(f'href="/live/alice/vods/{newer.id}"') < section.index(
        f'href="/live/alice/vods/{vod.id}"'
    )
    assert "1 Std. 12 Min." in section and "12 Sek." in section


# -- deleting ----------------------------------------------------------------------------------


async def test_the_owner_deletes_a_recording(
    client: Client, services: Services, vod: Recording, sign_in: SignIn
) -> None:
    path = services.recording.local_file(vod)
    await sign_in(client, ALICE)
    async with client.delete(f"/api/live/alice/vods/{vod.id}") as response:
        assert response.status == 200
        assert await response.json() == {"deleted": vod.id, "fileRemoved": True}
    assert path is not None and not path.exists()
    async with client.get(f"/live/alice/vods/{vod.id}") as response:
        assert response.status == 404
    async with client.delete(f"/api/live/alice/vods/{vod.id}") as response:
        assert response.status == 404


async def test_a_moderator_deletes_anyones_recording_into_the_audit_log(
    client: Client, services: Services, vod: Recording, sign_in: SignIn
) -> None:
    await services.moderation.remember_moderator(BOB.user_id, 1, True)
    await sign_in(client, BOB)
    async with client.delete(f"/api/live/alice/vods/{vod.id}") as response:
        assert response.status == 200
    [action] = await services.moderation.audit_log()
    assert (action.action, action.moderator_id, action.target_id) == (
        "delete_recording",
        BOB.user_id,
        ALICE.user_id,
    )


async def test_a_viewer_can_not_delete_a_recording(
    client: Client, services: Services, vod: Recording, sign_in: SignIn
) -> None:
    await sign_in(client, BOB)
    async with client.delete(f"/api/live/alice/vods/{vod.id}") as response:
        assert response.status == 403
        assert "Only the streamer and moderators" in (await response.json())["error"]
    assert await still_listed(services, vod)
    assert await services.moderation.audit_log() == []


async def test_deleting_needs_a_signed_in_member(
    client: Client, services: Services, vod: Recording
) -> None:
    async with client.delete(f"/api/live/alice/vods/{vod.id}") as response:
        assert response.status == 401
        assert "Sign in" in (await response.json())["error"]
    assert await still_listed(services, vod)


async def test_deleting_from_another_site_is_refused(
    client: Client, services: Services, vod: Recording, sign_in: SignIn
) -> None:
    await sign_in(client, ALICE)
    headers = {"Origin": "https://evil.example"}
    async with client.delete(f"/api/live/alice/vods/{vod.id}", headers=headers) as response:
        assert response.status == 403
        assert "other sites" in (await response.json())["error"]
    assert await still_listed(services, vod)


@pytest.mark.parametrize(
    "path",
    [
        "/api/live/nobody/vods/{id}",
        "/api/live/alice/vods/999999",
        "/api/live/alice/vods/x1",
        "/api/live/alice/vods/0",
    ],
)
async def test_deleting_what_is_not_there_is_not_found(
    client: Client, services: Services, vod: Recording, sign_in: SignIn, path: str
) -> None:
    await sign_in(client, ALICE)
    async with client.delete(path.format(id=vod.id)) as response:
        assert response.status == 404
        assert response.content_type == "application/json"
    assert await still_listed(services, vod)


async def test_deleting_someone_elses_recording_under_your_own_address_is_not_found(
    client: Client,
    services: Services,
    livekit: FakeLiveKit,
    clock: ManualClock,
    vod: Recording,
    sign_in: SignIn,
) -> None:
    """Alice can't reach Bob's recording by putting its id under her own stream's address."""
    bobs = await record_stream(services, livekit, clock, [], who=BOB)
    await sign_in(client, ALICE)
    async with client.delete(f"/api/live/alice/vods/{bobs.id}") as response:
        assert response.status == 404
    async with client.delete(f"/api/live/bob/vods/{bobs.id}") as response:
        assert response.status == 403
    assert await still_listed(services, bobs)
