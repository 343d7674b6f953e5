"""The JSON API (design.md §3) as a client developer meets it, plus the sign-in pages' status codes.

Everything goes through aiohttp's test client against create_app(services), with the LiveKit double
behind the services. Assertions are on what a client sees: status, JSON shape, headers, and what
was (or was not) written.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp.test_utils import TestClient
from livekit import api

from core.accounts.auth import Identity
from core.kernel.clock import ManualClock
from core.services import Services
from core.streams import StreamDraft
from tests.conftest import ALICE, BOB, SignIn
from tests.fakes.livekit import FakeLiveKit
from web.keys import SESSION_COOKIE

Client = TestClient[Any, Any]

CREATED_KEYS = {"id", "slug", "title", "roomName", "streamKey", "active"}
STREAM_KEYS = {
    "id",
    "slug",
    "title",
    "description",
    "ownerName",
    "location",
    "latitude",
    "longitude",
    "active",
    "roomName",
    "liveSince",
    "lastLiveAt",
    "streamKey",
    # Added with media-first going live and thumbnails (the kept shape gains, never loses).
    "state",
    "thumbnailUrl",
}


# -- helpers -----------------------------------------------------------------------------------


async def call(
    client: Client,
    path: str,
    body: Any = None,
    *,
    data: str | bytes | None = None,
    method: str = "POST",
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """Send a request; returns (status, parsed JSON). Fails if the answer is not JSON."""
    if data is None and body is not None:
        data = json.dumps(body)
    response = await client.request(
        method,
        path,
        data=data,
        headers={"Content-Type": "application/json", **(headers or {})},
        allow_redirects=False,
    )
    assert response.content_type == "application/json", (
        path,
        response.status,
        await response.text(),
    )
    return response.status, await response.json()


def assert_error(status: int, answer: Any, expected: int, words: str = "") -> None:
    """A client error: the status, a JSON `{"error": "<plain words>"}` and nothing else."""
    assert status == expected, answer
    assert isinstance(answer, dict) and set(answer) == {"error"}, answer
    assert isinstance(answer["error"], str) and len(answer["error"]) > 10, answer
    assert words.lower() in answer["error"].lower(), answer


async def create_page(
    services: Services, who: Identity = ALICE, title: str = "Painting live"
) -> None:
    await services.streams.create(
        owner_id=who.user_id,
        username=who.username,
        display_name=who.display_name,
        draft=StreamDraft(title),
    )


async def go_live(services: Services, who: Identity = ALICE) -> str:
    """Create `who`'s page and go live; returns the room name."""
    await create_page(services, who)
    event = await services.streams.go_live(who.user_id)
    return event.session.room_name


async def session_count(services: Services) -> int:
    row = await services.db.fetch_one("SELECT count(*) FROM stream_sessions")
    assert row is not None
    return int(row[0])


# -- POST /api/live/create ---------------------------------------------------------------------


async def test_create_answers_201_with_exactly_the_created_shape(
    client: Client, sign_in: SignIn, services: Services, livekit: FakeLiveKit
) -> None:
    await sign_in(client, ALICE)
    status, answer = await call(
        client, "/api/live/create", {"title": "  Painting live  ", "description": "Watercolours"}
    )
    assert status == 201
    assert set(answer) == CREATED_KEYS
    stream = await services.streams.get_by_owner(ALICE.user_id)
    assert answer == {
        "id": stream.id,
        "slug": "alice",
        "title": "Painting live",
        "roomName": None,
        # The owner's OBS key: an RTMP ingress made for the new page.
        "streamKey": next(iter(livekit.ingresses.values())).stream_key,
        "active": False,
    }
    assert answer["streamKey"]
    assert stream.description == "Watercolours"
    # The public shape of the page never tells it.
    async with client.get("/api/live/alice") as response:
        assert (await response.json())["streamKey"] is None


async def test_create_still_makes_the_page_when_livekit_cannot_make_a_key(
    client: Client, sign_in: SignIn, livekit: FakeLiveKit
) -> None:
    await sign_in(client, ALICE)
    livekit.fail_next("CreateIngress", code="unavailable")
    status, answer = await call(client, "/api/live/create", {"title": "Painting live"})
    assert (status, answer["slug"], answer["streamKey"]) == (201, "alice", None)


async def test_create_places_given_coordinates_in_the_nearest_city(
    client: Client, sign_in: SignIn, services: Services
) -> None:
    """A page is never more precise than a city: a point in central Paris becomes "Paris"."""
    await sign_in(client, ALICE)
    status, _ = await call(
        client, "/api/live/create", {"title": "Street", "latitude": 48.8566, "longitude": 2.3522}
    )
    assert status == 201
    stream = await services.streams.get_by_owner(ALICE.user_id)
    assert stream.location_name is not None and "Paris" in stream.location_name
    assert (stream.latitude, stream.longitude) != (48.8566, 2.3522)
    assert stream.latitude is not None and stream.longitude is not None
    assert abs(stream.latitude - 48.8566) < 0.1 and abs(stream.longitude - 2.3522) < 0.1


async def test_create_without_signing_in_is_401_and_writes_nothing(
    client: Client, services: Services
) -> None:
    status, answer = await call(client, "/api/live/create", {"title": "Painting live"})
    assert_error(status, answer, 401, "sign in")
    row = await services.db.fetch_one("SELECT count(*) FROM streams")
    assert row is not None and row[0] == 0


async def test_a_second_create_is_409_and_keeps_the_first_page(
    client: Client, sign_in: SignIn, services: Services
) -> None:
    await sign_in(client, ALICE)
    assert (await call(client, "/api/live/create", {"title": "First"}))[0] == 201
    status, answer = await call(client, "/api/live/create", {"title": "Second"})
    assert_error(status, answer, 409, "already have a stream page")
    assert (await services.streams.get_by_owner(ALICE.user_id)).title == "First"


@pytest.mark.parametrize(
    ("data", "words"),
    [
        pytest.param('{"title": "x"', "not valid JSON", id="malformed-json"),
        pytest.param("", "empty", id="empty-body"),
        pytest.param("   \n", "empty", id="blank-body"),
        pytest.param('[{"title": "x"}]', "JSON object", id="json-array"),
        pytest.param('"title"', "JSON object", id="json-string"),
        pytest.param("null", "JSON object", id="json-null"),
        pytest.param("{}", "'title' is required", id="title-missing"),
        pytest.param('{"title": null}', "'title' is required", id="title-null"),
        pytest.param('{"title": 5}', "'title' must be a string", id="title-number"),
        pytest.param('{"title": ["x"]}', "'title' must be a string", id="title-list"),
        pytest.param('{"title": "   "}', "needs a title", id="title-blank"),
        pytest.param(json.dumps({"title": "x" * 101}), "at most 100", id="title-101-chars"),
        pytest.param(
            json.dumps({"title": "ok", "description": "d" * 1001}), "at most 1,000", id="desc-1001"
        ),
        pytest.param(
            '{"title": "ok", "description": 3}', "'description' must be", id="desc-number"
        ),
        pytest.param('{"title": "ok", "latitude": 10}', "give both", id="lat-only"),
        pytest.param('{"title": "ok", "longitude": 10}', "give both", id="lng-only"),
        pytest.param(
            '{"title": "ok", "latitude": "48.8", "longitude": 2}',
            "'latitude' must be a number",
            id="lat-string",
        ),
        pytest.param(
            '{"title": "ok", "latitude": true, "longitude": 2}',
            "'latitude' must be a number",
            id="lat-bool",
        ),
        pytest.param('{"title": "ok", "latitude": 91, "longitude": 2}', "between -90", id="lat-91"),
        pytest.param(
            '{"title": "ok", "latitude": 0, "longitude": -181}', "between -180", id="lng-181"
        ),
        pytest.param(
            '{"title": "ok", "latitude": NaN, "longitude": 2}', "finite number", id="lat-nan"
        ),
        pytest.param(
            '{"title": "ok", "latitude": 1e999, "longitude": 2}', "finite number", id="lat-inf"
        ),
        pytest.param(
            '{"title": "ok", "latitude": 1' + "0" * 400 + ', "longitude": 2}',
            "finite number",
            id="lat-too-big-for-a-float",
        ),
        pytest.param(
            '{"title": "ok", "latitude": 1' + "0" * 5000 + ', "longitude": 2}',
            "number too long",
            id="int-over-4300-digits",
        ),
        pytest.param("[" * 5000 + "]" * 5000, "nesting too deep", id="deep-nesting"),
        pytest.param('{"title": "\\ud800"}', "not valid Unicode", id="lone-surrogate"),
        pytest.param('{"title": "\\u0000"}', "NUL", id="nul-title"),
        pytest.param('{"title": "ok", "description": "a\\u0000b"}', "NUL", id="nul-description"),
    ],
)
async def test_create_refuses_bad_input_with_a_clear_400_and_writes_nothing(
    client: Client, sign_in: SignIn, services: Services, data: str, words: str
) -> None:
    await sign_in(client, ALICE)
    status, answer = await call(client, "/api/live/create", data=data)
    assert_error(status, answer, 400, words)
    assert await services.streams.find_by_owner(ALICE.user_id) is None


async def test_create_refuses_a_body_that_is_not_utf8(
    client: Client, sign_in: SignIn, services: Services
) -> None:
    await sign_in(client, ALICE)
    status, answer = await call(client, "/api/live/create", data=b'{"title": "caf\xe9"}')
    assert_error(status, answer, 400, "UTF-8")
    assert await services.streams.find_by_owner(ALICE.user_id) is None


async def test_a_bogus_charset_is_ignored_because_json_is_utf8(
    client: Client, sign_in: SignIn, services: Services
) -> None:
    await sign_in(client, ALICE)
    status, _ = await call(
        client,
        "/api/live/create",
        data='{"title": "Café"}'.encode(),
        headers={"Content-Type": "application/json; charset=no-such-charset"},
    )
    assert status == 201
    assert (await services.streams.get_by_owner(ALICE.user_id)).title == "Café"


async def test_a_body_over_the_limit_is_413_json_and_one_at_the_limit_is_read(
    client: Client, sign_in: SignIn, services: Services
) -> None:
    limit = services.settings.web.max_body_bytes
    assert limit == 16 * 1024
    await sign_in(client, ALICE)

    def body_of(size: int) -> bytes:
        head = b'{"title": "Big", "padding": "'
        return head + b"x" * (size - len(head) - 2) + b'"}'

    status, answer = await call(client, "/api/live/create", data=body_of(limit + 1))
    assert_error(status, answer, 413, "too large")
    assert await services.streams.find_by_owner(ALICE.user_id) is None

    status, _ = await call(client, "/api/live/create", data=body_of(limit))
    assert status == 201


async def test_an_oversize_body_is_413_for_anonymous_token_requests_too(client: Client) -> None:
    status, answer = await call(client, "/api/live/token", data=b" " * (64 * 1024))
    assert_error(status, answer, 413, "too large")


# -- POST /api/live/toggle-active --------------------------------------------------------------


async def test_going_live_answers_the_stream_with_a_fresh_room(
    client: Client, sign_in: SignIn, services: Services, livekit: FakeLiveKit, clock: ManualClock
) -> None:
    await create_page(services)
    await sign_in(client, ALICE)
    status, answer = await call(client, "/api/live/toggle-active", {"active": True})
    assert status == 200
    assert set(answer) == STREAM_KEYS
    unix = int(clock.now().timestamp())
    assert answer["active"] is True
    # The room is open; viewers see it "starting" until the studio's first video arrives.
    assert (answer["state"], answer["thumbnailUrl"]) == ("starting", None)
    assert answer["roomName"] == f"live-alice-{unix}"
    assert answer["liveSince"] == "2026-01-01T12:00:00Z"
    assert answer["slug"] == "alice"
    assert answer["roomName"] in livekit.rooms

    # GET /api/live/<slug> tells every client the same.
    status, public = await call(client, "/api/live/alice", method="GET")
    assert (status, public) == (200, answer)


async def test_going_offline_ends_the_stream_and_closes_the_room(
    client: Client, sign_in: SignIn, services: Services, livekit: FakeLiveKit, clock: ManualClock
) -> None:
    room = await go_live(services)
    clock.advance(90)
    await sign_in(client, ALICE)
    status, answer = await call(client, "/api/live/toggle-active", {"active": False})
    assert status == 200
    assert (answer["active"], answer["roomName"], answer["liveSince"]) == (False, None, None)
    assert answer["lastLiveAt"] == "2026-01-01T12:01:30Z"
    assert room not in livekit.rooms
    (ended,) = await services.streams.recent_sessions(answer["id"])
    assert (ended.duration_seconds, ended.end_reason) == (90, "owner")


async def test_a_new_go_live_gets_a_new_room_name(
    client: Client, sign_in: SignIn, services: Services, clock: ManualClock
) -> None:
    first = await go_live(services)
    await services.streams.end(ALICE.user_id)
    clock.advance(5)
    await sign_in(client, ALICE)
    _, answer = await call(client, "/api/live/toggle-active", {"active": True})
    assert answer["roomName"] == f"live-alice-{int(clock.now().timestamp())}" != first


@pytest.mark.parametrize(
    "body",
    [{"active": "yes"}, {"active": 1}, {"active": None}, {}, {"Active": True}],
    ids=["string", "number", "null", "missing", "wrong-case"],
)
async def test_toggle_needs_active_true_or_false(
    client: Client, sign_in: SignIn, services: Services, livekit: FakeLiveKit, body: Any
) -> None:
    await create_page(services)
    await sign_in(client, ALICE)
    status, answer = await call(client, "/api/live/toggle-active", body)
    assert_error(status, answer, 400, "'active' must be true or false")
    assert not (await services.streams.get_by_owner(ALICE.user_id)).active
    assert livekit.rooms == {}


async def test_toggle_without_signing_in_is_401(client: Client, services: Services) -> None:
    await create_page(services)
    status, answer = await call(client, "/api/live/toggle-active", {"active": True})
    assert_error(status, answer, 401, "sign in")
    assert not (await services.streams.get_by_owner(ALICE.user_id)).active


async def test_toggle_without_a_stream_page_is_404(client: Client, sign_in: SignIn) -> None:
    await sign_in(client, ALICE)
    status, answer = await call(client, "/api/live/toggle-active", {"active": True})
    assert_error(status, answer, 404, "no stream page")


async def test_going_live_twice_is_409_and_keeps_the_room(
    client: Client, sign_in: SignIn, services: Services, livekit: FakeLiveKit, clock: ManualClock
) -> None:
    room = await go_live(services)
    clock.advance(3)
    await sign_in(client, ALICE)
    status, answer = await call(client, "/api/live/toggle-active", {"active": True})
    assert_error(status, answer, 409, "already live")
    assert (await services.streams.get_by_owner(ALICE.user_id)).room_name == room
    assert set(livekit.rooms) == {room}


async def test_going_offline_when_not_live_is_409(
    client: Client, sign_in: SignIn, services: Services
) -> None:
    await create_page(services)
    await sign_in(client, ALICE)
    status, answer = await call(client, "/api/live/toggle-active", {"active": False})
    assert_error(status, answer, 409, "not live")


async def test_going_live_while_livekit_is_down_is_503_and_writes_nothing(
    client: Client, sign_in: SignIn, services: Services, livekit: FakeLiveKit
) -> None:
    await create_page(services)
    await sign_in(client, ALICE)
    await livekit.down()
    status, answer = await call(client, "/api/live/toggle-active", {"active": True})
    assert_error(status, answer, 503, "streaming server can't be reached")
    stream = await services.streams.get_by_owner(ALICE.user_id)
    assert (stream.active, stream.room_name) == (False, None)
    assert await session_count(services) == 0

    # Once LiveKit is back the same request works: nothing half-done is in the way.
    await livekit.up()
    status, answer = await call(client, "/api/live/toggle-active", {"active": True})
    assert status == 200 and answer["active"] is True


async def test_going_live_when_livekit_refuses_is_503_and_writes_nothing(
    client: Client, sign_in: SignIn, services: Services, livekit: FakeLiveKit
) -> None:
    await create_page(services)
    await sign_in(client, ALICE)
    livekit.fail_next("CreateRoom", "internal")
    status, answer = await call(client, "/api/live/toggle-active", {"active": True})
    assert_error(status, answer, 503, "refused")
    assert not (await services.streams.get_by_owner(ALICE.user_id)).active
    assert await session_count(services) == 0


# -- GET /api/live/{slug} ----------------------------------------------------------------------


async def test_get_stream_by_slug_is_public_and_unknown_slugs_are_404(
    client: Client, services: Services
) -> None:
    await create_page(services)
    status, answer = await call(client, "/api/live/alice", method="GET")
    assert status == 200
    assert set(answer) == STREAM_KEYS
    assert (answer["title"], answer["ownerName"], answer["active"], answer["state"]) == (
        "Painting live",
        "Alice",
        False,
        "offline",
    )

    status, answer = await call(client, "/api/live/nobody", method="GET")
    assert_error(status, answer, 404, "no stream page called 'nobody'")


# -- POST /api/live/token ----------------------------------------------------------------------


def verified(livekit: FakeLiveKit, token: str) -> tuple[api.Claims, dict[str, Any]]:
    """The claims as LiveKit sees them (signature and issuer checked), and the raw JWT payload."""
    claims = api.TokenVerifier(livekit.api_key, livekit.api_secret).verify(token)
    raw = jwt.decode(token, options={"verify_signature": False})
    return claims, raw


def assert_ttl(raw: dict[str, Any], services: Services) -> None:
    ttl = services.settings.livekit.token_ttl.total_seconds()
    # nbf and exp are each read from the wall clock; they may straddle a second.
    assert abs(raw["exp"] - raw["nbf"] - ttl) <= 1, raw


async def test_a_guest_gets_a_viewer_token_that_can_only_watch(
    client: Client, services: Services, livekit: FakeLiveKit
) -> None:
    room = await go_live(services)
    status, answer = await call(client, "/api/live/token", {"roomName": room, "role": "viewer"})
    assert status == 200
    assert set(answer) == {"token", "wsUrl"}
    assert answer["wsUrl"] == services.settings.livekit.public_url
    assert answer["wsUrl"] == livekit.url.replace("http://", "ws://")

    claims, raw = verified(livekit, answer["token"])
    video = claims.video
    assert video is not None
    assert (video.room_join, video.room, video.can_subscribe) == (True, room, True)
    assert (video.can_publish, video.can_publish_data) == (False, False)
    assert not (video.room_admin or video.room_create or video.room_list or video.room_record)
    assert re.fullmatch(r"guest-[0-9a-f]+", claims.identity), claims.identity
    assert raw["iss"] == livekit.api_key
    assert_ttl(raw, services)


async def test_role_defaults_to_viewer_and_each_guest_gets_its_own_identity(
    client: Client, services: Services, livekit: FakeLiveKit
) -> None:
    room = await go_live(services)
    identities = set()
    for _ in range(3):
        status, answer = await call(client, "/api/live/token", {"roomName": room})
        assert status == 200
        claims, _ = verified(livekit, answer["token"])
        assert claims.video is not None and claims.video.can_publish is False
        identities.add(claims.identity)
    assert len(identities) == 3


async def test_a_signed_in_member_gets_a_viewer_token_under_their_name(
    client: Client, sign_in: SignIn, services: Services, livekit: FakeLiveKit
) -> None:
    room = await go_live(services)
    await sign_in(client, BOB)
    status, answer = await call(client, "/api/live/token", {"roomName": room, "role": "viewer"})
    assert status == 200
    claims, raw = verified(livekit, answer["token"])
    video = claims.video
    assert video is not None
    assert (video.room_join, video.room, video.can_subscribe) == (True, room, True)
    assert (video.can_publish, video.can_publish_data) == (False, False)
    assert re.fullmatch(rf"viewer-{BOB.user_id}-[0-9a-f]+", claims.identity), claims.identity
    assert claims.name == BOB.display_name
    assert_ttl(raw, services)


async def test_the_owner_gets_a_broadcaster_token(
    client: Client, sign_in: SignIn, services: Services, livekit: FakeLiveKit
) -> None:
    room = await go_live(services)
    await sign_in(client, ALICE)
    status, answer = await call(
        client, "/api/live/token", {"roomName": room, "role": "broadcaster"}
    )
    assert status == 200
    claims, raw = verified(livekit, answer["token"])
    video = claims.video
    assert video is not None
    assert (video.room_join, video.room, video.can_subscribe) == (True, room, True)
    assert (video.can_publish, video.can_publish_data) == (True, False)
    assert not (video.room_admin or video.room_create)
    assert claims.identity == f"host-{ALICE.user_id}"
    assert claims.name == ALICE.display_name
    assert answer["wsUrl"] == services.settings.livekit.public_url
    assert_ttl(raw, services)


async def test_only_the_owner_may_broadcast(
    client: Client, sign_in: SignIn, services: Services
) -> None:
    room = await go_live(services)
    status, answer = await call(
        client, "/api/live/token", {"roomName": room, "role": "broadcaster"}
    )
    assert_error(status, answer, 401, "sign in")
    await sign_in(client, BOB)
    status, answer = await call(
        client, "/api/live/token", {"roomName": room, "role": "broadcaster"}
    )
    assert_error(status, answer, 403, "only the streamer")


async def test_tokens_are_signed_with_the_livekit_secret_and_carry_no_server_powers(
    client: Client, services: Services, livekit: FakeLiveKit
) -> None:
    """The double accepts the token's signature but refuses it any server API call."""
    room = await go_live(services)
    _, answer = await call(client, "/api/live/token", {"roomName": room})
    token = answer["token"]

    with pytest.raises(jwt.InvalidSignatureError):
        api.TokenVerifier(livekit.api_key, "another-secret-that-is-long-enough-000000").verify(
            token
        )

    async with aiohttp.ClientSession() as http:
        for method in ("ListRooms", "DeleteRoom"):
            response = await http.post(
                f"{livekit.url}/twirp/livekit.RoomService/{method}",
                data=b"",
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "application/protobuf",
                },
            )
            # A JSON Twirp error means the signature passed and the *grants* were refused
            # (a bad signature gets plain text from the auth middleware).
            assert response.status == 401
            assert (await response.json())["code"] == "unauthenticated"
    assert room in livekit.rooms


async def test_tokens_for_rooms_without_a_live_stream_are_404(
    client: Client, sign_in: SignIn, services: Services, clock: ManualClock
) -> None:
    await create_page(services, BOB)
    not_yet = f"live-bob-{int(clock.now().timestamp())}"
    ended = await go_live(services)
    await services.streams.end(ALICE.user_id)
    await sign_in(client, ALICE)
    for room in ("live-nobody-1", not_yet, ended, ""):
        for role in ("viewer", "broadcaster"):
            status, answer = await call(client, "/api/live/token", {"roomName": room, "role": role})
            assert_error(status, answer, 404, "no live stream")


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"roomName": "live-alice-1", "role": "admin"}, "'role' must be 'viewer' or 'broadcaster'"),
        ({"roomName": "live-alice-1", "role": "Viewer"}, "'role' must be"),
        ({"roomName": "live-alice-1", "role": 1}, "'role' must be a string"),
        ({"role": "viewer"}, "'roomName' is required"),
        ({"roomName": None}, "'roomName' is required"),
        ({"roomName": 12}, "'roomName' must be a string"),
        ({"roomName": ["live-alice-1"]}, "'roomName' must be a string"),
        ({"roomName": "\ud800"}, "not valid Unicode"),
    ],
)
async def test_token_requests_with_bad_fields_are_400(
    client: Client, services: Services, body: Any, words: str
) -> None:
    await go_live(services)
    status, answer = await call(client, "/api/live/token", body)
    assert_error(status, answer, 400, words)


# -- security ----------------------------------------------------------------------------------


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/api/live/token"), ("GET", "/api/live/nobody"), ("GET", "/live"), ("GET", "/nope")],
)
async def test_every_response_carries_the_security_headers(
    client: Client, services: Services, livekit: FakeLiveKit, method: str, path: str
) -> None:
    response = await client.request(method, path, data="{}")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # Login links carry a token in the path: it must never reach another site through Referer.
    # (`same-origin` rather than `no-referrer`: the latter makes Chromium send `Origin: null`
    # on same-site form POSTs, which the origin check refuses.)
    assert response.headers["Referrer-Policy"] in {"same-origin", "no-referrer"}
    csp = csp_directives(response.headers["Content-Security-Policy"])
    assert csp["default-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    ws_origin = services.settings.livekit.public_url  # ws://127.0.0.1:<port>, no path
    assert ws_origin.startswith("ws://") and ws_origin in csp["connect-src"]
    # Nothing from third-party hosts: the only host named anywhere is LiveKit's.
    own_or_livekit = {
        "'self'",
        "'none'",
        "data:",
        "blob:",
        "mediastream:",
        ws_origin,
        livekit.url,
    }
    for name, sources in csp.items():
        assert set(sources) <= own_or_livekit, (name, sources)
        assert "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources


async def test_api_answers_are_not_cached(client: Client, services: Services) -> None:
    room = await go_live(services)
    response = await client.post("/api/live/token", json={"roomName": room})
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/live/create", {"title": "Evil"}),
        ("/api/live/toggle-active", {"active": True}),
        ("/api/live/token", {"roomName": "x"}),
    ],
)
async def test_requests_from_other_sites_are_403_and_change_nothing(
    client: Client,
    sign_in: SignIn,
    services: Services,
    livekit: FakeLiveKit,
    path: str,
    body: Any,
) -> None:
    await create_page(services, BOB)
    await sign_in(client, BOB)
    status, answer = await call(client, path, body, headers={"Origin": "https://evil.example"})
    assert_error(status, answer, 403, "other sites")
    assert (await services.streams.get_by_owner(BOB.user_id)).active is False
    assert await services.streams.find_by_owner(ALICE.user_id) is None
    assert livekit.rooms == {}


async def test_requests_from_our_own_origin_are_accepted(client: Client, sign_in: SignIn) -> None:
    await sign_in(client, ALICE)
    status, _ = await call(
        client, "/api/live/create", {"title": "Mine"}, headers={"Origin": "http://golive.test"}
    )
    assert status == 201


async def test_logging_in_from_another_site_is_403_and_keeps_the_link(
    client: Client, services: Services
) -> None:
    link = await services.auth.create_login_link(ALICE, "/live")
    response = await client.post(
        f"/login/{link.token}", headers={"Origin": "https://evil.example"}, allow_redirects=False
    )
    assert response.status == 403
    assert SESSION_COOKIE not in response.cookies
    response = await client.post(f"/login/{link.token}", allow_redirects=False)
    assert response.status == 303


async def test_unknown_api_paths_are_404_json(client: Client) -> None:
    for method, path in [
        ("GET", "/api/nothing"),
        ("POST", "/api/live/token/extra"),
        ("GET", "/api/"),
    ]:
        status, answer = await call(client, path, method=method, data="{}")
        assert_error(status, answer, 404, "nothing at this address")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/api/live/create"),
        ("DELETE", "/api/live/token"),
        ("PATCH", "/api/live/toggle-active"),
        ("POST", "/api/live/alice"),
    ],
)
async def test_a_wrong_method_is_405_json(client: Client, method: str, path: str) -> None:
    status, answer = await call(client, path, method=method, data="{}")
    assert_error(status, answer, 405, "method is not allowed")


# -- fuzz: nothing a client sends is ever a 500 ------------------------------------------------


FIELDS = ("title", "description", "city", "latitude", "longitude", "active", "roomName", "role")
EDGE_BODIES: list[str | bytes] = [
    b"",
    b"\x00",
    b"\xff\xfe{}",
    b"\xef\xbb\xbf{}",
    "{",
    "}",
    "{}",
    "[]",
    "0",
    "-0",
    "1e999",
    "NaN",
    "-Infinity",
    "true",
    "null",
    '"x"',
    '{"": ""}',
    '{"title": {"$gt": ""}}',
    '{"title": "ok", "city": "Paris", "latitude": 1, "longitude": 2}',
    '{"title": "ok", "city": "Nowhere-on-earth"}',
    '{"title": "ok", "city": "' + "%" * 5000 + '"}',
    '{"roomName": "live-alice-1\' OR 1=1 --"}',
    '{"roomName": "%00"}',
    '{"title": "\\u0000"}',
    '{"title": "\\udfff\\ud800"}',
    '{"title": "ok", "latitude": -0.0, "longitude": -0.0}',
    '{"title": "ok", "latitude": 1e-400, "longitude": 1E+2}',
    '{"active": true, "active": "yes"}',
    '{"roomName": "' + "x" * 10000 + '"}',
    "[" * 10000,
    '{"a":' * 3000 + "1" + "}" * 3000,
    "9" * 10000,
    '{"title": "ok"}' * 100,
]


def random_scalar(rng: random.Random) -> Any:
    choices = [
        lambda: None,
        lambda: rng.choice([True, False]),
        lambda: rng.randint(-(10**30), 10**30),
        lambda: rng.choice([0.5, -1e308, 1e308, 91.0, -181.0, 5e-324]),
        # Any code point, lone surrogates included (json.dumps sends them as \udXXX escapes).
        lambda: "".join(chr(rng.randint(0, 0x10FFFF)) for _ in range(rng.randint(0, 30))),
        lambda: rng.choice(["", " ", "viewer", "broadcaster", "live-alice-1", "x" * 200, "\u202e"]),
    ]
    return rng.choice(choices)()


def random_value(rng: random.Random, depth: int = 0) -> Any:
    if depth > 3 or rng.random() < 0.6:
        return random_scalar(rng)
    if rng.random() < 0.5:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {rng.choice(FIELDS): random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def random_body(rng: random.Random) -> str | bytes:
    kind = rng.randrange(4)
    if kind == 0:  # an object with the fields the API knows, holding anything
        return json.dumps({rng.choice(FIELDS): random_value(rng) for _ in range(rng.randint(0, 5))})
    if kind == 1:  # any JSON value
        return json.dumps(random_value(rng))
    if kind == 2:  # valid JSON cut short
        text = json.dumps({field: random_value(rng) for field in rng.sample(FIELDS, 3)})
        return text[: rng.randint(0, len(text))]
    return bytes(rng.randrange(256) for _ in range(rng.randint(0, 64)))  # noise


@pytest.mark.parametrize("path", ["/api/live/token", "/api/live/create", "/api/live/toggle-active"])
@pytest.mark.parametrize("signed_in", [True, False], ids=["member", "anonymous"])
async def test_no_body_ever_gets_a_500(
    client: Client, sign_in: SignIn, services: Services, path: str, signed_in: bool
) -> None:
    await go_live(services, BOB)
    if signed_in:
        await sign_in(client, ALICE)
    rng = random.Random(f"{path}-{signed_in}")
    bodies = [*EDGE_BODIES, *(random_body(rng) for _ in range(30))]
    for body in bodies:
        for content_type in ("application/json", "text/plain; charset=latin-1"):
            response = await client.post(path, data=body, headers={"Content-Type": content_type})
            assert response.status < 500, (body[:80], await response.text())
            assert response.content_type == "application/json", body[:80]
            answer = await response.json()
            if response.status >= 400:
                assert set(answer) == {"error"} and answer["error"], (body[:80], answer)


async def test_odd_cookies_and_paths_are_never_a_500(client: Client, services: Services) -> None:
    """Raw bytes a browser would never send but a client might: undecodable cookies, odd paths."""
    await create_page(services)
    cookies = [b"\xff", b"\xed\xa0\x80", b"x" * 300, b'"quoted"', b"a=b=c", b""]
    paths = [b"/api/live/alice", b"/live/alice/studio", b"/api/live/%ED%A0%80", b"/login/%ff%fe"]
    for cookie in cookies:
        for path in paths:
            status = await raw_get(client, path, cookie)
            assert status < 500, (cookie, path, status)


async def raw_get(client: Client, path: bytes, cookie: bytes) -> int:
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(
        b"GET " + path + b" HTTP/1.1\r\nHost: golive.test\r\nConnection: close\r\n"
        b"Cookie: " + SESSION_COOKIE.encode() + b"=" + cookie + b"\r\n\r\n"
    )
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    await writer.wait_closed()
    return int(status_line.split()[1])


# -- sign-in and studio pages (status codes; the HTML is another test's) -----------------------


async def test_opening_a_login_link_does_not_spend_it_posting_does_once(
    client: Client, services: Services
) -> None:
    link = await services.auth.create_login_link(ALICE, "/live/alice/studio")
    # Link previews and a second look must not burn the link.
    for _ in range(2):
        response = await client.get(f"/login/{link.token}")
        assert response.status == 200
        assert response.headers["Cache-Control"] == "no-store"
        assert SESSION_COOKIE not in response.cookies

    response = await client.post(f"/login/{link.token}", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/live/alice/studio"
    set_cookie = response.headers.getall("Set-Cookie")
    (session,) = [c for c in set_cookie if c.startswith(f"{SESSION_COOKIE}=")]
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in session.split(";")}
    assert "httponly" in attributes
    assert attributes["samesite"].lower() == "samesite=lax"
    assert attributes["path"] == "Path=/"
    assert "secure" not in attributes  # public URL is http:// in the tests

    # The cookie is a real session: the member can now use the API.
    status, _ = await call(client, "/api/live/create", {"title": "Signed in by link"})
    assert status == 201

    response = await client.post(f"/login/{link.token}", allow_redirects=False)
    assert response.status == 410
    assert "text/html" in response.headers["Content-Type"]


async def test_an_expired_login_link_is_410(
    client: Client, services: Services, clock: ManualClock
) -> None:
    link = await services.auth.create_login_link(ALICE, "/live")
    clock.advance(10 * 60 + 1)
    response = await client.post(f"/login/{link.token}", allow_redirects=False)
    assert response.status == 410
    assert SESSION_COOKIE not in response.cookies


async def test_an_unknown_login_token_is_410_not_500(client: Client) -> None:
    for token in ("nope", "x" * 500, "%E2%98%83"):
        response = await client.post(f"/login/{token}", allow_redirects=False)
        assert response.status == 410


async def test_signing_out_ends_the_session(client: Client, sign_in: SignIn) -> None:
    await sign_in(client, ALICE)
    response = await client.post("/logout", allow_redirects=False)
    assert response.status == 303
    status, answer = await call(client, "/api/live/create", {"title": "After logout"})
    assert_error(status, answer, 401)


async def test_the_studio_page_is_for_its_owner_only(
    client: Client, sign_in: SignIn, services: Services
) -> None:
    await create_page(services)
    assert (await client.get("/live/alice/studio")).status == 401
    assert (await client.get("/live/nobody/studio")).status == 404
    await sign_in(client, BOB)
    assert (await client.get("/live/alice/studio")).status == 403
    assert (await client.get("/live/nobody/studio")).status == 404
    client.session.cookie_jar.clear()
    await sign_in(client, ALICE)
    assert (await client.get("/live/alice/studio")).status == 200
