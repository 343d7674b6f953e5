"""What Discord tests share: a member's first steps through the commands, reading what the bot posted,
and the LiveKit events a stream's viewers cause."""

from __future__ import annotations

from typing import Any

import discord
from livekit.protocol import egress as lk_egress
from livekit.protocol import ingress as lk_ingress

from core.services import Services
from core.streams import Stream, StreamDraft
from golive import scheduler
from tests.conftest import FILE_RECORDING, World
from tests.fakes.livekit import FakeLiveKit
from tests.studio import send_video


def buttons(message: Any) -> list[dict[str, Any]]:
    return (
        [c for row in message.components for c in row["components"]]
        if isinstance(message.components[0], dict)
        else [c.to_dict() for row in message.components for c in row.children]
    )


def posts(channel: Any) -> list[Any]:
    """A channel's messages without "started a thread" notices (each announcement opens a chat
    thread; SimCord adds such a notice to the parent channel)."""
    return [m for m in channel.history() if m.type is not discord.MessageType.thread_created]


def domain_errors(world: World) -> list[type[BaseException]]:
    """The domain errors the bot explained to members (reading them tells SimCord they were expected)."""
    return [type(getattr(error, "original", error)) for error in world.env.errors]


async def create_page(world: World, member: Any, title: str = "Painting live") -> None:
    shown = await member.slash(world.general, "stream create")
    assert shown.modal is not None
    done = await member.submit_modal(
        shown, {"stream:title": title, "stream:description": "Watercolours"}
    )
    assert done.ephemeral


async def go_live(world: World) -> None:
    """Alice goes live and her studio sends video: she is on air (announced)."""
    await create_page(world, world.alice)
    await world.alice.slash(world.general, "stream golive")
    await on_air(world)


async def on_air(world: World, member: Any = None) -> None:
    """The member's (Alice's) studio sends its first video: announcements and DMs follow."""
    await send_video(world.env.bot.services, world.livekit, (member or world.alice).id)
    await world.env.settle()


async def end_stream(world: World, member: Any = None) -> None:
    """The member (Alice) ends her stream; its summary and other effects run to the end."""
    await (member or world.alice).slash(world.general, "stream end")
    await run_effects(world)


async def run_effects(world: World) -> None:
    """Every delivery due runs to the end. SimCord's settle alone waits only for work begun in
    the bot; a delivery pass begun by a test's direct service call (a tip) may carry later
    events too."""
    await world.env.bot.services.events.drain()
    await world.env.settle()


async def setup_announcements(world: World) -> None:
    await world.admin.slash(world.general, "setup announce-channel", channel=world.announcements)


async def room_of(services: Services, world: World) -> str:
    stream = await services.streams.get_by_owner(world.alice.id)
    assert stream.room_name is not None
    return stream.room_name


async def joins(services: Services, livekit: FakeLiveKit, room: str, identity: str) -> None:
    livekit.add_participant(room, identity)
    await services.webhooks.receive(livekit.event("participant_joined", room, identity))


async def leaves(services: Services, livekit: FakeLiveKit, room: str, identity: str) -> None:
    info = livekit.remove_participant_directly(room, identity)
    await services.webhooks.receive(livekit.event("participant_left", room, participant=info))


async def tick(world: World) -> None:
    """One turn of every scheduler job, as a running `golive run` would do."""
    bot = world.env.bot
    await scheduler.run_once(scheduler.core_jobs(bot.services) + scheduler.discord_jobs(bot))
    await bot.services.events.drain()
    await world.env.settle()


def posted_alerts(world: World) -> list[discord.Message]:
    """The go-live announcements in the announcement channel (other features post there too)."""
    return [
        message
        for message in world.announcements.history()
        if message.embeds
        and (message.embeds[0].author.name or "").endswith(("is live", "was live"))
    ]


def member_roles(world: World, member: Any) -> list[int]:
    return list(world.env.backend.guilds[world.guild.id].members[member.id].role_ids)


async def page_for(services: Services, member: Any, name: str) -> None:
    await services.streams.create(
        owner_id=member.id, username=member.name, display_name=name, draft=StreamDraft("Show")
    )


async def fund(services: Services, member: Any, amount: int) -> None:
    await services.ledger.grant(
        member.id, amount, moderator_id=1, reason="test", key=f"fund-{member.id}-{amount}"
    )


def dms(member: Any) -> list[Any]:
    return member.user.dm_channel.history()


async def alice_live(world: World, services: Services) -> Stream:
    await create_page(world, world.alice)
    await world.alice.slash(world.general, "stream golive")
    await on_air(world)
    return await services.streams.get_by_owner(world.alice.id)


async def set_mod_log(world: World) -> Any:
    mod_log = world.guild.create_text_channel("mod-log")
    result = await world.admin.slash(world.general, "setup mod-log", channel=mod_log)
    assert mod_log.mention in result.response.content
    return mod_log


FILE_CONFIG = FILE_RECORDING


def fields(message: Any) -> dict[str, str]:
    return {field.name: field.value for field in message.embeds[0].fields}


def only_ingress(livekit: FakeLiveKit) -> lk_ingress.IngressInfo:
    [info] = livekit.ingresses.values()
    return info


async def finish_recording(services: Services, livekit: FakeLiveKit, seconds: int) -> None:
    [info] = [e for e in livekit.egresses.values() if not e.file_results]
    livekit.set_egress_status(info.egress_id, lk_egress.EgressStatus.EGRESS_COMPLETE)
    path = info.room_composite.file_outputs[0].filepath
    info.file_results.append(
        lk_egress.FileInfo(filename=path, duration=seconds * 1_000_000_000, location=path)
    )
    assert await services.webhooks.receive(livekit.event("egress_ended", egress_info=info))


def grant_command(world: World, name: str, target: Any) -> None:
    """What a server admin does under Server Settings → Integrations: allow a command to a role or
    member who lacks its default permissions."""
    command = world.env.backend.find_command(name, world.guild.id)
    assert command is not None, name
    world.guild.set_command_permissions(int(command["id"]), {target: True})


def speaks(monkeypatch: Any, member: Any, locale: str) -> None:
    """Make `member`'s Discord app send `locale` with each interaction, as a German or Brazilian
    client does (SimCord itself sends every interaction as en-US)."""
    from simcord import actors

    build = actors._interactions.base_payload

    def with_locale(*args: Any, **kwargs: Any) -> Any:
        record, payload = build(*args, **kwargs)
        if kwargs.get("user_id") == member.id:
            payload["locale"] = locale
        return record, payload

    monkeypatch.setattr(actors._interactions, "base_payload", with_locale)
