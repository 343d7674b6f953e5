-- Where signed-in members fetched viewer tokens from, so that a kick also covers the browser it
-- came from when that browser comes back without its cookie, as a guest. Only as old as a kick
-- could need (ModerationService prunes rows older than a day). PostgreSQL edition of
-- ../0007_viewer_addresses.sql; types as in 0001.
CREATE TABLE viewer_addresses (
    user_id BIGINT NOT NULL,
    ip      TEXT COLLATE "C" NOT NULL,
    seen_at TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (user_id, ip)
);
CREATE INDEX viewer_addresses_seen ON viewer_addresses (seen_at);
