"""The numbers of one session: how long it ran, who watched, what was tipped.

One function, so the Discord end-of-stream summary (bot/announcer.py) and the studio's summary
(GET /api/live/<slug>/sessions/<id>/summary) can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.community.stats import StatsService
from core.live import Audience, LiveEventService
from core.streams import StreamSession


@dataclass(frozen=True)
class SessionSummary:
    session: StreamSession
    # Of an ended session, what was recorded at its end; of a live one, how long it has run.
    duration_seconds: int
    audience: Audience
    tips: int
    tip_credits: int

    @property
    def live(self) -> bool:
        return self.session.ended_at is None


async def session_summary(
    session: StreamSession, live: LiveEventService, stats: StatsService, now: datetime
) -> SessionSummary:
    """The summary of `session`, ended or still live (its numbers so far)."""
    if session.duration_seconds is not None:
        duration = session.duration_seconds
    else:
        duration = max(0, int((now - session.started_at).total_seconds()))
    tips, credits = await stats.session_tips(session.id)
    return SessionSummary(
        session=session,
        duration_seconds=duration,
        audience=await live.audience(session.id),
        tips=tips,
        tip_credits=credits,
    )
