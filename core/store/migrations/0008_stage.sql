-- The stage: viewers raise a hand, the streamer (or a moderator) invites them, and guests publish
-- beside the streamer while on stage. Everything is per session, so a new go-live starts with an
-- empty queue and stage. Times as in 0001.

-- A raised hand: at most one per member and session; lowering it deletes the row.
CREATE TABLE stage_hands (
    session_id   INTEGER NOT NULL REFERENCES stream_sessions (id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL,
    display_name TEXT    NOT NULL CHECK (length(display_name) BETWEEN 1 AND 80),
    raised_at    TEXT    NOT NULL,
    PRIMARY KEY (session_id, user_id)
);

-- An invitation to the stage. Only 'pending' ones before `expires_at` can be accepted; one that
-- ran out is marked 'expired' the next time someone looks.
CREATE TABLE stage_invitations (
    id           INTEGER PRIMARY KEY,
    session_id   INTEGER NOT NULL REFERENCES stream_sessions (id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL,
    display_name TEXT    NOT NULL CHECK (length(display_name) BETWEEN 1 AND 80),
    invited_by   INTEGER NOT NULL,
    status       TEXT    NOT NULL DEFAULT 'pending'
                         CHECK (status IN ('pending', 'accepted', 'declined', 'expired', 'withdrawn')),
    created_at   TEXT    NOT NULL,
    expires_at   TEXT    NOT NULL,
    answered_at  TEXT
);
-- One open invitation per member and session, whatever races happen.
CREATE UNIQUE INDEX stage_invitations_one_pending
    ON stage_invitations (session_id, user_id) WHERE status = 'pending';

-- A stretch of time a guest spent on stage; `left_at` NULL while they are on it. `identity` is
-- the LiveKit participant (their watching tab) that holds the publish permission.
CREATE TABLE stage_members (
    id           INTEGER PRIMARY KEY,
    session_id   INTEGER NOT NULL REFERENCES stream_sessions (id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL,
    display_name TEXT    NOT NULL CHECK (length(display_name) BETWEEN 1 AND 80),
    identity     TEXT    NOT NULL,
    joined_at    TEXT    NOT NULL,
    left_at      TEXT,
    left_reason  TEXT,                              -- 'left', 'removed', 'ended', 'sanctioned', 'disconnected'
    removed_by   INTEGER
);
CREATE UNIQUE INDEX stage_members_one_open ON stage_members (session_id, user_id) WHERE left_at IS NULL;
CREATE INDEX stage_members_user ON stage_members (user_id);
