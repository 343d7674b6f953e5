"""The fast token minter signs exactly what livekit-api's AccessToken would, and nothing more."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt
import pytest
from livekit import api

from core.livekit.gateway import Role, TokenMinter, grants_for
from tests.conftest import API_SECRET

API_KEY = "testkey"
TTL = timedelta(minutes=60)
NOW = 1_790_000_000.75  # a wall-clock instant with a fraction, like time.time()


def minter(ttl: timedelta = TTL, secret: str = API_SECRET) -> TokenMinter:
    return TokenMinter(API_KEY, secret, ttl)


def reference_token(*, room: str, identity: str, name: str, role: Role) -> str:
    """What livekit-api's own AccessToken produces for the same request."""
    return (
        api.AccessToken(API_KEY, API_SECRET)
        .with_identity(identity)
        .with_name(name)
        .with_ttl(TTL)
        .with_grants(grants_for(role, room))
        .to_jwt()
    )


def claims_of(token: str) -> dict[str, Any]:
    """Every claim of a token whose signature, issuer and expiry livekit-api's checks accept."""
    api.TokenVerifier(API_KEY, API_SECRET).verify(token)
    claims: dict[str, Any] = jwt.decode(
        token, API_SECRET, algorithms=["HS256"], issuer=API_KEY, options={"require": ["exp"]}
    )
    return claims


def without_times(claims: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in claims.items() if key not in ("nbf", "exp")}


VIEWER_VIDEO = {
    "roomJoin": True,
    "room": "live-alice-1790000000",
    "canSubscribe": True,
    "canPublish": False,
    "canPublishData": False,
    "canPublishSources": [],
    "canUpdateOwnMetadata": False,
}


def test_a_viewer_token_may_only_subscribe_in_its_room() -> None:
    token = minter().mint(
        room="live-alice-1790000000", identity="guest-0a1b2c3d4e5f", name="Guest", role="viewer"
    )

    claims = claims_of(token)
    assert without_times(claims) == {
        "name": "Guest",
        "sub": "guest-0a1b2c3d4e5f",
        "iss": API_KEY,
        "video": VIEWER_VIDEO,
    }
    verified = api.TokenVerifier(API_KEY, API_SECRET).verify(token)
    assert verified.identity == "guest-0a1b2c3d4e5f"
    assert verified.video is not None
    assert (verified.video.can_publish, verified.video.can_publish_data) == (False, False)
    assert verified.video.can_publish_sources == []
    assert not verified.video.room_admin and not verified.video.room_create


def test_a_broadcaster_token_may_publish_camera_mic_and_screen_but_no_data() -> None:
    token = minter().mint(
        room="live-alice-1790000000", identity="host-1001", name="Alice", role="broadcaster"
    )

    assert claims_of(token)["video"] == {
        **VIEWER_VIDEO,
        "canPublish": True,
        "canPublishSources": ["camera", "microphone", "screen_share", "screen_share_audio"],
    }


@pytest.mark.parametrize("role", ["viewer", "broadcaster"])
@pytest.mark.parametrize(
    ("room", "identity", "name"),
    [
        ("live-alice-1790000000", "guest-0a1b2c3d4e5f", "Guest"),
        ("live-alice-1790000000", "viewer-1001-a1b2c3", "Alice"),
        ("live-bob-1", "host-1002", ""),  # AccessToken leaves an empty name out
        ('live-"quoted"\\-1', "viewer-7-000000", 'Zoë "the" \\ 🎥 \u2028 streamer'),
    ],
)
def test_the_claims_are_exactly_what_livekit_api_would_sign(
    role: Role, room: str, identity: str, name: str
) -> None:
    ours = minter().mint(room=room, identity=identity, name=name, role=role)
    theirs = reference_token(room=room, identity=identity, name=name, role=role)

    assert set(claims_of(ours)) == set(claims_of(theirs))  # nbf and exp included
    assert without_times(claims_of(ours)) == without_times(claims_of(theirs))
    assert jwt.get_unverified_header(ours) == jwt.get_unverified_header(theirs)


def test_a_token_lives_for_the_configured_ttl_from_the_wall_clock() -> None:
    fast = TokenMinter(API_KEY, API_SECRET, timedelta(minutes=15), wall_clock=lambda: NOW)

    raw = jwt.decode(
        fast.mint(room="r", identity="guest-1", name="Guest", role="viewer"),
        options={"verify_signature": False},
    )

    # AccessToken truncates to whole seconds the same way.
    assert (raw["nbf"], raw["exp"]) == (int(NOW), int(NOW) + 15 * 60)


def test_an_expired_token_is_refused_by_livekit_api() -> None:
    stale = TokenMinter(API_KEY, API_SECRET, timedelta(minutes=1), wall_clock=lambda: NOW)
    token = stale.mint(room="r", identity="guest-1", name="Guest", role="viewer")

    with pytest.raises(jwt.ExpiredSignatureError):
        api.TokenVerifier(API_KEY, API_SECRET).verify(token)


def test_a_token_signed_with_another_secret_is_refused() -> None:
    token = minter(secret="another-secret-that-is-long-enough-0123456789").mint(
        room="r", identity="guest-1", name="Guest", role="viewer"
    )

    with pytest.raises(jwt.InvalidSignatureError):
        api.TokenVerifier(API_KEY, API_SECRET).verify(token)


def test_each_token_is_signed_on_its_own() -> None:
    """The prepared HMAC state is copied per token, never shared between tokens."""
    fast = minter()
    first = fast.mint(room="live-a-1", identity="guest-1", name="Guest", role="viewer")
    fast.mint(room="live-b-2", identity="host-2", name="Bob", role="broadcaster")
    again = fast.mint(room="live-a-1", identity="guest-1", name="Guest", role="viewer")

    assert claims_of(first)["video"]["room"] == claims_of(again)["video"]["room"] == "live-a-1"


@pytest.mark.parametrize(("room", "identity"), [("", "guest-1"), ("live-a-1", "")])
def test_a_token_needs_a_room_and_an_identity(room: str, identity: str) -> None:
    with pytest.raises(ValueError, match="identity and room"):
        minter().mint(room=room, identity=identity, name="Guest", role="viewer")


def test_a_minter_needs_credentials() -> None:
    with pytest.raises(ValueError, match="api_key and api_secret"):
        TokenMinter(API_KEY, "", TTL)
