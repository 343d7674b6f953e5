"""The watch page and the studio in every shipped language, on a 390 px phone: translated, with
`<html lang>` set, and nothing wider than the screen (German words are long)."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from core.kernel import i18n
from core.services import Services
from tests.conftest import ALICE
from tests.pages.browser import OpenTab, create_stream, no_horizontal_scroll, sign_in_via_link

NARROW_PHONE = {"width": 390, "height": 844}
# One string each page shows in every state, and what it reads in each language.
WATCH_WORD = "Quality"
STUDIO_WORD = "End stream"


@pytest.mark.parametrize("locale", i18n.SUPPORTED)
async def test_watch_page_in_each_language_fits_a_phone(
    services: Services, open_tab: OpenTab, locale: str
) -> None:
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    tab = await open_tab(NARROW_PHONE)

    await tab.goto(f"/live/alice?lang={locale}")

    html = tab.page.locator("html")
    await expect(html).to_have_attribute("lang", locale.replace("_", "-"))
    await expect(tab.page.get_by_test_id("player-controls")).to_contain_text(
        i18n.t(locale, WATCH_WORD)
    )
    await expect(tab.page.get_by_test_id("chat")).to_contain_text(i18n.t(locale, "Chat"))
    assert await no_horizontal_scroll(tab.page)
    # The choice is remembered: the next page comes in the same language without ?lang=.
    await tab.goto("/live/alice")
    await expect(html).to_have_attribute("lang", locale.replace("_", "-"))


@pytest.mark.parametrize("locale", i18n.SUPPORTED)
async def test_offline_page_in_each_language_fits_a_phone(
    services: Services, open_tab: OpenTab, locale: str
) -> None:
    await create_stream(services)
    tab = await open_tab(NARROW_PHONE)

    await tab.goto(f"/live/alice?lang={locale}")

    await expect(tab.page.get_by_test_id("offline")).to_contain_text(
        i18n.t(locale, "Hasn't streamed yet")
    )
    assert await no_horizontal_scroll(tab.page)
    assert tab.errors == []


@pytest.mark.parametrize("locale", i18n.SUPPORTED)
async def test_studio_in_each_language_fits_a_phone(
    services: Services, open_tab: OpenTab, locale: str
) -> None:
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    tab = await open_tab(NARROW_PHONE)

    await tab.goto(f"/live?lang={locale}")
    await sign_in_via_link(services, tab, ALICE, "/live/alice/studio")

    await expect(tab.page.locator("html")).to_have_attribute("lang", locale.replace("_", "-"))
    await expect(tab.page.get_by_test_id("end")).to_contain_text(i18n.t(locale, STUDIO_WORD))
    await expect(tab.page.locator(".devices")).to_contain_text(i18n.t(locale, "Microphone"))
    assert await no_horizontal_scroll(tab.page)
