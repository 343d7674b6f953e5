"""What a live watch page costs to load, measured as Chromium's DevTools counts it.

Bytes are those on the wire (CDP's Network.loadingFinished encodedDataLength: headers and the
body as sent, compressed when it was), summed over the page's own resources: the HTML (gzip), its
stylesheets, scripts (livekit-client included), fonts and images (brotli: web/assets.py). The API calls the page then
makes (the token, the stream's state, chat polls) are counted apart: they are data, not weight,
and they repeat for as long as the page is open.

Budgets (issue 14): a first visit moves at most 200 KB, a repeat visit at most 15 KB (the
fingerprinted files come from the browser's cache without asking the server).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import CDPSession, expect

from core.services import Services
from tests.conftest import ALICE
from tests.pages.browser import LIVEKIT_CLIENT_URL, WAIT_MS, OpenTab, Tab, create_stream

FIRST_VISIT_BUDGET = 200 * 1024
REPEAT_VISIT_BUDGET = 15 * 1024
PAGE_RESOURCES = {"Document", "Stylesheet", "Script", "Font", "Image"}


@dataclass
class Transfer:
    url: str
    kind: str
    encoding: str | None
    from_cache: bool = False
    size: int | None = None  # bytes on the wire, once finished


@dataclass
class Meter:
    """Every request the page makes, with what it moved over the network."""

    transfers: dict[str, Transfer] = field(default_factory=dict)
    # Set once livekit-client has arrived (watch.js imports it once the page runs: the heaviest
    # file, and the last the page loads by itself).
    library_loaded: asyncio.Event = field(default_factory=asyncio.Event)

    def attach(self, cdp: CDPSession) -> None:
        cdp.on("Network.responseReceived", self._received)
        cdp.on("Network.requestServedFromCache", self._from_cache)
        cdp.on("Network.loadingFinished", self._finished)

    def _received(self, event: dict[str, Any]) -> None:
        response = event["response"]
        headers = {name.lower(): value for name, value in response["headers"].items()}
        from_cache = bool(response.get("fromDiskCache") or response.get("fromPrefetchCache"))
        self.transfers[event["requestId"]] = Transfer(
            response["url"], event["type"], headers.get("content-encoding"), from_cache
        )

    def _from_cache(self, event: dict[str, Any]) -> None:
        if event["requestId"] in self.transfers:
            self.transfers[event["requestId"]].from_cache = True

    def _finished(self, event: dict[str, Any]) -> None:
        transfer = self.transfers.get(event["requestId"])
        if transfer is not None:
            transfer.size = int(event["encodedDataLength"])
            if LIVEKIT_CLIENT_URL.search(transfer.url):
                self.library_loaded.set()

    def page_bytes(self) -> int:
        return sum(t.size or 0 for t in self.page_resources())

    def page_resources(self) -> list[Transfer]:
        # The favicon is "Other" to DevTools, but it is one of the page's images.
        return [
            t for t in self.transfers.values() if t.kind in PAGE_RESOURCES or "/static/" in t.url
        ]

    def report(self) -> str:
        lines = [
            f"{t.size or 0:>8,} B  {t.kind:<10} {t.encoding or '-':<5} "
            f"{'cache' if t.from_cache or t.size == 0 else 'net':<5} {re.sub(r'^https?://[^/]+', '', t.url)}"
            for t in sorted(self.transfers.values(), key=lambda t: -(t.size or 0))
        ]
        return "\n".join([*lines, f"{self.page_bytes():>8,} B  page resources in all"])


async def visit(tab: Tab, meter: Meter, path: str) -> None:
    """Open `path` and wait until the page and the library it loads on its own have arrived."""
    await tab.goto(path)
    await expect(tab.page.get_by_test_id("player")).to_be_visible()
    await asyncio.wait_for(meter.library_loaded.wait(), WAIT_MS / 1000)


async def test_a_live_watch_page_is_light_on_a_first_and_a_repeat_visit(
    services: Services, open_tab: OpenTab
) -> None:
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    tab = await open_tab()
    cdp = await tab.page.context.new_cdp_session(tab.page)
    await cdp.send("Network.enable")

    first = Meter()
    first.attach(cdp)
    await visit(tab, first, "/live/alice")
    print(f"\nfirst visit:\n{first.report()}")

    repeat = Meter()
    repeat.attach(cdp)
    await visit(tab, repeat, "/live/alice")
    print(f"\nrepeat visit:\n{repeat.report()}")

    assert first.page_bytes() <= FIRST_VISIT_BUDGET, first.report()
    assert repeat.page_bytes() <= REPEAT_VISIT_BUDGET, repeat.report()
    # Chromium asks for brotli on loopback as on HTTPS, and every static file came that way.
    static = [t for t in first.page_resources() if "/static/" in t.url]
    assert {t.encoding for t in static} == {"br"}
    # The second time, no static file went over the network: only the page itself.
    assert [t.url for t in repeat.page_resources() if t.size] == [tab.base + "/live/alice"]
    assert tab.errors == []
