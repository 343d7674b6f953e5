"""The command tree as a member meets it in Discord's picker: one naming scheme, moderator tools
only for moderators, numbers that say what they are, and private answers that concern one caller."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import discord

from core.kernel.errors import NotFound
from core.services import Services
from tests.bot.helpers import domain_errors, fund, page_for
from tests.conftest import World

PERSON_NAMES = {"member"}  # the one name for "which person"
MODERATOR_GROUPS = {
    "mod": discord.Permissions(moderate_members=True),
    "credits": discord.Permissions(manage_guild=True),
    "setup": discord.Permissions(manage_guild=True),
}


def _synced(world: World) -> list[dict[str, Any]]:
    return list(world.env.backend.commands.get(None, {}).values())


def _leaves(command: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    name = f"{path} {command['name']}".strip()
    children = [o for o in command.get("options") or [] if o["type"] in (1, 2)]
    if not children:
        yield name, command
    for child in children:
        yield from _leaves(child, name)


def _options(world: World) -> Iterator[tuple[str, dict[str, Any]]]:
    for command in _synced(world):
        for name, leaf in _leaves(command):
            for option in leaf.get("options") or []:
                yield name, option


async def test_every_command_and_option_has_a_description(world: World) -> None:
    for command in _synced(world):
        for name, leaf in _leaves(command):
            assert leaf.get("description", "").strip() not in ("", "…"), name
    for name, option in _options(world):
        assert option["description"].strip() not in ("", "…"), (name, option["name"])


async def test_a_person_is_always_called_member(world: World) -> None:
    person_options = {
        (name, option["name"])
        for name, option in _options(world)
        if option["type"] == discord.AppCommandOptionType.user.value
    }
    assert person_options
    # /stream invite names two people: the guest (member) and whose stage it is (streamer).
    odd = {(c, o) for c, o in person_options if o not in PERSON_NAMES} - {
        ("stream invite", "streamer")
    }
    assert odd == set()
    assert ("stream search", "member") in {(c, o["name"]) for c, o in _options(world)}


async def test_on_and_off_are_booleans(world: World) -> None:
    kinds = {(c, o["name"]): o["type"] for c, o in _options(world)}
    boolean = discord.AppCommandOptionType.boolean.value
    assert kinds[("stream record", "enabled")] == boolean
    assert kinds[("notifications", "dms")] == boolean
    assert kinds[("stream search", "include_offline")] == boolean
    for (command, name), _kind in kinds.items():
        choices = next(
            (o.get("choices") for c, o in _options(world) if (c, o["name"]) == (command, name)),
            None,
        )
        values = {str(choice["value"]) for choice in choices or []}
        assert values != {"on", "off"}, (command, name)


async def test_moderator_and_admin_groups_have_default_permissions(world: World) -> None:
    by_name = {command["name"]: command for command in _synced(world)}
    for group, needed in MODERATOR_GROUPS.items():
        assert int(by_name[group]["default_member_permissions"]) == needed.value, group
    for name, command in by_name.items():
        if name not in MODERATOR_GROUPS:
            assert command.get("default_member_permissions") is None, name
    visible = world.bob.available_commands(world.general)
    assert not [c for c in visible if c.split()[0] in MODERATOR_GROUPS]
    assert "tip" in visible and "stream create" in visible


async def test_refund_tip_and_payout_numbers_come_with_what_they_are(
    world: World, services: Services
) -> None:
    await page_for(services, world.alice, "Alice")
    await page_for(services, world.bob, "Bob")
    await fund(services, world.bob, 2500)
    await world.bob.slash(world.general, "tip", member=world.alice, amount=30)
    await world.bob.slash(world.general, "wallet payout", amount=1000)

    tips = await world.admin.autocomplete(world.general, "credits refund-tip", "tip", "")
    assert tips == [{"name": "#1 · 30 credits · bob → Alice", "value": 1}]
    by_name = await world.admin.autocomplete(world.general, "credits refund-tip", "tip", "ali")
    assert [c["value"] for c in by_name] == [1]
    nothing = await world.admin.autocomplete(world.general, "credits refund-tip", "tip", "9")
    assert nothing == []

    payouts = await world.admin.autocomplete(world.general, "credits payout-paid", "request", "#1")
    assert payouts == [{"name": "#1 · 1,000 credits to bob", "value": 1}]
    rejects = await world.admin.autocomplete(
        world.general, "credits payout-reject", "request", "bob"
    )
    assert [c["value"] for c in rejects] == [1]


async def test_answers_that_only_concern_the_caller_are_private(
    world: World, services: Services
) -> None:
    stats = await world.bob.slash(world.general, "stats member")
    assert stats.ephemeral and "You have no stream page yet" in stats.response.content
    info = await world.bob.slash(world.general, "stream info")
    assert info.ephemeral and "You have no stream page yet" in info.response.content
    about_alice = await world.bob.slash(world.general, "stream info", member=world.alice)
    assert about_alice.ephemeral
    empty_board = await world.bob.slash(world.general, "tips top")
    assert empty_board.ephemeral
    nobody = await world.bob.slash(world.general, "stats top")
    assert nobody.ephemeral
    no_stage = await world.bob.slash(world.general, "stream stage")
    assert no_stage.ephemeral and "has no stream page" in no_stage.response.content
    assert domain_errors(world) == [NotFound]


async def test_answers_worth_sharing_stay_in_the_channel(world: World, services: Services) -> None:
    await page_for(services, world.alice, "Alice")
    await fund(services, world.bob, 100)
    await world.bob.slash(world.general, "tip", member=world.alice, amount=10)
    info = await world.bob.slash(world.general, "stream info", member=world.alice)
    board = await world.bob.slash(world.general, "tips top")
    stats = await world.bob.slash(world.general, "stats member", member=world.alice)
    assert not info.ephemeral and not board.ephemeral and not stats.ephemeral
