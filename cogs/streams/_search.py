"""What /stream search shows: an embed of 8 streams, Watch buttons and ◀ ▶ page buttons.

The page buttons carry the whole search in their custom_id (who searched, what, which page), so
they keep working after a restart and need no memory; only the member who searched may use them.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import discord
from discord import app_commands

from bot.embeds import GOLIVE_PURPLE
from bot.i18n import locale_of, tr
from bot.ui import GoLiveDynamicItem, GoLiveView
from cogs.streams._watch import WatchButton
from core.discovery import PAGE_SIZE, City, SearchHit, SearchPage
from core.kernel import i18n
from core.kernel.i18n import N_, t, tn

if TYPE_CHECKING:
    from bot.app import GoLiveBot

log = logging.getLogger(__name__)

Interaction = discord.Interaction["GoLiveBot"]
NAME_MAX = 32  # Discord names are at most 32 characters; keeps the custom_id under 100
NOT_YOURS = N_(
    "Only the member who searched can turn these pages. Run `/stream search` for your own."
)


@dataclass(frozen=True)
class StreamSearch:
    """One search as a member asked for it: by name (`user`) or near a city (`near`)."""

    searcher_id: int
    kind: Literal["user", "near"]
    text: str  # the name typed, or the city's GeoNames id
    include_offline: bool = False
    within_km: int | None = None

    def custom_id(self, page: int) -> str:
        kind = "u" if self.kind == "user" else "n"
        return (
            f"golive:search:{self.searcher_id}:{page}:{kind}:{int(self.include_offline)}"
            f":{self.within_km or 0}:{self.text}"
        )


async def city_choices(interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Autocomplete for a `city`/`near` option: the biggest cities starting with what was typed."""
    cities = await interaction.client.services.places.suggest(current)
    return [app_commands.Choice(name=city.label[:100], value=str(city.id)) for city in cities]


async def name_choices(interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Autocomplete for the `user` option: live streamers whose name starts like what was typed."""
    streams = await interaction.client.services.search.suggest_names(current[:NAME_MAX])
    return [
        app_commands.Choice(name=f"{stream.owner_name} ({stream.slug})"[:100], value=stream.slug)
        for stream in streams
    ]


async def render(
    bot: GoLiveBot, search: StreamSearch, page: int, locale: str = i18n.DEFAULT
) -> tuple[discord.Embed, discord.ui.View]:
    """Run the search for `page` (moved back to the last page if the results shrank), shown in
    the language of whoever looks at it (the searcher: only they turn the pages)."""
    found, city = await _run(bot, search, page)
    if found.total_pages and page > found.total_pages:
        found, city = await _run(bot, search, found.total_pages)
    return _embed(bot, search, found, city, locale), _view(search, found)


async def _run(bot: GoLiveBot, search: StreamSearch, page: int) -> tuple[SearchPage, City | None]:
    services = bot.services
    if search.kind == "user":
        found = await services.search.by_name(
            search.text, page=page, limit=PAGE_SIZE, include_offline=search.include_offline
        )
        return found, None
    city = await services.places.resolve(search.text)
    found = await services.search.near(
        city.latitude,
        city.longitude,
        page=page,
        limit=PAGE_SIZE,
        include_offline=search.include_offline,
        radius_km=search.within_km,
    )
    return found, city


def _embed(
    bot: GoLiveBot, search: StreamSearch, found: SearchPage, city: City | None, locale: str
) -> discord.Embed:
    embed = discord.Embed(title=_title(search, city, locale)[:256], colour=GOLIVE_PURPLE)
    if not found.hits:
        embed.description = _nothing_found(search, locale)
        return embed
    offset = (found.page - 1) * found.limit
    embed.description = "\n".join(
        _line(bot, offset + number, hit, locale) for number, hit in enumerate(found.hits, start=1)
    )
    embed.set_footer(
        text=t(locale, "Page %(page)s of %(pages)s", page=found.page, pages=found.total_pages)
        + " · "
        + tn(locale, "%(n)s stream", "%(n)s streams", found.total)
    )
    return embed


# Titles by (what is listed, where): "Live streams near Berlin", "Streams matching “al”".
_TITLES = {
    (False, "near"): N_("Live streams near %(city)s"),
    (True, "near"): N_("Streams near %(city)s"),
    (False, "within"): N_("Live streams within %(km)s km of %(city)s"),
    (True, "within"): N_("Streams within %(km)s km of %(city)s"),
    (False, "name"): N_("Live streams matching “%(text)s”"),
    (True, "name"): N_("Streams matching “%(text)s”"),
}


def _title(search: StreamSearch, city: City | None, locale: str) -> str:
    if city is None:
        return t(locale, _TITLES[(search.include_offline, "name")], text=search.text)
    where = "within" if search.within_km else "near"
    return t(
        locale,
        _TITLES[(search.include_offline, where)],
        city=city.label,
        km=search.within_km or 0,
    )


def _line(bot: GoLiveBot, number: int, hit: SearchHit, locale: str) -> str:
    stream = hit.stream
    title = discord.utils.escape_markdown(stream.title)
    parts = [f"**{number}. [{title}]({bot.watch_url(stream.slug)})**"]
    parts.append(discord.utils.escape_markdown(stream.owner_name))
    if stream.location_name:
        place = discord.utils.escape_markdown(stream.location_name)
        if hit.distance_km is not None:
            place += f" · {_distance(hit.distance_km, locale)}"
        parts.append(place)
    if stream.active and stream.live_since:
        # Discord writes "5 minutes ago" in each reader's own language.
        since = discord.utils.format_dt(stream.live_since, "R")
        live = t(locale, "🔴 live %(since)s", since=since)
        if hit.viewers:
            live += " · " + tn(locale, "%(n)s watching", "%(n)s watching", hit.viewers)
        parts.append(live)
    elif not stream.active:
        parts.append(t(locale, "offline"))
    return " — ".join(parts[:2]) + "".join(f" · {part}" for part in parts[2:])


def _distance(km: float, locale: str) -> str:
    """'3.2 km' / '3,2 km'; whole kilometres from 100 on."""
    return f"{i18n.decimal_in(locale, km, '#,##0.0' if km < 100 else '#,##0')} km"


def _nothing_found(search: StreamSearch, locale: str) -> str:
    if search.kind == "user":
        if search.include_offline:
            return t(
                locale, "No stream page matches “%(text)s”. Try fewer letters.", text=search.text
            )
        return t(
            locale,
            "Nobody live matches “%(text)s”. Try fewer letters or add `include_offline: True`.",
            text=search.text,
        )
    if search.within_km:
        if search.include_offline:
            return t(
                locale,
                "Nobody is live within %(km)s km. Widen the search with a larger `within_km`, "
                "or leave it out to see the nearest anywhere.",
                km=search.within_km,
            )
        return t(
            locale,
            "Nobody is live within %(km)s km. Widen the search with a larger `within_km`, "
            "or leave it out to see the nearest anywhere or add `include_offline: True`.",
            km=search.within_km,
        )
    if search.include_offline:
        return t(
            locale,
            "No stream has been placed on the map yet. Search by name with `member:`.",
        )
    return t(
        locale,
        "No stream has been placed on the map yet. Search by name with `member:` "
        "or add `include_offline: True`.",
    )


def _view(search: StreamSearch, found: SearchPage) -> discord.ui.View:
    view = GoLiveView(timeout=None)
    for number, hit in enumerate(found.hits, start=1):
        watch = WatchButton(hit.stream.id)
        offset = (found.page - 1) * found.limit
        watch.item.label = f"{offset + number}. {hit.stream.owner_name}"[:80]
        watch.item.row = 0 if number <= 4 else 1
        view.add_item(watch)
    if found.total_pages > 1:
        view.add_item(SearchPageButton(search, found.page - 1, "◀", disabled=found.page <= 1))
        view.add_item(
            discord.ui.Button(
                label=f"{found.page} / {found.total_pages}",
                disabled=True,
                custom_id="golive:search-position",
                row=2,
            )
        )
        view.add_item(
            SearchPageButton(search, found.page + 1, "▶", disabled=found.page >= found.total_pages)
        )
    return view


class SearchPageButton(
    GoLiveDynamicItem[discord.ui.Button[discord.ui.View]],
    template=(
        r"golive:search:(?P<searcher>\d+):(?P<page>\d+):(?P<kind>[un]):(?P<offline>[01])"
        r":(?P<within>\d+):(?P<text>.*)"
    ),
):
    """◀ or ▶ under search results: shows another page, for the member who searched only."""

    def __init__(
        self, search: StreamSearch, page: int, emoji: str = "▶", *, disabled: bool = False
    ) -> None:
        super().__init__(
            discord.ui.Button(
                emoji=emoji,
                style=discord.ButtonStyle.secondary,
                custom_id=search.custom_id(page),
                disabled=disabled,
                row=2,
            )
        )
        self.search = search
        self.page = page

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> SearchPageButton:
        search = StreamSearch(
            searcher_id=int(match["searcher"]),
            kind="user" if match["kind"] == "u" else "near",
            text=match["text"],
            include_offline=match["offline"] == "1",
            within_km=int(match["within"]) or None,
        )
        return cls(search, int(match["page"]))

    async def clicked(self, interaction: Interaction) -> None:
        if interaction.user.id != self.search.searcher_id:
            await interaction.response.send_message(tr(interaction, NOT_YOURS), ephemeral=True)
            return
        await interaction.response.defer()
        embed, view = await render(
            interaction.client, self.search, max(1, self.page), locale_of(interaction)
        )
        await interaction.edit_original_response(embed=embed, view=view)
