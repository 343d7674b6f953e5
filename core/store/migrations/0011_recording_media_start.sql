-- When a recording's file really starts (LiveKit's egress reports it; the egress starts a few
-- seconds after golive asks): a VOD replays its chat at (message time - this).
ALTER TABLE recordings ADD COLUMN media_started_at TEXT;

-- A VOD's chat replay reads one session's messages in order.
CREATE INDEX chat_messages_session ON chat_messages (session_id, id);
