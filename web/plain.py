"""Plain text for the web: domain messages are written for Discord, which renders Markdown.

"Create one with `/stream create`" shows a code span in Discord and stray backticks on a page or
in a JSON `error`. plain_text() takes the Markdown away and keeps the words: the error middleware
runs every refusal through it, and templates have it as the `plain` filter for anything they show
that came from the domain.
"""

from __future__ import annotations

import re

# What is kept exactly as written: a code span (`x`, ``x``, ```x```), whose text holds no
# Markdown, and an escaped mark (\* is a star).
_LITERAL = re.compile(
    r"(?P<fence>`{1,3})(?P<code>.+?)(?P=fence)|\\(?P<escaped>[\\`*_~|\[\]()])", re.DOTALL
)
_KEPT = re.compile(r"\0(\d+)\0")
# [words](https://…) → words (https://…)
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")
# **bold**, __underline__, ~~struck~~, ||spoiler||, *italic*: the words stay, the marks go.
# Marks must hug the words (no space inside), and underscores must not touch a word, so that
# snake_case names, "a * b" and "5 ** 2" are left alone.
_EMPHASIS = [
    re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*"),
    re.compile(r"(?<!\w)__(?=\S)(.+?)(?<=\S)__(?!\w)"),
    re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"),
    re.compile(r"\|\|(?=\S)(.+?)(?<=\S)\|\|"),
    re.compile(r"(?<![\w*])\*(?=[^\s*])([^*\n]+?)(?<=[^\s*])\*(?![\w*])"),
]


def plain_text(text: str) -> str:
    """`text` without Markdown: code spans, links, emphasis and escapes become what they say."""
    kept: list[str] = []

    def keep(literal: re.Match[str]) -> str:
        if literal["escaped"]:
            kept.append(literal["escaped"])
        else:
            code = literal["code"]
            kept.append(code.strip() if literal["fence"] == "```" else code)
        return f"\0{len(kept) - 1}\0"  # a stand-in no mark can match, put back at the end

    text = _LITERAL.sub(keep, text.replace("\0", ""))
    text = _LINK.sub(r"\1 (\2)", text)
    for emphasis in _EMPHASIS:
        text = emphasis.sub(r"\1", text)
    return _KEPT.sub(lambda stand_in: kept[int(stand_in[1])], text)
