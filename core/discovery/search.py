"""Finding streams: by name (prefix first, then close spellings) and by place (nearest first).

Both searches answer one page at a time with a total, in an order that never changes while the
data does not, so paging neither repeats nor skips a stream: (tier, name, id) for names and
(distance, id) for places.

"Live" here means on air: a stream whose first video arrived (migration 0012), not one whose
room is open while its studio is still starting.

Names. A prefix of the slug or the display name is an index range (see migration 0002). When
fewer than a page of names start with what was typed (4 letters or more), close spellings follow:
names whose beginning is one typo (a letter wrong, missing, extra, or two neighbours swapped) away.
They are looked for among the names that share the first half of what was typed (an index range
again), so a typo in the first half of a short name is not caught. Case is folded for ASCII letters
only (SQLite's lower()), so "Émile" is found by "Émile" or "É", not by "émile".

Places. R*Tree boxes around the point, grown until they hold enough streams, then the exact
great-circle distance in SQL (the same formula as core.discovery.places.haversine_km).

On PostgreSQL (migrations/postgres/0002) the same answers come from other indexes: names from
btree ranges as here (text compares byte by byte there too, and lower() folds ASCII only), places
from a GiST index of points on the unit sphere read nearest first (`<->`, KNN). Straight-line
distance through the Earth orders places as the great-circle distance does, but the two can
disagree by a rounding error; so the KNN scan only finds how far the page reaches, and the page
is then every stream that near, ranked by the same haversine SQL and id as on SQLite.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from core.discovery.places import EARTH_RADIUS_KM
from core.kernel.errors import InvalidInput
from core.store import Database
from core.streams import Stream, stream_from_row

PAGE_SIZE = 8
LIMIT_MAX = 50
QUERY_MAX = 64
# Close spellings need this many letters: shorter queries would match half the community.
TYPO_MIN_LENGTH = 4
# How many names are checked for close spellings, each way from the typed text in index order.
TYPO_CANDIDATES_MAX = 250
FIRST_RADIUS_KM = 25.0
HALF_EARTH_KM = math.pi * EARTH_RADIUS_KM  # no two points are further apart
_PREFIX_END = "\U0010ffff"  # sorts after every character: [q, q + this) is "starts with q"
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

_DISTANCE_SQL = (
    "2 * 6371.0088 * asin(sqrt(min(1.0,"
    " pow(sin((radians(s.latitude) - :phi) / 2), 2)"
    " + :cos_phi * cos(radians(s.latitude)) * pow(sin((radians(s.longitude) - :lam) / 2), 2))))"
)


def _pg_squared_half_sine(column: str, origin: str) -> str:
    """sin²((column - origin) / 2) in PostgreSQL, as _DISTANCE_SQL has it. PostgreSQL raises an
    error where a float underflows (SQLite quietly gives 0): a difference, or a coordinate,
    closer to 0 than 1e-100 / 1e-200 counts as 0 (as migrations/postgres/0002 does)."""
    difference = f"(radians(CASE WHEN abs({column}) < 1e-200 THEN 0 ELSE {column} END) - {origin})"
    return f"CASE WHEN abs({difference}) < 1e-100 THEN 0 ELSE pow(sin({difference} / 2), 2) END"


# PostgreSQL: the same formula (its scalar min is LEAST), and the place as the GiST index has it.
_PG_DISTANCE_SQL = (
    "2 * 6371.0088 * asin(sqrt(LEAST(1.0,"
    f" {_pg_squared_half_sine('s.latitude', ':phi')}"
    " + :cos_phi * cos(radians(CASE WHEN abs(s.latitude) < 1e-200 THEN 0 ELSE s.latitude END))"
    f" * {_pg_squared_half_sine('s.longitude', ':lam')})))"
)
_PG_PLACE = "unit_sphere_point(s.latitude, s.longitude)"
_PG_ORIGIN = "unit_sphere_point(:lat, :lng)"
# Slack (unit-sphere lengths, ~6 mm) so a rounding error never leaves a stream out of a box.
_PG_REACH_SLACK = 1e-9


@dataclass(frozen=True)
class SearchHit:
    stream: Stream
    distance_km: float | None = None  # set by place searches
    viewers: int = 0  # watching right now (the live-events service counts them)


@dataclass(frozen=True)
class SearchPage:
    hits: list[SearchHit]
    total: int
    page: int
    limit: int

    @property
    def total_pages(self) -> int:
        return math.ceil(self.total / self.limit)


@dataclass(frozen=True)
class _Paging:
    page: int
    limit: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


def _paging(page: int, limit: int) -> _Paging:
    if page < 1:
        raise InvalidInput("'page' starts at 1.")
    if not 1 <= limit <= LIMIT_MAX:
        raise InvalidInput("'limit' must be between 1 and %(max)s.", max=LIMIT_MAX)
    return _Paging(page, limit)


def name_key(text: str) -> str:
    """What a typed name is compared as: trimmed, ASCII letters lowered (as SQLite's lower())."""
    return text.strip().translate(_ASCII_LOWER)


def one_typo_away(typed: str, name: str) -> bool:
    """Whether the beginning of `name` is `typed` with one letter wrong, missing, extra or two
    neighbours swapped (optimal string alignment distance <= 1 against name[:n-1..n+1]).

    The first difference is where the typo is, so each kind of typo is one slice comparison.
    """
    length = len(typed)
    same = 0
    while same < min(length, len(name)) and typed[same] == name[same]:
        same += 1
    if same >= length - 1:
        return True  # all typed letters match, or only the last is wrong or missing
    return (
        typed[same + 1 :] == name[same + 1 : length]  # one letter wrong
        or typed[same:] == name[same + 1 : length + 1]  # a letter left out while typing
        or typed[same + 1 :] == name[same : length - 1]  # one letter too many typed
        or (
            typed[same] == name[same + 1 : same + 2]
            and typed[same + 1] == name[same : same + 1]
            and typed[same + 2 :] == name[same + 2 : length]
        )  # two neighbours swapped
    )


class SearchService:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- by name -------------------------------------------------------------------------------

    async def by_name(
        self, text: str, *, page: int = 1, limit: int = PAGE_SIZE, include_offline: bool = False
    ) -> SearchPage:
        """Streams whose slug or display name starts with `text`, then close spellings.

        An empty `text` lists every (live) stream by slug: the /live grid uses it.
        """
        paging = _paging(page, limit)
        typed = name_key(text)
        if len(typed) > QUERY_MAX:
            raise InvalidInput(
                "A name to search for can be at most %(max)s characters.", max=QUERY_MAX
            )
        if not typed:
            return await self._everyone(paging, include_offline)
        live = "" if include_offline else "on_air = 1 AND "
        prefix_total, ids = await self._prefix_matches(typed, live, paging)
        # Close spellings only fill in when few names start with what was typed: a member who
        # typed "ali" and sees eight Ali-something streams does not need "aly" too. The choice
        # depends on the data only, not on the page, so paging stays stable.
        close = await self._close_spellings(typed, live) if prefix_total < PAGE_SIZE else []
        start = max(0, paging.offset - prefix_total)
        ids += close[start : start + paging.limit - len(ids)]
        hits = await self._hits(ids)
        return SearchPage(hits, prefix_total + len(close), paging.page, paging.limit)

    async def _prefix_matches(
        self, typed: str, live: str, paging: _Paging
    ) -> tuple[int, list[int]]:
        """How many names start with `typed`, and the ids on this page, by (name, id).

        Two index ranges walked in order and merged: slugs, then display names of streams whose
        slug did not match already. The work grows with the page asked for, not with the number
        of matches (only the counts touch every match, and they read the indexes alone).
        """
        bounds = {"lo": typed, "hi": typed + _PREFIX_END}
        by_slug = f"{live}slug >= :lo AND slug < :hi"
        by_owner = (
            f"{live}lower(owner_name) >= :lo AND lower(owner_name) < :hi"
            " AND NOT (slug >= :lo AND slug < :hi)"
        )
        # One statement per step: each call to the database thread costs ~0.1 ms by itself.
        row = await self._fetch_one(
            f"SELECT (SELECT count(*) FROM streams WHERE {by_slug})"  # noqa: S608 - fixed SQL
            f" + (SELECT count(*) FROM streams WHERE {by_owner})",
            bounds,
        )
        total = int(row[0]) if row else 0
        if paging.offset >= total:
            return total, []
        rows = await self._fetch_all(
            f"SELECT * FROM (SELECT lower(slug) AS name_key, id FROM streams WHERE {by_slug}"  # noqa: S608
            " ORDER BY slug, id LIMIT :wanted) AS by_slug UNION ALL"
            f" SELECT * FROM (SELECT lower(owner_name), id FROM streams WHERE {by_owner}"
            " ORDER BY lower(owner_name), id LIMIT :wanted) AS by_owner",
            {**bounds, "wanted": paging.offset + paging.limit},
        )
        in_order = [stream_id for _, stream_id in sorted((row[0], row[1]) for row in rows)]
        return total, in_order[paging.offset : paging.offset + paging.limit]

    async def _everyone(self, paging: _Paging, include_offline: bool) -> SearchPage:
        live = "" if include_offline else "WHERE on_air = 1"
        rows = await self._fetch_all(
            f"SELECT id FROM streams {live} ORDER BY slug, id LIMIT ? OFFSET ?",  # noqa: S608
            (paging.limit, paging.offset),
        )
        total = await self._count("all" if include_offline else "live")
        hits = await self._hits([row["id"] for row in rows])
        return SearchPage(hits, total, paging.page, paging.limit)

    async def _close_spellings(self, typed: str, live: str) -> list[int]:
        """Ids of names one typo away from `typed` (and not starting with it), best first.

        Candidates share the first half of `typed`; the index is read outwards from `typed`
        itself, so names sharing the longest beginning with it come first, and the read stops
        after TYPO_CANDIDATES_MAX names each way. Slugs and display names come from their own
        indexes (no table lookups).
        """
        if len(typed) < TYPO_MIN_LENGTH:
            return []
        half = typed[: len(typed) // 2]
        bounds = {
            "lo": half,
            "typed": typed,
            "hi": half + _PREFIX_END,
            "cap": TYPO_CANDIDATES_MAX,
        }
        walks = []
        # Equal display names are walked in slug order (as their index holds them), so where
        # the cap cuts among them is the same on every backend.
        for column, key, tie in (
            ("slug", "lower(slug)", ""),
            ("lower(owner_name)", "lower(owner_name)", ", slug"),
        ):
            # Only fixed fragments are pasted in; every value is a parameter.
            select = f"SELECT id, {key} FROM streams WHERE {live}"  # noqa: S608
            walks += [
                f"SELECT * FROM ({select}{column} >= :typed AND {column} < :hi"  # noqa: S608
                f" ORDER BY {column}{tie} LIMIT :cap) AS up",
                f"SELECT * FROM ({select}{column} >= :lo AND {column} < :typed"  # noqa: S608
                f" ORDER BY {column} DESC{tie and tie + ' DESC'} LIMIT :cap) AS down",
            ]
        best: dict[int, str] = {}
        prefix_ids: set[int] = set()
        for stream_id, name in await self._fetch_all(" UNION ALL ".join(walks), bounds):
            if name.startswith(typed):
                prefix_ids.add(stream_id)  # listed among the prefix matches already
            elif one_typo_away(typed, name) and name < best.get(stream_id, _PREFIX_END):
                best[stream_id] = name
        found = sorted((name, stream_id) for stream_id, name in best.items())
        return [stream_id for _, stream_id in found if stream_id not in prefix_ids]

    async def suggest_names(self, text: str, limit: int = 25) -> list[Stream]:
        """Live streams for an autocomplete box (prefix and close spellings)."""
        if not name_key(text):
            return []
        found = await self.by_name(text[:QUERY_MAX], limit=min(limit, LIMIT_MAX))
        return [hit.stream for hit in found.hits]

    # -- by place ------------------------------------------------------------------------------

    async def near(
        self,
        latitude: float,
        longitude: float,
        *,
        page: int = 1,
        limit: int = PAGE_SIZE,
        include_offline: bool = False,
        radius_km: float | None = None,
    ) -> SearchPage:
        """Placed streams nearest first, each with its distance; within `radius_km` if given."""
        paging = _paging(page, limit)
        _check_point(latitude, longitude)
        if radius_km is not None and not 0 < radius_km <= HALF_EARTH_KM:
            raise InvalidInput(
                "The radius must be between 0 and %(max)s km.", max=round(HALF_EARTH_KM)
            )
        table = "stream_places" if include_offline else "live_stream_places"
        point = _Point(latitude, longitude)
        wanted = paging.offset + paging.limit
        if radius_km is not None:
            total = await self._count_within(table, point, radius_km)
            ranked = await self._nearest_within(table, point, radius_km, wanted)
        else:
            total = await self._count("placed" if include_offline else "placed_live")
            ranked = await self._nearest(table, point, min(wanted, total))
        page_rows = dict(ranked[paging.offset : wanted])
        hits = await self._hits(list(page_rows), page_rows)
        return SearchPage(hits, total, paging.page, paging.limit)

    async def _nearest(self, table: str, point: _Point, wanted: int) -> list[tuple[int, float]]:
        """The `wanted` nearest, growing the circle until it holds them (or covers the Earth).

        Each step guesses the radius from the density seen so far (streams per area), and never
        more than doubles it: one big jump from an empty ocean onto a continent would compute
        the distance of a hundred thousand streams to keep eight.
        """
        if self._db.dialect == "postgresql":
            return await self._pg_nearest(table, point, wanted, None)
        radius = FIRST_RADIUS_KM
        while True:
            ranked = await self._nearest_within(table, point, radius, wanted)
            if len(ranked) >= wanted or radius >= HALF_EARTH_KM:
                return ranked
            growth = math.sqrt(wanted / len(ranked)) * 1.1 if ranked else 2.0
            radius = min(radius * min(max(growth, 1.25), 2.0), HALF_EARTH_KM)

    async def _nearest_within(
        self, table: str, point: _Point, radius_km: float, wanted: int
    ) -> list[tuple[int, float]]:
        if wanted <= 0:
            return []
        if self._db.dialect == "postgresql":
            return await self._pg_nearest(table, point, wanted, radius_km)
        ranked: list[tuple[int, float]] = []
        for box in _boxes(point, radius_km):
            rows = await self._fetch_all(
                f"SELECT s.id AS id, {_DISTANCE_SQL} AS distance"  # noqa: S608 - fixed SQL
                f" FROM {table} AS p JOIN streams AS s ON s.id = p.id"
                " WHERE p.min_lat <= :lat_hi AND p.max_lat >= :lat_lo"
                " AND p.min_lng <= :lng_hi AND p.max_lng >= :lng_lo AND distance <= :radius"
                " ORDER BY distance, s.id LIMIT :wanted",
                {**point.params(), **box, "radius": radius_km, "wanted": wanted},
            )
            ranked += [(row["id"], row["distance"]) for row in rows]
        # Boxes never overlap, so merging their best keeps the global best.
        return sorted(ranked, key=lambda item: (item[1], item[0]))[:wanted]

    async def _count_within(self, table: str, point: _Point, radius_km: float) -> int:
        if self._db.dialect == "postgresql":
            where, params = _pg_place_filter(table, point, radius_km)
            row = await self._fetch_one(
                f"SELECT count(*) FROM streams AS s WHERE {where}",  # noqa: S608 - fixed SQL
                params,
            )
            return int(row[0]) if row else 0
        total = 0
        for box in _boxes(point, radius_km):
            row = await self._fetch_one(
                f"SELECT count(*) FROM {table} AS p JOIN streams AS s ON s.id = p.id"  # noqa: S608
                " WHERE p.min_lat <= :lat_hi AND p.max_lat >= :lat_lo"
                f" AND p.min_lng <= :lng_hi AND p.max_lng >= :lng_lo AND {_DISTANCE_SQL} <= :radius",
                {**point.params(), **box, "radius": radius_km},
            )
            total += int(row[0]) if row else 0
        return total

    async def _pg_nearest(
        self, table: str, point: _Point, wanted: int, radius_km: float | None
    ) -> list[tuple[int, float]]:
        """PostgreSQL: the `wanted` nearest (within `radius_km` if given), by (distance, id).

        The KNN scan (nearest first, from the GiST index) finds how far the `wanted`-th nearest
        is; then every stream in a box reaching a little further is ranked by the haversine
        SQL and id, as on SQLite. Both steps read the index, and only about `wanted` rows.
        """
        if wanted <= 0:
            return []
        where, params = _pg_place_filter(table, point, radius_km)
        rows = await self._fetch_all(
            f"WITH nearest AS (SELECT {_PG_PLACE} <-> {_PG_ORIGIN} AS reach"  # noqa: S608
            f" FROM streams AS s WHERE {where}"
            f" ORDER BY {_PG_PLACE} <-> {_PG_ORIGIN} LIMIT :wanted)"
            f" SELECT s.id AS id, {_PG_DISTANCE_SQL} AS distance FROM streams AS s"
            f" WHERE {where} AND {_PG_PLACE} <@ cube_enlarge({_PG_ORIGIN},"
            " (SELECT max(reach) FROM nearest) + :slack, 3)"
            " ORDER BY distance, s.id LIMIT :wanted",
            {**params, "wanted": wanted, "slack": _PG_REACH_SLACK},
        )
        return [(row["id"], row["distance"]) for row in rows]

    # -- shared --------------------------------------------------------------------------------

    async def _fetch_all(self, sql: str, params: tuple[Any, ...] | dict[str, Any]) -> list[Any]:
        return await self._db.fetch_all(*_numbered(sql, params, self._db.dialect))

    async def _fetch_one(self, sql: str, params: tuple[Any, ...] | dict[str, Any]) -> Any:
        return await self._db.fetch_one(*_numbered(sql, params, self._db.dialect))

    async def _count(self, name: str) -> int:
        row = await self._db.fetch_one("SELECT value FROM discovery_counts WHERE name = ?", (name,))
        return int(row[0]) if row else 0

    async def _hits(
        self, ids: list[int], distances: dict[int, float] | None = None
    ) -> list[SearchHit]:
        """The streams of a page, in the order given, with how many watch each right now."""
        if not ids:
            return []
        marks = ", ".join("?" for _ in ids)
        rows = await self._db.fetch_all(
            "SELECT s.*, COALESCE((SELECT a.current_viewers FROM stream_sessions AS ss"  # noqa: S608
            " JOIN session_audience AS a ON a.session_id = ss.id"
            " WHERE ss.stream_id = s.id AND ss.ended_at IS NULL), 0) AS viewers"
            f" FROM streams AS s WHERE s.id IN ({marks})",
            ids,
        )
        by_id = {row["id"]: row for row in rows}
        # A stream deleted between the two reads is simply left out.
        return [
            SearchHit(
                stream_from_row(by_id[stream_id]),
                distances.get(stream_id) if distances is not None else None,
                int(by_id[stream_id]["viewers"]),
            )
            for stream_id in ids
            if stream_id in by_id
        ]


def _numbered(
    sql: str, params: tuple[Any, ...] | dict[str, Any], dialect: str = "sqlite"
) -> tuple[str, tuple[Any, ...]]:
    """`:name` parameters as `?N` (Database passes parameters as a tuple; ?N may repeat).

    On PostgreSQL a plain `?` for each use, its value repeated: the driver numbers `?` itself.
    """
    if not isinstance(params, dict):
        return sql, params
    if dialect == "postgresql":
        values: list[Any] = []

        def mark(match: re.Match[str]) -> str:
            values.append(params[match[1]])
            return "?"

        return re.sub(r":([a-z_]+)", mark, sql), tuple(values)
    names = list(params)
    numbered = re.sub(r":([a-z_]+)", lambda match: f"?{names.index(match[1]) + 1}", sql)
    return numbered, tuple(params[name] for name in names)


def _check_point(latitude: float, longitude: float) -> None:
    if not (math.isfinite(latitude) and -90 <= latitude <= 90):
        raise InvalidInput("'latitude' must be between -90 and 90.")
    if not (math.isfinite(longitude) and -180 <= longitude <= 180):
        raise InvalidInput("'longitude' must be between -180 and 180.")


@dataclass(frozen=True)
class _Point:
    latitude: float
    longitude: float

    def params(self) -> dict[str, float]:
        phi = math.radians(self.latitude)
        return {"phi": phi, "cos_phi": math.cos(phi), "lam": math.radians(self.longitude)}


def _pg_place_filter(
    table: str, point: _Point, radius_km: float | None
) -> tuple[str, dict[str, float]]:
    """PostgreSQL: the WHERE of a place search (placed, on air unless `table` is every place,
    within `radius_km` if given) and its parameters. It implies the predicate of the partial
    GiST index standing for `table` (migrations/postgres/0002 and 0012), so that one is read."""
    where = (
        "s.latitude IS NOT NULL"
        if table == "stream_places"
        else ("s.latitude IS NOT NULL AND s.on_air = 1")
    )
    params = {"lat": point.latitude, "lng": point.longitude, **point.params()}
    if radius_km is not None:
        # Points within radius_km are within this straight line of the origin: a box (an index
        # read) first, then the exact distance.
        chord = 2 * math.sin(min(radius_km / EARTH_RADIUS_KM, math.pi) / 2)
        where += (
            f" AND {_PG_PLACE} <@ cube_enlarge({_PG_ORIGIN}, :radius_reach, 3)"
            f" AND {_PG_DISTANCE_SQL} <= :radius"
        )
        params |= {"radius_reach": chord + _PG_REACH_SLACK, "radius": radius_km}
    return where, params


def _boxes(point: _Point, radius_km: float) -> list[dict[str, float]]:
    """Latitude/longitude boxes that together hold every point within `radius_km`.

    Longitude reach from J. Matuschek's method; a circle over a pole takes every longitude, and
    one crossing the antimeridian becomes two boxes.
    """
    angle = radius_km / EARTH_RADIUS_KM
    lat_lo = point.latitude - math.degrees(angle)
    lat_hi = point.latitude + math.degrees(angle)
    if lat_lo <= -90 or lat_hi >= 90 or angle >= math.pi / 2:
        return [_box(max(lat_lo, -90), min(lat_hi, 90), -180, 180)]
    reach = math.degrees(math.asin(math.sin(angle) / math.cos(math.radians(point.latitude))))
    lng_lo, lng_hi = point.longitude - reach, point.longitude + reach
    if lng_lo < -180:
        return [_box(lat_lo, lat_hi, lng_lo + 360, 180), _box(lat_lo, lat_hi, -180, lng_hi)]
    if lng_hi > 180:
        return [_box(lat_lo, lat_hi, lng_lo, 180), _box(lat_lo, lat_hi, -180, lng_hi - 360)]
    return [_box(lat_lo, lat_hi, lng_lo, lng_hi)]


def _box(lat_lo: float, lat_hi: float, lng_lo: float, lng_hi: float) -> dict[str, float]:
    return {"lat_lo": lat_lo, "lat_hi": lat_hi, "lng_lo": lng_lo, "lng_hi": lng_hi}
