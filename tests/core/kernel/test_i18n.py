"""Language tags to shipped locales, Accept-Language, and filling in translated messages."""

from __future__ import annotations

import pytest

from core.kernel import i18n
from core.kernel.errors import InvalidInput
from core.kernel.i18n import Credits


@pytest.mark.parametrize(
    ("tag", "locale"),
    [
        ("en-US", "en"),
        ("en-GB", "en"),
        ("de", "de"),
        ("de-AT", "de"),
        ("pt-BR", "pt_BR"),
        ("pt_BR", "pt_BR"),
        ("pt-PT", "pt_BR"),
        ("fr", None),
        ("", None),
        (None, None),
        ("!!", None),
    ],
)
def test_tags_become_shipped_locales(tag: str | None, locale: str | None) -> None:
    assert i18n.normalize(tag) == locale


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        ("de-DE,de;q=0.9,en;q=0.8", "de"),
        ("fr-FR, pt-BR;q=0.8, de;q=0.7", "pt_BR"),
        ("fr, it;q=0.5", "en"),
        ("en;q=0.1, de;q=0.9", "de"),
        ("de;q=0, pt", "pt_BR"),
        ("de;q=oops, pt-BR", "pt_BR"),
        (None, "en"),
    ],
)
def test_accept_language_picks_the_best_shipped_locale(header: str | None, locale: str) -> None:
    assert i18n.negotiate(header) == locale


def test_english_is_the_message_itself_and_numbers_are_written_its_way() -> None:
    assert i18n.t("en", "Tip #%(id)s is refunded.", id=12345) == "Tip #12,345 is refunded."
    assert (
        i18n.t("en", "%(a)s, %(b)s", a=Credits(1), b=Credits(10000)) == "1 credit, 10,000 credits"
    )


def test_an_unknown_message_falls_back_to_english_in_every_locale() -> None:
    for locale in i18n.SUPPORTED:
        assert i18n.t(locale, "No such message %(n)s", n=2) == "No such message 2"


def test_domain_errors_keep_their_template_as_message_id() -> None:
    error = InvalidInput("A tip is between %(low)s and %(high)s.", low=Credits(10), high=Credits(5))
    assert error.message == "A tip is between 10 credits and 5 credits."
    assert error.msgid == "A tip is between %(low)s and %(high)s."
    assert str(error) == error.message
    plain = InvalidInput("You can't tip yourself.")
    assert plain.msgid == plain.message and plain.params == {}


@pytest.mark.parametrize(
    ("seconds", "en", "de", "pt_BR"),
    [
        (45, "45s", "45 Sek.", "45 s"),
        (720, "12m", "12 Min.", "12 min"),
        (3900, "1h 5m", "1 Std. 5 Min.", "1 h 5 min"),
        (2 * 86400 + 3 * 3600, "2d 3h", "2 Tg. 3 Std.", "2 dias 3 h"),
    ],
)
def test_durations_are_written_each_languages_way(
    seconds: int, en: str, de: str, pt_BR: str
) -> None:
    assert [i18n.duration_in(locale, seconds) for locale in ("en", "de", "pt_BR")] == [
        en,
        de,
        pt_BR,
    ]
    assert i18n.t("de", "%(d)s", d=i18n.Duration(seconds)) == de


def test_a_phrase_is_said_in_the_readers_language() -> None:
    until = i18n.Phrase("for %(wait)s", {"wait": i18n.Duration(3600)})
    assert str(until) == "for 1h"
    assert until.said_in("de") == "für 1 Std."
    error = InvalidInput("A moderator has banned you from streaming %(until)s.", until=until)
    assert error.message == "A moderator has banned you from streaming for 1h."
    assert i18n.t("pt_BR", error.msgid, **error.params) == (
        "Você foi banido de transmitir por 1 h pela moderação."
    )
