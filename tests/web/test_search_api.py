"""POST /api/live/search and the placing of streams through POST /api/live/create, as a client sees them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from core.accounts.auth import Identity
from core.services import Services
from core.streams import StreamDraft
from tests.conftest import ALICE, SignIn
from tests.fakes.livekit import FakeLiveKit
from tests.studio import go_live_with_video

Client = TestClient[Any, Any]

LISBON = (38.71667, -9.13333)
PORTO = (41.14961, -8.61099)
MADRID = (40.4165, -3.70256)
TOKYO = (35.6895, 139.69171)

STREAM_FIELDS = {
    "id",
    "slug",
    "title",
    "description",
    "location",
    "latitude",
    "longitude",
    "active",
    "liveSince",
    "roomName",
    "viewers",
}


async def post(client: Client, body: Any, path: str = "/api/live/search") -> tuple[int, Any]:
    response = await client.post(
        path,
        data=body if isinstance(body, str) else json.dumps(body),
        headers={"Content-Type": "application/json"},
    )
    assert response.content_type == "application/json"
    return response.status, await response.json()


async def add_stream(
    services: Services,
    livekit: FakeLiveKit,
    number: int,
    username: str,
    *,
    place: tuple[float, float] | None = None,
    live: bool = True,
    display_name: str | None = None,
) -> None:
    latitude, longitude = place or (None, None)
    await services.streams.create(
        owner_id=5000 + number,
        username=username,
        display_name=display_name or username.title(),
        draft=StreamDraft(
            f"{username} streams",
            location_name=f"near {username}" if place else None,
            latitude=latitude,
            longitude=longitude,
        ),
    )
    if live:
        await go_live_with_video(services, livekit, 5000 + number)


async def test_a_name_search_lists_prefix_matches_first_then_close_spellings(
    client: Client, services: Services, livekit: FakeLiveKit
) -> None:
    await add_stream(services, livekit, 1, "alicia")
    await add_stream(services, livekit, 2, "alice")
    await add_stream(services, livekit, 3, "alcie")  # one swapped pair away from "alice"
    await add_stream(services, livekit, 4, "bob", display_name="Alice's brother")
    await add_stream(services, livekit, 5, "alice2", live=False)

    status, answer = await post(client, {"slug": "alice"})

    assert status == 200
    assert [stream["slug"] for stream in answer["streams"]] == ["alice", "bob", "alcie", "alicia"]
    assert (answer["total"], answer["totalPages"]) == (4, 1)
    first = answer["streams"][0]
    assert set(first) >= STREAM_FIELDS
    assert first["active"] is True and first["viewers"] == 0 and first["roomName"]
    assert "streamKey" not in first and "distanceKm" not in first


async def test_viewers_are_the_people_watching_now(
    client: Client, services: Services, livekit: FakeLiveKit
) -> None:
    await add_stream(services, livekit, 1, "alice")
    stream = await services.streams.get_by_owner(5001)
    assert stream.room_name is not None
    for guest in ("guest-1", "guest-2"):
        livekit.add_participant(stream.room_name, guest)
        body, headers = livekit.signed_webhook(
            livekit.event("participant_joined", stream.room_name, guest)
        )
        assert (await client.post("/livekit/webhook", data=body, headers=headers)).status == 200
    _, answer = await post(client, {"slug": "alice"})
    assert answer["streams"][0]["viewers"] == 2


async def test_include_offline_lists_offline_pages_too(
    client: Client, services: Services, livekit: FakeLiveKit
) -> None:
    await add_stream(services, livekit, 1, "alice")
    await add_stream(services, livekit, 2, "alice2", live=False)
    _, live_only = await post(client, {"slug": "ali"})
    _, everyone = await post(client, {"slug": "ali", "includeOffline": True})
    assert [s["slug"] for s in live_only["streams"]] == ["alice"]
    assert [(s["slug"], s["active"]) for s in everyone["streams"]] == [
        ("alice", True),
        ("alice2", False),
    ]


async def test_a_place_search_lists_nearest_first_with_distances(
    client: Client, services: Services, livekit: FakeLiveKit
) -> None:
    await add_stream(services, livekit, 1, "madrid", place=MADRID)
    await add_stream(services, livekit, 2, "porto", place=PORTO)
    await add_stream(services, livekit, 3, "tokyo", place=TOKYO)
    await add_stream(services, livekit, 4, "lisbon", place=LISBON)
    await add_stream(services, livekit, 5, "nowhere")  # not placed: not in place searches
    await add_stream(services, livekit, 6, "lisbonoff", place=LISBON, live=False)

    status, answer = await post(client, {"latitude": LISBON[0], "longitude": LISBON[1]})

    assert status == 200
    assert [s["slug"] for s in answer["streams"]] == ["lisbon", "porto", "madrid", "tokyo"]
    distances = [s["distanceKm"] for s in answer["streams"]]
    assert distances[0] == 0
    assert 270 < distances[1] < 290  # Lisbon to Porto
    assert 495 < distances[2] < 510  # Lisbon to Madrid
    assert distances == sorted(distances)
    assert answer["total"] == 4


async def test_a_radius_keeps_only_streams_within_it(
    client: Client, services: Services, livekit: FakeLiveKit
) -> None:
    await add_stream(services, livekit, 1, "porto", place=PORTO)
    await add_stream(services, livekit, 2, "madrid", place=MADRID)
    _, answer = await post(client, {"latitude": LISBON[0], "longitude": LISBON[1], "radiusKm": 300})
    assert [s["slug"] for s in answer["streams"]] == ["porto"]
    assert answer["total"] == 1


async def test_pages_split_the_results_without_repeating_or_skipping(
    client: Client, services: Services, livekit: FakeLiveKit
) -> None:
    for number in range(11):
        await add_stream(services, livekit, number, f"painter{number:02d}", place=LISBON)
    seen: list[str] = []
    for page in (1, 2, 3):
        _, answer = await post(
            client, {"latitude": 38.7, "longitude": -9.1, "page": page, "limit": 4}
        )
        assert (answer["total"], answer["totalPages"]) == (11, 3)
        seen += [s["slug"] for s in answer["streams"]]
    assert sorted(seen) == [f"painter{n:02d}" for n in range(11)]
    assert len(seen) == len(set(seen))
    _, beyond = await post(client, {"slug": "painter", "page": 4, "limit": 4})
    assert beyond["streams"] == [] and beyond["total"] == 11


async def test_defaults_are_page_one_and_eight_streams(
    client: Client, services: Services, livekit: FakeLiveKit
) -> None:
    for number in range(10):
        await add_stream(services, livekit, number, f"painter{number}")
    _, answer = await post(client, {"slug": "painter"})
    assert len(answer["streams"]) == 8
    assert (answer["total"], answer["totalPages"]) == (10, 2)


async def test_an_empty_name_lists_everyone_live(
    client: Client, services: Services, livekit: FakeLiveKit
) -> None:
    await add_stream(services, livekit, 1, "zoe")
    await add_stream(services, livekit, 2, "adam")
    await add_stream(services, livekit, 3, "offline", live=False)
    _, answer = await post(client, {"slug": ""})
    assert [s["slug"] for s in answer["streams"]] == ["adam", "zoe"]
    assert answer["total"] == 2


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({}, "slug"),
        ({"slug": "a", "latitude": 1, "longitude": 2}, "not both"),
        ({"latitude": 10}, "both"),
        ({"latitude": 91, "longitude": 0}, "latitude"),
        ({"latitude": -90.5, "longitude": 0}, "latitude"),
        ({"latitude": 0, "longitude": 180.01}, "longitude"),
        ({"latitude": "north", "longitude": 0}, "number"),
        ({"slug": 42}, "string"),
        ({"slug": "a", "limit": 51}, "between 1 and 50"),
        ({"slug": "a", "limit": 0}, "between 1 and 50"),
        ({"slug": "a", "page": 0}, "page"),
        ({"slug": "a", "page": 1.5}, "whole number"),
        ({"slug": "a", "page": True}, "whole number"),
        ({"slug": "a", "includeOffline": "yes"}, "true or false"),
        ({"latitude": 0, "longitude": 0, "radiusKm": -1}, "radius"),
        ({"slug": "x" * 65}, "at most 64"),
        ([1, 2], "object"),
    ],
)
async def test_bad_searches_are_400_with_a_clear_message(
    client: Client, body: Any, words: str
) -> None:
    status, answer = await post(client, body)
    assert status == 400, answer
    assert set(answer) == {"error"}
    assert words.lower() in answer["error"].lower()


async def test_bounds_themselves_are_accepted(client: Client) -> None:
    for latitude, longitude in [(90, 180), (-90, -180), (0, 0)]:
        status, answer = await post(
            client, {"latitude": latitude, "longitude": longitude, "limit": 50}
        )
        assert (status, answer) == (200, {"streams": [], "total": 0, "totalPages": 0})


async def test_invalid_json_is_400(client: Client) -> None:
    status, answer = await post(client, "{not json")
    assert status == 400 and "JSON" in answer["error"]


# -- placing a stream from the web ---------------------------------------------------------------

DORA = Identity(user_id=1010, username="dora", display_name="Dora")


async def test_create_places_a_stream_in_a_named_city(
    client: Client, sign_in: SignIn, services: Services
) -> None:
    await sign_in(client, ALICE)
    status, _ = await post(client, {"title": "Fado", "city": "lisbon"}, "/api/live/create")
    assert status == 201
    stream = await services.streams.get_by_owner(ALICE.user_id)
    assert stream.location_name == "Lisbon, Portugal"
    assert stream.latitude == pytest.approx(LISBON[0], abs=0.01)


async def test_create_snaps_coordinates_to_the_nearest_city(
    client: Client, sign_in: SignIn, services: Services
) -> None:
    await sign_in(client, DORA)
    # A street in Porto, precise to a metre: only the city is kept.
    status, _ = await post(
        client,
        {"title": "Porto nights", "latitude": 41.1579438, "longitude": -8.6291053},
        "/api/live/create",
    )
    assert status == 201
    stream = await services.streams.get_by_owner(DORA.user_id)
    assert stream.location_name == "Porto, Portugal"
    assert (stream.latitude, stream.longitude) == pytest.approx(PORTO, abs=0.01)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"title": "x", "city": "Atlantis-under-the-sea"}, "don't know a city"),
        ({"title": "x", "city": "Lisbon", "latitude": 1, "longitude": 1}, "not both"),
        ({"title": "x", "latitude": 1}, "both"),
        ({"title": "x", "latitude": 100, "longitude": 1}, "Latitude must be between"),
    ],
)
async def test_create_refuses_places_it_cannot_use(
    client: Client, sign_in: SignIn, services: Services, body: dict[str, Any], words: str
) -> None:
    await sign_in(client, ALICE)
    status, answer = await post(client, body, "/api/live/create")
    assert status == 400 and words in answer["error"]
    assert await services.streams.find_by_owner(ALICE.user_id) is None


async def test_places_suggests_cities_biggest_first(client: Client) -> None:
    response = await client.get("/api/places", params={"q": "porto"})
    labels = [place["label"] for place in (await response.json())["places"]]
    assert labels[0] == "Porto Alegre, Brazil"
    assert "Porto, Portugal" in labels
