"""Cities people can place a stream in or search near, from an offline list (GeoNames).

No network lookups: the list ships with golive as cities.tsv.gz beside this module (what golive
uses of GeoNames' places of 15,000 people or more, made by scripts/build_cities.py). A stream is
never placed more precisely than a city: coordinates given by a client are snapped to the nearest
listed city.
"""

from __future__ import annotations

import asyncio
import bisect
import functools
import gzip
import heapq
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

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


Point = tuple[float, float, float]


def _unit_vector(latitude: float, longitude: float) -> Point:
    phi, lam = math.radians(latitude), math.radians(longitude)
    return (math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi))


def _chord_for_km(km: float) -> float:
    """Straight-line distance through the (unit) globe for a great-circle distance."""
    return 2 * math.sin(min(math.pi, km / EARTH_RADIUS_KM) / 2)


# Float noise between the chord and haversine_km: candidates are gathered a hair wide, then
# decided by haversine_km itself, so the answer is exactly the brute-force one.
_SLACK = 1e-9


class CityIndex:
    """A k-d tree over the cities as points on the unit sphere, built once.

    Straight-line (chord) distance grows with great-circle distance, so the nearest point in
    3-D is the nearest city on the globe, with no special cases at the poles or the antimeridian.
    A query visits a few dozen nodes instead of every city (a scan took ~50 ms on the event loop).
    """

    _LEAF = 8

    def __init__(self, cities: Sequence[City]) -> None:
        self._cities = list(cities)
        self._points = [_unit_vector(c.latitude, c.longitude) for c in self._cities]
        self._order = list(range(len(self._cities)))
        self._build(0, len(self._order), 0)

    def _build(self, lo: int, hi: int, axis: int) -> None:
        # Iterative over a stack: the tree is implicit, each range's median is its node.
        stack = [(lo, hi, axis)]
        while stack:
            lo, hi, axis = stack.pop()
            if hi - lo <= self._LEAF:
                continue
            points = self._points
            self._order[lo:hi] = sorted(self._order[lo:hi], key=lambda i: points[i][axis])
            mid = (lo + hi) // 2
            stack.append((lo, mid, (axis + 1) % 3))
            stack.append((mid + 1, hi, (axis + 1) % 3))

    def within(self, latitude: float, longitude: float, km: float) -> list[City]:
        """Every city within `km` (a hair more; callers decide with haversine_km)."""
        centre = _unit_vector(latitude, longitude)
        radius = _chord_for_km(km) * (1 + _SLACK) + _SLACK
        found: list[City] = []
        stack = [(0, len(self._order), 0)]
        while stack:
            lo, hi, axis = stack.pop()
            if hi - lo <= self._LEAF:
                found.extend(
                    self._cities[i]
                    for i in self._order[lo:hi]
                    if math.dist(centre, self._points[i]) <= radius
                )
                continue
            mid = (lo + hi) // 2
            node = self._order[mid]
            if math.dist(centre, self._points[node]) <= radius:
                found.append(self._cities[node])
            offset = centre[axis] - self._points[node][axis]
            next_axis = (axis + 1) % 3
            if offset - radius <= 0:
                stack.append((lo, mid, next_axis))
            if offset + radius >= 0:
                stack.append((mid + 1, hi, next_axis))
        return found

    def nearest_chord(self, latitude: float, longitude: float) -> float:
        """The straight-line distance to the nearest city (inf when there are none)."""
        centre = _unit_vector(latitude, longitude)
        best = math.inf
        # (lo, hi, axis, how far away that side's splitting plane is): the near side is pushed
        # last, so it is searched first and shrinks `best` before the far side is weighed.
        stack = [(0, len(self._order), 0, 0.0)]
        while stack:
            lo, hi, axis, plane = stack.pop()
            if plane > best:
                continue
            if hi - lo <= self._LEAF:
                for i in self._order[lo:hi]:
                    best = min(best, math.dist(centre, self._points[i]))
                continue
            mid = (lo + hi) // 2
            node = self._order[mid]
            best = min(best, math.dist(centre, self._points[node]))
            offset = centre[axis] - self._points[node][axis]
            near, far = (lo, mid), (mid + 1, hi)
            if offset > 0:
                near, far = far, near
            next_axis = (axis + 1) % 3
            stack.append((*far, next_axis, abs(offset)))
            stack.append((*near, next_axis, 0.0))
        return best

    def nearest(self, latitude: float, longitude: float) -> City:
        """The nearest city by haversine_km, ties to the lowest id (as a full scan would)."""
        best = self.nearest_chord(latitude, longitude)
        if math.isinf(best):
            raise LookupError("no cities")
        km = 2 * math.asin(min(1.0, best / 2)) * EARTH_RADIUS_KM
        candidates = self.within(latitude, longitude, km)
        return min(
            candidates,
            key=lambda c: (haversine_km(latitude, longitude, c.latitude, c.longitude), c.id),
        )


class _Catalogue:
    """The loaded list with a sorted index of folded names for prefix lookups."""

    def __init__(self, cities: Sequence[City]) -> None:
        self.by_id = {city.id: city for city in cities}
        self.index = CityIndex(cities)
        keyed = sorted((fold(city.name), -city.population, city.id) for city in cities)
        self.keys = [key for key, _, _ in keyed]
        self.ids = [city_id for _, _, city_id in keyed]
        self.by_label: dict[str, City] = {}
        self._short_answers: dict[tuple[str, int], list[City]] = {}
        for city in sorted(cities, key=lambda c: -c.population):
            self.by_label.setdefault(fold(city.label), city)
            self.by_label.setdefault(fold(city.name), city)

    def with_prefix(self, prefix: str) -> list[City]:
        start = bisect.bisect_left(self.keys, prefix)
        end = bisect.bisect_left(self.keys, prefix + "\U0010ffff")
        return [self.by_id[city_id] for city_id in self.ids[start:end]]

    def biggest_with_prefix(self, prefix: str, limit: int) -> list[City]:
        """The `limit` biggest cities starting with `prefix` (ties by label, then id)."""
        # One or two letters match thousands of cities (~5 ms to rank): remember those answers.
        if len(prefix) > 2:
            return self._rank(prefix, limit)
        key = (prefix, limit)
        answer = self._short_answers.get(key)
        if answer is None:
            answer = self._rank(prefix, limit)
            if len(self._short_answers) < 10_000:  # bounded: clients choose the prefixes
                self._short_answers[key] = answer
        return list(answer)

    def _rank(self, prefix: str, limit: int) -> list[City]:
        return heapq.nsmallest(
            limit, self.with_prefix(prefix), key=lambda c: (-c.population, c.label, c.id)
        )


CITIES_FILE = "cities.tsv.gz"


@functools.lru_cache(maxsize=2)
def _load(min_population: int) -> _Catalogue:
    # Cached for the life of the process: the data is read-only (~0.1 s to unpack and parse).
    return _Catalogue(read_cities(min_population))


def read_cities(min_population: int) -> list[City]:
    """The listed places of at least `min_population` people (capitals are listed below the
    list's own floor, as GeoNames lists them), labelled as people see them."""
    packed = resources.files(__package__).joinpath(CITIES_FILE).read_bytes()
    countries: dict[str, str] = {}
    floor = None
    cities = []
    for line in gzip.decompress(packed).decode("utf-8").splitlines():
        fields = line.split("\t")
        if line.startswith("#"):
            continue
        if fields[0] == "min_population":
            floor = int(fields[1])
            if min_population < floor:
                raise ValueError(
                    f"{CITIES_FILE} lists places of {floor} people or more; rebuild it with "
                    f"scripts/build_cities.py for {min_population}"
                )
        elif fields[0] == "country":
            countries[fields[1]] = fields[2]
        else:
            city = _city(fields, countries)
            if city.population >= min_population or min_population == floor:
                cities.append(city)
    return cities


def _city(fields: list[str], countries: dict[str, str]) -> City:
    geonameid, name, country_code, us_state, latitude, longitude, population = fields
    parts = [name, us_state, countries.get(country_code, country_code)]
    return City(
        id=int(geonameid),
        name=name,
        label=", ".join(part for part in parts if part),
        country_code=country_code,
        latitude=float(latitude),
        longitude=float(longitude),
        population=int(population),
    )


def snap_to_city(index: CityIndex, latitude: float, longitude: float) -> City:
    """The biggest listed place within SNAP_KM of a point, else the nearest one."""
    # The list holds city districts too (Porto's parishes have 15,000 people): the biggest
    # place within a few km is the one people would name.
    close_by = [
        city
        for city in index.within(latitude, longitude, SNAP_KM)
        if haversine_km(latitude, longitude, city.latitude, city.longitude) <= SNAP_KM
    ]
    if close_by:
        return max(close_by, key=lambda city: (city.population, -city.id))
    return index.nearest(latitude, longitude)


class PlaceDirectory:
    """Autocomplete, lookup and snapping over the offline city list.

    Call `load()` at start: the first load parses ~34,000 cities (most of a second holding the
    GIL, so even in a thread it stalls the event loop); after that every call is a lookup.
    """

    def __init__(self, min_population: int = MIN_POPULATION) -> None:
        self.min_population = min_population
        self._loaded: _Catalogue | None = None

    async def load(self) -> None:
        await self._catalogue()

    @property
    def loaded(self) -> bool:
        return self._loaded is not None

    async def _catalogue(self) -> _Catalogue:
        if self._loaded is None:
            # Off the event loop, once per process (the parsed list is cached in _load).
            self._loaded = await asyncio.to_thread(_load, self.min_population)
        return self._loaded

    async def suggest(self, text: str, limit: int = SUGGESTIONS_MAX) -> list[City]:
        """Cities whose name starts with `text`, biggest first."""
        prefix = fold(text)
        if not prefix:
            return []
        return (await self._catalogue()).biggest_with_prefix(prefix, limit)

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
                "I don't know a city called '%(city)s'. Pick one from the suggestions "
                "(places of %(population)s people or more).",
                city=wanted[:60],
                population=self.min_population,
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
        return snap_to_city((await self._catalogue()).index, latitude, longitude)

    async def all_cities(self) -> list[City]:
        """Every listed city (the benchmark spreads its streams over them)."""
        return list((await self._catalogue()).by_id.values())
