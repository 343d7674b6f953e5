"""Members in their own language: a German member's replies, forms and errors are German, a
Brazilian's Brazilian Portuguese; the command picker is localized; the server's language (from
`/setup language`) is what announcements speak."""

from __future__ import annotations

import unicodedata
from typing import Any

import discord
import pytest

from bot.i18n import tree_names, tree_strings
from core.kernel import i18n
from core.kernel.errors import Conflict, InvalidInput, NotFound, PaymentRefused
from core.services import Services
from tests.bot.helpers import (
    create_page,
    dms,
    domain_errors,
    fund,
    on_air,
    page_for,
    posts,
    setup_announcements,
    speaks,
)
from tests.conftest import World

DISCORD_LOCALES = {"de": "de", "pt_BR": "pt-BR"}


async def test_a_german_member_creates_a_stream_page_in_german(
    world: World, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    speaks(monkeypatch, world.alice, "de")
    shown = await world.alice.slash(world.general, "stream create")
    assert shown.modal is not None
    assert shown.modal["title"] == "Erstelle deine Streamseite"
    assert "Titel" in str(shown.modal["components"])
    assert "Beschreibung" in str(shown.modal["components"])
    done = await world.alice.submit_modal(
        shown, {"stream:title": "Aquarell live", "stream:description": "Pinsel und Wasser"}
    )
    assert done.ephemeral
    assert done.response.content == "Deine Streamseite ist fertig. Geh mit `/stream golive` live."
    card = done.response.embeds[0]
    assert [f.name for f in card.fields][:1] == ["Status"] and card.fields[0].value == "Offline"

    again = await world.alice.slash(world.general, "stream create")
    assert again.ephemeral
    assert again.response.content == (
        "Du hast schon eine Streamseite. Ändere sie mit `/stream bearbeiten`."
    )


async def test_a_german_member_tips_and_is_refused_in_german(
    world: World, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    speaks(monkeypatch, world.bob, "de")
    await page_for(services, world.alice, "Alice")
    await page_for(services, world.bob, "Bob")
    await fund(services, world.bob, 100)

    sent = await world.bob.slash(world.general, "tip", member=world.alice, amount=30)
    assert sent.ephemeral
    assert sent.response.content == (
        "Danke: **30 Credits** an **Alice**. Dein Guthaben beträgt jetzt 70 Credits."
    )
    mine = await world.bob.slash(world.general, "tip", member=world.bob, amount=10)
    poor = await world.bob.slash(world.general, "tip", member=world.alice, amount=71)
    tiny = await world.bob.slash(world.general, "tip", member=world.alice, amount=5)
    assert mine.response.content == "Du kannst dir kein Trinkgeld geben."
    assert poor.response.content == (
        "Du hast 70 Credits, nötig sind aber 71 Credits. Es wurde nichts berechnet."
    )
    assert tiny.response.content == "Ein Trinkgeld liegt zwischen 10 Credits und 10.000 Credits."
    assert all(r.ephemeral for r in (mine, poor, tiny))
    assert domain_errors(world) == [PaymentRefused, PaymentRefused, InvalidInput]
    assert await services.ledger.balance(world.bob.id) == 70
    # The streamer's own app speaks English: the DM about the tip is not German.
    [alert] = dms(world.alice)
    assert "tipped you" in alert.embeds[0].title


async def test_a_brazilian_member_gets_brazilian_portuguese(
    world: World, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    speaks(monkeypatch, world.bob, "pt-BR")
    await page_for(services, world.alice, "Alice")
    await fund(services, world.bob, 1)
    stranger = await world.bob.slash(world.general, "tip", member=world.admin, amount=10)
    assert stranger.ephemeral and stranger.response.content.startswith("Esse membro não tem página")
    poor = await world.bob.slash(world.general, "tip", member=world.alice, amount=10)
    assert poor.response.content == (
        "Você tem 1 crédito, mas são necessários 10 créditos. Nada foi cobrado."
    )
    info = await world.bob.slash(world.general, "stream info")
    assert info.ephemeral and info.response.content == (
        "Você ainda não tem página de transmissão. Crie uma com `/stream criar`."
    )
    assert domain_errors(world) == [NotFound, PaymentRefused]


async def test_an_english_member_beside_them_still_reads_english(
    world: World, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    speaks(monkeypatch, world.bob, "de")
    await create_page(world, world.alice)
    again = await world.alice.slash(world.general, "stream create")
    assert (
        again.response.content == "You already have a stream page. Change it with `/stream edit`."
    )


async def test_announcements_speak_the_servers_language(world: World, services: Services) -> None:
    await setup_announcements(world)
    await world.admin.slash(world.general, "setup language", language="de")
    await create_page(world, world.alice)
    await world.alice.slash(world.general, "stream golive")
    await on_air(world)
    [announcement] = [m for m in posts(world.announcements) if m.embeds]
    assert announcement.embeds[0].author.name == "🔴 Alice ist live"
    labels = [b.label for row in announcement.components for b in row.children]
    assert "Im Browser öffnen" in labels


def _localized(world: World) -> list[dict[str, Any]]:
    return list(world.env.backend.commands.get(None, {}).values())


def _walk(node: dict[str, Any]) -> Any:
    yield node
    for option in node.get("options") or []:
        yield from _walk(option)
        for choice in option.get("choices") or []:
            yield {"description": choice["name"], **choice, "_choice": True}


# Discord's rule for command, group and option names: lowercase letters, digits, - and _.
def _a_valid_name(name: str) -> bool:
    return (
        1 <= len(name) <= 32
        and name == name.lower()
        and all(unicodedata.category(c)[0] in "LN" or c in "-_" for c in name)
    )


def _name_in(node: dict[str, Any], locale: str) -> str:
    return str((node.get("name_localizations") or {}).get(DISCORD_LOCALES[locale], node["name"]))


@pytest.mark.parametrize("locale", ["de", "pt_BR"])
async def test_the_command_picker_is_localized_from_the_catalogs(world: World, locale: str) -> None:
    discord_locale = DISCORD_LOCALES[locale]
    checked = 0
    for command in _localized(world):
        for node in _walk(command):
            english = node["description"]
            expected = i18n.gettext(locale, english)
            if node.get("_choice"):
                got = (node.get("name_localizations") or {}).get(discord_locale, english)
            else:
                got = (node.get("description_localizations") or {}).get(discord_locale, english)
                name = i18n.gettext(locale, node["name"], i18n.NAME_CONTEXT)
                assert _name_in(node, locale) == name, node["name"]
            assert got == expected, (node.get("name"), english)
            assert len(got) <= 100, got
            checked += 1
    assert checked > 100


@pytest.mark.parametrize("locale", ["de", "pt_BR"])
async def test_localized_names_follow_discords_rules_and_are_unique(
    world: World, locale: str
) -> None:
    """Discord refuses the whole sync for one bad name, and two equal names in one place."""
    translated = 0

    def check(siblings: list[dict[str, Any]], where: str) -> None:
        nonlocal translated
        names = [_name_in(node, locale) for node in siblings]
        assert len(set(names)) == len(names), (where, sorted(names))
        for node, name in zip(siblings, names, strict=True):
            assert _a_valid_name(name), (where, name)
            translated += name != node["name"]
            options = [o for o in node.get("options") or [] if "type" in o]
            check(options, f"{where} {node['name']}".strip())

    check(_localized(world), "")
    assert translated > 50


def test_german_and_portuguese_names_chosen_with_care() -> None:
    def name(locale: str, english: str) -> str:
        return i18n.gettext(locale, english, i18n.NAME_CONTEXT)

    # Brand and loan words stay: /stream golive, /stream obs, /mod, /vods in every language.
    for locale in ("de", "pt_BR"):
        assert [name(locale, w) for w in ("stream", "golive", "obs", "mod", "vods")] == [
            "stream",
            "golive",
            "obs",
            "mod",
            "vods",
        ]
    assert [name("de", w) for w in ("edit", "tip", "wallet", "near")] == [
        "bearbeiten",
        "trinkgeld",
        "wallet",
        "nahe",
    ]
    assert [name("pt_BR", w) for w in ("edit", "tip", "wallet", "timeout")] == [
        "editar",
        "gorjeta",
        "carteira",
        "castigo",
    ]


def test_every_tree_string_is_in_the_catalog(world: World) -> None:
    catalog = i18n.catalog("de") or []
    english = {str(m.id) for m in catalog if m.id and m.context is None}
    names = {str(m.id) for m in catalog if m.id and m.context == i18n.NAME_CONTEXT}
    assert set(tree_strings(world.env.bot.tree)) - {"…"} <= english
    assert set(tree_names(world.env.bot.tree)) <= names


async def test_a_conflict_in_core_reads_german_too(
    world: World, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    speaks(monkeypatch, world.alice, "de")
    await create_page(world, world.alice)
    await world.alice.slash(world.general, "stream golive")
    twice = await world.alice.slash(world.general, "stream golive")
    assert twice.ephemeral
    assert twice.response.content == (
        "Du bist schon live. Beende den Stream zuerst mit `/stream beenden`."
    )
    assert domain_errors(world) == [Conflict]
    assert isinstance(discord.Locale("de"), discord.Locale)


async def test_going_live_and_errors_with_numbers_read_german(
    world: World, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    speaks(monkeypatch, world.alice, "de")
    speaks(monkeypatch, world.admin, "de")
    await create_page(world, world.alice)
    live = await world.alice.slash(world.general, "stream golive")
    embed = live.response.embeds[0]
    assert live.ephemeral and embed.title == "Dein Stream startet 🎥"
    assert [f.name for f in embed.fields][:1] == ["Deine Streamseite"]
    ended = await world.alice.slash(world.general, "stream end")
    assert ended.response.content.startswith("Dein Stream ist beendet. Du warst **")
    unknown = await world.admin.slash(world.general, "credits refund-tip", tip=1234, reason="x")
    assert unknown.ephemeral and unknown.response.content == "Es gibt kein Trinkgeld #1234."
    assert domain_errors(world) == [NotFound]
