"""The /stream command group and the form behind /stream create and /stream edit."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.announcer import Announcer
from bot.embeds import GOLIVE_PURPLE, stream_card
from bot.i18n import locale_of, tr
from bot.members import identity_of
from bot.ui import GoLiveModal, link_view
from cogs.streams._embeds import health_embed, obs_embed, record_message
from cogs.streams._search import (
    NAME_MAX,
    SearchPageButton,
    StreamSearch,
    city_choices,
    name_choices,
    render,
)
from cogs.streams._stage import invitation_dm, member_choices, member_id, stage_embed
from cogs.streams._watch import WatchButton
from core.discovery import City
from core.kernel import i18n
from core.kernel.errors import Forbidden, InvalidInput, NotFound
from core.kernel.i18n import N_, Duration, Phrase, t
from core.services import Services
from core.stage import Member
from core.streams import DESCRIPTION_MAX, TITLE_MAX, Stream, StreamDraft, StreamEvent

if TYPE_CHECKING:
    from bot.app import GoLiveBot

Interaction = discord.Interaction["GoLiveBot"]
# Persistent: they answer clicks on messages posted before the last restart too.
PERSISTENT_ITEMS = (WatchButton, SearchPageButton)


class StreamPageModal(GoLiveModal):
    """The form behind /stream create and /stream edit, in the member's language."""

    def __init__(
        self, existing: Stream | None, city: City | None = None, locale: str = i18n.DEFAULT
    ) -> None:
        title = N_("Edit your stream page") if existing else N_("Create your stream page")
        super().__init__(title=t(locale, title))
        self.title_input: discord.ui.TextInput[StreamPageModal] = discord.ui.TextInput(
            label=t(locale, "Title"),
            placeholder=t(locale, "What are you streaming?"),
            max_length=TITLE_MAX,
            custom_id="stream:title",
        )
        self.description_input: discord.ui.TextInput[StreamPageModal] = discord.ui.TextInput(
            label=t(locale, "Description"),
            style=discord.TextStyle.paragraph,
            required=False,
            max_length=DESCRIPTION_MAX,
            placeholder=t(locale, "A few words for people who find your page"),
            custom_id="stream:description",
        )
        self.add_item(self.title_input)
        self.add_item(self.description_input)
        self.existing = existing
        self.city = city  # chosen in the command's `city` option; None keeps the current place
        if existing is not None:
            self.title_input.default = existing.title
            self.description_input.default = existing.description

    async def on_submit(self, interaction: Interaction) -> None:  # type: ignore[override]
        await interaction.response.defer(ephemeral=True, thinking=True)
        bot, user = interaction.client, interaction.user
        place: tuple[str | None, float | None, float | None] = (None, None, None)
        if self.city is not None:
            place = (self.city.label, self.city.latitude, self.city.longitude)
        elif self.existing is not None:
            place = (self.existing.location_name, self.existing.latitude, self.existing.longitude)
        draft = StreamDraft(
            title=self.title_input.value,
            description=self.description_input.value,
            location_name=place[0],
            latitude=place[1],
            longitude=place[2],
        )
        if self.existing is None:
            stream = await bot.services.streams.create(
                owner_id=user.id, username=user.name, display_name=user.display_name, draft=draft
            )
            note = tr(interaction, "Your stream page is ready. Go live with `/stream golive`.")
        else:
            stream = await bot.services.streams.edit(
                owner_id=user.id, display_name=user.display_name, draft=draft
            )
            note = tr(interaction, "Your stream page is updated.")
        await interaction.followup.send(
            note,
            embed=stream_card(stream, bot.watch_url(stream.slug), locale_of(interaction)),
            ephemeral=True,
        )


class Streams(commands.GroupCog, group_name="stream"):
    """Your stream page and going live."""

    def __init__(self, bot: GoLiveBot, services: Services, announcer: Announcer) -> None:
        self.bot = bot
        self.services = services
        self.announcer = announcer
        super().__init__()

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(*PERSISTENT_ITEMS)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(*PERSISTENT_ITEMS)

    @app_commands.command(name="create")
    @app_commands.describe(city="The city you stream from, so people nearby find you (optional)")
    @app_commands.autocomplete(city=city_choices)
    async def create(self, interaction: Interaction, city: str | None = None) -> None:
        """Create your stream page: a title and a description people see before they watch."""
        if await self.services.streams.find_by_owner(interaction.user.id) is not None:
            await interaction.response.send_message(
                tr(interaction, "You already have a stream page. Change it with `/stream edit`."),
                ephemeral=True,
            )
            return
        place = await self.services.places.resolve(city) if city else None
        modal = StreamPageModal(existing=None, city=place, locale=locale_of(interaction))
        await interaction.response.send_modal(modal)

    @app_commands.command(name="edit")
    @app_commands.describe(city="Move your stream page to another city (left empty: unchanged)")
    @app_commands.autocomplete(city=city_choices)
    async def edit(self, interaction: Interaction, city: str | None = None) -> None:
        """Change the title, description or city of your stream page."""
        stream = await self.services.streams.get_by_owner(interaction.user.id)
        place = await self.services.places.resolve(city) if city else None
        modal = StreamPageModal(existing=stream, city=place, locale=locale_of(interaction))
        await interaction.response.send_modal(modal)

    @app_commands.command(name="search")
    @app_commands.describe(
        member="A streamer's username or display name (the start is enough)",
        near="A city: streams nearest to it come first",
        within_km="With near: only streams this close to the city",
        include_offline="Also list stream pages that are not live right now",
    )
    @app_commands.autocomplete(member=name_choices, near=city_choices)
    async def search(
        self,
        interaction: Interaction,
        member: app_commands.Range[str, 1, NAME_MAX] | None = None,
        near: str | None = None,
        within_km: app_commands.Range[int, 1, 20000] | None = None,
        include_offline: bool = False,
    ) -> None:
        """Find live streams by a streamer's name or near a city."""
        if (member is None) == (near is None):
            raise InvalidInput(
                "Search with `member:` (a name) or `near:` (a city), one of the two."
            )
        if within_km is not None and near is None:
            raise InvalidInput("`within_km` goes with `near:` (a city).")
        # Resolved before deferring: an unknown city is then answered privately, not in public.
        city = await self.services.places.resolve(near) if near else None
        search = StreamSearch(
            searcher_id=interaction.user.id,
            kind="near" if city else "user",
            text=str(city.id) if city else (member or "").strip(),
            include_offline=include_offline,
            within_km=within_km,
        )
        await interaction.response.defer(thinking=True)
        embed, view = await render(self.bot, search, page=1, locale=locale_of(interaction))
        await interaction.followup.send(embed=embed, view=view)

    @app_commands.command(name="golive")
    async def golive(self, interaction: Interaction) -> None:
        """Go live: opens a new room, announces you, and gives you your studio link."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        # The interaction id names this request: a retried delivery pays the go-live fee once.
        event = await self.services.streams.go_live(
            interaction.user.id, request_key=f"discord:{interaction.id}"
        )
        problem = await self._announce_here_if_unconfigured(interaction, event)
        link = await self.services.auth.create_login_link(
            identity_of(interaction.user), f"/live/{event.stream.slug}/studio"
        )
        embed = discord.Embed(
            title=tr(interaction, "Your stream is starting 🎥"),
            description=tr(
                interaction,
                "Open your studio and turn on your camera: you are shown live, and announced, as "
                "soon as your video arrives. The studio link is just for you and works once, for "
                "%(minutes)s minutes (`/stream studio` gives you a new one).",
                minutes=int(link.expires_in.total_seconds() // 60),
            ),
            colour=GOLIVE_PURPLE,
        )
        embed.add_field(
            name=tr(interaction, "Your stream page"), value=self.bot.watch_url(event.stream.slug)
        )
        if problem:
            embed.add_field(
                name=tr(interaction, "⚠️ Announcement"),
                value=problem.said_in(locale_of(interaction)),
                inline=False,
            )
        view = link_view(tr(interaction, "Open my studio"), link.url, "🎥")
        await interaction.followup.send(embed=embed, view=view, ephemeral=True)

    @app_commands.command(name="end")
    async def end(self, interaction: Interaction) -> None:
        """End your live stream and close its room."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        event = await self.services.streams.end(interaction.user.id)
        text = tr(
            interaction,
            "Your stream has ended. You were live for **%(duration)s**.",
            duration=Duration(event.session.duration_seconds or 0),
        )
        if await self.services.ingress.publishing(event.stream.id):
            # OBS reconnects by itself, and its next connection would take the stream live again.
            text += "\n" + tr(
                interaction,
                "OBS is still sending: stop streaming in OBS too, or it takes you live again.",
            )
        await interaction.followup.send(text, ephemeral=True)

    @app_commands.command(name="info")
    @app_commands.describe(member="Whose stream page to show (yours if left empty)")
    async def info(self, interaction: Interaction, member: discord.User | None = None) -> None:
        """Show a member's stream page, and whether they are live."""
        who = member or interaction.user
        # Looked up before answering: "no page" concerns only the caller, so it stays private.
        stream = await self.services.streams.find_by_owner(who.id)
        if stream is None:
            mine = who.id == interaction.user.id
            await interaction.response.send_message(
                tr(interaction, "You have no stream page yet. Create one with `/stream create`.")
                if mine
                else tr(interaction, "%(name)s has no stream page yet.", name=who.display_name),
                ephemeral=True,
            )
            return
        url = self.bot.watch_url(stream.slug)
        await interaction.response.send_message(
            embed=stream_card(stream, url, locale_of(interaction)),
            view=link_view(
                tr(interaction, "Watch") if stream.active else tr(interaction, "Stream page"), url
            ),
        )

    @app_commands.command(name="studio")
    async def studio(self, interaction: Interaction) -> None:
        """Get a private one-time link to your studio, where you broadcast from the browser."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        stream = await self.services.streams.get_by_owner(interaction.user.id)
        link = await self.services.auth.create_login_link(
            identity_of(interaction.user), f"/live/{stream.slug}/studio"
        )
        minutes = int(link.expires_in.total_seconds() // 60)
        await interaction.followup.send(
            tr(
                interaction,
                "Here is your studio. The link signs you in, works once and expires in "
                "%(minutes)s minutes. Don't share it.",
                minutes=minutes,
            ),
            view=link_view(tr(interaction, "Open my studio"), link.url, "🎥"),
            ephemeral=True,
        )

    @app_commands.command(name="obs")
    @app_commands.describe(
        protocol="RTMP works with every OBS; WHIP (OBS 30+) has less delay. Switching makes a new key",
        action="show: your settings (made the first time); reset: a new key, the old one stops working",
    )
    async def obs(
        self,
        interaction: Interaction,
        protocol: Literal["rtmp", "whip"] | None = None,
        action: Literal["show", "reset"] = "show",
    ) -> None:
        """Stream from OBS: your server and stream key (only you see them)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        setup = await self.services.ingress.setup(
            interaction.user.id,
            interaction.user.display_name,
            protocol,
            reset=action == "reset",
        )
        grace = int(self.services.live.grace.total_seconds())
        await interaction.followup.send(
            embed=obs_embed(setup, grace, locale_of(interaction)), ephemeral=True
        )

    @app_commands.command(name="record")
    @app_commands.describe(
        enabled="True: record your streams (listed in /vods); False: stop recording"
    )
    async def record(self, interaction: Interaction, enabled: bool) -> None:
        """Record your streams so people can watch them later."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        change = await self.services.recording.set_enabled(interaction.user.id, enabled)
        await interaction.followup.send(
            record_message(change, locale_of(interaction)), ephemeral=True
        )

    @app_commands.command(name="health")
    @app_commands.describe(member="Whose live stream to check (yours if left empty)")
    async def health(self, interaction: Interaction, member: discord.User | None = None) -> None:
        """Stream health: resolution, frame rate and bitrate of a live stream, as LiveKit reports."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        who = member or interaction.user
        stream = await self.services.streams.find_by_owner(who.id)
        if stream is None:
            raise NotFound("%(name)s has no stream page.", name=who.display_name)
        health = await self.services.health.health(stream)
        await interaction.followup.send(
            embed=health_embed(stream, health, locale_of(interaction)), ephemeral=True
        )

    @app_commands.command(name="invite")
    @app_commands.describe(
        member="Who to bring on stage (✋ marks raised hands); they must be watching signed in",
        streamer="Whose stage (yours if left empty; moderators may run anyone's)",
    )
    @app_commands.autocomplete(member=member_choices)
    async def invite(
        self, interaction: Interaction, member: str, streamer: discord.User | None = None
    ) -> None:
        """Invite a viewer on stage as your co-host: they get a private link to accept."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        owner = streamer or interaction.user
        stream = await self._stage_of(interaction, owner)
        guest = await self._guild_member(interaction, member_id(member))
        invitation = await self.services.stage.invite(
            stream,
            by=interaction.user.id,
            member=Member(guest.id, guest.display_name),
        )
        minutes = max(1, round(self.services.settings.stage.invite_ttl.total_seconds() / 60))
        link = await self.services.auth.create_login_link(
            identity_of(guest), f"/live/{stream.slug}?stage=invited"
        )
        sent = tr(interaction, "I sent them a DM with a one-time link to accept.")
        # Discord tells a bot a member's language only when they use it: the guest's DM is in
        # the server's language, the one its members read in common.
        server = await self.services.guilds.language(interaction.guild_id)
        try:
            await guest.send(
                embed=invitation_dm(stream, interaction.user.display_name, minutes, server),
                view=link_view(t(server, "Come on stage"), link.url, "🎙️"),
            )
        except discord.HTTPException:
            sent = tr(
                interaction,
                "Their DMs are closed, so they'll see the invitation on the watch page.",
            )
        invited = i18n.tn(
            locale_of(interaction),
            "Invited **%(name)s** on stage; the invitation stands for %(n)s minute.",
            "Invited **%(name)s** on stage; the invitation stands for %(n)s minutes.",
            minutes,
            name=invitation.display_name,
        )
        await interaction.followup.send(f"{invited} {sent}", ephemeral=True)

    @app_commands.command(name="stage")
    @app_commands.describe(member="Whose stage to show (yours if left empty)")
    async def stage(self, interaction: Interaction, member: discord.User | None = None) -> None:
        """Who is on stage with a streamer right now, and for how long."""
        who = member or interaction.user
        stream = await self.services.streams.find_by_owner(who.id)
        if stream is None:
            raise NotFound("%(name)s has no stream page.", name=who.display_name)
        await interaction.response.defer(thinking=True)
        state = await self.services.stage.state(stream)
        now = self.services.clock.now()
        seconds = {g.user_id: int((now - g.joined_at).total_seconds()) for g in state.guests}
        await interaction.followup.send(
            embed=stage_embed(stream, state, seconds, locale_of(interaction))
        )

    async def _stage_of(
        self, interaction: Interaction, owner: discord.User | discord.Member
    ) -> Stream:
        """The live stream whose stage the member may run: their own, or any as a moderator."""
        acting = interaction.user
        moderator = isinstance(acting, discord.Member) and await self.bot.moderators.is_moderator(
            acting
        )
        if owner.id != acting.id and not moderator:
            raise Forbidden("Only the streamer and moderators can invite guests on stage.")
        stream = await self.services.streams.find_by_owner(owner.id)
        if stream is None or not stream.active:
            if owner.id == acting.id:
                raise NotFound("You aren't live: go live with `/stream golive` first.")
            raise NotFound("%(name)s isn't live.", name=owner.display_name)
        return stream

    async def _guild_member(self, interaction: Interaction, user_id: int) -> discord.Member:
        guild = interaction.guild
        if guild is None:
            raise InvalidInput("Invite guests from a server channel, where they are members.")
        found = guild.get_member(user_id)
        if found is None:
            try:
                found = await guild.fetch_member(user_id)
            except discord.HTTPException:
                raise NotFound("That member isn't in this server.") from None
        if found.bot:
            raise InvalidInput("Bots can't come on stage.")
        return found

    async def _announce_here_if_unconfigured(
        self, interaction: Interaction, event: StreamEvent
    ) -> Phrase | None:
        """Guilds with an announcement channel are served by the announcer; others are announced
        here, once the stream is on air. Returns why that can't work, if the bot can tell now."""
        guild, channel = interaction.guild, interaction.channel
        if guild is None or not isinstance(channel, discord.TextChannel):
            return None
        if await self.services.guilds.announce_channel(guild.id) is not None:
            return None
        await self.services.guilds.request_announcement(event.session.id, guild.id, channel.id)
        allowed = channel.permissions_for(guild.me)
        if allowed.view_channel and allowed.send_messages and allowed.embed_links:
            return None
        return Phrase(
            N_(
                "I can't post in %(channel)s: I need View Channel, Send Messages and Embed Links "
                "there to announce you."
            ),
            {"channel": channel.mention},
        )
