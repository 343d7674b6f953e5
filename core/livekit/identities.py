"""The names golive gives LiveKit participants and rooms, built and read in this one place.

Participant identities (the ``sub`` of the tokens golive mints):

- ``host-<user id>``: the streamer's studio tab (the broadcaster);
- ``host-<user id>-obs``: the streamer's OBS ingress, apart from the studio, so the two don't
  disconnect each other; pages show both as the streamer;
- ``viewer-<user id>-<tab>``: a signed-in member watching; a suffix per token, so the same member
  in two tabs doesn't kick their other tab out;
- ``guest-<hex>``: someone watching without signing in.

Rooms are ``live-<slug>-<unix seconds>``: a fresh room per session, so a session's webhooks can
never be mistaken for another's. The page scripts read `BROADCASTER_PREFIX` and `AUDIENCE_PREFIXES` from the server.
"""

from __future__ import annotations

import secrets

BROADCASTER_PREFIX = "host-"
VIEWER_PREFIX = "viewer-"
GUEST_PREFIX = "guest-"
# Whose connections count as watching (pages count the room's participants by these, too).
AUDIENCE_PREFIXES = (VIEWER_PREFIX, GUEST_PREFIX)
OBS_SUFFIX = "-obs"
# Identities of people watching (the studio counts its viewers by these).
AUDIENCE_PREFIXES = (VIEWER_PREFIX, GUEST_PREFIX)
ROOM_PREFIX = "live-"


def host_identity(user_id: int) -> str:
    return f"{BROADCASTER_PREFIX}{user_id}"


def obs_identity(user_id: int) -> str:
    return f"{BROADCASTER_PREFIX}{user_id}{OBS_SUFFIX}"


def viewer_identity(user_id: int, tab: str | None = None) -> str:
    """A member's identity for one tab; ``tab`` defaults to a random suffix."""
    return f"{VIEWER_PREFIX}{user_id}-{tab if tab is not None else secrets.token_hex(3)}"


def guest_identity(token: str | None = None) -> str:
    """A guest's identity; ``token`` defaults to random hex (callers may bring faster random)."""
    return f"{GUEST_PREFIX}{token if token is not None else secrets.token_hex(6)}"


def is_broadcaster(identity: str, owner_id: int) -> bool:
    """The stream owner's studio tab or their OBS ingress."""
    return identity in (host_identity(owner_id), obs_identity(owner_id))


def is_audience(identity: str) -> bool:
    """A viewer or a guest (not the streamer, not a LiveKit agent or egress)."""
    return identity.startswith(AUDIENCE_PREFIXES)


def is_viewer_of(identity: str, user_id: int) -> bool:
    """One of ``user_id``'s watching tabs (what a kick disconnects)."""
    return identity.startswith(f"{VIEWER_PREFIX}{user_id}-")


def person_key(identity: str) -> str:
    """One key per person: a member's tabs count once (``user:<id>``), each guest once."""
    if identity.startswith(VIEWER_PREFIX):
        return "user:" + identity.removeprefix(VIEWER_PREFIX).split("-", 1)[0]
    return "guest:" + identity.removeprefix(GUEST_PREFIX)


def room_name(slug: str, seconds: int) -> str:
    return f"{ROOM_PREFIX}{slug}-{seconds}"
