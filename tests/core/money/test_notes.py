"""Wallet notes are stored in English (the record) and read in the member's language, including
lines posted before a translation existed; a moderator's free text stays as written."""

from __future__ import annotations

from core.money import notes


def test_a_note_is_written_in_english_and_read_in_any_language() -> None:
    stored = notes.written(notes.TIP_FROM_REFUNDED, name="Bob")
    assert stored == "Tip from Bob refunded"
    assert notes.read(stored).said_in("de") == "Trinkgeld von Bob erstattet"
    assert notes.read("Tip from Bob").said_in("pt_BR") == "Gorjeta de Bob"
    assert notes.read("Streaming pass (30 days)").said_in("de") == "Streaming-Pass (30 Tage)"
    assert notes.read("Top-up (Stripe)").said_in("pt_BR") == "Recarga (Stripe)"


def test_free_text_is_kept_as_written() -> None:
    assert notes.read("Granted: 100% deserved").said_in("de") == "Gutgeschrieben: 100% deserved"
    assert notes.read("something a past version wrote").said_in("de") == (
        "something a past version wrote"
    )
