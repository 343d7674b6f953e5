"""The text rules: what a member's free text may contain, the same for every field.

One link detector, one rule for invisible and control characters, one blocked-words tokenizer and
one normalisation of reasons and notes. A field (chat message, tip message, title, reason…) never
re-implements a rule; it declares in a `FieldRules` what it does on a hit (refuse, strip, mask)
and calls `apply`. So the same text gets the same verdict everywhere; docs/text-rules.md is the
table of fields.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from core.kernel.errors import Forbidden, InvalidInput
from core.kernel.i18n import N_, Phrase

# -- links ------------------------------------------------------------------------------------

# Any scheme (https://, ftp://, steam://…), www.…, and bare domains on any alphabetic TLD
# (example.de, discord.to/x, discord.com/invite/x). A TLD is 2-63 letters, so "3.14" or "e.g."
# are not links; "file.txt" is, which is the price of catching every new TLD.
_LINK = re.compile(
    r"(?ix)"
    # Each alternative starts only where its run starts (not after a letter, nor after a dot that
    # follows one), so "a.a.a.…" is scanned once, not once per position: a chat message costs
    # microseconds, whatever it holds. "..spam.com" still starts a run at "spam".
    r"(?<![a-z0-9+-])(?<![a-z0-9+-]\.)[a-z][a-z0-9+.-]*://\S*"
    r"|(?<![a-z0-9-])(?<![a-z0-9-]\.)www\.\S+"
    # A label can't hold a dot, so the possessive ++ only refuses to give back what it must keep.
    r"|(?<![a-z0-9-])(?<![a-z0-9-]\.)(?:[a-z0-9-]++\.)+[a-z]{2,63}\b(?:[/?#]\S*)?"
)


def has_link(text: str) -> bool:
    return _LINK.search(text) is not None


def strip_links(text: str) -> str:
    return _LINK.sub("", text)


# -- invisible and control characters ---------------------------------------------------------

# C0 controls but tab and newline, DEL, C1 controls, soft hyphen, bidi marks, embeddings,
# overrides and isolates, zero-width space/no-break space, word joiner, invisible operators, and
# the line/paragraph separators. They hide or reorder text ("gnp.exe" shown as "exe.png"), so a
# reader cannot see what was written. Kept on purpose: ZWJ and ZWNJ, which emoji sequences and
# Persian or Indic words need; the tokenizer below ignores them so they can't split a word.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b\u200e\u200f"
    "\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
_JOINERS = re.compile("[\u200c\u200d]")


def has_invisible(text: str) -> bool:
    return _INVISIBLE.search(text) is not None


def strip_invisible(text: str) -> str:
    return _INVISIBLE.sub("", text)


# -- blocked words ----------------------------------------------------------------------------

# A word is a run of letters, digits or _, with ZWJ/ZWNJ allowed inside (they join, not split).
_WORD = re.compile(r"\w+(?:[\u200c\u200d]+\w+)*")
_PLAIN_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    """The words of a text as the blocked-words rule sees them (case-folded, joiners ignored)."""
    return words_of_visible(strip_invisible(text))


def words_of_visible(text: str) -> list[str]:
    # Removing the joiners first makes a joined word one \w+ run, as _WORD sees it.
    return [word.casefold() for word in _PLAIN_WORD.findall(_JOINERS.sub("", text))]


def _word_key(word: str) -> str:
    return _JOINERS.sub("", word).casefold()


class BlockedWords:
    """A list of blocked words or phrases, matched on whole words, case-insensitively.

    An entry of several words ("bad word") matches those words in a row, whatever separates
    them. Invisible characters and joiners inside a word don't hide it.
    """

    def __init__(self, entries: Iterable[str]) -> None:
        phrases = {tuple(words(entry)) for entry in entries}
        self._phrases = sorted((phrase for phrase in phrases if phrase), key=len, reverse=True)
        self._single_words = frozenset(phrase[0] for phrase in self._phrases if len(phrase) == 1)
        self._has_phrases = any(len(phrase) > 1 for phrase in self._phrases)

    def __bool__(self) -> bool:
        return bool(self._phrases)

    def found(self, text: str) -> bool:
        # Every chat message asks this, so single words are looked up in a set; phrases (rare)
        # take the slower walk that mask() uses.
        visible = strip_invisible(text)
        if not self._single_words.isdisjoint(words_of_visible(visible)):
            return True
        return self._has_phrases and bool(self._spans(visible))

    def mask(self, text: str) -> str:
        """The text without invisible characters, each blocked word or phrase shown as •••."""
        visible = strip_invisible(text)
        masked = visible
        for start, end in reversed(self._spans(visible)):
            masked = masked[:start] + "•" * (end - start) + masked[end:]
        return masked

    def _spans(self, visible: str) -> list[tuple[int, int]]:
        found = list(_WORD.finditer(visible))
        folded = [_word_key(match.group(0)) for match in found]
        spans: list[tuple[int, int]] = []
        index = 0
        while index < len(folded):
            phrase = next(
                (p for p in self._phrases if tuple(folded[index : index + len(p)]) == p), None
            )
            if phrase is None:
                index += 1
                continue
            last = index + len(phrase) - 1
            spans.append((found[index].start(), found[last].end()))
            index = last + 1
        return spans


NO_BLOCKED_WORDS = BlockedWords(())

# -- fields -----------------------------------------------------------------------------------

LinkPolicy = Literal["refuse", "strip", "allow"]
InvisiblePolicy = Literal["refuse", "strip"]
WordPolicy = Literal["refuse", "mask", "allow"]
Whitespace = Literal["collapse", "keep_lines"]


@dataclass(frozen=True)
class FieldRules:
    """What one field does with each rule. ``name`` starts the length error ("A tip message")."""

    name: str
    max_length: int
    links: LinkPolicy = "allow"
    invisible: InvisiblePolicy = "strip"
    blocked_words: WordPolicy = "allow"
    # "collapse": one line, runs of whitespace become one space; "keep_lines": only the ends
    # are trimmed, so a description keeps its paragraphs.
    whitespace: Whitespace = "collapse"
    # What to say when the field is empty after cleaning; None: empty is fine.
    required: str | None = None
    # Measure the text as sent (tips, whose limit members see while typing) or once normalised.
    measure_raw: bool = False
    refused_links: str = N_("Links aren't allowed here.")
    refused_words: str = N_("This contains a word that isn't allowed here.")
    refused_invisible: str = N_("The text contains control or invisible characters.")
    # The error for too long: chat says 413 (TooLarge), forms say 400.
    too_long: type[InvalidInput] = InvalidInput


def apply(rules: FieldRules, text: str, blocked: BlockedWords = NO_BLOCKED_WORDS) -> str:
    """The text as it will be stored and shown, or a domain error saying why it is refused."""
    if rules.measure_raw:
        _check_length(rules, text)
    if has_invisible(text):
        if rules.invisible == "refuse":
            # Tab and newline aren't invisible: they are whitespace, handled below.
            raise InvalidInput(rules.refused_invisible)
        text = strip_invisible(text)
    cleaned = _normalise(rules, text)
    if not cleaned and rules.required is not None:
        raise InvalidInput(rules.required)
    if not rules.measure_raw:
        _check_length(rules, cleaned)
    if rules.links != "allow" and has_link(cleaned):
        if rules.links == "refuse":
            raise Forbidden(rules.refused_links)
        cleaned = _normalise(rules, strip_links(cleaned))
    if rules.blocked_words != "allow" and blocked and blocked.found(cleaned):
        if rules.blocked_words == "refuse":
            raise Forbidden(rules.refused_words)
        cleaned = blocked.mask(cleaned)
    return cleaned


def _normalise(rules: FieldRules, text: str) -> str:
    if rules.whitespace == "collapse":
        return " ".join(text.split())
    return text.strip()


def _check_length(rules: FieldRules, text: str) -> None:
    if len(text) > rules.max_length:
        raise rules.too_long(
            N_("%(field)s can be at most %(max)s characters (it has %(length)s)."),
            field=Phrase(rules.name),
            max=rules.max_length,
            length=len(text),
        )


def note(text: str, *, name: str, max_length: int, required: str | None = None) -> str:
    """A reason or a note kept for the record: one line, no invisible characters, bounded."""
    return apply(FieldRules(name=name, max_length=max_length, required=required), text)
