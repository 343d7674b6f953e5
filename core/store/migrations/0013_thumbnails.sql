-- Thumbnails of live streams (core/live/thumbnails.py): one image egress per on-air session.
-- The row is the claim (a repeated event starts nothing twice) and keeps LiveKit's answer;
-- egress webhooks settle it (`updated_ns` orders them; a final status is never undone).
CREATE TABLE thumbnails (
    session_id   INTEGER PRIMARY KEY REFERENCES stream_sessions (id) ON DELETE CASCADE,
    stream_id    INTEGER NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    egress_id    TEXT UNIQUE,
    status       TEXT    NOT NULL CHECK (status IN
                     ('starting', 'active', 'ending', 'complete', 'failed', 'aborted')),
    error        TEXT,
    requested_at TEXT    NOT NULL,
    updated_ns   INTEGER NOT NULL DEFAULT 0
);
