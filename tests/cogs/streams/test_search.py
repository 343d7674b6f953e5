"""/stream search and the city option of /stream create and /stream edit, as members use them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.app import GoLiveBot
from cogs.streams._search import NOT_YOURS
from core.kernel.errors import InvalidInput
from core.services import Services
from core.streams import StreamDraft
from tests.bot.helpers import domain_errors
from tests.conftest import World
from tests.fakes.livekit import FakeLiveKit
from tests.studio import go_live_with_video

LISBON = (38.71667, -9.13333)
MADRID = (40.4165, -3.70256)


def components(message: Any) -> list[dict[str, Any]]:
    if message.components and isinstance(message.components[0], dict):
        return [c for row in message.components for c in row["components"]]
    return [c.to_dict() for row in message.components for c in row.children]


def page_button(message: Any, emoji: str) -> dict[str, Any]:
    [button] = [c for c in components(message) if (c.get("emoji") or {}).get("name") == emoji]
    return button


async def live_stream(
    services: Services,
    livekit: FakeLiveKit,
    owner_id: int,
    username: str,
    place: tuple[float, float] | None = None,
    location: str | None = None,
) -> None:
    latitude, longitude = place or (None, None)
    await services.streams.create(
        owner_id=owner_id,
        username=username,
        display_name=username.title(),
        draft=StreamDraft(
            f"{username.title()} paints",
            location_name=location,
            latitude=latitude,
            longitude=longitude,
        ),
    )
    await go_live_with_video(services, livekit, owner_id)


async def lisbon_id(services: Services) -> str:
    return str((await services.places.resolve("Lisbon")).id)


async def test_search_by_name_lists_live_streams_with_watch_buttons(
    world: World, services: Services
) -> None:
    await live_stream(services, world.livekit, 11, "alice")
    await live_stream(services, world.livekit, 12, "alicia")
    await live_stream(services, world.livekit, 13, "bob")

    result = await world.bob.slash(world.general, "stream search", member="ali")

    assert not result.ephemeral  # results are for the channel: anyone can press Watch
    [embed] = result.response.embeds
    assert embed.title == "Live streams matching “ali”"
    lines = embed.description.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("**1. [Alice paints]") and "🔴 live" in lines[0]
    assert lines[1].startswith("**2. [Alicia paints]")
    assert embed.footer.text == "Page 1 of 1 · 2 streams"
    labels = [c.get("label") for c in components(result.response)]
    assert labels == ["1. Alice", "2. Alicia"]  # one page: no ◀ ▶
    watched = await world.admin.click(result.response, label="2. Alicia")
    assert watched.ephemeral and "**Alicia** is live now" in watched.response.content


async def test_search_near_a_city_lists_nearest_first_with_distances(
    world: World, services: Services
) -> None:
    await live_stream(services, world.livekit, 11, "madrid", MADRID, "Madrid, Spain")
    lisbon = await services.places.resolve("Lisbon")
    await live_stream(
        services, world.livekit, 12, "lisboeta", (lisbon.latitude, lisbon.longitude), lisbon.label
    )
    await live_stream(services, world.livekit, 13, "unplaced")

    result = await world.alice.slash(world.general, "stream search", near=await lisbon_id(services))

    [embed] = result.response.embeds
    assert embed.title == "Live streams near Lisbon, Portugal"
    first, second = embed.description.splitlines()
    assert "Lisboeta" in first and "Lisbon, Portugal · 0.0 km" in first
    assert "Madrid" in second and "Madrid, Spain · 503 km" in second


async def test_autocomplete_suggests_cities_and_live_names(
    world: World, services: Services
) -> None:
    await live_stream(services, world.livekit, 11, "alice")
    await live_stream(services, world.livekit, 12, "bob")

    cities = await world.alice.autocomplete(world.general, "stream search", "near", "lisb")
    assert cities[0] == {"name": "Lisbon, Portugal", "value": await lisbon_id(services)}
    names = await world.alice.autocomplete(world.general, "stream search", "member", "Al")
    assert names == [{"name": "Alice (alice)", "value": "alice"}]
    for_create = await world.alice.autocomplete(world.general, "stream create", "city", "São P")
    assert for_create[0]["name"] == "São Paulo, Brazil"


async def test_create_and_edit_place_the_stream_in_the_chosen_city(
    world: World, services: Services
) -> None:
    shown = await world.alice.slash(world.general, "stream create", city="lisbon")
    await world.alice.submit_modal(shown, {"stream:title": "Fado", "stream:description": ""})
    stream = await services.streams.get_by_owner(world.alice.id)
    assert stream.location_name == "Lisbon, Portugal"

    madrid = (await world.alice.autocomplete(world.general, "stream edit", "city", "Madrid"))[0]
    shown = await world.alice.slash(world.general, "stream edit", city=madrid["value"])
    done = await world.alice.submit_modal(
        shown, {"stream:title": "Flamenco", "stream:description": ""}
    )
    assert done.response.embeds[0].fields[-1].value == "Madrid, Spain"
    shown = await world.alice.slash(world.general, "stream edit")  # no city: the place stays
    await world.alice.submit_modal(shown, {"stream:title": "Flamenco 2", "stream:description": ""})
    stream = await services.streams.get_by_owner(world.alice.id)
    assert (stream.title, stream.location_name) == ("Flamenco 2", "Madrid, Spain")
    assert stream.latitude is not None and abs(stream.latitude - MADRID[0]) < 0.01


async def test_an_unknown_city_is_explained_privately(world: World) -> None:
    result = await world.alice.slash(world.general, "stream search", near="Xyzzyville")
    assert result.ephemeral and "don't know a city called 'Xyzzyville'" in result.response.content
    shown = await world.alice.slash(world.general, "stream create", city="Xyzzyville")
    assert shown.modal is None and shown.ephemeral
    assert domain_errors(world) == [InvalidInput, InvalidInput]


async def test_search_needs_exactly_one_of_user_and_near(world: World) -> None:
    neither = await world.alice.slash(world.general, "stream search")
    both = await world.alice.slash(world.general, "stream search", member="al", near="Lisbon")
    for result in (neither, both):
        assert result.ephemeral and "one of the two" in result.response.content
    assert domain_errors(world) == [InvalidInput, InvalidInput]


async def test_empty_results_say_so_and_suggest_widening(world: World, services: Services) -> None:
    await live_stream(services, world.livekit, 11, "madrid", MADRID, "Madrid, Spain")
    by_name = await world.alice.slash(world.general, "stream search", member="zzz")
    assert "Nobody live matches “zzz”" in by_name.response.embeds[0].description
    assert "include_offline" in by_name.response.embeds[0].description
    assert components(by_name.response) == []

    nearby = await world.alice.slash(
        world.general, "stream search", near=await lisbon_id(services), within_km=100
    )
    text = nearby.response.embeds[0].description
    assert "Nobody is live within 100 km" in text and "larger `within_km`" in text


async def test_only_the_searcher_can_turn_the_pages(world: World, services: Services) -> None:
    for number in range(10):
        await live_stream(services, world.livekit, 100 + number, f"painter{number}")
    result = await world.alice.slash(world.general, "stream search", member="painter")
    first = result.response
    assert first.embeds[0].footer.text == "Page 1 of 2 · 10 streams"
    assert page_button(first, "◀").get("disabled") is True
    assert len(first.embeds[0].description.splitlines()) == 8

    refused = await world.bob.click(first, custom_id=page_button(first, "▶")["custom_id"])
    assert refused.ephemeral and refused.response.content == NOT_YOURS
    assert world.general.last_message.embeds[0].footer.text == "Page 1 of 2 · 10 streams"

    await world.alice.click(first, custom_id=page_button(first, "▶")["custom_id"])
    second = world.general.last_message
    assert second.id == first.id  # the same message, turned to page 2
    assert second.embeds[0].footer.text == "Page 2 of 2 · 10 streams"
    assert second.embeds[0].description.splitlines()[0].startswith("**9. [Painter8 paints]")
    labels = [b.label for row in second.components for b in row.children]
    assert labels[:2] == ["9. Painter8", "10. Painter9"]
    assert page_button(second, "▶").get("disabled") is True

    await world.alice.click(second, custom_id=page_button(second, "◀")["custom_id"])
    assert world.general.last_message.embeds[0].footer.text == "Page 1 of 2 · 10 streams"


async def test_page_buttons_work_after_a_restart(
    world: World, services: Services, make_bot: Callable[[], GoLiveBot]
) -> None:
    for number in range(9):
        await live_stream(services, world.livekit, 100 + number, f"painter{number}")
    result = await world.alice.slash(world.general, "stream search", member="painter")
    await world.env.restart_bot(make_bot())
    await world.alice.click(
        result.response, custom_id=page_button(result.response, "▶")["custom_id"]
    )
    assert world.general.last_message.embeds[0].footer.text == "Page 2 of 2 · 9 streams"
