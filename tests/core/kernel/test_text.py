"""The text rules: one verdict for the same text, whichever field it is written in."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from core.config.settings import Settings
from core.kernel import text
from core.kernel.errors import Forbidden, GoLiveError, InvalidInput
from core.services import Services

BLOCKED = ("darn", "heck no")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The same blocked words for chat and tips, so their verdicts can be compared.
    return dataclasses.replace(
        settings,
        chat=dataclasses.replace(settings.chat, blocked_words=BLOCKED),
        tips=dataclasses.replace(settings.tips, blocked_words=BLOCKED, message_max=500),
    )


@pytest.mark.parametrize(
    ("written", "is_link"),
    [
        ("see https://evil.example/x", True),
        ("ftp://files.example/x", True),
        ("steam://run/1", True),
        ("www.spam.net", True),
        ("example.de", True),
        ("visit spam.com now", True),
        ("discord.gg/abc", True),
        ("discord.to/abc", True),
        ("discord.com/invite/abc", True),
        ("(discord.gg/abc)", True),
        ("...spam.com", True),
        ("Spam.COM", True),
        ("pi is 3.14", False),
        ("e.g. this", False),
        ("version 1.2.3", False),
        ("good stream!", False),
        ("a.b", False),  # a one-letter ending is no domain
    ],
)
def test_one_link_detector(written: str, is_link: bool) -> None:
    assert text.has_link(written) is is_link


@pytest.mark.parametrize(
    ("written", "invisible"),
    [
        ("bell\x07", True),
        ("nul\x00", True),
        ("carriage\rreturn", True),
        ("del\x7f", True),
        ("c1\x85", True),
        ("rtl\u202eoverride", True),
        ("isolate\u2066x\u2069", True),
        ("zero\u200bwidth", True),
        ("mark\u200e", True),
        ("bom\ufeff", True),
        ("soft\u00adhyphen", True),
        ("lines\nand\ttabs", False),
        ("family 👨\u200d👩\u200d👧", False),  # ZWJ builds emoji
        (
            "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
            False,
        ),  # ZWNJ is part of Persian spelling
        ("café ünïcode", False),
    ],
)
def test_one_invisible_rule(written: str, invisible: bool) -> None:
    assert text.has_invisible(written) is invisible


@pytest.mark.parametrize(
    ("written", "masked"),
    [
        ("well darn it, DARN", "well •••• it, ••••"),
        ("darned darn_it", "darned darn_it"),  # whole words only
        ("d\u200barn", "••••"),  # an invisible character doesn't hide a word
        ("da\u200drn", "•••••"),  # nor does a joiner
        ("heck   no!", "•••••••••!"),  # a phrase, whatever whitespace separates it
        ("heck yes no", "heck yes no"),
    ],
)
def test_one_blocked_words_tokenizer(written: str, masked: str) -> None:
    blocked = text.BlockedWords(BLOCKED)
    assert blocked.mask(written) == masked
    assert blocked.found(written) is (masked != text.strip_invisible(written))


@pytest.mark.parametrize(
    ("written", "kept"),
    [
        ("  spaced   out\n reason ", "spaced out reason"),
        ("rtl\u202e reason", "rtl reason"),
        ("", ""),
    ],
)
def test_one_normalisation_for_reasons_and_notes(written: str, kept: str) -> None:
    assert text.note(written, name="A note", max_length=20) == kept


def test_a_note_is_measured_once_normalised() -> None:
    assert text.note("a" + " " * 50 + "b", name="A note", max_length=3) == "a b"
    with pytest.raises(InvalidInput, match="A note can be at most 3 characters"):
        text.note("abcd", name="A note", max_length=3)
    with pytest.raises(InvalidInput, match="Give a reason"):
        text.note(" \u200b ", name="A reason", max_length=3, required="Give a reason.")


async def test_the_fields_follow_their_declared_policy(services: Services) -> None:
    written = "hi\u200b spam.com darn"
    assert services.tips.clean_message(written) == "hi ••••"
    with pytest.raises(InvalidInput, match="control characters"):
        services.chat.check_text(written)
    with pytest.raises(Forbidden, match="Links"):
        services.chat.check_text("hi spam.com")
    assert services.chat.check_text("hi spam.com", privileged=True) == "hi spam.com"
    with pytest.raises(Forbidden, match="word"):
        services.chat.check_text("hi darn", privileged=True)


# -- chat and tips agree ----------------------------------------------------------------------

PIECES = st.sampled_from(
    [
        "hello", "darn", "DaRn", "heck", "no", "3.14", "e.g.", "example.de", "discord.to/x",
        "discord.gg", "/invite", "ftp://", "https://", "www", ".", "com", "spam", "-", "_",
        "!", " ", "  ", "\n", "\t", "\u200b", "\u200d", "\u202e", "\u2066", "\x00", "\x07",
        "\x7f", "\ufeff", "👍", "é",
    ]
)  # fmt: skip
MESSAGES = st.lists(PIECES, min_size=1, max_size=12).map("".join)


def chat_verdict(services: Services, written: str) -> str | None:
    """None when chat accepts the message, else the message of its refusal."""
    try:
        services.chat.check_text(written)
    except GoLiveError as error:
        return error.message
    return None


async def test_tips_never_show_what_chat_refuses(services: Services) -> None:
    @hypothesis_settings(max_examples=400, deadline=None)
    @given(MESSAGES)
    def check(written: str) -> None:
        shown = services.tips.clean_message(written)
        if shown:
            assert chat_verdict(services, shown) is None, (written, shown)

    check()


async def test_what_chat_accepts_a_tip_keeps(services: Services) -> None:
    @hypothesis_settings(max_examples=400, deadline=None)
    @given(MESSAGES)
    def check(written: str) -> None:
        verdict = chat_verdict(services, written)
        shown = services.tips.clean_message(written)
        if verdict is None:
            assert shown == " ".join(written.split())
        elif "Links" in verdict or "word" in verdict:
            assert shown != " ".join(written.split())
        elif "control characters" in verdict:
            assert not text.has_invisible(shown) and text.has_invisible(written)

    check()
