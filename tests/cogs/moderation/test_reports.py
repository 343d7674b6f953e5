"""/report and the buttons under a report in the mod-log channel, as members and moderators use
them, through SimCord."""

from __future__ import annotations

from typing import Any

import pytest

from core.kernel.errors import Conflict
from core.services import Services
from tests.bot.helpers import (
    alice_live,
    buttons,
    domain_errors,
    set_mod_log,
)
from tests.conftest import World


async def test_report_without_a_mod_log_channel_says_so(world: World, services: Services) -> None:
    result = await world.bob.slash(
        world.general, "report", member=world.alice.user, reason="rude in chat"
    )
    assert result.ephemeral and "/setup mod-log" in result.response.content
    assert domain_errors(world) == [Conflict]


async def test_a_report_lands_in_the_mod_log_with_buttons_that_survive_a_restart(
    world: World, services: Services, make_bot: Any
) -> None:
    mod_log = await set_mod_log(world)
    result = await world.bob.slash(
        world.general, "report", member=world.alice.user, reason="rude in chat"
    )
    assert result.ephemeral and "moderators have your report" in result.response.content
    report_message = mod_log.last_message
    assert report_message.embeds[0].title == "Report #1"
    assert report_message.embeds[0].description == "rude in chat"
    assert [b["custom_id"] for b in buttons(report_message)] == [
        "golive:report:dismiss:1",
        "golive:report:end:1",
        "golive:report:ban:1",
    ]

    await world.env.restart_bot(make_bot())
    refused = await world.bob.click(report_message, custom_id="golive:report:dismiss:1")
    assert refused.ephemeral and "Only moderators" in refused.response.content
    assert (await services.moderation.get_report(1)).status == "open"

    done = await world.admin.click(report_message, custom_id="golive:report:dismiss:1")
    assert done.ephemeral and "dismissed" in done.response.content
    handled = mod_log.history()[-1]
    assert handled.components == []
    assert "Dismissed by" in handled.embeds[0].fields[-1].value
    assert (await services.moderation.get_report(1)).status == "dismissed"


async def test_report_buttons_ban_and_end_streams(world: World, services: Services) -> None:
    mod_log = await set_mod_log(world)
    await alice_live(world, services)
    await world.bob.slash(world.general, "report", member=world.alice.user, reason="bad stream")
    first = mod_log.last_message
    await world.admin.click(first, custom_id="golive:report:end:1")
    assert not (await services.streams.get_by_owner(world.alice.id)).active

    await world.alice.slash(world.general, "report", member=world.bob.user, reason="spam")
    second = mod_log.last_message
    await world.admin.click(second, custom_id="golive:report:ban:2")
    [ban] = await services.moderation.active_sanctions(world.bob.id)
    assert (ban.kind, ban.scope, ban.expires_at) == ("ban", "both", None)
    actions = [a.action for a in await services.moderation.audit_log()]
    assert actions[:2] == ["report:banned", "ban:both"]


async def test_a_member_cannot_report_themselves(world: World) -> None:
    await set_mod_log(world)
    result = await world.bob.slash(world.general, "report", member=world.bob.user, reason="me")
    assert "can't report yourself" in result.response.content
    assert [e.__name__ for e in domain_errors(world)] == ["InvalidInput"]


@pytest.mark.parametrize("action", ["dismiss", "end", "ban"])
async def test_report_buttons_refuse_members_who_dont_moderate(
    world: World, services: Services, action: str
) -> None:
    mod_log = await set_mod_log(world)
    stream = await alice_live(world, services)
    await world.bob.slash(world.general, "report", member=world.alice.user, reason="rude")
    refused = await world.bob.click(mod_log.last_message, custom_id=f"golive:report:{action}:1")
    assert refused.ephemeral and "Only moderators" in refused.response.content
    assert (await services.moderation.get_report(1)).status == "open"
    assert (await services.streams.get_by_owner(world.alice.id)).active == stream.active
    assert await services.moderation.active_sanctions(world.alice.id) == []
    assert buttons(mod_log.last_message)  # still there for a moderator
