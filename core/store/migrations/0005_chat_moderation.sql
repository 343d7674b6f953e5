-- Chat on the watch page (bridged with a Discord thread) and the moderation that keeps it civil.

-- One chat message, whichever side it was written on. Hidden messages stay (for the audit trail)
-- but are never served again.
CREATE TABLE chat_messages (
    id                 INTEGER PRIMARY KEY,
    stream_id          INTEGER NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    session_id         INTEGER REFERENCES stream_sessions (id) ON DELETE SET NULL,
    source             TEXT    NOT NULL CHECK (source IN ('web', 'discord')),
    author_id          INTEGER,                     -- Discord user id; NULL for a guest
    author_name        TEXT    NOT NULL CHECK (length(author_name) BETWEEN 1 AND 80),
    author_role        TEXT    NOT NULL CHECK (author_role IN ('streamer', 'moderator', 'member', 'guest')),
    body               TEXT    NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
    discord_message_id INTEGER UNIQUE,              -- the copy (or original) in the Discord thread
    created_at         TEXT    NOT NULL,
    hidden_at          TEXT,
    hidden_by          INTEGER
);
CREATE INDEX chat_messages_stream ON chat_messages (stream_id, id);
CREATE INDEX chat_messages_author ON chat_messages (author_id, stream_id, id);

-- The Discord thread that carries a session's chat in one guild.
CREATE TABLE chat_threads (
    thread_id  INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES stream_sessions (id) ON DELETE CASCADE,
    stream_id  INTEGER NOT NULL REFERENCES streams (id) ON DELETE CASCADE,
    guild_id   INTEGER NOT NULL,
    channel_id INTEGER NOT NULL,                    -- the parent channel (webhooks live there)
    created_at TEXT    NOT NULL,
    UNIQUE (session_id, guild_id)
);

-- Per-stream chat settings a moderator can change.
CREATE TABLE chat_settings (
    stream_id         INTEGER PRIMARY KEY REFERENCES streams (id) ON DELETE CASCADE,
    slowmode_seconds  INTEGER NOT NULL DEFAULT 0 CHECK (slowmode_seconds BETWEEN 0 AND 21600),
    updated_at        TEXT    NOT NULL
);

-- Bans (scope chat / streaming / both), chat timeouts and kicks (no new viewer token for a while).
-- A sanction is active while lifted_at is NULL and expires_at is NULL or in the future.
CREATE TABLE sanctions (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('ban', 'timeout', 'kick')),
    scope        TEXT    NOT NULL CHECK (scope IN ('chat', 'streaming', 'both', 'watch')),
    reason       TEXT    NOT NULL DEFAULT '',
    moderator_id INTEGER NOT NULL,
    created_at   TEXT    NOT NULL,
    expires_at   TEXT,
    lifted_at    TEXT,
    lifted_by    INTEGER
);
CREATE INDEX sanctions_user ON sanctions (user_id, kind, lifted_at);

-- Who is a moderator, as the bot last saw them in a guild (the web knows ids, not permissions).
CREATE TABLE moderators (
    user_id      INTEGER NOT NULL,
    guild_id     INTEGER NOT NULL,
    is_moderator INTEGER NOT NULL CHECK (is_moderator IN (0, 1)),
    seen_at      TEXT    NOT NULL,
    PRIMARY KEY (user_id, guild_id)
);

-- Per-guild moderation settings: the mod-log channel and an optional moderator role.
CREATE TABLE moderation_settings (
    guild_id           INTEGER PRIMARY KEY,
    mod_log_channel_id INTEGER,
    moderator_role_id  INTEGER,
    updated_at         TEXT NOT NULL
);

-- Reports members file with /report; they land in the guild's mod-log channel.
CREATE TABLE reports (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL,
    reporter_id INTEGER NOT NULL,
    member_id   INTEGER NOT NULL,
    reason      TEXT    NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000),
    status      TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'dismissed', 'actioned')),
    created_at  TEXT    NOT NULL,
    handled_by  INTEGER,
    handled_at  TEXT,
    outcome     TEXT
);

-- Every moderator action, for `/mod log`.
CREATE TABLE mod_actions (
    id           INTEGER PRIMARY KEY,
    moderator_id INTEGER NOT NULL,
    action       TEXT    NOT NULL,
    target_id    INTEGER,
    stream_id    INTEGER,
    details      TEXT    NOT NULL DEFAULT '',
    created_at   TEXT    NOT NULL
);
CREATE INDEX mod_actions_target ON mod_actions (target_id, id);
