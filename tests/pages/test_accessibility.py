"""Every page, in each state people meet it, passes axe-core at 1280 px and at 390 px.

axe checks WCAG 2.x A and AA (text contrast of at least 4.5:1 among them) and its best
practices: names for every control, landmarks, headings, language. See tests/pages/accessibility.py.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable

import pytest
from livekit.protocol import egress as lk_egress
from playwright.async_api import Route, expect

from core.accounts.auth import Identity
from core.chat.service import ChatAuthor
from core.kernel.clock import ManualClock
from core.services import Services
from core.stage import Member
from tests.conftest import ALICE, BOB, FILE_RECORDING
from tests.fakes.livekit import FakeLiveKit
from tests.pages.accessibility import assert_accessible
from tests.pages.browser import (
    DESKTOP,
    RETRYING,
    OpenTab,
    Tab,
    add_past_session,
    create_stream,
    lk,
    sign_in_via_link,
    use_stub_livekit,
)

MOD = Identity(user_id=4242, username="mo", display_name="Mo")
PHONE_390 = {"width": 390, "height": 844}
VIEWPORTS = pytest.mark.parametrize("viewport", [DESKTOP, PHONE_390], ids=["1280px", "390px"])


@dataclasses.dataclass
class World:
    services: Services
    livekit: FakeLiveKit
    clock: ManualClock


Scene = Callable[[World, Tab], Awaitable[None]]


async def record_a_stream(world: World, minutes: int) -> None:
    services, livekit = world.services, world.livekit
    await services.streams.go_live(ALICE.user_id)
    world.clock.advance(minutes * 60)
    await services.streams.end(ALICE.user_id)
    [info] = [e for e in livekit.egresses.values() if not e.file_results]
    livekit.set_egress_status(info.egress_id, lk_egress.EgressStatus.EGRESS_COMPLETE)
    path = info.room_composite.file_outputs[0].filepath
    info.file_results.append(
        lk_egress.FileInfo(filename=path, duration=minutes * 60 * 1_000_000_000, location=path)
    )
    assert await services.webhooks.receive(livekit.event("egress_ended", egress_info=info))
    world.clock.advance(3600)


async def grid_empty(world: World, tab: Tab) -> None:
    await tab.goto("/live")
    await expect(tab.page.locator("h1")).to_be_visible()


async def grid_with_streams(world: World, tab: Tab) -> None:
    await create_stream(world.services)
    await create_stream(world.services, BOB, title="Night market", location_name="Porto")
    await world.services.streams.go_live(ALICE.user_id)
    await world.services.streams.go_live(BOB.user_id)
    await tab.goto("/live")
    await expect(tab.page.get_by_text("Night market")).to_be_visible()


async def grid_with_a_search_problem(world: World, tab: Tab) -> None:
    await tab.goto("/live?near=Xyzzyville")
    await expect(tab.page.get_by_test_id("problem")).to_be_visible()


async def watch_offline(world: World, tab: Tab) -> None:
    world.services.recording.config = dataclasses.replace(FILE_RECORDING, record_all=True)
    await create_stream(world.services)
    await record_a_stream(world, 72)
    await add_past_session(world.services, world.clock, ALICE, 25 * 60)
    await tab.goto("/live/alice")
    await expect(tab.page.get_by_test_id("offline")).to_be_visible()
    await expect(tab.page.get_by_test_id("past-streams")).to_be_visible()


async def watch_live_as_a_guest(world: World, tab: Tab) -> None:
    # The real livekit-client, with no media server to reach: the page says it is retrying.
    await create_stream(world.services)
    await world.services.streams.go_live(ALICE.user_id)
    await tab.goto("/live/alice")
    await expect(tab.status()).to_contain_text(RETRYING)


async def watch_live_playing_for_a_viewer(world: World, tab: Tab) -> None:
    await create_stream(world.services)
    stream = (await world.services.streams.go_live(ALICE.user_id)).stream
    await world.services.chat.post(stream, ChatAuthor(BOB.user_id, "Bob"), "hello!")
    await use_stub_livekit(tab)
    await sign_in_via_link(world.services, tab, BOB, "/live/alice")
    await tab.page.wait_for_function(
        "() => window.__lk && window.__lk.room()?.state === 'connected'"
    )
    await lk(tab, "lk.join('host-alice')")
    await lk(tab, "lk.publishCamera('host-alice')")
    await expect(tab.page.get_by_test_id("chat-message")).to_have_count(1)
    await expect(tab.page.get_by_test_id("tip-form")).to_be_visible()


async def watch_live_a_tip_and_a_message_refused(world: World, tab: Tab) -> None:
    # The error texts (red on dark) are read too.
    await create_stream(world.services)
    await world.services.streams.go_live(ALICE.user_id)
    await use_stub_livekit(tab)
    await sign_in_via_link(world.services, tab, BOB, "/live/alice")
    form = tab.page.get_by_test_id("tip-form")
    await form.get_by_label("Credits", exact=True).fill("25")
    await form.get_by_role("button", name="Send tip").click()
    await expect(tab.page.get_by_test_id("tip-status")).to_contain_text("Nothing was charged")
    chat = tab.page.get_by_test_id("chat")
    await chat.get_by_label("Message as Bob").fill("come to spam.com")
    await chat.get_by_role("button", name="Send").click()
    await expect(chat.get_by_test_id("chat-status")).to_have_text(
        "Links aren't allowed in this chat."
    )


async def watch_live_for_its_owner(world: World, tab: Tab) -> None:
    # The owner sees a Hide button on each message, and the badges of the streamer and a mod.
    services = world.services
    await create_stream(services)
    stream = (await services.streams.go_live(ALICE.user_id)).stream
    await services.moderation.remember_moderator(MOD.user_id, guild_id=1, is_moderator=True)
    await services.chat.post(stream, ChatAuthor(BOB.user_id, "Bob"), "hello!")
    await services.chat.post(stream, ChatAuthor(MOD.user_id, "Mo"), "welcome, Bob")
    await services.chat.post(stream, ChatAuthor(ALICE.user_id, "Alice"), "hi both!")
    await use_stub_livekit(tab)
    await sign_in_via_link(services, tab, ALICE, "/live/alice")
    await expect(tab.page.locator(".chat__hide")).to_have_count(3)
    # Each Hide button says whose message it hides (three buttons reading only "Hide" don't).
    hide_bobs = tab.page.get_by_role("button", name="Hide this message from Bob")
    await expect(hide_bobs).to_have_count(1)
    await expect(tab.page.locator(".chat__badge--streamer")).to_be_visible()
    await expect(tab.page.locator(".chat__badge--moderator")).to_be_visible()


async def studio_before_going_live(world: World, tab: Tab) -> None:
    await create_stream(world.services)
    await use_stub_livekit(tab)
    await sign_in_via_link(world.services, tab, ALICE, "/live/alice/studio")
    await expect(tab.page.get_by_test_id("go-live")).to_be_enabled()


async def studio_while_live(world: World, tab: Tab) -> None:
    await create_stream(world.services)
    await world.services.streams.go_live(ALICE.user_id)
    await use_stub_livekit(tab)
    await sign_in_via_link(world.services, tab, ALICE, "/live/alice/studio")
    await expect(tab.page.get_by_test_id("end")).to_be_visible()


async def studio_with_a_hand_raised(world: World, tab: Tab) -> None:
    await create_stream(world.services)
    stream = (await world.services.streams.go_live(ALICE.user_id)).stream
    await world.services.stage.raise_hand(stream, Member(BOB.user_id, "Bob"))
    await use_stub_livekit(tab)
    await sign_in_via_link(world.services, tab, ALICE, "/live/alice/studio")
    await expect(tab.page.get_by_test_id("stage-hand")).to_contain_text("Bob")


async def watch_live_invited_on_stage(world: World, tab: Tab) -> None:
    await create_stream(world.services)
    stream = (await world.services.streams.go_live(ALICE.user_id)).stream
    await use_stub_livekit(tab)
    await sign_in_via_link(world.services, tab, BOB, "/live/alice")
    await tab.page.wait_for_function(
        "() => window.__lk && window.__lk.room()?.state === 'connected'"
    )
    # In the room (as LiveKit sees it) with the page's own token: now Bob may be invited.
    world.livekit.join_with_token(str(await lk(tab, "lk.room().token")))
    await world.services.stage.raise_hand(stream, Member(BOB.user_id, "Bob"))
    await world.services.stage.invite(stream, by=ALICE.user_id, member=Member(BOB.user_id, "Bob"))
    await expect(tab.page.get_by_test_id("stage-invite")).to_be_visible()
    await expect(tab.page.get_by_test_id("stage-camera").locator("option")).not_to_have_count(0)


async def login_page(world: World, tab: Tab) -> None:
    # As a visitor whose browser has not run login.js yet (or runs no scripts) sees it.
    async def no_script(route: Route) -> None:
        await route.fulfill(body="", content_type="text/javascript")

    await tab.page.route(re.compile(r"/static/login\.[0-9a-f]+\.js$"), no_script)
    link = await world.services.auth.create_login_link(ALICE, "/live")
    await tab.goto(f"/login/{link.token}")
    await expect(tab.page.get_by_role("button", name="Continue")).to_be_visible()


async def used_login_link(world: World, tab: Tab) -> None:
    link = await world.services.auth.create_login_link(ALICE, "/live")
    await world.services.auth.redeem_login_link(link.token)
    async with tab.page.expect_response(lambda r: r.request.method == "POST"):
        await tab.goto(f"/login/{link.token}")
    await expect(tab.page.get_by_test_id("message")).to_be_visible()


async def unknown_stream(world: World, tab: Tab) -> None:
    await tab.goto("/live/nobody-here")
    await expect(tab.page.get_by_test_id("message")).to_be_visible()


async def studio_without_signing_in(world: World, tab: Tab) -> None:
    await create_stream(world.services)
    await tab.goto("/live/alice/studio")
    await expect(tab.page.get_by_test_id("message")).to_be_visible()


async def someone_elses_studio(world: World, tab: Tab) -> None:
    await create_stream(world.services)
    await sign_in_via_link(world.services, tab, BOB, "/live")
    await tab.goto("/live/alice/studio")
    await expect(tab.page.get_by_test_id("message")).to_be_visible()


SCENES: dict[str, Scene] = {
    "grid, empty": grid_empty,
    "grid, with live streams": grid_with_streams,
    "grid, a search it can't do": grid_with_a_search_problem,
    "watch, offline with past streams": watch_offline,
    "watch, live, a guest while it retries": watch_live_as_a_guest,
    "watch, live, playing for a signed-in viewer": watch_live_playing_for_a_viewer,
    "watch, live, its owner with chat to moderate": watch_live_for_its_owner,
    "watch, live, a tip and a message refused": watch_live_a_tip_and_a_message_refused,
    "studio, before going live": studio_before_going_live,
    "studio, while live": studio_while_live,
    "studio, while live with a hand raised": studio_with_a_hand_raised,
    "watch, live, a viewer invited on stage": watch_live_invited_on_stage,
    "sign-in link": login_page,
    "message, a used sign-in link": used_login_link,
    "message, no such stream": unknown_stream,
    "message, studio without signing in": studio_without_signing_in,
    "message, someone else's studio": someone_elses_studio,
}


@VIEWPORTS
@pytest.mark.parametrize("scene", list(SCENES))
async def test_no_axe_violations(
    scene: str,
    viewport: dict[str, int],
    services: Services,
    livekit: FakeLiveKit,
    clock: ManualClock,
    open_tab: OpenTab,
) -> None:
    tab = await open_tab(viewport)
    await SCENES[scene](World(services, livekit, clock), tab)
    await assert_accessible(tab.page)
    assert tab.errors == []
