-- Thumbnails of live streams (core/live/thumbnails.py): one image egress per on-air session.
-- The row is the claim (a repeated event starts nothing twice) and keeps LiveKit's answer;
-- egress webhooks settle it (`updated_ns` orders them; a final status is never undone).
-- PostgreSQL edition of ../0013_thumbnails.sql; types as in 0001.
CREATE TABLE thumbnails (
    session_id   BIGINT PRIMARY KEY REFERENCES stream_sessions (id) ON DELETE CASCADE,
    stream_id    BIGINT NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    egress_id    TEXT COLLATE "C" UNIQUE,
    status       TEXT COLLATE "C" NOT NULL CHECK (status IN
                     ('starting', 'active', 'ending', 'complete', 'failed', 'aborted')),
    error        TEXT COLLATE "C",
    requested_at TEXT COLLATE "C" NOT NULL,
    updated_ns   BIGINT NOT NULL DEFAULT 0
);
