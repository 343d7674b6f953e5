"""Every request gets an id (echoed in X-Request-Id), one access log line, and its id on the log
lines of the work it caused; login tokens never reach the log."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer

from core.services import Services
from core.streams.service import StreamDraft
from golive.logs import RequestIdFilter
from tests.conftest import ALICE, SignIn
from web.app import create_app

Client = TestClient[Any, Any]


@pytest_asyncio.fixture
async def client(services: Services) -> AsyncIterator[Client]:
    """The app as golive/sidecar.py serves it: without aiohttp's own access log."""
    server = TestServer(create_app(services))
    await server.start_server(access_log=None)
    async with TestClient(server) as test_client:
        yield test_client


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Captured records, tagged with their request id as golive's own handler tags them."""
    tagger = RequestIdFilter()
    caplog.handler.addFilter(tagger)
    caplog.set_level(logging.INFO)
    yield caplog
    caplog.handler.removeFilter(tagger)


def access_lines(logs: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in logs.records if record.name == "golive.access"]


async def test_a_request_gets_an_id_and_one_access_line(
    client: Client, logs: pytest.LogCaptureFixture
) -> None:
    async with client.get("/healthz") as response:
        request_id = response.headers["X-Request-Id"]
    [line] = access_lines(logs)
    assert re.fullmatch(r"[0-9a-f]{12}-[0-9a-f]+", request_id)  # this process's prefix, a number
    assert line.request_id == request_id  # type: ignore[attr-defined]
    assert line.getMessage().startswith("GET /healthz 200 ")
    assert (line.status, line.route) == (200, "/healthz")  # type: ignore[attr-defined]


async def test_a_proxys_request_id_is_honoured_and_a_forged_one_replaced(
    client: Client, logs: pytest.LogCaptureFixture
) -> None:
    async with client.get("/healthz", headers={"X-Request-Id": "edge-7f3a:42"}) as response:
        assert response.headers["X-Request-Id"] == "edge-7f3a:42"
    forged = "x y\tINFO fake-line"
    async with client.get("/healthz", headers={"X-Request-Id": forged}) as response:
        assert response.headers["X-Request-Id"] != forged
    async with client.get("/healthz", headers={"X-Request-Id": "a" * 500}) as response:
        assert re.fullmatch(r"[0-9a-f]{12}-[0-9a-f]+", response.headers["X-Request-Id"])


async def test_the_work_a_request_causes_logs_under_its_id(
    client: Client, services: Services, sign_in: SignIn, logs: pytest.LogCaptureFixture
) -> None:
    await sign_in(client, ALICE)
    await services.streams.create(
        owner_id=ALICE.user_id,
        username=ALICE.username,
        display_name=ALICE.display_name,
        draft=StreamDraft(title="Painting live"),
    )
    async with client.post(
        "/api/live/toggle-active", json={"active": True}, headers={"X-Request-Id": "golive-1"}
    ) as response:
        assert response.status == 200
    await services.events.drain()
    went_live = [r for r in logs.records if "went live in room" in r.getMessage()]
    assert [r.request_id for r in went_live] == ["golive-1"]  # type: ignore[attr-defined]
    [access] = [r for r in access_lines(logs) if r.request_id == "golive-1"]  # type: ignore[attr-defined]
    assert access.getMessage().startswith("POST /api/live/toggle-active 200")


async def test_errors_and_redirects_are_logged_with_their_status(
    client: Client, logs: pytest.LogCaptureFixture
) -> None:
    async with client.get("/nowhere") as response:
        assert response.status == 404 and "X-Request-Id" in response.headers
    async with client.get("/", allow_redirects=False) as response:
        assert response.status == 302 and "X-Request-Id" in response.headers
    statuses = [(r.route, r.status) for r in access_lines(logs)]  # type: ignore[attr-defined]
    assert statuses == [("unmatched", 404), ("/", 302)]


async def test_a_login_links_token_is_not_logged(
    client: Client, services: Services, logs: pytest.LogCaptureFixture
) -> None:
    link = await services.auth.create_login_link(ALICE, "/live")
    async with client.get(f"/login/{link.token}") as response:
        assert response.status == 200
    assert link.token not in logs.text
    [line] = access_lines(logs)
    assert line.getMessage().startswith("GET /login/… 200")
