"""Static files: fingerprinted URLs cached for a year, module imports that follow them, and a
plain 404 for anything that is not there."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from core.services import Services
from tests.conftest import ALICE
from tests.pages.browser import create_stream
from web.assets import FINGERPRINTED_CACHE, StaticFiles

Client = TestClient[Any, Any]
FINGERPRINTED = r"/static/{}\.[0-9a-f]{{12}}\.{}"


def fingerprinted(name: str, ext: str) -> re.Pattern[str]:
    return re.compile(FINGERPRINTED.format(re.escape(name), ext))


async def page(client: Client, path: str) -> str:
    async with client.get(path) as response:
        assert response.status == 200
        return await response.text()


async def test_pages_load_their_files_from_fingerprinted_urls(
    client: Client, services: Services
) -> None:
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    html = await page(client, "/live/alice")
    scripts = re.findall(r'<script type="module" src="([^"]+)"></script>', html)
    assert [re.sub(r"\.[0-9a-f]{12}\.js$", ".js", url) for url in scripts] == [
        "/static/app.js",
        "/static/watch.js",
        "/static/health.js",
        "/static/chat.js",
        "/static/tips.js",
        "/static/stage.js",
    ]
    assert fingerprinted("app", "css").search(html)
    assert fingerprinted("favicon", "svg").search(html)
    assert not re.search(r'"/static/[a-z]+\.(js|css|svg)"', html)  # no plain names left
    assert '<body class="" data-broadcaster-prefix="host-">' in html

    for url in scripts:
        async with client.get(url) as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
            assert response.headers["Cache-Control"] == FINGERPRINTED_CACHE


async def test_module_imports_point_at_fingerprinted_urls(client: Client) -> None:
    html = await page(client, "/live")
    [live_js] = re.findall(r'src="(/static/live\.[0-9a-f]+\.js)"', html)
    [app_js] = re.findall(r'src="(/static/app\.[0-9a-f]+\.js)"', html)
    source = await page(client, live_js)
    # The page's own copy of app.js is the one the module imports: one instance, one URL.
    assert f'from "{app_js}"' in source
    assert fingerprinted("net", "js").search(source)
    assert '"./' not in source
    app_source = await page(client, app_js)
    [livekit] = set(fingerprinted("vendor/livekit-client.esm", "mjs").findall(app_source))
    async with client.get(livekit) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
        assert "export" in await response.text()


async def test_plain_names_still_answer_with_a_short_cache(client: Client) -> None:
    async with client.get("/static/app.css") as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/css; charset=utf-8"
        assert response.headers["Cache-Control"] == "public, max-age=300, must-revalidate"
        etag = response.headers["ETag"]
    async with client.get("/static/app.css", headers={"If-None-Match": etag}) as response:
        assert response.status == 304


@pytest.mark.parametrize(
    "path",
    [
        "/static/nothing-here.js",
        "/static/app.0123456789ab.js",  # a fingerprint that is not app.js's
        "/static/" + "x" * 300 + ".js",  # longer than a file name may be
        "/static/../pages.py",
        "/static/vendor/",
    ],
)
async def test_what_is_not_there_is_a_404_page(client: Client, path: str) -> None:
    async with client.get(path) as response:
        assert response.status == 404
        assert response.headers["Content-Type"].startswith("text/html")
        assert "Not found" in await response.text()


async def test_the_csp_stays_strict(client: Client) -> None:
    async with client.get("/live") as response:
        csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp
    assert "unsafe" not in csp


def test_a_change_to_an_imported_module_gives_its_importers_new_urls(tmp_path: Path) -> None:
    (tmp_path / "page.js").write_text('import { x } from "./lib.js";\n')
    (tmp_path / "lib.js").write_text("export const x = 1;\n")
    (tmp_path / "other.css").write_text("body {}\n")
    before = StaticFiles(tmp_path)
    (tmp_path / "lib.js").write_text("export const x = 2;\n")
    after = StaticFiles(tmp_path)
    assert after.url("lib.js") != before.url("lib.js")
    assert after.url("page.js") != before.url("page.js")
    assert after.url("other.css") == before.url("other.css")
    served = after.lookup(after.url("page.js").removeprefix("/static/"))
    assert served is not None
    assert served.body.decode() == f'import {{ x }} from "{after.url("lib.js")}";\n'


def test_modules_that_import_each_other_in_a_cycle_are_refused_at_start(tmp_path: Path) -> None:
    (tmp_path / "a.js").write_text('import "./b.js";\n')
    (tmp_path / "b.js").write_text('import "./a.js";\n')
    with pytest.raises(ValueError, match="cycle"):
        StaticFiles(tmp_path)
