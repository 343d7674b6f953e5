"""/stream create, edit, golive, end, info and studio as members use them, through SimCord and
the LiveKit double."""

from __future__ import annotations

from typing import Any

import discord

from core.kernel.errors import Conflict, LiveKitUnavailable, NotFound
from core.services import Services
from tests.bot.helpers import buttons, create_page, domain_errors, on_air, posts
from tests.conftest import World
from tests.fakes.livekit import FakeLiveKit


async def test_create_opens_a_form_and_makes_the_page(world: World, services: Services) -> None:
    shown = await world.alice.slash(world.general, "stream create")
    assert shown.modal["title"] == "Create your stream page"
    done = await world.alice.submit_modal(
        shown, {"stream:title": "Painting live", "stream:description": "Watercolours"}
    )
    assert done.ephemeral
    assert "/stream golive" in done.response.content
    assert done.response.embeds[0].title == "Painting live"
    stream = await services.streams.get_by_owner(world.alice.id)
    assert (stream.slug, stream.title, stream.description) == (
        "alice",
        "Painting live",
        "Watercolours",
    )


async def test_create_twice_points_to_edit(world: World) -> None:
    await create_page(world, world.alice)
    again = await world.alice.slash(world.general, "stream create")
    assert again.ephemeral and "/stream edit" in again.response.content


async def test_edit_prefills_the_form_and_saves(world: World, services: Services) -> None:
    await create_page(world, world.alice)
    shown = await world.alice.slash(world.general, "stream edit")
    assert shown.modal["title"] == "Edit your stream page"
    done = await world.alice.submit_modal(
        shown, {"stream:title": "Oils tonight", "stream:description": ""}
    )
    assert "updated" in done.response.content
    assert (await services.streams.get_by_owner(world.alice.id)).title == "Oils tonight"


async def test_golive_without_a_page_explains_what_to_do(world: World) -> None:
    result = await world.alice.slash(world.general, "stream golive")
    assert result.ephemeral and "/stream create" in result.response.content
    assert domain_errors(world) == [NotFound]


async def test_golive_announces_in_the_announcement_channel_and_hands_a_private_studio_link(
    world: World, services: Services, livekit: FakeLiveKit
) -> None:
    await world.admin.slash(world.general, "setup announce-channel", channel=world.announcements)
    await create_page(world, world.alice)
    result = await world.alice.slash(world.general, "stream golive")
    assert result.ephemeral and result.response.embeds[0].title.startswith(
        "Your stream is starting"
    )
    [studio] = buttons(result.response)
    assert studio["label"] == "Open my studio" and studio["url"].startswith(
        "http://golive.test/login/"
    )

    stream = await services.streams.get_by_owner(world.alice.id)
    assert stream.room_name in livekit.rooms
    # Media first: nothing is announced until the studio's video arrives.
    assert stream.state == "starting" and posts(world.announcements) == []
    await on_air(world)
    [announcement] = posts(world.announcements)
    assert announcement.embeds[0].author.name == "🔴 Alice is live"
    assert announcement.embeds[0].url == "http://golive.test/live/alice"
    labels = [b.label for row in announcement.components for b in row.children]
    assert labels == ["Watch", "Tip", "Open in browser"]
    assert world.general.history() == []  # announced where configured, not where typed


async def test_golive_in_a_guild_without_setup_announces_where_it_was_typed(world: World) -> None:
    await create_page(world, world.alice)
    result = await world.alice.slash(world.general, "stream golive")
    assert "soon as your video arrives" in result.response.embeds[0].description
    assert posts(world.general) == []  # not before the studio sends video
    await on_air(world)
    [announcement] = posts(world.general)
    assert announcement.embeds[0].title == "Painting live"


async def test_golive_where_the_bot_cannot_post_says_so_at_once(
    world: World, services: Services
) -> None:
    locked = world.guild.create_text_channel(
        "locked", overwrites={world.guild.me: discord.PermissionOverwrite(send_messages=False)}
    )
    await create_page(world, world.alice)
    result = await world.alice.slash(locked, "stream golive")
    [warning] = [f for f in result.response.embeds[0].fields if f.name == "⚠️ Announcement"]
    assert warning.value.startswith(f"I can't post in {locked.mention}")
    await on_air(world)  # the stream itself goes on air all the same
    assert (await services.streams.get_by_owner(world.alice.id)).state == "live"
    assert posts(locked) == []


async def test_end_edits_the_announcement_into_a_summary(
    world: World, services: Services, clock: Any
) -> None:
    await create_page(world, world.alice)
    await world.alice.slash(world.general, "stream golive")
    await on_air(world)
    clock.advance(72 * 60)
    ended = await world.alice.slash(world.general, "stream end")
    assert ended.ephemeral and "1h 12m" in ended.response.content
    [announcement] = posts(world.general)
    assert announcement.embeds[0].description == "Alice was live for **1h 12m**."
    assert [b.label for row in announcement.components for b in row.children] == ["Stream page"]
    assert not (await services.streams.get_by_owner(world.alice.id)).active


async def test_end_when_not_live_says_so(world: World) -> None:
    await create_page(world, world.alice)
    result = await world.alice.slash(world.general, "stream end")
    assert result.ephemeral and result.response.content == "You are not live right now."
    assert domain_errors(world) == [Conflict]


async def test_golive_when_livekit_is_down_fails_clearly_and_announces_nothing(
    world: World, services: Services, livekit: FakeLiveKit
) -> None:
    await create_page(world, world.alice)
    await livekit.down()
    result = await world.alice.slash(world.general, "stream golive")
    assert result.ephemeral and "can't be reached" in result.response.content
    assert domain_errors(world) == [LiveKitUnavailable]
    assert world.general.history() == []
    assert not (await services.streams.get_by_owner(world.alice.id)).active


async def test_info_shows_a_members_page_and_whether_they_are_live(world: World) -> None:
    await create_page(world, world.alice)
    offline = await world.bob.slash(world.general, "stream info", member=world.alice)
    assert not offline.ephemeral
    assert offline.response.embeds[0].fields[0].value == "Offline"
    await world.alice.slash(world.general, "stream golive")
    starting = await world.bob.slash(world.general, "stream info", member=world.alice)
    status = starting.response.embeds[0].fields[0].value
    assert status.startswith("⏳ Starting (waiting for the video)")
    await on_air(world)
    live = await world.bob.slash(world.general, "stream info", member=world.alice)
    assert live.response.embeds[0].fields[0].value.startswith("🔴 Live now")
    nobody = await world.alice.slash(world.general, "stream info", member=world.bob)
    assert "bob has no stream page yet" in nobody.response.content


async def test_studio_link_is_private_and_one_time(world: World, services: Services) -> None:
    await create_page(world, world.alice)
    result = await world.alice.slash(world.general, "stream studio")
    assert result.ephemeral and "works once" in result.response.content
    [button] = buttons(result.response)
    token = button["url"].rsplit("/", 1)[1]
    _, next_path = await services.auth.redeem_login_link(token)
    assert next_path == "/live/alice/studio"
