"""The Discord runtime: the bot, its command tree and error path, shared embeds and views."""
