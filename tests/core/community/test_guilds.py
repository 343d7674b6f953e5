"""Per-guild settings: the language a DM speaks when no interaction names the member's."""

from __future__ import annotations

from core.services import Services


async def test_dms_speak_the_servers_language_when_they_agree(services: Services) -> None:
    guilds = services.guilds
    assert await guilds.dm_language() == "en"
    await guilds.set_language(1, "de")
    assert await guilds.dm_language() == "de"
    await guilds.set_language(2, "de")
    assert await guilds.dm_language() == "de"
    await guilds.set_language(3, "pt_BR")
    assert await guilds.dm_language() == "en"  # servers that disagree: no one language to pick
