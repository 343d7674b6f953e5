"""Every route of the app against whatever a client could send (hypothesis).

Methods, paths with odd segments, JSON and raw bodies, any Content-Encoding and charset, odd
headers, signed in or not. Whatever arrives: no 5xx; every refusal on /api/* and the webhooks is
JSON `{"error": …}`; a refusal writes nothing (no table gains or loses a row); no ERROR is logged.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import zlib
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from yarl import URL

from core.services import Services
from core.streams import StreamDraft
from tests.conftest import ALICE, BOB
from tests.postgres import table_names
from web.keys import SESSION_COOKIE

Client = TestClient[Any, Any]

JSON_PREFIXES = ("/api/", "/livekit/", "/stripe/")
# Weighted towards what reaches the handlers: mostly GET and POST, the real slug, plain bodies.
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]
ODD_SEGMENTS = [
    *["alice"] * 25,
    *["1", "2"] * 2,
    "nobody",
    "..",
    ".",
    "%2e%2e",
    "..%2f..%2fapi",
    "%2f",
    "%00",
    "%ff%fe",
    "%ED%A0%80",
    "a" * 300,
    "%F0%9F%98%80",
    "0",
    "1",
    "-1",
    str(2**63),
    "9" * 3000,  # two of them still fit in the 8 KiB request line
    "chat",
    "x?y=1",
    "%3f",
    "%23",
]
FIELDS = [
    "roomName",
    "role",
    "title",
    "description",
    "city",
    "latitude",
    "longitude",
    "active",
    "text",
    "name",
    "amount",
    "message",
    "requestId",
    "slug",
    "page",
    "limit",
    "includeOffline",
    "radiusKm",
    "credits",
    "returnTo",
]
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["viewer", "broadcaster", "alice", "room-x", "Lisbon", "a" * 3000, "\x00"]),
)
json_values = st.recursive(
    json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner)
)
json_bodies = st.dictionaries(
    st.one_of(st.sampled_from(FIELDS), st.text(max_size=10)), json_values, max_size=6
).map(lambda body: json.dumps(body).encode())
plausible_values = {
    "roomName": st.sampled_from(["ROOM", "room-nope", ""]),
    "role": st.sampled_from(["viewer", "broadcaster", "host"]),
    "title": st.text(max_size=150),
    "description": st.text(max_size=50),
    "city": st.sampled_from(["Lisbon", "Porto, Portugal", "2267057", "Atlantis", ""]),
    "latitude": st.floats(-100, 100),
    "longitude": st.floats(-200, 200),
    "active": st.booleans(),
    "text": st.text(max_size=60),
    "name": st.text(max_size=30),
    "amount": st.integers(-5, 2**64),
    "message": st.text(max_size=30),
    "requestId": st.text(min_size=6, max_size=12),
    "slug": st.sampled_from(["alice", "ali", "", "x" * 200]),
    "page": st.integers(-1, 10**7),
    "limit": st.integers(-1, 200),
    "includeOffline": st.booleans(),
    "radiusKm": st.floats(-1, 1e6),
    "credits": st.integers(-5, 2**64),
    "returnTo": st.sampled_from(["/live/alice", "//evil.example", "https://evil.example", ""]),
}
plausible_bodies = st.fixed_dictionaries({}, optional=plausible_values).map(
    lambda body: json.dumps(body).encode()
)
bodies = st.one_of(
    plausible_bodies,
    plausible_bodies,
    plausible_bodies,
    st.none(),
    json_bodies,
    st.binary(max_size=200),
    st.sampled_from([b"[]", b"null", b"{", b'"x"', b"[" * 5000, b"1" * 5000, b"\xef\xbb\xbf{}"]),
)
encodings = st.sampled_from(
    [None] * 12 + ["identity", "gzip", "deflate", "br", "zstd", "x-made-up", "gzip, deflate", ""]
)
charsets = st.sampled_from([None] * 4 + ["utf-8", "latin-1", "utf-16", "x-no-such-charset", ""])
content_types = st.sampled_from(
    ["application/json"] * 4
    + ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"]
)
origins = st.sampled_from(["http://golive.test"] * 4 + ["https://evil.example", "null"])
header_text = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)


def routes_of(client: Client) -> list[tuple[str, str]]:
    """Every route as (method, path pattern), e.g. POST /api/live/{slug}/chat/{message_id}/hide."""
    found = set()
    for route in client.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        pattern = info.get("formatter") or info.get("path")
        if pattern and not pattern.startswith("/static"):  # static files are another test's
            found.add((route.method, re.sub(r"\{(\w+)(:[^}]*)?\}", r"{\1}", pattern)))
    return sorted(found)


@st.composite
def requests(draw: st.DrawFn, routes: list[tuple[str, str]]) -> tuple[str, str]:
    method, pattern = draw(st.sampled_from(routes))
    if draw(st.integers(0, 4)) == 0:  # sometimes a method the route doesn't take
        method = draw(st.sampled_from(METHODS))
    path = re.sub(r"\{\w+\}", lambda _: draw(st.sampled_from(ODD_SEGMENTS)), pattern)
    if draw(st.integers(0, 9)) == 0:  # sometimes a segment more
        path = path.rstrip("/") + "/" + draw(st.sampled_from(ODD_SEGMENTS))
    if draw(st.integers(0, 3)) == 0:
        path += "?" + quote(draw(st.text(max_size=20)), safe="=&")
    return method, path


async def row_counts(services: Services) -> dict[str, int]:
    counts = {}
    for name in await table_names(services.db):
        row = await services.db.fetch_one(f'SELECT COUNT(*) FROM "{name}"')  # noqa: S608 - our names
        assert row is not None
        counts[name] = int(row[0])
    return counts


async def session_for(services: Services, who: str) -> str | None:
    if who == "guest":
        return None
    identity = ALICE if who == "alice" else BOB
    link = await services.auth.create_login_link(identity, "/live")
    token, _ = await services.auth.redeem_login_link(link.token)
    return token


def encode(body: bytes, encoding: str | None, really: bool) -> bytes:
    """The body under `encoding`: really compressed, or (really=False) just labelled so."""
    if not really or encoding is None:
        return body
    if encoding == "gzip":
        return gzip.compress(body)
    if encoding == "deflate":
        return zlib.compress(body)
    if encoding == "gzip, deflate":
        return zlib.compress(gzip.compress(body))
    return body


@pytest.fixture
async def alice_live(services: Services) -> None:
    await services.streams.create(
        owner_id=ALICE.user_id, username="alice", display_name="Alice", draft=StreamDraft("Paint")
    )
    await services.streams.go_live(ALICE.user_id)


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_no_request_is_a_500_an_unreadable_refusal_or_a_write(
    client: Client,
    services: Services,
    alice_live: None,
    caplog: pytest.LogCaptureFixture,
    data: st.DataObject,
) -> None:
    caplog.set_level(logging.WARNING)
    method, path = data.draw(requests(routes_of(client)), label="request")
    body = data.draw(bodies, label="body")
    encoding = data.draw(encodings, label="encoding")
    really = data.draw(st.sampled_from([True, True, True, False]), label="really encoded")
    charset = data.draw(charsets, label="charset")
    content_type = data.draw(content_types, label="content type")
    who = data.draw(st.sampled_from(["guest", "alice", "bob"]), label="who")
    headers = {"Content-Type": content_type + (f"; charset={charset}" if charset else "")}
    if encoding is not None:
        headers["Content-Encoding"] = encoding
    for name in data.draw(
        st.lists(
            st.sampled_from(["Authorization", "Origin", "X-Forwarded-For", "Stripe-Signature"])
        )
    ):
        headers[name] = data.draw(origins if name == "Origin" else header_text, label=name)
    session = await session_for(services, who)
    if session is not None:
        headers["Cookie"] = f"{SESSION_COOKIE}={session}"

    await send_and_check(client, services, caplog, method, path, body, headers, encoding, really)


JSON_POSTS = [
    "/api/live/token",
    "/api/live/create",
    "/api/live/toggle-active",
    "/api/live/search",
    "/api/live/alice/chat",
    "/api/live/alice/tip",
    "/api/live/alice/chat/1/hide",
    "/api/topups",
]


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    path=st.sampled_from(JSON_POSTS),
    body=plausible_bodies,
    who=st.sampled_from(["guest", "alice", "bob"]),
)
async def test_plausible_api_calls_are_answered_or_refused_cleanly(
    client: Client,
    services: Services,
    alice_live: None,
    caplog: pytest.LogCaptureFixture,
    path: str,
    body: bytes,
    who: str,
) -> None:
    """The JSON routes with bodies that get past the parser, so the handlers' own checks run."""
    caplog.set_level(logging.WARNING)
    headers = {"Content-Type": "application/json"}
    session = await session_for(services, who)
    if session is not None:
        headers["Cookie"] = f"{SESSION_COOKIE}={session}"
    await send_and_check(client, services, caplog, "POST", path, body, headers, None, False)


async def send_and_check(
    client: Client,
    services: Services,
    caplog: pytest.LogCaptureFixture,
    method: str,
    path: str,
    body: bytes | None,
    headers: dict[str, str],
    encoding: str | None,
    really_encoded: bool,
) -> None:
    stream = await services.streams.get_by_slug("alice")
    room = (stream.room_name or "no-room").encode()
    before = await row_counts(services)
    errors_before = len(caplog.records)
    response = await client.request(
        method,
        URL(path, encoded=True),
        data=None
        if body is None
        else encode(body.replace(b"ROOM", room), encoding, really_encoded),
        headers=headers,
        allow_redirects=False,
    )
    answer = await response.read()
    said = (method, path, response.status, answer[:200])
    event(f"{response.status} {method} {re.sub(r'[^/]{12,}', 'LONG', path)[:40]}")

    assert response.status < 500, said
    if response.status >= 400 and path.startswith(JSON_PREFIXES) and method != "HEAD":
        assert response.content_type == "application/json", said
        refusal = json.loads(answer)
        assert isinstance(refusal, dict) and isinstance(refusal.get("error"), str), said
        assert refusal["error"], said
    if response.status >= 400:
        assert await row_counts(services) == before, said
    logged = [r for r in caplog.records[errors_before:] if r.levelno >= logging.ERROR]
    assert logged == [], (said, [r.getMessage() for r in logged])
