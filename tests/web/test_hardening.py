"""What a hostile or clumsy client can send: odd sign-in links, bodies in any encoding, slow sockets.

Each answer is a refusal a client can read (JSON on the API and the webhooks), never a 500, never an
ERROR in the operator's log, and never a socket held open for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import logging
import re
import time
import zlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.services import Services
from core.streams import StreamDraft
from tests.conftest import ALICE, SignIn
from web.app import create_app, server_options
from web.body import BODY_SECONDS

Client = TestClient[Any, Any]

JSON_ROUTES = [
    "/api/live/token",
    "/api/live/create",
    "/api/live/toggle-active",
    "/api/live/search",
    "/api/live/alice/chat",
    "/api/live/alice/tip",
    "/api/live/alice/chat/1/hide",
    "/api/live/alice/end",
    "/livekit/webhook",
    "/stripe/webhook",
]


def errors_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def live_alice(services: Services) -> None:
    await services.streams.create(
        owner_id=ALICE.user_id, username="alice", display_name="Alice", draft=StreamDraft("Paint")
    )
    await services.streams.go_live(ALICE.user_id)


# -- sign-in links ----------------------------------------------------------------------------


FORM_ACTION = re.compile(r'<form[^>]*\baction="([^"]*)"')


async def test_a_login_link_that_points_elsewhere_renders_no_form(client: Client) -> None:
    # Opened by a signed-in moderator, this page used to post itself to the hide route.
    response = await client.get("/login/..%2f..%2fapi%2flive%2falice%2fchat%2f1%2fhide")
    assert response.status == 404
    assert "text/html" in response.headers["Content-Type"]
    assert "<form" not in await response.text()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(token=st.text(min_size=1, max_size=60))
async def test_the_login_form_only_ever_posts_to_its_own_route(client: Client, token: str) -> None:
    quoted = quote(token, safe="")
    response = await client.get(f"/login/{quoted}", allow_redirects=False)
    assert response.status < 500
    actions = FORM_ACTION.findall(await response.text())
    for action in actions:
        assert re.fullmatch(r"/login/[A-Za-z0-9_-]+", action), action
        assert action == f"/login/{token}"


async def test_a_real_login_link_still_posts_to_itself(client: Client, services: Services) -> None:
    link = await services.auth.create_login_link(ALICE, "/live")
    response = await client.get(f"/login/{link.token}")
    assert FORM_ACTION.findall(await response.text()) == [f"/login/{link.token}"]


# -- bodies in any encoding ---------------------------------------------------------------------


@pytest.mark.parametrize("route", JSON_ROUTES)
@pytest.mark.parametrize(
    "encoding", ["deflate", "gzip", "br", "zstd", "compress", "x-unknown", "gzip, deflate"]
)
async def test_a_body_that_does_not_decode_is_a_json_refusal(
    client: Client,
    services: Services,
    sign_in: SignIn,
    caplog: pytest.LogCaptureFixture,
    route: str,
    encoding: str,
) -> None:
    await live_alice(services)
    await sign_in(client, ALICE)
    response = await client.post(
        route,
        data=b"\x00this is not compressed\xff",
        headers={
            "Content-Encoding": encoding,
            "Content-Type": "application/json",
            "Authorization": "Bearer x",
        },
    )
    assert response.status in (400, 415), await response.text()
    assert response.content_type == "application/json"
    assert set(await response.json()) == {"error"}
    assert errors_logged(caplog) == []


async def test_a_gzip_or_deflate_body_is_read(client: Client, sign_in: SignIn) -> None:
    await sign_in(client, ALICE)
    body = b'{"title": "Compressed"}'
    for encoding, packed in [
        ("gzip", gzip.compress(body)),
        ("deflate", zlib.compress(body)),
        ("deflate", _raw_deflate(body)),
    ]:
        response = await client.post(
            "/api/live/create",
            data=packed,
            headers={"Content-Encoding": encoding, "Content-Type": "application/json"},
        )
        assert response.status in (201, 409), await response.text()


def _raw_deflate(body: bytes) -> bytes:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return packer.compress(body) + packer.flush()


async def test_a_compressed_body_may_not_grow_past_the_limit(
    client: Client, services: Services, sign_in: SignIn
) -> None:
    await sign_in(client, ALICE)
    bomb = gzip.compress(b" " * (services.settings.web.max_body_bytes * 4))
    response = await client.post(
        "/api/live/create", data=bomb, headers={"Content-Encoding": "gzip"}
    )
    assert response.status == 413
    assert set(await response.json()) == {"error"}


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/webhook+json", b'{"event": "\xff\xfe"}'),
        ("application/webhook+json; charset=x-no-such-charset", b'{"event": "room_started"}'),
        ("application/webhook+json; charset=utf-16", b'{"event": "room_started"}'),
    ],
)
async def test_a_webhook_in_an_odd_charset_is_a_json_refusal(
    client: Client, caplog: pytest.LogCaptureFixture, content_type: str, body: bytes
) -> None:
    response = await client.post(
        "/livekit/webhook",
        data=body,
        headers={"Authorization": "anything", "Content-Type": content_type},
    )
    assert response.status in (400, 401)
    assert response.content_type == "application/json"
    assert set(await response.json()) == {"error"}
    assert errors_logged(caplog) == []


@pytest.mark.parametrize("message_id", [2**63 - 1, 2**63, 2**64 + 5, 10**40])
async def test_hiding_a_message_id_no_row_can_have_is_not_found(
    client: Client, services: Services, sign_in: SignIn, message_id: int
) -> None:
    await live_alice(services)
    await sign_in(client, ALICE)
    response = await client.post(f"/api/live/alice/chat/{message_id}/hide")
    assert response.status == 404
    assert set(await response.json()) == {"error"}


# -- slow sockets ---------------------------------------------------------------------------------


@pytest_asyncio.fixture
async def quick_server(services: Services) -> AsyncIterator[TestServer]:
    """The app with the production server options, but timeouts short enough for a test."""
    app = create_app(services)
    app[BODY_SECONDS] = 0.5
    server = TestServer(app, host="127.0.0.1")
    await server.start_server(**server_options(header_seconds=0.5))
    async with server:
        yield server


async def trickle_until_closed(server: TestServer, head: bytes, tail: bytes) -> tuple[float, bytes]:
    """Send `head` at once, then `tail` a byte every 20 ms; returns (seconds to close, answer)."""
    reader, writer = await asyncio.open_connection(server.host, server.port)
    started = time.monotonic()
    writer.write(head)
    answer = b""

    async def read_all() -> None:
        nonlocal answer
        # A close with our bytes still unread arrives as a reset: closed all the same.
        with contextlib.suppress(ConnectionResetError):
            while chunk := await reader.read(4096):
                answer += chunk

    reading = asyncio.create_task(read_all())
    try:
        for byte in tail:
            if reading.done():
                break
            writer.write(bytes([byte]))
            # The slow client itself: one byte, then a pause, as an attacker's socket would.
            await asyncio.wait({reading}, timeout=0.02)
        await asyncio.wait_for(reading, timeout=5)
    finally:
        writer.close()
    return time.monotonic() - started, answer


async def test_a_client_sending_headers_a_byte_at_a_time_is_disconnected(
    quick_server: TestServer,
) -> None:
    endless_headers = b"GET /live HTTP/1.1\r\nHost: golive.test\r\n" + b"X-Slow: " + b"a" * 500
    seconds, answer = await trickle_until_closed(quick_server, b"", endless_headers)
    assert answer == b""
    assert 0.4 < seconds < 5.0  # the server's timeout (0.5 s here), not the client, ended it


async def test_a_client_sending_a_body_a_byte_at_a_time_gets_408_and_is_disconnected(
    quick_server: TestServer,
) -> None:
    head = (
        b"POST /api/live/token HTTP/1.1\r\nHost: golive.test\r\n"
        b"Content-Type: application/json\r\nContent-Length: 400\r\n\r\n"
    )
    seconds, answer = await trickle_until_closed(quick_server, head, b" " * 400)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b'"error"' in answer
    assert 0.4 < seconds < 5.0  # the server's timeout (0.5 s here), not the client, ended it


# -- nothing a client sends holds the event loop ---------------------------------------------------


async def test_the_city_list_is_loaded_when_the_app_starts(
    client: Client, services: Services
) -> None:
    # Not by the first /api/places or create request, which would stall everyone else.
    assert services.places.loaded
    response = await client.get("/api/places", params={"q": "por"})
    assert response.status == 200


async def test_a_create_that_is_refused_does_no_geo_work(
    client: Client, services: Services, sign_in: SignIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sign_in(client, ALICE)
    first = await client.post(
        "/api/live/create", json={"title": "One", "latitude": 41.15, "longitude": -8.62}
    )
    assert first.status == 201
    placed: list[tuple[float, float]] = []
    real_nearest = services.places.nearest

    async def counting_nearest(latitude: float, longitude: float) -> Any:
        placed.append((latitude, longitude))
        return await real_nearest(latitude, longitude)

    monkeypatch.setattr(services.places, "nearest", counting_nearest)
    answers = await asyncio.gather(
        *(
            client.post(
                "/api/live/create",
                json={"title": "Again", "latitude": -40.0 + n, "longitude": 170.0},
            )
            for n in range(20)
        )
    )
    assert [a.status for a in answers] == [409] * 20
    assert placed == []


async def test_a_page_placed_in_open_ocean_gets_the_nearest_city(
    client: Client, services: Services, sign_in: SignIn
) -> None:
    """The worst case for the city index (the nearest city is far away) still answers."""
    await sign_in(client, ALICE)
    response = await client.post(
        "/api/live/create", json={"title": "Sea", "latitude": -48.0, "longitude": -123.0}
    )
    assert response.status == 201, await response.text()
    stream = await services.streams.get_by_owner(ALICE.user_id)
    assert stream.location_name is not None


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /api/live/" + b"9" * 9000 + b" HTTP/1.1\r\nHost: golive.test\r\n\r\n",
        b"GET /live HTTP/1.1\r\nHost: golive.test\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n",
        b"GET /live HTTP/1.1\r\nHost golive.test\r\n\r\n",
        b"POST /api/live/token HTTP/1.1\r\nHost: golive.test\r\nContent-Length: x\r\n\r\n",
        b"POST /api/live/token HTTP/1.1\r\nHost: golive.test\r\nTransfer-Encoding: chunked\r\n"
        b"\r\nzz\r\n{}\r\n0\r\n\r\n",
    ],
)
async def test_a_malformed_request_is_refused_without_an_error_in_the_log(
    client: Client, caplog: pytest.LogCaptureFixture, request_bytes: bytes
) -> None:
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(request_bytes)
    answer = await reader.read()
    writer.close()
    assert re.match(rb"HTTP/1\.[01] 4\d\d ", answer), answer[:200]
    assert errors_logged(caplog) == []
