"""The stage in a real browser: a viewer raises a hand, the streamer invites from the studio, the
viewer picks a camera and microphone (Chromium's fake devices), sees a preview and goes on stage;
both pages lay out host and guest with who is speaking; the studio takes the guest off and the
guest's page goes back to watching. The room side is the LiveKit double: the viewer joins it with
the very token the page was given, and the double enforces what LiveKit would."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from core.services import Services
from tests.conftest import ALICE, BOB
from tests.fakes.livekit import FakeLiveKit, PublishRefused
from tests.pages.browser import (
    OpenTab,
    create_stream,
    lk,
    screenshot,
    sign_in_via_link,
    use_stub_livekit,
)


async def test_raise_hand_invite_accept_on_stage_and_removal(
    services: Services, livekit: FakeLiveKit, open_tab: OpenTab
) -> None:
    await create_stream(services)
    room = (await services.streams.go_live(ALICE.user_id)).session.room_name
    viewer = await open_tab()
    await use_stub_livekit(viewer)
    await sign_in_via_link(services, viewer, BOB, "/live/alice")
    await viewer.page.wait_for_function(
        "() => window.__lk && window.__lk.room()?.state === 'connected'"
    )
    # The room side: Bob's page connects to LiveKit with the viewer token golive gave it.
    bob = livekit.join_with_token(str(await lk(viewer, "lk.room().token"))).identity
    assert bob == await lk(viewer, "lk.room().localParticipant.identity")
    with pytest.raises(PublishRefused):
        livekit.publish_track(room, bob, kind="video", source="camera")

    await viewer.page.get_by_test_id("raise-hand").click()
    await expect(viewer.page.get_by_test_id("stage-status")).to_have_text(
        "Your hand is up: the streamer sees it."
    )
    await expect(viewer.page.get_by_test_id("raise-hand")).to_have_text("Lower hand")

    studio = await open_tab()
    await use_stub_livekit(studio)
    await sign_in_via_link(services, studio, ALICE, "/live/alice/studio")
    hand = studio.page.get_by_test_id("stage-hand")
    await expect(hand).to_have_text(re.compile("Bob"))
    await hand.get_by_role("button", name="Invite").click()
    await expect(studio.page.get_by_test_id("stage-invited")).to_contain_text("Bob (invited)")

    # Bob's page offers the invitation with his devices and a preview of himself.
    invite = viewer.page.get_by_test_id("stage-invite")
    await expect(invite).to_be_visible()
    await expect(viewer.page.get_by_test_id("raise-hand")).to_be_hidden()
    await expect(viewer.page.get_by_test_id("stage-camera").locator("option")).not_to_have_count(0)
    await expect(
        viewer.page.get_by_test_id("stage-microphone").locator("option")
    ).not_to_have_count(0)
    await viewer.page.wait_for_function(
        "() => document.querySelector('[data-testid=stage-preview]').videoWidth > 0"
    )
    await viewer.page.get_by_test_id("stage-accept").click()
    await expect(viewer.page.get_by_test_id("stage-status")).to_have_text("You're on stage.")
    await expect(invite).to_be_hidden()

    # LiveKit lets Bob's connection publish now — and the page did.
    assert livekit.may_publish(room, bob, "camera") and livekit.may_publish(room, bob, "microphone")
    assert sorted(str(t["kind"]) for t in await lk(viewer, "lk.published")) == ["audio", "video"]  # type: ignore[attr-defined]
    livekit.publish_track(room, bob, kind="video", source="camera")

    # The on-stage layout: host and guest, and who is speaking.
    tiles = viewer.page.get_by_test_id("stage-tile")
    await expect(tiles).to_have_count(2)
    await expect(tiles.nth(0)).to_contain_text("Alice (host)")
    await expect(tiles.nth(1)).to_contain_text("Bob (you)")
    await lk(viewer, f"lk.speak(['host-{ALICE.user_id}'])")
    await expect(tiles.nth(0)).to_have_class(re.compile(r"\bis-speaking\b"))
    await expect(tiles.nth(1)).not_to_have_class(re.compile(r"\bis-speaking\b"))
    await lk(viewer, f"lk.speak(['{bob}'])")
    await expect(tiles.nth(1)).to_have_class(re.compile(r"\bis-speaking\b"))
    await expect(viewer.page.get_by_test_id("stage-leave")).to_be_visible()
    await screenshot(viewer.page, "watch-on-stage.png")

    guest = studio.page.get_by_test_id("stage-guest")
    await expect(guest).to_have_text(re.compile("Bob"))
    await guest.get_by_role("button", name="Remove").click()
    await expect(studio.page.get_by_test_id("stage-guest")).to_have_count(0)

    # Bob is back to watching: his page stopped publishing, and LiveKit refuses him anyway.
    await expect(viewer.page.get_by_test_id("stage-status")).to_have_text(
        "You're back to watching."
    )
    await expect(viewer.page.get_by_test_id("stage-grid")).to_be_hidden()
    await expect(viewer.page.get_by_test_id("raise-hand")).to_have_text("✋ Raise hand")
    assert await lk(viewer, "lk.localTracksStopped") == 2
    assert livekit.participants[room][bob].tracks == []
    with pytest.raises(PublishRefused):
        livekit.publish_track(room, bob, kind="video", source="camera")
    assert viewer.errors == [] and studio.errors == []


async def test_a_guest_sees_the_stage_but_cannot_raise_a_hand(
    services: Services, open_tab: OpenTab
) -> None:
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    tab = await open_tab()
    await use_stub_livekit(tab)

    await tab.goto("/live/alice")

    await expect(tab.page.get_by_test_id("stage-sign-in")).to_contain_text("To come on stage")
    await expect(tab.page.get_by_test_id("raise-hand")).to_have_count(0)
    assert tab.errors == []
