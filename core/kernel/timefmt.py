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
    """A duration the way people say it: '45s', '12m', '1h 12m', '2d 3h' (English; in another
    language: core/kernel/i18n.py's duration_in)."""
    return " ".join(f"{count}{unit[0]}" for count, unit in duration_parts(seconds))


def duration_parts(seconds: float) -> list[tuple[int, str]]:
    """The one or two largest units of a duration: [(1, 'hour'), (12, 'minute')]."""
    total = max(0, int(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return [(days, "day"), (hours, "hour")] if hours else [(days, "day")]
    if hours:
        return [(hours, "hour"), (minutes, "minute")] if minutes else [(hours, "hour")]
    if minutes:
        return [(minutes, "minute")]
    return [(secs, "second")]
