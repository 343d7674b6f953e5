"""Every command answers in the member's language, not only the first ones translated: moderators'
tools, the wallet and credits, statistics, leaderboards, search, OBS and health, reports and
setup. What many read (the mod-log channel, announcements and their buttons, the chat thread) is
in the server's language; DMs, which answer no interaction, too. Refusals stay private."""

from __future__ import annotations

import pytest
from livekit.protocol import ingress as lk_ingress

from core.kernel.errors import InvalidInput, NotFound, PaymentRefused
from core.live.ingress import obs_identity
from core.services import Services
from tests.bot.helpers import (
    alice_live,
    buttons,
    create_page,
    dms,
    domain_errors,
    fields,
    fund,
    on_air,
    only_ingress,
    page_for,
    posts,
    set_mod_log,
    setup_announcements,
    speaks,
)
from tests.conftest import World
from tests.fakes.livekit import FakeLiveKit


async def test_a_german_moderator_moderates_in_german_and_the_log_speaks_the_servers_language(
    world: World, services: Services, monkeypatch: pytest.MonkeyPatch, livekit: FakeLiveKit
) -> None:
    speaks(monkeypatch, world.admin, "de")
    await world.admin.slash(world.general, "setup language", language="pt_BR")
    mod_log = await set_mod_log(world)
    stream = await alice_live(world, services)
    banned = await world.admin.slash(
        world.general, "mod ban", member=world.bob.user, scope="chat", duration=86400
    )
    assert banned.ephemeral
    assert banned.response.content == f"{world.bob.mention} ist für 1 Tag aus dem Chat gesperrt."
    # The mod-log channel is read by every moderator: Portuguese, as the server chose.
    assert mod_log.last_message.content == (
        f"{world.admin.mention}: {world.bob.mention} está banido do chat por 1 dia."
    )
    timed = await world.admin.slash(
        world.general, "mod timeout", member=world.bob.user, duration=300
    )
    assert timed.response.content == f"{world.bob.mention} kann 5 Minuten lang nicht chatten."
    slow = await world.admin.slash(
        world.general, "mod slowmode", seconds=90, member=world.alice.user
    )
    assert slow.response.content == "Slow-Mode im Chat von Alice: alle 1 Min. eine Nachricht."
    assert stream.room_name is not None
    livekit.add_participant(stream.room_name, f"viewer-{world.bob.id}-a1b2c3")
    kicked = await world.admin.slash(world.general, "mod kick", member=world.bob.user)
    assert kicked.response.content.startswith(
        f"{world.bob.mention} wurde aus 1 Zuschauerverbindung entfernt und kann "
    )
    log = await world.admin.slash(world.general, "mod log")
    assert log.response.embeds[0].title == "Moderationsprotokoll"
    assert all(r.ephemeral for r in (banned, timed, slow, kicked, log))


async def test_a_brazilian_wallet_and_its_history_read_portuguese(
    world: World, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    speaks(monkeypatch, world.bob, "pt-BR")
    speaks(monkeypatch, world.alice, "pt-BR")
    await page_for(services, world.alice, "Alice")
    await fund(services, world.bob, 1500)
    await world.bob.slash(world.general, "tip", member=world.alice, amount=200)
    balance = await world.bob.slash(world.general, "wallet balance")
    embed = balance.response.embeds[0]
    assert balance.ephemeral and embed.title == "Sua carteira: 1.300 créditos"
    assert "`-200` Gorjeta para Alice" in (embed.description or "")
    assert "Concedido: test" in (embed.description or "")
    history = await world.alice.slash(world.general, "wallet history")
    assert "`+200` Gorjeta de bob" in (history.response.embeds[0].description or "")
    assert history.response.embeds[0].footer.text == "Página 1 de 1 · 1 registro"
    refused = await world.bob.slash(world.general, "wallet topup", amount=500)
    assert refused.ephemeral
    assert refused.response.content.startswith("A compra de créditos ainda não está configurada")
    assert "`/créditos conceder`" in refused.response.content
    assert domain_errors(world) == [PaymentRefused]


async def test_a_german_admin_settles_credits_and_the_member_is_told_in_the_servers_language(
    world: World, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    speaks(monkeypatch, world.admin, "de")
    await world.admin.slash(world.general, "setup language", language="pt_BR")
    await page_for(services, world.alice, "Alice")
    granted = await world.admin.slash(
        world.general, "credits grant", member=world.alice, amount=1200, reason="Preis"
    )
    assert granted.ephemeral and granted.response.content.startswith(
        f"**1.200 Credits** an {world.alice.mention} gutgeschrieben (Transaktion #"
    )
    assert granted.response.content.endswith("Guthaben: 1.200 Credits.")
    await world.alice.slash(world.general, "wallet payout", amount=1000)
    [request] = await services.payouts.pending()
    listed = await world.admin.slash(world.general, "credits payouts")
    assert listed.response.embeds[0].title == "Offene Auszahlungsanträge"
    paid = await world.admin.slash(
        world.general, "credits payout-paid", request=request.id, note="SEPA 42"
    )
    assert paid.response.content == (
        f"Auszahlungsantrag #{request.id} (1.000 Credits an Alice) ist als bezahlt markiert."
    )
    [told] = [m for m in dms(world.alice) if "saque" in m.content]
    assert told.content == (
        f"Seu pedido de saque #{request.id} de 1.000 créditos foi pago. Nota: SEPA 42"
    )
    unknown = await world.admin.slash(world.general, "credits refund-tip", tip=99, reason="x")
    assert unknown.ephemeral and unknown.response.content == "Es gibt kein Trinkgeld #99."
    assert domain_errors(world) == [NotFound]


async def test_stats_and_leaderboards_in_german_and_portuguese(
    world: World, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    speaks(monkeypatch, world.bob, "de")
    speaks(monkeypatch, world.admin, "pt-BR")
    empty = await world.bob.slash(world.general, "stats top")
    assert empty.ephemeral and empty.response.content == (
        "Noch hat niemand gestreamt. Sei der Erste: `/stream golive`."
    )
    mine = await world.bob.slash(world.general, "stats member")
    assert mine.ephemeral and mine.response.content == (
        "Du hast noch keine Streamseite. Erstelle eine mit `/stream erstellen`."
    )
    await alice_live(world, services)
    await world.alice.slash(world.general, "stream end")
    card = await world.bob.slash(world.general, "stats member", member=world.alice)
    assert card.response.embeds[0].title == "Streams von Alice"
    assert list(fields(card.response))[:3] == ["Streams", "Zeit live", "Zuschauer im Schnitt"]
    top = await world.bob.slash(world.general, "stats top")
    assert top.response.embeds[0].title == "Top-Streamer"
    assert "0 Follower" in (top.response.embeds[0].description or "")
    nothing = await world.admin.slash(world.general, "tips top")
    assert nothing.ephemeral and nothing.response.embeds[0].title == "Gorjetas, esta semana"
    assert fields(nothing.response)["Quem mais deu gorjeta"] == "Nenhuma gorjeta ainda."
    await page_for(services, world.bob, "Bob")
    await fund(services, world.admin, 100)
    await world.admin.slash(world.general, "tip", member=world.alice, amount=30)
    board = await world.admin.slash(world.general, "tips top", period="all")
    assert not board.ephemeral
    assert "30 créditos (1 gorjeta)" in fields(board.response)["Top streamers"]


async def test_search_obs_and_health_answer_in_german(
    world: World, services: Services, monkeypatch: pytest.MonkeyPatch, livekit: FakeLiveKit
) -> None:
    speaks(monkeypatch, world.bob, "de")
    speaks(monkeypatch, world.alice, "de")
    nobody = await world.bob.slash(world.general, "stream search", member="zz")
    assert nobody.response.embeds[0].title == "Livestreams zu „zz“"
    assert nobody.response.embeds[0].description == (
        "Niemand, der live ist, passt zu „zz“. Versuch es mit weniger Buchstaben oder füge "
        "`auch_offline: True` hinzu."
    )
    both = await world.bob.slash(world.general, "stream search")
    assert both.ephemeral and both.response.content == (
        "Suche mit `mitglied:` (einem Namen) oder `nahe:` (einer Stadt), eins von beiden."
    )
    await create_page(world, world.alice)
    obs = await world.alice.slash(world.general, "stream obs")
    assert obs.ephemeral and obs.response.embeds[0].title == "Deine neuen OBS-Einstellungen (RTMP)"
    shown = fields(obs.response)
    assert set(shown) >= {"Server", "Streamschlüssel", "Gut zu wissen", "Neuer Schlüssel"}
    assert "`/stream obs aktion:zurücksetzen`" in shown["Gut zu wissen"]
    await world.alice.slash(world.general, "stream golive")
    info = only_ingress(livekit)
    livekit.set_ingress_status(info.ingress_id, lk_ingress.IngressState.Status.ENDPOINT_BUFFERING)
    livekit.add_participant(info.room_name, obs_identity(world.alice.id), kind="ingress")
    livekit.publish_track(info.room_name, obs_identity(world.alice.id))
    health = await world.bob.slash(world.general, "stream health", member=world.alice)
    assert health.response.embeds[0].title == "🟠 Die Verbindung des Streamers ist schlecht · Alice"
    assert fields(health.response)["Warum"] == "• LiveKit wartet auf das Video von OBS (Pufferung)"
    stranger = await world.bob.slash(world.general, "stream health", member=world.bob)
    assert stranger.ephemeral and stranger.response.content == "bob hat keine Streamseite."
    assert domain_errors(world) == [InvalidInput, NotFound]


async def test_announcement_buttons_speak_the_servers_language_and_answer_the_clicker_in_theirs(
    world: World, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    speaks(monkeypatch, world.bob, "pt-BR")
    await setup_announcements(world)
    await world.admin.slash(world.general, "setup language", language="de")
    await create_page(world, world.alice)
    await world.alice.slash(world.general, "stream golive")
    await on_air(world)
    await services.events.drain()
    [announcement] = [m for m in posts(world.announcements) if m.embeds]
    labels = [b["label"] for b in buttons(announcement)]
    assert labels[:2] == ["Ansehen", "Trinkgeld"]
    clicked = await world.bob.click(announcement, label="Ansehen")
    assert clicked.ephemeral
    assert (clicked.followups or [clicked.response])[-1].content.startswith(
        "**Alice** está ao vivo agora. Este link faz seu login"
    )
    [thread] = world.announcements.threads
    assert thread.name == "💬 Alice — Livechat"


async def test_dms_to_a_streamer_are_in_the_servers_language(
    world: World, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    speaks(monkeypatch, world.bob, "de")
    await world.admin.slash(world.general, "setup language", language="pt_BR")
    await page_for(services, world.alice, "Alice")
    await fund(services, world.bob, 100)
    await world.bob.slash(world.general, "tip", member=world.alice, amount=30, message="Bravo")
    await services.events.drain()
    await world.env.settle()
    [alert] = [m for m in dms(world.alice) if m.embeds]
    assert alert.embeds[0].title == "💸 bob te deu 30 créditos de gorjeta"
    assert alert.embeds[0].footer.text.startswith("Gorjeta #")


async def test_reports_and_setup_in_german_with_the_report_in_the_servers_language(
    world: World, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    speaks(monkeypatch, world.admin, "de")
    speaks(monkeypatch, world.bob, "de")
    await world.admin.slash(world.general, "setup language", language="pt_BR")
    announced = await world.admin.slash(
        world.general, "setup announce-channel", channel=world.announcements
    )
    assert announced.response.content == (
        f"Live-Ankündigungen werden in {world.announcements.mention} gepostet."
    )
    mod_log = await set_mod_log(world)
    yourself = await world.bob.slash(world.general, "report", member=world.bob, reason="x")
    assert yourself.ephemeral and yourself.response.content == (
        "Du kannst dich nicht selbst melden."
    )
    sent = await world.bob.slash(world.general, "report", member=world.alice, reason="Spam")
    assert sent.ephemeral and sent.response.content == (
        "Danke \u2013 die Moderatoren haben deine Meldung. Nur sie können sie sehen."
    )
    report = mod_log.last_message
    assert report.embeds[0].title.startswith("Denúncia #")
    assert [b["label"] for b in buttons(report)] == ["Descartar", "Encerrar a transmissão", "Banir"]
    handled = await world.admin.click(report, label="Descartar")
    assert (handled.followups or [handled.response])[-1].content.endswith(": verworfen.")
    assert domain_errors(world) == [InvalidInput]


async def test_following_reads_german(
    world: World, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    speaks(monkeypatch, world.bob, "de")
    await page_for(services, world.alice, "Alice")
    await world.bob.slash(world.general, "follow", member=world.alice)
    following = await world.bob.slash(world.general, "following")
    embed = following.response.embeds[0]
    assert following.ephemeral and embed.title == "Du folgst 1 Streamer"
    assert embed.footer.text == "Live-DMs sind an · /benachrichtigungen"
