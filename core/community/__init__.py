"""Per-guild settings, what golive did around each go-live, follows and stats.

The public module: other packages import from here, never from the modules inside."""

from core.community.alerts import CommunityService, CountToShow, LiveRoleGrant
from core.community.chart import viewers_chart
from core.community.follows import FollowService
from core.community.guilds import GuildService
from core.community.stats import StatsService, StreamerStats
from core.community.summary import SessionSummary, session_summary

__all__ = [
    "CommunityService",
    "CountToShow",
    "FollowService",
    "GuildService",
    "LiveRoleGrant",
    "SessionSummary",
    "StatsService",
    "StreamerStats",
    "session_summary",
    "viewers_chart",
]
