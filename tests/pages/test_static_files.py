"""Static files: fingerprinted URLs cached for a year, module imports that follow them, served
brotli- or gzip-compressed from copies made once, and a plain 404 for anything that is not there."""

from __future__ import annotations

import gzip
import logging
import re
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import brotli
import jinja2
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request

from core.services import Services
from tests.conftest import ALICE
from tests.pages.browser import create_stream
from web import assets
from web.assets import FINGERPRINTED_CACHE, PLAIN_CACHE, StaticFiles, accepted_encodings

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


# What Chromium sends over plain HTTP, and over HTTPS (and to localhost).
CHROMIUM_HTTP = "gzip, deflate"
CHROMIUM_HTTPS = "gzip, deflate, br, zstd"


async def fetch(
    client: Client, path: str, accept_encoding: str | None, **headers: str
) -> tuple[Any, bytes]:
    """The response and its body exactly as sent (not decompressed); None: no Accept-Encoding."""
    if accept_encoding is not None:
        headers["Accept-Encoding"] = accept_encoding
    async with client.get(
        path,
        headers=headers,
        auto_decompress=False,
        skip_auto_headers=["Accept-Encoding"] if accept_encoding is None else [],
    ) as response:
        assert response.request_info.headers.get("Accept-Encoding") == accept_encoding
        return response, await response.read()


async def app_js_url(client: Client) -> str:
    [url] = re.findall(r'src="(/static/app\.[0-9a-f]+\.js)"', await page(client, "/live"))
    return url


@pytest.mark.parametrize(
    ("accept_encoding", "encoding", "decode"),
    [
        (CHROMIUM_HTTPS, "br", brotli.decompress),
        ("br;q=0.5, gzip;q=1.0", "br", brotli.decompress),  # any q above 0 is a yes: ours first
        (CHROMIUM_HTTP, "gzip", gzip.decompress),
        ("br;q=0, gzip", "gzip", gzip.decompress),
        ("x-gzip", "gzip", gzip.decompress),
        ("*", "br", brotli.decompress),
        ("*;q=0, gzip", "gzip", gzip.decompress),
    ],
)
async def test_static_files_go_out_compressed_as_the_browser_accepts(
    client: Client, accept_encoding: str, encoding: str, decode: Any
) -> None:
    url = await app_js_url(client)
    _, plain = await fetch(client, url, "identity")
    response, body = await fetch(client, url, accept_encoding)
    assert response.status == 200
    assert response.headers["Content-Encoding"] == encoding
    assert response.headers["Vary"] == "Accept-Encoding"
    assert response.headers["Content-Length"] == str(len(body))
    assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert response.headers["Cache-Control"] == FINGERPRINTED_CACHE
    assert len(body) < len(plain) / 2
    assert decode(body) == plain


@pytest.mark.parametrize("accept_encoding", [None, "", "identity", "br;q=0, gzip;q=0", "zstd"])
async def test_without_an_encoding_both_sides_know_the_file_goes_as_it_is(
    client: Client, accept_encoding: str | None
) -> None:
    url = await app_js_url(client)
    response, body = await fetch(client, url, accept_encoding)
    assert "Content-Encoding" not in response.headers
    assert response.headers["Vary"] == "Accept-Encoding"  # a shared cache must ask again
    assert response.headers["Content-Length"] == str(len(body))
    assert b"export" in body


async def test_the_vendored_livekit_client_goes_out_minified_and_compressed(
    client: Client,
) -> None:
    app_js = (await fetch(client, await app_js_url(client), None))[1].decode()
    [livekit] = set(fingerprinted("vendor/livekit-client.esm", "mjs").findall(app_js))
    response, body = await fetch(client, livekit, CHROMIUM_HTTPS)
    assert response.headers["Content-Encoding"] == "br"
    assert response.headers["Cache-Control"] == FINGERPRINTED_CACHE
    # 1.4 MB as published, 585 KB minified; brotli takes it to some 130 KB.
    assert len(body) < 150_000
    assert len(brotli.decompress(body)) < 700_000


async def test_each_encoding_has_its_own_etag_and_revalidates_with_it(client: Client) -> None:
    url = await app_js_url(client)
    brotli_response, _ = await fetch(client, url, "br")
    gzip_response, _ = await fetch(client, url, "gzip")
    plain_response, _ = await fetch(client, url, "identity")
    etags = {r.headers["ETag"] for r in (brotli_response, gzip_response, plain_response)}
    assert len(etags) == 3

    etag = brotli_response.headers["ETag"]
    response, body = await fetch(client, url, "br", **{"If-None-Match": etag})
    assert response.status == 304
    assert body == b""
    assert response.headers["ETag"] == etag
    assert response.headers["Vary"] == "Accept-Encoding"
    # A list of tags, or a weak one, matches too (If-None-Match compares weakly).
    response, _ = await fetch(client, url, "br", **{"If-None-Match": f'"x", W/{etag}'})
    assert response.status == 304
    # The brotli tag does not validate the gzip bytes.
    response, body = await fetch(client, url, "gzip", **{"If-None-Match": etag})
    assert response.status == 200
    assert gzip.decompress(body)


async def test_a_head_request_tells_the_length_of_what_a_get_sends(client: Client) -> None:
    url = await app_js_url(client)
    get, body = await fetch(client, url, "br")
    async with client.head(url, headers={"Accept-Encoding": "br"}) as head:
        assert head.status == 200
        assert head.headers["Content-Encoding"] == "br"
        assert head.headers["Content-Length"] == str(len(body)) == get.headers["Content-Length"]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, set()),
        ("", set()),
        ("gzip, deflate, br, zstd", {"br", "gzip"}),
        ("GZIP", {"gzip"}),
        ("br;q=0", set()),
        ("br;q=0.001", {"br"}),
        ("br; q=1, gzip; q=0.0", {"br"}),
        ("br;q=nonsense, gzip", {"gzip"}),
        ("*", {"br", "gzip"}),
        ("*;q=0.5, br;q=0", {"gzip"}),
        ("identity", set()),
        (",,;q=1, ,", set()),
    ],
)
def test_accept_encoding_is_read_with_its_qualities(header: str | None, expected: set[str]) -> None:
    assert accepted_encodings(header) == expected


def static_dir(tmp_path: Path) -> Path:
    root = tmp_path / "static"
    root.mkdir()
    (root / "page.js").write_text('import { x } from "./lib.js";\n' + "// page\n" * 200)
    (root / "lib.js").write_text("export const x = 1;\n" + "// lib\n" * 200)
    (root / "tiny.css").write_text("b{}")
    (root / "photo.png").write_bytes(b"\x89PNG" + bytes(range(256)) * 8)
    return root


def test_the_build_keeps_compressed_copies_by_fingerprinted_name(tmp_path: Path) -> None:
    root, out = static_dir(tmp_path), tmp_path / "build"
    files, removed = assets.build(root, out)
    page_name = files.url("page.js").removeprefix("/static/")
    assert removed == 0
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.*")) == sorted(
        files.copy_names()
    )
    assert (out / f"{page_name}.br").is_file()
    assert (out / f"{page_name}.gz").is_file()
    # Images are compressed already; a file too small to gain is kept but sent as it is.
    assert not list(out.glob("photo.*"))
    tiny = files.lookup(files.url("tiny.css").removeprefix("/static/"))
    assert tiny is not None
    assert tiny.encoded == {}
    page_asset = files.lookup(page_name)
    assert page_asset is not None
    assert brotli.decompress(page_asset.encoded["br"]) == page_asset.body

    # The next start reads the copies: nothing is compressed again.
    again = StaticFiles(root, out)
    assert again.precompressed.made == []
    assert again.lookup(page_name) == page_asset


def test_a_start_compresses_what_the_build_lacks_and_keeps_it(tmp_path: Path) -> None:
    root, out = static_dir(tmp_path), tmp_path / "build"
    assets.build(root, out)
    (root / "lib.js").write_text("export const x = 2;\n" + "// changed\n" * 200)
    files = StaticFiles(root, out)
    # lib.js changed, and so did page.js, which imports it (its URL names lib.js's).
    assert sorted(files.precompressed.made) == sorted(
        files.url(name).removeprefix("/static/") + suffix
        for name in ("lib.js", "page.js")
        for suffix in (".br", ".gz")
    )
    assert StaticFiles(root, out).precompressed.made == []
    # The build removes the copies of bytes no longer served.
    _, removed = assets.build(root, out)
    assert removed == 4
    assert {p.relative_to(out).as_posix() for p in out.rglob("*.*")} == files.copy_names()


def test_a_build_dir_that_cannot_be_written_still_serves_compressed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = static_dir(tmp_path)
    not_a_dir = tmp_path / "build"
    not_a_dir.write_text("a file where the build dir should be")
    with caplog.at_level(logging.WARNING, logger="web.assets"):
        files = StaticFiles(root, not_a_dir)
    page_asset = files.lookup(files.url("page.js").removeprefix("/static/"))
    assert page_asset is not None
    assert set(page_asset.encoded) == {"br", "gzip"}
    [warning] = [r.getMessage() for r in caplog.records]  # once, not once per file
    assert "compressed at every start" in warning


def test_copies_are_whole_and_readable_by_the_user_the_app_runs_as(tmp_path: Path) -> None:
    root, out = static_dir(tmp_path), tmp_path / "build"
    assets.build(root, out)
    assert not [p for p in out.rglob("*") if p.name.startswith(".partial-")]
    assert {oct(p.stat().st_mode & 0o777) for p in out.rglob("*.*")} == {"0o644"}


async def test_a_served_copy_from_the_build_dir_is_the_one_sent(tmp_path: Path) -> None:
    root, out = static_dir(tmp_path), tmp_path / "build"
    files, _ = assets.build(root, out)
    app = web.Application()
    aiohttp_jinja2.setup(app, loader=jinja2.DictLoader({}))
    assets.setup(app, root, out)
    page_url = files.url("page.js")
    async with TestClient(TestServer(app)) as client:
        response, body = await fetch(client, page_url, "br")
        assert body == (out / (page_url.removeprefix("/static/") + ".br")).read_bytes()
        response, body = await fetch(client, "/static/page.js", "gzip")
        assert response.headers["Cache-Control"] == PLAIN_CACHE
        assert response.headers["Content-Encoding"] == "gzip"
        response, body = await fetch(client, files.url("photo.png"), "br, gzip")
        assert "Content-Encoding" not in response.headers
        assert "Vary" not in response.headers
        assert response.headers["Content-Type"] == "image/png"


def test_the_build_command_reports_each_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, out = static_dir(tmp_path), tmp_path / "build"
    assert assets.main(["build", "--root", str(root), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"page\.[0-9a-f]{12}\.js\s+[\d,]+\s+[\d,]+\s+[\d,]+", printed)
    assert "6 compressed copies made, 0 stale ones removed" in printed


@pytest.mark.parametrize(
    ("accept_encoding", "encoding"),
    [(CHROMIUM_HTTPS, "gzip"), (CHROMIUM_HTTP, "gzip"), ("br", None), (None, None)],
)
async def test_pages_go_out_gzip_compressed_when_the_browser_accepts_it(
    client: Client, services: Services, accept_encoding: str | None, encoding: str | None
) -> None:
    await create_stream(services)
    await services.streams.go_live(ALICE.user_id)
    response, body = await fetch(client, "/live/alice", accept_encoding)
    assert response.status == 200
    assert response.headers.get("Content-Encoding") == encoding
    assert response.headers["Content-Length"] == str(len(body))
    assert "Accept-Encoding" in response.headers.getall("Vary")
    html = gzip.decompress(body) if encoding else body
    assert html.startswith(b"<!doctype html>")
    assert b"Sunset over the river" in html
    if encoding:
        assert len(body) < len(html) / 2


def test_a_page_too_small_to_gain_goes_out_as_it_is() -> None:
    request = make_mocked_request("GET", "/", headers={"Accept-Encoding": CHROMIUM_HTTPS})
    small = assets.compress_page(request, web.Response(text="<p>hi</p>", content_type="text/html"))
    assert "Content-Encoding" not in small.headers
    assert small.headers["Vary"] == "Accept-Encoding"
    large = assets.compress_page(request, web.Response(text="<p>hi</p>" * 200))
    assert large.headers["Content-Encoding"] == "gzip"
    assert isinstance(large.body, bytes)
    assert gzip.decompress(large.body) == b"<p>hi</p>" * 200
