"""Participant identities and room names: built and read by one module."""

from __future__ import annotations

from core.livekit import (
    BROADCASTER_PREFIX,
    guest_identity,
    host_identity,
    is_audience,
    is_broadcaster,
    is_viewer_of,
    obs_identity,
    person_key,
    room_name,
    viewer_identity,
)


def test_the_identities_golive_hands_out() -> None:
    assert host_identity(42) == "host-42"
    assert obs_identity(42) == "host-42-obs"
    assert viewer_identity(42, "a1b2c3") == "viewer-42-a1b2c3"
    assert guest_identity("00ff00ff00ff") == "guest-00ff00ff00ff"
    assert host_identity(42).startswith(BROADCASTER_PREFIX)
    assert obs_identity(42).startswith(BROADCASTER_PREFIX)


def test_random_suffixes_keep_tabs_and_guests_apart() -> None:
    assert viewer_identity(42) != viewer_identity(42)
    assert guest_identity() != guest_identity()
    assert person_key(viewer_identity(42)) == person_key(viewer_identity(42)) == "user:42"


def test_who_is_who() -> None:
    assert is_broadcaster("host-42", 42) and is_broadcaster("host-42-obs", 42)
    assert not is_broadcaster("host-421", 42) and not is_broadcaster("viewer-42-ab", 42)
    assert is_audience("viewer-7-ab") and is_audience("guest-ff")
    assert not is_audience("host-7") and not is_audience("EG_recorder")
    assert is_viewer_of("viewer-7-ab", 7) and not is_viewer_of("viewer-71-ab", 7)
    assert not is_viewer_of("host-7", 7)
    assert person_key("guest-ff00") == "guest:ff00"


def test_room_names() -> None:
    assert room_name("alice", 1_700_000_000) == "live-alice-1700000000"
