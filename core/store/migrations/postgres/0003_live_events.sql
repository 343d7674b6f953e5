-- Live events, PostgreSQL edition of ../0003_live_events.sql: what LiveKit tells us about rooms
-- (webhooks, reconciler) and what the community sees of it (viewer counts, auto-end, follows,
-- one alert per session). Types as in 0001.

-- Every LiveKit webhook processed, by its event id: LiveKit may deliver one twice.
CREATE TABLE webhook_events (
    id          TEXT COLLATE "C" PRIMARY KEY,
    kind        TEXT COLLATE "C" NOT NULL,
    room_name   TEXT COLLATE "C",
    created_at  BIGINT NOT NULL,                    -- LiveKit's clock, unix seconds
    received_at TEXT COLLATE "C" NOT NULL
);
CREATE INDEX webhook_events_received ON webhook_events (received_at);

-- Who is in a room as far as we know. `order_*` is the newest news applied for this identity
-- (event time, connection start, 0 = joined / 1 = left), so news that arrives late loses.
CREATE TABLE room_participants (
    room_name      TEXT COLLATE "C" NOT NULL,
    identity       TEXT COLLATE "C" NOT NULL,
    role           TEXT COLLATE "C" NOT NULL CHECK (role IN ('viewer', 'broadcaster', 'other')),
    present        INTEGER NOT NULL CHECK (present IN (0, 1)),
    order_at       BIGINT NOT NULL DEFAULT 0,
    order_joined   BIGINT NOT NULL DEFAULT 0,
    order_rank     BIGINT NOT NULL DEFAULT 0,
    video          INTEGER NOT NULL DEFAULT 0 CHECK (video IN (0, 1)),
    video_order_at BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (room_name, identity)
);
-- Counting who is present by role stays cheap however many have come and gone.
CREATE INDEX room_participants_present ON room_participants (room_name, role, present);

-- The audience of one session while it runs (peak_viewers stays on stream_sessions).
CREATE TABLE session_audience (
    session_id          BIGINT PRIMARY KEY REFERENCES stream_sessions (id) ON DELETE CASCADE,
    current_viewers     BIGINT NOT NULL DEFAULT 0,
    broadcaster_present INTEGER NOT NULL DEFAULT 0 CHECK (broadcaster_present IN (0, 1)),
    broadcaster_seen    INTEGER NOT NULL DEFAULT 0 CHECK (broadcaster_seen IN (0, 1)),
    broadcaster_video   INTEGER NOT NULL DEFAULT 0 CHECK (broadcaster_video IN (0, 1)),
    auto_end_at         TEXT COLLATE "C",           -- broadcaster gone: end then unless back
    updated_at          TEXT COLLATE "C" NOT NULL
);
CREATE INDEX session_audience_auto_end ON session_audience (auto_end_at)
    WHERE auto_end_at IS NOT NULL;

-- Distinct people who watched a session ('user:<id>' or 'guest:<id>').
CREATE TABLE session_viewers (
    session_id BIGINT NOT NULL REFERENCES stream_sessions (id) ON DELETE CASCADE,
    viewer     TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (session_id, viewer)
);

-- Viewers over time for the end-of-stream chart: the most seen in each minute of a session.
CREATE TABLE viewer_samples (
    session_id BIGINT NOT NULL REFERENCES stream_sessions (id) ON DELETE CASCADE,
    minute     BIGINT NOT NULL,
    viewers    BIGINT NOT NULL,
    PRIMARY KEY (session_id, minute)
);

-- The announcement shows the live viewer count; edits are spaced at least a minute apart.
ALTER TABLE announcements ADD COLUMN viewers_shown BIGINT;
ALTER TABLE announcements ADD COLUMN edited_at TEXT COLLATE "C";

-- Per-guild roles and who configured them (to be told when a permission is missing).
ALTER TABLE guild_settings ADD COLUMN ping_role_id BIGINT;
ALTER TABLE guild_settings ADD COLUMN live_role_id BIGINT;
ALTER TABLE guild_settings ADD COLUMN configured_by BIGINT;

-- Problems the bot met acting in a guild (missing permissions); `golive check` lists them.
CREATE TABLE guild_problems (
    guild_id   BIGINT NOT NULL,
    what       TEXT COLLATE "C" NOT NULL,           -- 'announce', 'ping_role', 'live_role'
    detail     TEXT COLLATE "C" NOT NULL,
    noticed_at TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (guild_id, what)
);

CREATE TABLE follows (
    follower_id BIGINT NOT NULL,
    streamer_id BIGINT NOT NULL,
    created_at  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (follower_id, streamer_id),
    CHECK (follower_id <> streamer_id)
);
CREATE INDEX follows_streamer ON follows (streamer_id);

-- Members who turned go-live DMs off (absent = on).
CREATE TABLE notification_settings (
    user_id    BIGINT PRIMARY KEY,
    dms        INTEGER NOT NULL CHECK (dms IN (0, 1)),
    updated_at TEXT COLLATE "C" NOT NULL
);

-- One go-live DM per (session, follower): claimed before sending, like announcements.
CREATE TABLE follower_alerts (
    session_id BIGINT NOT NULL REFERENCES stream_sessions (id) ON DELETE CASCADE,
    user_id    BIGINT NOT NULL,
    sent_at    TEXT COLLATE "C",
    PRIMARY KEY (session_id, user_id)
);

-- Live roles handed out, so they are taken back on end even after a restart.
CREATE TABLE live_roles (
    session_id BIGINT NOT NULL REFERENCES stream_sessions (id) ON DELETE CASCADE,
    guild_id   BIGINT NOT NULL,
    user_id    BIGINT NOT NULL,
    role_id    BIGINT NOT NULL,
    removed    INTEGER NOT NULL DEFAULT 0 CHECK (removed IN (0, 1)),
    PRIMARY KEY (session_id, guild_id)
);
