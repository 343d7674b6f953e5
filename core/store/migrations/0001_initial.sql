-- golive's first schema. Times are ISO-8601 text in UTC; ids of Discord things are INTEGER.

CREATE TABLE streams (
    id            INTEGER PRIMARY KEY,
    owner_id      INTEGER NOT NULL UNIQUE,          -- Discord user id: one stream page per member
    slug          TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    owner_name    TEXT    NOT NULL,                 -- display name, refreshed when the owner acts
    title         TEXT    NOT NULL CHECK (length(title) BETWEEN 1 AND 100),
    description   TEXT    NOT NULL DEFAULT '' CHECK (length(description) <= 1000),
    location_name TEXT,
    latitude      REAL CHECK (latitude BETWEEN -90 AND 90),
    longitude     REAL CHECK (longitude BETWEEN -180 AND 180),
    active        INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1)),
    room_name     TEXT,                             -- the current room while live
    live_since    TEXT,
    last_live_at  TEXT,                             -- when the last session ended
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL,
    CHECK ((active = 1) = (room_name IS NOT NULL AND live_since IS NOT NULL)),
    CHECK ((latitude IS NULL) = (longitude IS NULL))
);
CREATE UNIQUE INDEX streams_room_name ON streams (room_name) WHERE room_name IS NOT NULL;
CREATE INDEX streams_active ON streams (active, live_since);

CREATE TABLE stream_sessions (
    id               INTEGER PRIMARY KEY,
    stream_id        INTEGER NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    room_name        TEXT    NOT NULL UNIQUE,
    started_at       TEXT    NOT NULL,
    ended_at         TEXT,
    end_reason       TEXT,                          -- 'owner', 'room_gone', 'moderator', ...
    duration_seconds INTEGER,
    peak_viewers     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX stream_sessions_stream ON stream_sessions (stream_id, started_at);
-- At most one open session per stream, whatever races happen.
CREATE UNIQUE INDEX stream_sessions_one_open ON stream_sessions (stream_id) WHERE ended_at IS NULL;

CREATE TABLE guild_settings (
    guild_id            INTEGER PRIMARY KEY,
    announce_channel_id INTEGER,
    updated_at          TEXT NOT NULL
);

-- The announcement of a session in a guild: one per (session, guild). The row is claimed before
-- posting (message_id NULL) so a retry, a second replica or a restart edits the message already
-- posted instead of posting another.
CREATE TABLE announcements (
    id         INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES stream_sessions (id) ON DELETE CASCADE,
    guild_id   INTEGER NOT NULL,
    channel_id INTEGER NOT NULL,
    message_id INTEGER,
    UNIQUE (session_id, guild_id)
);

-- One-time login links. Only a keyed hash of the token is stored.
CREATE TABLE login_links (
    token_hash   TEXT PRIMARY KEY,
    user_id      INTEGER NOT NULL,
    username     TEXT    NOT NULL,
    display_name TEXT    NOT NULL,
    next_path    TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    expires_at   TEXT    NOT NULL,
    used_at      TEXT
);

CREATE TABLE web_sessions (
    token_hash   TEXT PRIMARY KEY,
    user_id      INTEGER NOT NULL,
    username     TEXT    NOT NULL,
    display_name TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    expires_at   TEXT    NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions (user_id);
