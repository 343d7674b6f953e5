"""Plain text in the web: the domain's errors are written for Discord (Markdown), and reach pages
and JSON `error`s without their backticks and stars."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from core.services import Services
from tests.conftest import ALICE, SignIn
from tests.pages.browser import create_stream
from web.plain import plain_text

Client = TestClient[Any, Any]
MARKDOWN = re.compile(r"`|\*\*|~~|\|\|")


@pytest.mark.parametrize(
    ("markdown", "plain"),
    [
        (
            "You have no stream page yet. Create one with `/stream create` in Discord.",
            "You have no stream page yet. Create one with /stream create in Discord.",
        ),
        ("Run ``golive check``.", "Run golive check."),
        ('```\n[recording]\noutput = "file"\n```', '[recording]\noutput = "file"'),
        ("You have **0** credits.", "You have 0 credits."),
        ("**Bold with `code` in it**", "Bold with code in it"),
        ("*Really* __that__ ~~one~~ ||secret||", "Really that one secret"),
        ("See [the docs](https://golive.test/docs).", "See the docs (https://golive.test/docs)."),
        # What only looks like Markdown stays as it is.
        ("Set `STRIPE_SECRET_KEY` in .env", "Set STRIPE_SECRET_KEY in .env"),
        ("STRIPE_SECRET_KEY and snake_case_names", "STRIPE_SECRET_KEY and snake_case_names"),
        ("2 * 3 * 4 and 5 ** 2 ** 3", "2 * 3 * 4 and 5 ** 2 ** 3"),
        ("Inside code `**stays**`", "Inside code **stays**"),
        (r"An escaped \*star\* and a \`tick\`", "An escaped *star* and a `tick`"),
        ("One lonely ` tick", "One lonely ` tick"),
        ("", ""),
    ],
)
def test_markdown_becomes_what_it_says(markdown: str, plain: str) -> None:
    assert plain_text(markdown) == plain


async def error_of(client: Client, method: str, path: str, **kwargs: Any) -> tuple[int, str]:
    async with client.request(method, path, **kwargs) as response:
        return response.status, (await response.json())["error"]


async def test_json_errors_carry_no_markdown(
    client: Client, services: Services, sign_in: SignIn
) -> None:
    # Real refusals whose text the domain writes with `code` for Discord.
    status, error = await error_of(client, "POST", "/api/live/toggle-active", json={"active": True})
    assert (status, error) == (401, "Sign in first: use the link from /stream studio in Discord.")

    await sign_in(client, ALICE)
    status, error = await error_of(client, "POST", "/api/live/toggle-active", json={"active": True})
    assert (status, error) == (
        404,
        "You have no stream page yet. Create one with /stream create in Discord.",
    )

    await create_stream(services)
    status, error = await error_of(client, "POST", "/api/live/create", json={"title": "Again"})
    assert (status, error) == (409, "You already have a stream page. Change it with /stream edit.")

    await services.streams.go_live(ALICE.user_id)
    status, error = await error_of(client, "POST", "/api/live/toggle-active", json={"active": True})
    assert status == 409
    assert error == "You are already live. End the stream first with /stream end."
    assert not MARKDOWN.search(error)


async def test_error_pages_carry_no_markdown(client: Client, services: Services) -> None:
    link = await services.auth.create_login_link(ALICE, "/live")
    await services.auth.redeem_login_link(link.token)  # spent: a second use is refused

    async with client.post(f"/login/{link.token}") as response:
        assert response.status == 410
        html = await response.text()
    [message] = re.findall(r'<p class="panel__message">(.*?)</p>', html, re.DOTALL)
    assert message == (
        "This sign-in link has already been used or has expired. "
        "Ask the bot for a new one (for example with /stream studio)."
    )
    assert "`" not in html
