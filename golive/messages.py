"""`make messages`: collect every user-visible string into golive.pot and update the catalogs.

Four sources: Python calls (`t`, `tr`, `tn`, `N_`, `ngettext`, and the first argument of every domain
error raised with a literal message), the page templates (Jinja2's `_`), the page scripts (`gettext` / `ngettext` from
web/static/text.js), and the command tree
(descriptions and choice names, and the command, group and option names in their own context,
read from the tree itself because they live in decorators and docstrings). New strings land in each `.po` untranslated, and the catalog test fails until a
translator fills them in.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from core.kernel import i18n
from web.i18n import script_messages

ROOT = Path(__file__).resolve().parent.parent
PYTHON_DIRS = ("bot", "cogs", "core", "web")
TEMPLATES = ROOT / "web" / "templates"
POT = i18n.LOCALES_DIR / f"{i18n.DOMAIN}.pot"
ERRORS = (
    "GoLiveError",
    "InvalidInput",
    "NotAuthenticated",
    "Forbidden",
    "NotFound",
    "Conflict",
    "LiveKitUnavailable",
    "DiscordUnavailable",
    "PaymentRefused",
    "RateLimited",
    "TooLarge",
)
# keyword → which arguments are the message (and its plural): t(locale, msgid, ...).
KEYWORDS: dict[str, tuple[int, ...] | None] = {
    "t": (2,),
    "tr": (2,),
    "N_": None,
    "_": None,
    "gettext": None,
    "ngettext": (2, 3),
    "tn": (2, 3),
}
TEMPLATE_KEYWORDS: dict[str, tuple[int, ...] | None] = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
}


def error_messages() -> Iterator[str]:
    """The message of every domain error made with a literal one (its text is its message id).

    Read from the syntax tree rather than with Babel's keywords: an error whose message is an
    f-string cannot be looked up by its text, and Babel would extract its literal fragments.
    """
    for directory in PYTHON_DIRS:
        for path in sorted((ROOT / directory).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                name = node.func.id if isinstance(node.func, ast.Name) else None
                first = node.args[0]
                if name in ERRORS and isinstance(first, ast.Constant) and first.value:
                    yield str(first.value)


def source_messages() -> Iterator[tuple[str, str | None]]:
    """(msgid, plural) of every marked string in the Python sources and the templates."""
    for msgid in error_messages():
        yield msgid, None
    for directory in PYTHON_DIRS:
        found = extract_from_dir(
            ROOT / directory,
            method_map=[("**.py", "python")],
            keywords=KEYWORDS,
            comment_tags=(),
            strip_comment_tags=True,
        )
        yield from _messages(message for _f, _l, message, _c, _x in found)
    found = extract_from_dir(
        TEMPLATES,
        method_map=[("**.html", "jinja2")],
        options_map={"**.html": {"extensions": "jinja2.ext.i18n"}},
        keywords=TEMPLATE_KEYWORDS,
    )
    yield from _messages(message for _f, _l, message, _c, _x in found)
    yield from _messages(script_messages())


def _messages(found: Iterable[str | tuple[str | None, ...]]) -> Iterator[tuple[str, str | None]]:
    for message in found:
        if isinstance(message, tuple):
            singular = message[0]
            plural = message[1] if len(message) > 1 else None
            if singular:
                yield singular, plural
        elif message:
            yield message, None


async def tree_messages() -> tuple[list[str], list[str]]:
    """The command tree's descriptions and choice names, and its names, from a bot built as
    golive runs."""
    from bot.app import EXTENSIONS, GoLiveBot
    from bot.i18n import tree_names, tree_strings
    from core.config import load_settings
    from golive.bootstrap import open_services

    with tempfile.TemporaryDirectory() as scratch:
        settings = load_settings(
            {
                "GOLIVE_CONFIG": str(ROOT / "config.toml"),
                "GOLIVE_DATABASE": str(Path(scratch) / "messages.db"),
                "LIVEKIT_URL": "http://127.0.0.1:7880",
                "LIVEKIT_API_KEY": "extract",
                "LIVEKIT_API_SECRET": "extract-messages-secret-0123456789",
                "GOLIVE_SECRET": "extract-messages-secret-0123456789abcdef",
                "GOLIVE_PUBLIC_URL": "http://localhost",
            },
            dotenv_path=None,
        )
        async with open_services(settings) as services:
            bot = GoLiveBot(services)
            try:
                for extension in EXTENSIONS:
                    await bot.load_extension(extension)
                texts = sorted(set(tree_strings(bot.tree)) - {"…"})
                return texts, sorted(set(tree_names(bot.tree)))
            finally:
                await bot.close()


def template_catalog(tree: Iterable[str], names: Iterable[str] = ()) -> Catalog:
    pot = Catalog(domain=i18n.DOMAIN, project="golive", charset="utf-8")
    for msgid, plural in source_messages():
        pot.add((msgid, plural) if plural else msgid)
    for msgid in tree:
        if msgid not in pot:
            pot.add(msgid)
    for name in names:
        pot.add(name, context=i18n.NAME_CONTEXT)
    return pot


def write(pot: Catalog) -> None:
    POT.parent.mkdir(parents=True, exist_ok=True)
    with POT.open("wb") as file:
        write_po(file, pot, width=100, omit_header=False, sort_output=True)
    for locale in i18n.SUPPORTED:
        if locale == i18n.DEFAULT:
            continue
        path = i18n.LOCALES_DIR / locale / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            with path.open("rb") as file:
                catalog = read_po(file, locale=locale, domain=i18n.DOMAIN)
        else:
            catalog = Catalog(locale=locale, domain=i18n.DOMAIN, project="golive")
        catalog.update(pot, no_fuzzy_matching=True)
        with path.open("wb") as file:
            write_po(file, catalog, width=100, sort_output=True, ignore_obsolete=True)


def main() -> None:
    argparse.ArgumentParser(description=__doc__).parse_args()
    pot = template_catalog(*asyncio.run(tree_messages()))
    write(pot)
    print(f"{len(pot)} messages → {POT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
