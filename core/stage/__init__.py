"""The stage: raised hands, invitations and guests publishing beside the streamer; owns
`stage_hands`, `stage_invitations` and `stage_members`.

The public module: other packages import from here, never from the modules inside."""

from core.stage.service import (
    STAGE_TOPIC,
    Guest,
    GuestTime,
    Hand,
    Invitation,
    Member,
    MuteSource,
    StageChanged,
    StageService,
    StageState,
)

__all__ = [
    "STAGE_TOPIC",
    "Guest",
    "GuestTime",
    "Hand",
    "Invitation",
    "Member",
    "MuteSource",
    "StageChanged",
    "StageService",
    "StageState",
]
