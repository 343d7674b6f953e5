"""/stream obs, /stream record and /stream health as members use them (SimCord + the LiveKit double)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from livekit.protocol import ingress as lk_ingress

from core.kernel.errors import Conflict, LiveKitUnavailable, NotFound
from core.live.ingress import obs_identity
from core.services import Services
from tests.bot.helpers import (
    FILE_CONFIG,
    create_page,
    dms,
    domain_errors,
    fields,
    only_ingress,
)
from tests.conftest import World
from tests.fakes.livekit import FakeLiveKit


async def test_obs_shows_server_and_key_only_to_the_streamer(
    world: World, livekit: FakeLiveKit
) -> None:
    await create_page(world, world.alice)
    result = await world.alice.slash(world.general, "stream obs")
    assert result.ephemeral
    embed = result.response.embeds[0]
    assert embed.title == "Your new OBS settings (RTMP)"
    assert "Custom…" in embed.description and "Start Streaming" in embed.description
    key = only_ingress(livekit).stream_key
    shown = fields(result.response)
    assert shown["Server"] == f"```\n{livekit.rtmp_base_url}\n```"
    assert shown["Stream Key"] == f"```\n{key}\n```"  # a code block: one tap to copy
    assert world.general.history(viewer=world.bob) == []

    again = await world.alice.slash(world.general, "stream obs")
    assert again.response.embeds[0].title == "Your OBS settings (RTMP)"
    assert fields(again.response)["Stream Key"] == f"```\n{key}\n```"
    assert len(livekit.ingresses) == 1


async def test_obs_reset_rotates_the_key(world: World, livekit: FakeLiveKit) -> None:
    await create_page(world, world.alice)
    await world.alice.slash(world.general, "stream obs")
    old_key = only_ingress(livekit).stream_key
    reset = await world.alice.slash(world.general, "stream obs", action="reset")
    new_key = only_ingress(livekit).stream_key
    assert new_key != old_key
    assert fields(reset.response)["Stream Key"] == f"```\n{new_key}\n```"
    assert "no longer works" in fields(reset.response)["New key"]


async def test_obs_with_whip_gives_a_bearer_token(world: World, livekit: FakeLiveKit) -> None:
    await create_page(world, world.alice)
    result = await world.alice.slash(world.general, "stream obs", protocol="whip")
    assert result.response.embeds[0].title.endswith("(WHIP)")
    assert "WHIP" in result.response.embeds[0].description
    assert (
        fields(result.response)["Bearer Token"] == f"```\n{only_ingress(livekit).stream_key}\n```"
    )


async def test_obs_without_a_page_explains_what_to_do(world: World) -> None:
    result = await world.alice.slash(world.general, "stream obs")
    assert result.ephemeral and "/stream create" in result.response.content
    assert domain_errors(world) == [NotFound]


async def test_obs_on_a_livekit_without_ingress_explains_it(
    world: World, livekit: FakeLiveKit
) -> None:
    await create_page(world, world.alice)
    livekit.fail_next("CreateIngress", code="unavailable")
    result = await world.alice.slash(world.general, "stream obs")
    assert result.ephemeral and "livekit-ingress" in result.response.content
    assert domain_errors(world) == [LiveKitUnavailable]


async def test_obs_starting_goes_live_and_announces_without_the_studio(
    world: World, services: Services, livekit: FakeLiveKit
) -> None:
    await world.admin.slash(world.general, "setup announce-channel", channel=world.announcements)
    await create_page(world, world.alice)
    await world.alice.slash(world.general, "stream obs")
    info = only_ingress(livekit)
    livekit.set_ingress_status(info.ingress_id, lk_ingress.IngressState.Status.ENDPOINT_PUBLISHING)
    livekit.add_participant(info.room_name, obs_identity(world.alice.id), kind="ingress")
    assert await services.webhooks.receive(livekit.event("ingress_started", ingress_info=info))
    await services.events.drain()  # the announcement is a background reaction
    await world.env.settle()
    stream = await services.streams.get_by_owner(world.alice.id)
    assert stream.active and stream.room_name == info.room_name
    # Nobody typed a command: the go-live is announced where the guild announces.
    [announcement] = [m for m in world.announcements.history() if m.embeds]
    assert announcement.embeds[0].title == "Painting live"
    shown = await world.alice.slash(world.general, "stream obs")
    assert fields(shown.response)["Status"] == "🟢 OBS is sending right now."


async def test_obs_that_cannot_go_live_tells_the_streamer_by_dm(
    world: World, services: Services, livekit: FakeLiveKit
) -> None:
    await create_page(world, world.alice)
    await world.alice.slash(world.general, "stream obs")
    await services.moderation.ban(
        moderator_id=world.admin.id,
        user_id=world.alice.id,
        scope="streaming",
        duration=timedelta(hours=1),
    )
    info = only_ingress(livekit)
    livekit.set_ingress_status(info.ingress_id, lk_ingress.IngressState.Status.ENDPOINT_PUBLISHING)
    assert await services.webhooks.receive(livekit.event("ingress_started", ingress_info=info))
    await services.events.drain()
    await world.env.settle()
    dms = [m for m in world.alice.user.dm_channel.history() if "OBS connected" in m.content]
    assert dms and "couldn't take your stream live" in dms[-1].content
    shown = await world.alice.slash(world.general, "stream obs")
    assert "couldn't take you live" in fields(shown.response)["⚠️ Last time OBS connected"]


async def test_record_on_where_recording_is_not_set_up_is_explained(world: World) -> None:
    await create_page(world, world.alice)
    result = await world.alice.slash(world.general, "stream record", enabled=True)
    assert result.ephemeral and "isn't set up" in result.response.content
    assert domain_errors(world) == [Conflict]


async def test_record_on_while_live_starts_now(
    world: World, services: Services, livekit: FakeLiveKit
) -> None:
    services.recording.config = FILE_CONFIG
    await create_page(world, world.alice)
    await world.alice.slash(world.general, "stream golive")
    on = await world.alice.slash(world.general, "stream record", enabled=True)
    assert "being recorded now" in on.response.content
    assert len(livekit.egresses) == 1


async def test_a_refused_recording_is_explained_by_dm_and_in_vods(
    world: World, services: Services, livekit: FakeLiveKit
) -> None:
    services.recording.config = replace(FILE_CONFIG, record_all=True)
    await create_page(world, world.alice)
    livekit.fail_next("StartRoomCompositeEgress", code="unavailable")
    result = await world.alice.slash(world.general, "stream golive")
    assert result.response.embeds[0].title.startswith("Your stream is starting")
    # The recording starts after the reply (it waits for no egress): its refusal comes by DM.
    await services.events.drain()
    await world.env.settle()
    [told] = dms(world.alice)
    assert "not being recorded" in told.content and "livekit-egress" in told.content

    mine = await world.alice.slash(world.general, "vods list")
    assert mine.ephemeral  # failures are the streamer's business
    [failure] = mine.response.embeds[0].fields
    assert failure.name.startswith("⚠️ Not recorded") and "livekit-egress" in failure.value
    theirs = await world.bob.slash(world.general, "vods list", member=world.alice)
    assert theirs.response.embeds[0].fields == []
    assert theirs.response.embeds[0].description == "No recorded streams yet."


async def test_health_shows_a_moderator_what_livekit_reports(
    world: World, services: Services, livekit: FakeLiveKit
) -> None:
    await create_page(world, world.alice)
    await world.alice.slash(world.general, "stream obs")
    await world.alice.slash(world.general, "stream golive")
    info = only_ingress(livekit)
    livekit.set_ingress_status(info.ingress_id, lk_ingress.IngressState.Status.ENDPOINT_BUFFERING)
    info.state.video.CopyFrom(
        lk_ingress.InputVideoState(width=1280, height=720, framerate=12, average_bitrate=1_200_000)
    )
    livekit.add_participant(info.room_name, obs_identity(world.alice.id), kind="ingress")
    livekit.publish_track(info.room_name, obs_identity(world.alice.id))

    result = await world.admin.slash(world.general, "stream health", member=world.alice)
    assert result.ephemeral
    embed = result.response.embeds[0]
    assert embed.title == "🟠 The streamer's connection is poor · Alice"
    shown = fields(result.response)
    assert shown["From"] == "OBS (ingress)"
    assert shown["Video"] == "1280x720 · 12 fps · 1.2 Mbps"
    assert "buffering" in shown["Why"] and "12 frames per second" in shown["Why"]


async def test_health_of_a_stream_that_is_not_live(world: World) -> None:
    await create_page(world, world.alice)
    offline = await world.bob.slash(world.general, "stream health", member=world.alice)
    assert offline.response.embeds[0].title == "⚪ Not live · Alice"
    nobody = await world.alice.slash(world.general, "stream health", member=world.bob)
    assert "bob has no stream page" in nobody.response.content
    assert domain_errors(world) == [NotFound]


async def test_ending_while_obs_still_sends_says_to_stop_obs(
    world: World, services: Services, livekit: FakeLiveKit
) -> None:
    await create_page(world, world.alice)
    await world.alice.slash(world.general, "stream obs")
    info = only_ingress(livekit)
    livekit.set_ingress_status(info.ingress_id, lk_ingress.IngressState.Status.ENDPOINT_PUBLISHING)
    assert await services.webhooks.receive(livekit.event("ingress_started", ingress_info=info))
    await world.env.settle()
    ended = await world.alice.slash(world.general, "stream end")
    assert "stop streaming in OBS too" in ended.response.content


async def test_ending_a_browser_stream_says_nothing_about_obs(world: World) -> None:
    await create_page(world, world.alice)
    await world.alice.slash(world.general, "stream golive")
    ended = await world.alice.slash(world.general, "stream end")
    assert "OBS" not in ended.response.content
