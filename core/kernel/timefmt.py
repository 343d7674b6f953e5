"""How times are stored (ISO-8601 text, UTC) and shown to people ("1h 12m")."""

from __future__ import annotations

from datetime import UTC, datetime


def to_db(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def from_db(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def from_db_required(text: str) -> datetime:
    """A time from a NOT NULL column (a None there would be a broken schema, not bad input)."""
    moment = from_db(text)
    assert moment is not None  # noqa: S101 - NOT NULL column
    return moment


def human_duration(seconds: float) -> str:
    """A duration the way people say it: '45s', '12m', '1h 12m', '2d 3h'."""
    total = max(0, int(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"
