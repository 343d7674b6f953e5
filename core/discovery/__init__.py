"""Finding streams by name and by place.

The public module: other packages import from here, never from the modules inside."""

from core.discovery.places import City, PlaceDirectory
from core.discovery.search import (
    LIMIT_MAX,
    PAGE_SIZE,
    QUERY_MAX,
    SearchHit,
    SearchPage,
    SearchService,
)

__all__ = [
    "LIMIT_MAX",
    "PAGE_SIZE",
    "QUERY_MAX",
    "City",
    "PlaceDirectory",
    "SearchHit",
    "SearchPage",
    "SearchService",
]
