"""The shipped catalogs: up to date with the sources, complete in every language, and with the
same placeholders and markup as the English text (a translation that drops `%(amount)s` would
crash or lie). A command quoted in a reply is quoted as that language's picker names it."""

from __future__ import annotations

import re

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from core.kernel import i18n
from golive import messages

TRANSLATED = [locale for locale in i18n.SUPPORTED if locale != i18n.DEFAULT]
TAG = re.compile(r"</?\w+>")
CODE = re.compile(r"`[^`]+`")


def _pot() -> Catalog:
    with messages.POT.open("rb") as file:
        return read_po(file)


def _key(message: Message) -> tuple[str | None, str]:
    return message.context, message.id if isinstance(message.id, str) else message.id[0]


def _ids(catalog: Catalog) -> set[tuple[str | None, str]]:
    return {_key(m) for m in catalog if m.id}


def test_the_template_has_every_string_the_code_and_pages_use() -> None:
    in_sources = {(None, msgid) for msgid, _plural in messages.source_messages()}
    assert in_sources - _ids(_pot()) == set(), "run `make messages`"


def command_as_typed(locale: str, span: str) -> str:
    """A code span of an English text as a member of `locale` reads it: `/stream edit` is
    `/stream bearbeiten` in German, `near:` is `nahe:`, `action:reset` is `aktion:zurücksetzen`.
    Spans that quote no command (`golive check`, a shell command) stay as they are."""
    words = span.strip("`").split(" ")
    names = {str(m.id) for m in i18n.catalog(locale) or [] if m.context == i18n.NAME_CONTEXT}
    quoted = span.startswith("`/") or ":" in words[0] or (len(words) == 1 and words[0] in names)
    if not quoted:
        return span
    typed = []
    for word in words:
        slash = "/" if word.startswith("/") else ""
        name, colon, value = word.removeprefix("/").partition(":")
        if name in names:
            name = i18n.gettext(locale, name, i18n.NAME_CONTEXT)
        typed.append(slash + name + colon + (i18n.gettext(locale, value) if value else ""))
    return "`" + " ".join(typed) + "`"


def _pairs(message: Message) -> list[tuple[str, str]]:
    if isinstance(message.id, str):
        return [(message.id, str(message.string))]
    singular, plural = message.id[0], message.id[1]
    forms = list(message.string)
    return [(singular if i == 0 else plural, form) for i, form in enumerate(forms)]


@pytest.mark.parametrize("locale", TRANSLATED)
def test_every_catalog_translates_every_string(locale: str) -> None:
    catalog = i18n.catalog(locale)
    assert catalog is not None
    done = {_key(m) for m in catalog if m.id and m.string and all(m.string)}
    missing = sorted(_ids(_pot()) - done)
    fuzzy = sorted(str(m.id) for m in catalog if m.id and m.fuzzy)
    assert missing == [] and fuzzy == []


@pytest.mark.parametrize("locale", TRANSLATED)
def test_translations_keep_placeholders_markup_and_commands(locale: str) -> None:
    catalog = i18n.catalog(locale)
    assert catalog is not None
    wrong = [
        (english, translated)
        for message in catalog
        if message.id
        for english, translated in _pairs(message)
        if i18n.placeholders(english) != i18n.placeholders(translated)
        or sorted(TAG.findall(english)) != sorted(TAG.findall(translated))
        or sorted(command_as_typed(locale, c) for c in CODE.findall(english))
        != sorted(CODE.findall(translated))
    ]
    assert wrong == []


def test_a_quoted_command_reads_as_the_picker_names_it() -> None:
    assert command_as_typed("de", "`/stream edit`") == "`/stream bearbeiten`"
    assert command_as_typed("pt_BR", "`/wallet pass buy`") == "`/carteira passe comprar`"
    assert command_as_typed("de", "`/stream obs action:reset`") == (
        "`/stream obs aktion:zurücksetzen`"
    )
    assert command_as_typed("de", "`near:`") == "`nahe:`"
    assert command_as_typed("pt_BR", "`within_km`") == "`raio_km`"
    assert command_as_typed("de", "`include_offline: True`") == "`auch_offline: True`"
    assert command_as_typed("de", "`golive check`") == "`golive check`"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_plural_strings_have_every_form_of_the_language(locale: str) -> None:
    catalog = i18n.catalog(locale)
    assert catalog is not None
    for message in catalog:
        if message.id and not isinstance(message.id, str):
            assert len(message.string) == catalog.num_plurals, message.id
            assert all(message.string), message.id
