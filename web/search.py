"""Discovery on the web: POST /api/live/search (shape kept from the replaced system) and cities."""

from __future__ import annotations

import math
from typing import Any

from aiohttp import web

from core.discovery import LIMIT_MAX, PAGE_SIZE, QUERY_MAX, SearchPage
from core.kernel.errors import InvalidInput
from core.kernel.i18n import N_, t
from core.live import ThumbnailService
from web.body import json_object, optional_number, text_field
from web.i18n import chosen_locale
from web.keys import SERVICES
from web.serialize import stream_json
from web.thumbnails import thumbnail_url

routes = web.RouteTableDef()

SAY_WHAT = N_(
    "Give 'slug' to search by name, or 'latitude' and 'longitude' to search near a place."
)


@routes.post("/api/live/search", name="api_search")
async def search(request: web.Request) -> web.Response:
    """`{"slug"}` or `{"latitude", "longitude"}`, with optional page, limit, includeOffline, radiusKm."""
    services = request.app[SERVICES]
    search_service = services.search
    body = await json_object(request)
    page = _whole_number(body, "page", default=1, low=1, high=1_000_000)
    limit = _whole_number(body, "limit", default=PAGE_SIZE, low=1, high=LIMIT_MAX)
    include_offline = _optional_bool(body, "includeOffline")
    latitude = optional_number(body, "latitude")
    longitude = optional_number(body, "longitude")
    has_place = latitude is not None or longitude is not None
    if "slug" in body and has_place:
        raise InvalidInput("Search by 'slug' or by 'latitude' and 'longitude', not both.")
    if has_place:
        if latitude is None or longitude is None:
            raise InvalidInput("Give both 'latitude' and 'longitude'.")
        found = await search_service.near(
            latitude,
            longitude,
            page=page,
            limit=limit,
            include_offline=include_offline,
            radius_km=optional_number(body, "radiusKm"),
        )
    elif "slug" in body:
        found = await search_service.by_name(
            text_field(body, "slug"), page=page, limit=limit, include_offline=include_offline
        )
    else:
        raise InvalidInput(SAY_WHAT)
    return web.json_response(search_json(found, services.thumbnails))


@routes.get("/api/places", name="api_places")
async def places(request: web.Request) -> web.Response:
    """Cities whose name starts with `?q=`, for the search form's suggestions."""
    text = request.query.get("q", "")[:64]
    cities = await request.app[SERVICES].places.suggest(text, limit=10)
    return web.json_response(
        {
            "places": [
                {
                    "id": city.id,
                    "label": city.label,
                    "latitude": city.latitude,
                    "longitude": city.longitude,
                }
                for city in cities
            ]
        }
    )


GRID_SIZE = 48  # streams on one page of /live: fills rows of 2, 3, 4 or 6 cards


async def live_grid(request: web.Request) -> dict[str, Any]:
    """What /live shows: everyone live, or the result of its name or city search (query string).

    The page's script asks POST /api/live/search the same question every few seconds, so the
    grid stays current without a reload; `query` below is that question.
    """
    services = request.app[SERVICES]
    user = request.query.get("user", "").strip()[:QUERY_MAX]
    near = request.query.get("near", "").strip()[:200]
    page = _page_from_query(request.query.get("page", "1"))
    query: dict[str, Any] = {"page": page, "limit": GRID_SIZE}
    problem = None
    city = None
    if near:
        try:
            city = await services.places.resolve(near)
        except InvalidInput as error:
            problem = t(chosen_locale(request), error.msgid, **error.params)
    if city is not None:
        query |= {"latitude": city.latitude, "longitude": city.longitude}
        found = await services.search.near(
            city.latitude, city.longitude, page=page, limit=GRID_SIZE
        )
    else:
        query["slug"] = user
        found = await services.search.by_name(user, page=page, limit=GRID_SIZE)
    return {
        "results": search_json(found, services.thumbnails),
        "user": user,
        "near": city.label if city else near,
        "city": city,
        "problem": problem,
        "page": page,
        "page_data": {
            "searchUrl": str(request.app.router["api_search"].url_for()),
            "placesUrl": str(request.app.router["api_places"].url_for()),
            "query": query,
            "refreshSeconds": 10,
        },
    }


def _page_from_query(text: str) -> int:
    return int(text) if text.isdigit() and 1 <= int(text) <= 1000 else 1


def search_json(found: SearchPage, thumbnails: ThumbnailService) -> dict[str, Any]:
    streams = []
    for hit in found.hits:
        thumbnail = thumbnail_url(hit.stream, thumbnails.snapshot(hit.stream))
        shown = {**stream_json(hit.stream, thumbnail), "viewers": hit.viewers}
        shown.pop("streamKey", None)  # never list anyone's key, even once ingress exists
        if hit.distance_km is not None:
            shown["distanceKm"] = round(hit.distance_km, 2)
        streams.append(shown)
    return {"streams": streams, "total": found.total, "totalPages": found.total_pages}


def _whole_number(body: dict[str, Any], name: str, *, default: int, low: int, high: int) -> int:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput("'%(name)s' must be a whole number.", name=name)
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise InvalidInput("'%(name)s' must be a whole number.", name=name)
    number = int(value)
    if not low <= number <= high:
        raise InvalidInput(
            "'%(name)s' must be between %(low)s and %(high)s.",
            name=name,
            low=str(low),
            high=str(high),
        )
    return number


def _optional_bool(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise InvalidInput("'%(name)s' must be true or false.", name=name)
    return value
