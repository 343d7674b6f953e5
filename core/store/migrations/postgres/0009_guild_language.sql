-- The language a guild reads what golive posts for everyone (announcements, end summaries) in:
-- a shipped locale ("en", "de", "pt_BR") chosen with /setup language; NULL means English.
-- PostgreSQL edition of ../0009_guild_language.sql.
ALTER TABLE guild_settings ADD COLUMN language TEXT COLLATE "C";
