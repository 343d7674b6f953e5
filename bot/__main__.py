"""`python -m bot` runs the bot and the web sidecar, like `golive run`."""

from bot.cli import main

raise SystemExit(main(["run"]))
