-- OBS ingress and recordings (issue 8). Times as in 0001.

-- The LiveKit ingress (RTMP or WHIP) of a stream page: one per page. The stream key itself is not
-- kept here: it is read from LiveKit when its owner asks, so a copy of the database leaks no keys.
-- `room_name` is the room the ingress publishes into: while the stream is offline a fresh,
-- never-used `live-<slug>-<unix>` name ("armed"), so OBS starting to publish opens a new session.
CREATE TABLE stream_ingress (
    stream_id            INTEGER PRIMARY KEY REFERENCES streams (id) ON DELETE CASCADE,
    ingress_id           TEXT    NOT NULL UNIQUE,
    input_type           TEXT    NOT NULL CHECK (input_type IN ('rtmp', 'whip')),
    participant_identity TEXT    NOT NULL,
    room_name            TEXT    NOT NULL,
    publishing_since     INTEGER,                   -- LiveKit's state.started_at (ns) while OBS sends
    video_width          INTEGER,                   -- the input as the ingress last reported it
    video_height         INTEGER,
    video_fps            REAL,
    video_bitrate        INTEGER,
    problem              TEXT,                      -- why OBS could not take the stream live
    problem_at           TEXT,
    created_at           TEXT    NOT NULL,
    updated_at           TEXT    NOT NULL
);
CREATE INDEX stream_ingress_room ON stream_ingress (room_name);

-- Streamers who asked for their streams to be recorded (`/stream record on`).
CREATE TABLE recording_settings (
    stream_id  INTEGER PRIMARY KEY REFERENCES streams (id) ON DELETE CASCADE,
    enabled    INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    updated_at TEXT    NOT NULL
);

-- One LiveKit egress (room composite to a file) per row; a finished one is a VOD.
CREATE TABLE recordings (
    id               INTEGER PRIMARY KEY,
    session_id       INTEGER NOT NULL REFERENCES stream_sessions (id) ON DELETE CASCADE,
    stream_id        INTEGER NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    egress_id        TEXT    UNIQUE,                -- NULL when LiveKit refused to start it
    status           TEXT    NOT NULL CHECK (status IN ('starting', 'active', 'ending',
                                             'complete', 'failed', 'aborted')),
    filename         TEXT,
    location         TEXT,                          -- where LiveKit wrote it (path or S3 URL)
    size_bytes       INTEGER,
    duration_seconds INTEGER,
    error            TEXT,                          -- LiveKit's reason, for failed ones
    requested_at     TEXT    NOT NULL,
    ended_at         TEXT,
    updated_ns       INTEGER NOT NULL DEFAULT 0     -- LiveKit's updated_at: older news loses
);
CREATE INDEX recordings_stream ON recordings (stream_id, status, requested_at);
CREATE INDEX recordings_session ON recordings (session_id);
