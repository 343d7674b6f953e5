-- "Sign in with Discord" (core/accounts/discord_oauth.py): one row per sign-in started, so the
-- process that answers Discord's redirect need not be the one that sent the person there. The
-- state is kept as an HMAC (like login links); the PKCE verifier is only worth something with
-- the code Discord hands that browser, and only until the row expires (minutes). A row is spent
-- by one conditional UPDATE, so a state works once. PostgreSQL edition of
-- ../0010_discord_sign_in.sql; types as in 0001.
CREATE TABLE discord_sign_ins (
    state_hash    TEXT COLLATE "C" PRIMARY KEY,
    code_verifier TEXT COLLATE "C" NOT NULL,
    next_path     TEXT COLLATE "C" NOT NULL,
    created_at    TEXT COLLATE "C" NOT NULL,
    expires_at    TEXT COLLATE "C" NOT NULL,
    used_at       TEXT COLLATE "C"
);
CREATE INDEX discord_sign_ins_expiry ON discord_sign_ins (expires_at);
