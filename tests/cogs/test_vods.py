"""/vods as members use it: recorded streams with their length and their page on golive, failures
for the owner, and /vods delete (the owner's own, a moderator's anyone's, refused for others)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from core.accounts.auth import Identity
from core.kernel.clock import ManualClock
from core.live import Recording
from core.services import Services
from tests.bot.helpers import (
    FILE_CONFIG,
    buttons,
    create_page,
    domain_errors,
    finish_recording,
    speaks,
)
from tests.conftest import World
from tests.core.live.recorded import record_stream, record_to
from tests.fakes.livekit import FakeLiveKit


async def test_recorded_streams_are_listed_in_vods(
    world: World, services: Services, livekit: FakeLiveKit
) -> None:
    services.recording.config = FILE_CONFIG
    await create_page(world, world.alice)
    on = await world.alice.slash(world.general, "stream record", enabled=True)
    assert on.ephemeral and "Recording is **on**" in on.response.content
    await world.alice.slash(world.general, "stream golive")
    assert len(livekit.egresses) == 1
    await world.alice.slash(world.general, "stream end")
    await finish_recording(services, livekit, seconds=72 * 60)

    listed = await world.bob.slash(world.general, "vods list", member=world.alice)
    assert not listed.ephemeral
    embed = listed.response.embeds[0]
    assert embed.title == "Past streams of Alice"
    assert "**1h 12m**" in embed.description
    # Each opens its page on golive: the video with its chat beside it.
    [vod] = await services.recording.list_vods((await page_of(services, world.alice)).id)
    assert f"[Watch with chat](http://golive.test/live/alice/vods/{vod.id})" in embed.description

    off = await world.alice.slash(world.general, "stream record", enabled=False)
    assert "Recording is **off**" in off.response.content
    await world.alice.slash(world.general, "stream golive")
    assert len(livekit.egresses) == 1  # the second stream was not recorded


async def test_vods_of_a_member_without_a_page(world: World) -> None:
    result = await world.bob.slash(world.general, "vods list", member=world.alice)
    assert result.response.content == "Alice has no stream page yet."


async def page_of(services: Services, member: Any) -> Any:
    return await services.streams.get_by_owner(member.id)


async def alices_recording(
    world: World, services: Services, livekit: FakeLiveKit, clock: ManualClock, folder: Path
) -> Recording:
    record_to(services, folder)
    alice = Identity(user_id=world.alice.id, username="alice", display_name="Alice")
    return await record_stream(services, livekit, clock, [], who=alice, seconds=25 * 60)


async def listed(services: Services, vod: Recording) -> list[int]:
    return [v.id for v in await services.recording.list_vods(vod.stream_id)]


async def test_the_owner_picks_a_recording_and_deletes_it_after_confirming(
    world: World, services: Services, livekit: FakeLiveKit, clock: ManualClock, tmp_path: Path
) -> None:
    vod = await alices_recording(world, services, livekit, clock, tmp_path)
    path = services.recording.local_file(vod)

    [choice] = await world.alice.autocomplete(world.general, "vods delete", "recording", "")
    assert choice["value"] == vod.id and "25m" in choice["name"]
    assert await world.alice.autocomplete(world.general, "vods delete", "recording", "1999") == []

    asked = await world.alice.slash(world.general, "vods delete", recording=vod.id)
    assert asked.ephemeral
    assert "Delete the recording of **Alice**'s stream" in asked.response.content
    assert [(b["label"], b["custom_id"]) for b in buttons(asked.response)] == [
        ("Delete", f"golive:vod-delete:{vod.id}"),
        ("Keep it", f"golive:vod-keep:{vod.id}"),
    ]
    assert await listed(services, vod) == [vod.id]  # nothing happens before the click

    done = await world.alice.click(asked.response, custom_id=f"golive:vod-delete:{vod.id}")
    assert done.response.ephemeral and "Deleted the recording of" in done.response.content
    assert done.response.components == []
    assert await listed(services, vod) == []
    assert path is not None and not path.exists()
    assert await services.moderation.audit_log() == []


async def test_keep_it_deletes_nothing(
    world: World, services: Services, livekit: FakeLiveKit, clock: ManualClock, tmp_path: Path
) -> None:
    vod = await alices_recording(world, services, livekit, clock, tmp_path)
    asked = await world.alice.slash(world.general, "vods delete", recording=vod.id)
    kept = await world.alice.click(asked.response, custom_id=f"golive:vod-keep:{vod.id}")
    assert "nothing was deleted" in kept.response.content and kept.response.components == []
    assert await listed(services, vod) == [vod.id]


async def test_a_moderator_deletes_a_members_recording_into_the_audit_log(
    world: World, services: Services, livekit: FakeLiveKit, clock: ManualClock, tmp_path: Path
) -> None:
    vod = await alices_recording(world, services, livekit, clock, tmp_path)
    # The moderator names whose recordings to pick from.
    [choice] = await world.admin.autocomplete(
        world.general, "vods delete", "recording", "", member=world.alice
    )
    assert choice["value"] == vod.id

    asked = await world.admin.slash(
        world.general, "vods delete", recording=vod.id, member=world.alice
    )
    assert asked.ephemeral
    done = await world.admin.click(asked.response, custom_id=f"golive:vod-delete:{vod.id}")
    assert "Deleted the recording" in done.response.content
    assert await listed(services, vod) == []
    [action] = await services.moderation.audit_log()
    assert (action.action, action.moderator_id, action.target_id) == (
        "delete_recording",
        world.admin.id,
        world.alice.id,
    )


async def test_a_member_can_not_delete_someone_elses_recording(
    world: World, services: Services, livekit: FakeLiveKit, clock: ManualClock, tmp_path: Path
) -> None:
    vod = await alices_recording(world, services, livekit, clock, tmp_path)
    refused = await world.bob.slash(world.general, "vods delete", recording=vod.id)
    assert refused.ephemeral
    assert "Only the streamer and moderators" in refused.response.content
    assert refused.response.components == []

    assert await listed(services, vod) == [vod.id]


async def test_the_button_checks_again_who_presses_it(
    world: World, services: Services, livekit: FakeLiveKit, clock: ManualClock, tmp_path: Path
) -> None:
    """A moderator by the guild's moderator role asks, then the role stops counting: pressing
    Delete afterwards is refused."""
    vod = await alices_recording(world, services, livekit, clock, tmp_path)
    helpers = world.guild.create_role("Helpers")
    carol = world.guild.add_member(world.env.create_user("carol"), roles=[helpers])
    await services.moderation.set_moderator_role(world.guild.id, helpers.id)
    asked = await carol.slash(world.general, "vods delete", recording=vod.id, member=world.alice)
    delete, _keep = buttons(asked.response)
    assert delete["custom_id"] == f"golive:vod-delete:{vod.id}"

    await services.moderation.set_moderator_role(world.guild.id, None)
    pressed = await carol.click(asked.response, custom_id=f"golive:vod-delete:{vod.id}")
    assert pressed.ephemeral and "Only the streamer and moderators" in pressed.response.content
    assert await listed(services, vod) == [vod.id]
    assert await services.moderation.audit_log() == []


async def test_the_buttons_work_after_a_restart(
    world: World,
    services: Services,
    livekit: FakeLiveKit,
    clock: ManualClock,
    tmp_path: Path,
    make_bot: Any,
) -> None:
    vod = await alices_recording(world, services, livekit, clock, tmp_path)
    asked = await world.alice.slash(world.general, "vods delete", recording=vod.id)
    await world.env.restart_bot(make_bot())
    done = await world.alice.click(asked.response, custom_id=f"golive:vod-delete:{vod.id}")
    assert "Deleted the recording" in done.response.content
    assert await listed(services, vod) == []


async def test_a_recording_that_is_gone_is_explained(
    world: World, services: Services, livekit: FakeLiveKit, clock: ManualClock, tmp_path: Path
) -> None:
    vod = await alices_recording(world, services, livekit, clock, tmp_path)
    asked = await world.alice.slash(world.general, "vods delete", recording=vod.id)
    await services.recording.delete_vod(vod.id, by_user_id=world.alice.id, as_moderator=False)

    late = await world.alice.click(asked.response, custom_id=f"golive:vod-delete:{vod.id}")
    assert late.ephemeral and "does not exist" in late.response.content
    unknown = await world.alice.slash(world.general, "vods delete", recording=vod.id + 100)
    assert unknown.ephemeral and "does not exist" in unknown.response.content
    # The command's error goes through the tree (the button answers its own).
    assert [e.__name__ for e in domain_errors(world)] == ["NotFound"]


async def test_vods_delete_speaks_the_members_language(
    world: World,
    services: Services,
    livekit: FakeLiveKit,
    clock: ManualClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    vod = await alices_recording(world, services, livekit, clock, tmp_path)
    speaks(monkeypatch, world.alice, "de")
    [choice] = await world.alice.autocomplete(world.general, "vods delete", "recording", "")
    assert "25 Min." in choice["name"]
    asked = await world.alice.slash(world.general, "vods delete", recording=vod.id)
    assert "Aufnahme" in asked.response.content
    assert [b["label"] for b in buttons(asked.response)] == ["Löschen", "Behalten"]
    done = await world.alice.click(asked.response, custom_id=f"golive:vod-delete:{vod.id}")
    assert "gelöscht" in done.response.content
