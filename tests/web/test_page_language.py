"""Pages in the viewer's language: `?lang=` (remembered), then Accept-Language, then English."""

from __future__ import annotations

import json

from aiohttp.test_utils import TestClient

from core.services import Services
from core.streams import StreamDraft
from web.i18n import LANG_COOKIE, script_messages, script_texts


async def _page(services: Services) -> str:
    stream = await services.streams.create(
        owner_id=1001, username="alice", display_name="Alice", draft=StreamDraft("Painting")
    )
    return f"/live/{stream.slug}"


async def test_english_by_default(client: TestClient[object, object], services: Services) -> None:
    async with client.get(await _page(services)) as response:
        html = await response.text()
    assert '<html lang="en">' in html
    assert "Accept-Language" in response.headers.getall("Vary")


async def test_accept_language_chooses_the_page_language(
    client: TestClient[object, object], services: Services
) -> None:
    path = await _page(services)
    async with client.get(path, headers={"Accept-Language": "pt-BR,pt;q=0.9"}) as response:
        assert '<html lang="pt-BR">' in await response.text()
    async with client.get(path, headers={"Accept-Language": "fr-FR"}) as response:
        assert '<html lang="en">' in await response.text()


async def test_a_lang_choice_wins_and_is_remembered(
    client: TestClient[object, object], services: Services
) -> None:
    path = await _page(services)
    async with client.get(f"{path}?lang=de", headers={"Accept-Language": "pt-BR"}) as response:
        assert '<html lang="de">' in await response.text()
        assert response.cookies[LANG_COOKIE].value == "de"
    async with client.get(path, headers={"Accept-Language": "pt-BR"}) as response:
        assert '<html lang="de">' in await response.text()
    async with client.get(f"{path}?lang=xx") as response:
        assert '<html lang="de">' in await response.text()
        assert LANG_COOKIE not in response.cookies


async def test_every_page_offers_each_language(
    client: TestClient[object, object], services: Services
) -> None:
    async with client.get(await _page(services)) as response:
        html = await response.text()
    for code, name in (("en", "English"), ("de", "Deutsch"), ("pt_BR", "Português (Brasil)")):
        assert f'href="?lang={code}"' in html and name in html


async def test_page_scripts_get_their_text_in_the_page_language(
    client: TestClient[object, object], services: Services
) -> None:
    path = await _page(services)
    async with client.get(f"{path}?lang=pt_BR") as response:
        html = await response.text()
    texts = json.loads(
        html.split('<script type="application/json" id="page-text">')[1].split("</script>")[0]
    )
    assert texts["golive can't be reached. Check your connection."] == (
        "Não foi possível acessar o golive. Verifique sua conexão."
    )
    async with client.get(f"{path}?lang=en") as response:
        assert 'id="page-text"' not in await response.text()  # English is the message id


def test_every_marked_script_text_is_embedded_with_every_plural_form() -> None:
    texts = script_texts("de")
    assert set(texts) == {m[0] if isinstance(m, tuple) else m for m in script_messages()}
    assert all(isinstance(v, list) and len(v) == 2 for k, v in texts.items() if isinstance(v, list))


async def test_errors_come_in_the_pages_language(
    client: TestClient[object, object], services: Services
) -> None:
    """What a page shows from a refused API call, and an error page, read as the page does."""
    async with client.get("/api/live/nobody", headers={"Accept-Language": "de"}) as response:
        assert response.status == 404
        assert (await response.json())["error"] == "Es gibt keine Streamseite namens 'nobody'."
    async with client.get("/api/live/nobody") as response:
        assert (await response.json())["error"] == "There is no stream page called 'nobody'."
    path = await _page(services)
    async with client.get(f"{path}/studio?lang=pt_BR") as response:
        html = await response.text()
    assert response.status == 401
    assert "Faça login para abrir seu estúdio" in html and "Veja quem está ao vivo" in html
    async with client.get("/live/nobody?lang=de") as response:
        html = await response.text()
    assert response.status == 404 and "Nicht gefunden" in html
    assert "Es gibt keine Streamseite namens" in html
