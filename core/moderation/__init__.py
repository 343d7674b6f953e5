"""Moderators, sanctions, reports and the audit log.

The public module: other packages import from here, never from the modules inside."""

from core.moderation.service import (
    REASON_MAX,
    REPORT_REASON_MAX,
    ModerationService,
    Report,
    Sanction,
    SanctionEvent,
    record_action,
)

__all__ = [
    "REASON_MAX",
    "REPORT_REASON_MAX",
    "ModerationService",
    "Report",
    "Sanction",
    "SanctionEvent",
    "record_action",
]
