"""The Discord runtime: the bot, its command tree and error path, the UI bases, shared embeds
and buttons, members and moderators, delivery, and the Discord consumers of golive's events."""
