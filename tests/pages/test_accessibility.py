"""Every page, in each state people meet it, passes axe-core at 1280 px and at 390 px.

axe checks WCAG 2.x A and AA (text contrast of at least 4.5:1 among them) and its best
practices: names for every control, landmarks, headings, language. See tests/pages/accessibility.py.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import Route, expect

from core.accounts.auth import Identity
from core.chat.service import ChatAuthor
from core.config.settings import Settings
from core.kernel.clock import ManualClock
from core.services import Services
from core.stage import Member
from tests.conftest import ALICE, BOB, FILE_RECORDING
from tests.fakes.discord_oauth import CLIENT_ID, CLIENT_SECRET
from tests.fakes.livekit import FakeLiveKit
from tests.fakes.stripe import SECRET_KEY, FakeStripe
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
from tests.pages.test_vods import open_vod, record_a_stream, recorded, seek
from tests.studio import go_live_with_video
from tests.web.test_money_api import WEBHOOK_SECRET, event, signed
from tests.web.test_money_api import stripe_api as stripe_api

MOD = Identity(user_id=4242, username="mo", display_name="Mo")
PHONE_390 = {"width": 390, "height": 844}
VIEWPORTS = pytest.mark.parametrize("viewport", [DESKTOP, PHONE_390], ids=["1280px", "390px"])


@pytest.fixture
def settings(settings: Settings, stripe_api: FakeStripe) -> Settings:
    """A site with buying credits (the Stripe double) and Sign in with Discord set up, as the
    pages people meet have them: their buttons and return pages are checked too."""
    stripe = dataclasses.replace(
        settings.stripe,
        secret_key=SECRET_KEY,
        webhook_secret=WEBHOOK_SECRET,
        api_base=stripe_api.url,
    )
    discord = dataclasses.replace(
        settings.discord, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )
    return dataclasses.replace(settings, stripe=stripe, discord=discord)


@dataclasses.dataclass
class World:
    services: Services
    livekit: FakeLiveKit
    clock: ManualClock
    folder: Path  # where recordings and thumbnails are written


Scene = Callable[[World, Tab], Awaitable[None]]


async def grid_empty(world: World, tab: Tab) -> None:
    await tab.goto("/live")
    await expect(tab.page.locator("h1")).to_be_visible()


async def grid_with_streams(world: World, tab: Tab) -> None:
    await create_stream(world.services)
    await create_stream(world.services, BOB, title="Night market", location_name="Porto")
    # Media first: listed once their video arrives.
    await go_live_with_video(world.services, world.livekit, ALICE.user_id)
    await go_live_with_video(world.services, world.livekit, BOB.user_id)
    await tab.goto("/live")
    await expect(tab.page.get_by_text("Night market")).to_be_visible()


async def grid_with_a_search_problem(world: World, tab: Tab) -> None:
    await tab.goto("/live?near=Xyzzyville")
    await expect(tab.page.get_by_test_id("problem")).to_be_visible()


async def watch_offline(world: World, tab: Tab) -> None:
    world.services.recording.config = dataclasses.replace(FILE_RECORDING, record_all=True)
    await create_stream(world.services)
    await record_a_stream(world.services, world.livekit, world.clock, 72)
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


async def vod_playing_with_its_chat(world: World, tab: Tab) -> None:
    vod = await recorded(world.services, world.livekit, world.clock, world.folder)
    await open_vod(tab, vod)
    await seek(tab, 10.5)
    await expect(tab.page.get_by_test_id("replay-message")).to_have_count(4)


async def vod_delete_confirm_for_its_owner(world: World, tab: Tab) -> None:
    vod = await recorded(world.services, world.livekit, world.clock, world.folder)
    await sign_in_via_link(world.services, tab, ALICE, f"/live/alice/vods/{vod.id}")
    await expect(tab.page.locator("#replay-list[data-loaded=true]")).to_have_count(1)
    await tab.page.get_by_test_id("vod-delete").click()
    await expect(tab.page.get_by_test_id("vod-delete-dialog")).to_be_visible()


async def topup_checkout(world: World, tab: Tab) -> str:
    await create_stream(world.services)
    await sign_in_via_link(world.services, tab, BOB, "/live")
    checkout = await world.services.topups.start_checkout(BOB.user_id, 500, "/live/alice")
    return checkout.session_id


async def topup_confirming(world: World, tab: Tab) -> None:
    # Back from Stripe before its webhook: the page says so and keeps asking.
    session_id = await topup_checkout(world, tab)
    await tab.goto(f"/topup/done?session_id={session_id}&next=/live/alice")
    panel = tab.page.get_by_test_id("topup-return")
    await expect(panel.get_by_role("heading")).to_have_text("Confirming your payment…")
    await expect(panel.locator("progress")).to_be_visible()


async def topup_received(world: World, tab: Tab) -> None:
    session_id = await topup_checkout(world, tab)
    paid = event("evt_1", session_id)
    await world.services.topups.handle_webhook(paid.encode(), signed(paid))
    await tab.goto(f"/topup/done?session_id={session_id}&next=/live/alice")
    panel = tab.page.get_by_test_id("topup-return")
    await expect(panel.get_by_test_id("topup-message")).to_have_text("Your balance: 500 credits.")


async def topup_cancelled(world: World, tab: Tab) -> None:
    await tab.goto("/topup/cancelled?next=/live/alice")
    panel = tab.page.get_by_test_id("topup-return")
    await expect(panel.get_by_role("heading")).to_have_text("Payment cancelled")


async def discord_sign_in_cancelled(world: World, tab: Tab) -> None:
    # Where Discord sends someone who pressed Cancel on its consent screen.
    await tab.goto("/auth/discord/callback?error=access_denied&state=x")
    await expect(tab.page.get_by_test_id("message")).to_contain_text("You didn't sign in")


async def discord_sign_in_refused(world: World, tab: Tab) -> None:
    # A callback whose state this browser never got (another browser's link, or a stale one).
    await tab.goto("/auth/discord/callback?code=abc&state=not-this-browsers")
    await expect(tab.page.get_by_test_id("message")).to_contain_text("can't be finished")


async def watch_live_starting(world: World, tab: Tab) -> None:
    # Media first: go-live was pressed, the studio hasn't sent video yet.
    await create_stream(world.services)
    await world.services.streams.go_live(ALICE.user_id)
    await use_stub_livekit(tab)
    await tab.goto("/live/alice")
    await tab.page.wait_for_function(
        "() => window.__lk && window.__lk.room()?.state === 'connected'"
    )
    await expect(tab.status()).to_contain_text("The stream is starting…")


async def grid_with_a_thumbnail(world: World, tab: Tab) -> None:
    thumbnails = world.services.thumbnails
    thumbnails.config = dataclasses.replace(thumbnails.config, directory=world.folder / "thumbs")
    await create_stream(world.services)
    await go_live_with_video(world.services, world.livekit, ALICE.user_id)
    assert world.livekit.capture_snapshots()
    await tab.goto("/live")
    await expect(tab.page.get_by_test_id("thumbnail")).to_have_count(1)


async def studio_live_and_connected(world: World, tab: Tab) -> None:
    await create_stream(world.services)
    await world.services.streams.go_live(ALICE.user_id)
    await use_stub_livekit(tab)
    await sign_in_via_link(world.services, tab, ALICE, "/live/alice/studio")
    await tab.page.wait_for_function(
        "() => window.__lk && window.__lk.room()?.state === 'connected'"
        " && window.__lk.published.length > 0"
    )


async def studio_end_dialog(world: World, tab: Tab) -> None:
    await studio_live_and_connected(world, tab)
    await tab.page.get_by_test_id("end").click()
    await expect(tab.page.get_by_role("dialog", name="End your stream?")).to_be_visible()


async def studio_end_summary(world: World, tab: Tab) -> None:
    await studio_live_and_connected(world, tab)
    world.clock.advance(754)
    await tab.page.get_by_test_id("end").click()
    dialog = tab.page.get_by_role("dialog", name="End your stream?")
    await dialog.get_by_role("button", name="End stream").click()
    await expect(tab.page.get_by_test_id("summary")).to_be_visible()
    await expect(tab.page.get_by_test_id("summary-duration")).to_have_text("0:12:34")


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
    "vod, playing with its chat replayed": vod_playing_with_its_chat,
    "vod, its owner asked to confirm deleting it": vod_delete_confirm_for_its_owner,
    "top-up, confirming the payment": topup_confirming,
    "top-up, payment received": topup_received,
    "top-up, cancelled": topup_cancelled,
    "Discord sign-in, cancelled": discord_sign_in_cancelled,
    "Discord sign-in, refused": discord_sign_in_refused,
    "watch, live, the stream is starting": watch_live_starting,
    "grid, a card with a thumbnail": grid_with_a_thumbnail,
    "studio, the End dialog open": studio_end_dialog,
    "studio, the end summary": studio_end_summary,
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
    tmp_path: Path,
) -> None:
    tab = await open_tab(viewport)
    await SCENES[scene](World(services, livekit, clock, tmp_path), tab)
    await assert_accessible(tab.page)
    assert tab.errors == []
