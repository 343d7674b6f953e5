"""A sharded bot under SimCord (which runs discord.py's AutoShardedBot with the shards given):
a process running shards 0 and 1 of 4 connects those, owns only their guilds, and announces a
stream and copies its chat only there; the guild on shard 2 is left, unclaimed, to the process
that runs it."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from bot.app import GoLiveBot
from core.chat.service import ChatAuthor
from core.config import Settings
from core.services import Services
from core.streams import StreamDraft
from golive import scheduler
from tests.bot.helpers import posts
from tests.fakes.livekit import FakeLiveKit
from tests.studio import send_video


@pytest.fixture
def settings(settings: Settings) -> Settings:
    discord = dataclasses.replace(settings.discord, shard_count=4, shard_ids=(0, 1))
    return dataclasses.replace(settings, discord=discord)


async def test_a_bot_process_announces_only_in_the_guilds_of_its_shards(
    simcord_env: Any, services: Services, livekit: FakeLiveKit
) -> None:
    bot: GoLiveBot = simcord_env.bot
    ours = simcord_env.create_guild(name="Ours", shard_id=1)
    theirs = simcord_env.create_guild(name="Theirs", shard_id=2)
    alice = simcord_env.create_user("alice")
    ours.add_member(alice)
    channels = {}
    for guild in (ours, theirs):
        channels[guild.id] = guild.create_text_channel("announcements")
        await services.guilds.set_announce_channel(guild.id, channels[guild.id].id)
    await simcord_env.settle()

    assert sorted(bot.shards) == [0, 1]
    assert bot.owns_guild(ours.id) and not bot.owns_guild(theirs.id)
    assert {guild.id for guild in bot.guilds} == {ours.id}

    await services.streams.create(
        owner_id=alice.id, username="alice", display_name="Alice", draft=StreamDraft("Painting")
    )
    live = await services.streams.go_live(alice.id)
    await send_video(services, livekit, alice.id)
    await simcord_env.settle()

    assert len(posts(channels[ours.id])) == 1
    assert posts(channels[theirs.id]) == []
    claimed = await services.guilds.announcements(live.session.id)
    assert [announcement.guild_id for announcement in claimed] == [ours.id]

    # A chat thread of the other shard's guild (opened there by its own bot process): page
    # messages are copied into ours only; that one is the other process's to copy into.
    [our_thread] = channels[ours.id].threads
    their_thread_id = (2 << 22) + 777  # any id: this process must not even look it up
    await services.chat.record_thread(
        thread_id=their_thread_id,
        session_id=live.session.id,
        stream_id=live.stream.id,
        guild_id=theirs.id,
        channel_id=channels[theirs.id].id,
    )
    await services.chat.post(live.stream, ChatAuthor(4242, "Web Viewer"), "hello both")
    await services.events.drain()
    await bot.chat_bridge.drain()
    await simcord_env.settle()
    touched = " ".join(f"{r.path} {r.params}" for r in simcord_env.http_requests)
    assert str(our_thread.id) in touched
    assert str(their_thread_id) not in touched


def test_the_discord_jobs_of_a_sharded_process_compete_only_with_its_shards(
    make_bot: Any,
) -> None:
    leases = {job.name: job.lease_name for job in scheduler.discord_jobs(make_bot())}
    assert leases == {
        "viewer-counts": "viewer-counts shards 0,1/4",
        "catch-up": "catch-up shards 0,1/4",
        "remind-passes": "remind-passes",  # DMs: one bot process of the cluster sends them
    }
