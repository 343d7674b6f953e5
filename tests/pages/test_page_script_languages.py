"""What the page scripts write, in the page's language: the /live grid as it refreshes itself,
chat badges and tip notices, the stage on the watch page and its queue in the studio. The
strings come from text.js (the translations the page embeds), numbers and times from `Intl`."""

from __future__ import annotations

import json
import re

from playwright.async_api import expect

from core.chat.service import ChatAuthor
from core.services import Services
from tests.conftest import ALICE, BOB
from tests.fakes.livekit import FakeLiveKit
from tests.pages.browser import OpenTab, create_stream, lk, sign_in_via_link, use_stub_livekit
from tests.studio import go_live_with_video

REFRESH_MS = 10_000


async def test_the_live_grid_refreshes_in_german(
    services: Services, livekit: FakeLiveKit, open_tab: OpenTab
) -> None:
    await create_stream(services, BOB, title="Nachtmarkt")
    tab = await open_tab()
    await tab.page.clock.install()
    await tab.goto("/live?lang=de")
    await expect(tab.page.get_by_test_id("empty")).to_contain_text("Gerade ist niemand live")

    await go_live_with_video(services, livekit, BOB.user_id)  # on the grid once media flows
    async with tab.page.expect_response(re.compile(r"/api/live/search$")):
        await tab.page.clock.run_for(REFRESH_MS + 500)

    card = tab.page.locator(".card").first
    await expect(card).to_contain_text("Live seit")
    await expect(card).to_contain_text("0 schauen zu")
    await expect(tab.page.get_by_test_id("count")).to_have_text("1 Stream auf Sendung")
    assert tab.errors == []


async def test_an_unknown_city_is_explained_in_portuguese(open_tab: OpenTab) -> None:
    tab = await open_tab()
    await tab.goto("/live?lang=pt_BR&near=Xyzzyville")
    await expect(tab.page.get_by_test_id("problem")).to_contain_text(
        "Não conheço uma cidade chamada 'Xyzzyville'"
    )
    await expect(tab.page.get_by_role("heading", level=1)).to_have_text("Ao vivo agora")
    assert tab.errors == []


async def test_chat_badges_and_tip_notices_in_brazilian_portuguese(
    services: Services, livekit: FakeLiveKit, open_tab: OpenTab
) -> None:
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    stream = await services.streams.get_by_owner(ALICE.user_id)
    tab = await open_tab()
    await use_stub_livekit(tab)
    await tab.goto("/live/alice?lang=pt_BR")
    await tab.page.wait_for_function(
        "() => window.__lk && window.__lk.room()?.state === 'connected'"
    )
    await services.chat.post(stream, ChatAuthor(ALICE.user_id, "Alice"), "olá")
    await services.events.drain()
    packet = json.dumps(livekit.sent_data[-1].text)
    await lk(
        tab,
        f"lk.room().emit('dataReceived', new TextEncoder().encode({packet}), undefined, 0, 'chat')",
    )
    await expect(tab.page.get_by_test_id("chat-message").first).to_contain_text("Streamer")
    tip = json.dumps(json.dumps({"type": "tip", "from": "Carol", "amount": 1500, "message": "oi"}))
    await lk(
        tab,
        f"lk.room().emit('dataReceived', new TextEncoder().encode({tip}), undefined, 0, 'tips')",
    )
    await expect(tab.page.get_by_test_id("chat-tip")).to_have_text(
        "💜 Carol deu 1.500 créditos de gorjeta: oi"
    )
    assert tab.errors == []


async def test_the_stage_and_the_studio_queue_in_german(
    services: Services, livekit: FakeLiveKit, open_tab: OpenTab
) -> None:
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    viewer = await open_tab()
    await use_stub_livekit(viewer)
    await viewer.goto("/live?lang=de")
    await sign_in_via_link(services, viewer, BOB, "/live/alice")
    await viewer.page.wait_for_function(
        "() => window.__lk && window.__lk.room()?.state === 'connected'"
    )
    livekit.join_with_token(str(await lk(viewer, "lk.room().token")))
    hand = viewer.page.get_by_test_id("raise-hand")
    await expect(hand).to_have_text("✋ Hand heben")
    await hand.click()
    await expect(viewer.page.get_by_test_id("stage-status")).to_have_text(
        "Deine Hand ist oben: Der Streamer sieht es."
    )
    await expect(hand).to_have_text("Hand senken")

    studio = await open_tab()
    await use_stub_livekit(studio)
    await studio.goto("/live?lang=de")
    await sign_in_via_link(services, studio, ALICE, "/live/alice/studio")
    await studio.page.get_by_test_id("stage-hand").get_by_role("button", name="Einladen").click()
    await expect(studio.page.get_by_test_id("stage-invited")).to_contain_text("Bob (eingeladen)")
    await expect(studio.page.locator("#stage-queue-size")).to_have_text(
        re.compile(r"^0 von \d+ Gästen auf der Bühne, 1 eingeladen$")
    )
    await expect(
        studio.page.get_by_test_id("stage-invited").get_by_role("button", name="Zurückziehen")
    ).to_be_visible()
    assert viewer.errors == [] and studio.errors == []
