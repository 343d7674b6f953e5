-- When a recording's file really starts (LiveKit's egress reports it; the egress starts a few
-- seconds after golive asks): a VOD replays its chat at (message time - this).
-- PostgreSQL edition of ../0011_recording_media_start.sql.
ALTER TABLE recordings ADD COLUMN media_started_at TEXT COLLATE "C";

-- A VOD's chat replay reads one session's messages in order.
CREATE INDEX chat_messages_session ON chat_messages (session_id, id);
