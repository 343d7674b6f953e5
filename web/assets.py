"""Static files with fingerprinted URLs: read and hashed once at app start, served from memory.

Templates ask `static_url("app.js")` and get `/static/app.<hash>.js`, where the hash is that of
the bytes served. Those URLs never change meaning, so browsers may keep them for a year; the plain
names still answer, with a short cache, for anything that links to them by hand.

Page scripts are ES modules. Their imports name our own files as written in the source
(`./net.js`) and livekit-client by its package name: serving them rewrites each specifier to the
fingerprinted URL, so a module's hash covers what it imports (a change to net.js gives every
module that imports it a new URL too) and no import map (an inline script) is needed.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import aiohttp_jinja2
from aiohttp import web

log = logging.getLogger(__name__)

FINGERPRINTED_CACHE = "public, max-age=31536000, immutable"
PLAIN_CACHE = "public, max-age=300, must-revalidate"
HASH_LENGTH = 12
# Bare specifiers page modules may import, and the vendored file that answers each.
BARE_IMPORTS = {"livekit-client": "vendor/livekit-client.esm.mjs"}
# `import x from "…"`, `export { x } from "…"`, `import "…"` and `import("…")`.
_SPECIFIER = re.compile(r"""(\bfrom\s*|\bimport\s*\(?\s*)(["'])([^"'\n]+)\2""")
_TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".svg": "image/svg+xml"}
_SKIPPED_SUFFIXES = (".map", ".d.ts", ".d.mts")


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    digest: str
    cache_control: str


class StaticFiles:
    """Every file under `root`, by its plain and its fingerprinted name."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._sources = {
            path.relative_to(root).as_posix(): path.read_bytes()
            for path in sorted(root.rglob("*"))
            if path.is_file() and not path.name.endswith(_SKIPPED_SUFFIXES)
        }
        self._urls: dict[str, str] = {}
        self._served: dict[str, Asset] = {}
        for name in self._sources:
            self._fingerprint(name, stack=())

    def url(self, name: str) -> str:
        """The fingerprinted URL of `name`; the plain one (a 404) when there is no such file."""
        if name not in self._urls:
            log.warning("no static file %s: its URL will not answer", name)
            return f"/static/{name}"
        return self._urls[name]

    def lookup(self, name: str) -> Asset | None:
        return self._served.get(name)

    def _fingerprint(self, name: str, stack: tuple[str, ...]) -> str:
        if name in self._urls:
            return self._urls[name]
        if name in stack:
            raise ValueError(f"static modules import each other in a cycle: {' -> '.join(stack)}")
        body = self._sources[name]
        if _is_own_module(name):
            body = self._rewrite_imports(name, body, (*stack, name))
        digest = hashlib.sha256(body).hexdigest()[:HASH_LENGTH]
        path = PurePosixPath(name)
        fingerprinted = str(path.with_name(f"{path.stem}.{digest}{path.suffix}"))
        content_type = _content_type(name)
        self._served[name] = Asset(body, content_type, digest, PLAIN_CACHE)
        self._served[fingerprinted] = Asset(body, content_type, digest, FINGERPRINTED_CACHE)
        self._urls[name] = f"/static/{fingerprinted}"
        return self._urls[name]

    def _rewrite_imports(self, name: str, body: bytes, stack: tuple[str, ...]) -> bytes:
        here = PurePosixPath(name).parent

        def fingerprinted(match: re.Match[str]) -> str:
            keyword, quote, specifier = match.groups()
            target = _resolve(here, specifier)
            if target is None or target not in self._sources:
                return match.group(0)  # not one of ours: the browser reports it if it matters
            return f"{keyword}{quote}{self._fingerprint(target, stack)}{quote}"

        return _SPECIFIER.sub(fingerprinted, body.decode("utf-8")).encode("utf-8")


def _is_own_module(name: str) -> bool:
    return name.endswith(".js") and not name.startswith("vendor/")


def _resolve(here: PurePosixPath, specifier: str) -> str | None:
    if specifier in BARE_IMPORTS:
        return BARE_IMPORTS[specifier]
    if not specifier.startswith(("./", "../")):
        return None
    parts: list[str] = []
    for part in (*here.parts, *PurePosixPath(specifier).parts):
        if part == "..":
            if not parts:
                return None
            parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


def _content_type(name: str) -> str:
    suffix = PurePosixPath(name).suffix
    content_type = _TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    return f"{content_type}; charset=utf-8" if content_type.startswith("text/") else content_type


def setup(app: web.Application, root: Path) -> StaticFiles:
    """Serve `root` at /static and give templates `static_url(name)`."""
    files = StaticFiles(root)

    async def serve(request: web.Request) -> web.Response:
        asset = files.lookup(request.match_info["name"])
        if asset is None:
            # Errors middleware turns this into the usual page; never a filesystem lookup.
            raise web.HTTPNotFound()
        etag = f'"{asset.digest}"'
        headers = {"Cache-Control": asset.cache_control, "ETag": etag}
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=headers)
        return web.Response(
            body=asset.body, headers={**headers, "Content-Type": asset.content_type}
        )

    app.router.add_get("/static/{name:.+}", serve, name="static")
    aiohttp_jinja2.get_env(app).globals["static_url"] = files.url
    return files
