"""Static files with fingerprinted URLs: read and hashed once at app start, served from memory.

Templates ask `static_url("app.js")` and get `/static/app.<hash>.js`, where the hash is that of
the bytes served. Those URLs never change meaning, so browsers may keep them for a year; the plain
names still answer, with a short cache, for anything that links to them by hand.

Text files are also served compressed, brotli or gzip (whichever the browser accepts, brotli
first), from copies compressed once: `python -m web.assets build` (run by `make` and the
Dockerfile) writes them to web/build/static/, named by the fingerprinted name, and the app reads
them at start. What is missing there (a file just edited) is compressed at start, before the first
request, and kept there for the next start; never per request.

Page scripts are ES modules. Their imports name our own files as written in the source
(`./net.js`) and livekit-client by its package name: serving them rewrites each specifier to the
fingerprinted URL, so a module's hash covers what it imports (a change to net.js gives every
module that imports it a new URL too) and no import map (an inline script) is needed.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import logging
import mimetypes
import os
import re
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import aiohttp_jinja2
import brotli
from aiohttp import web

log = logging.getLogger(__name__)

FINGERPRINTED_CACHE = "public, max-age=31536000, immutable"
PLAIN_CACHE = "public, max-age=300, must-revalidate"
HASH_LENGTH = 12
STATIC_ROOT = Path(__file__).parent / "static"
BUILD_DIR = Path(__file__).parent / "build" / "static"
# Bare specifiers page modules may import, and the vendored file that answers each.
BARE_IMPORTS = {"livekit-client": "vendor/livekit-client.esm.mjs"}
# `import x from "…"`, `export { x } from "…"`, `import "…"` and `import("…")`.
_SPECIFIER = re.compile(r"""(\bfrom\s*|\bimport\s*\(?\s*)(["'])([^"'\n]+)\2""")
_TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".svg": "image/svg+xml"}
_SKIPPED_SUFFIXES = (".map", ".d.ts", ".d.mts")
# What compresses well: text. Images and fonts (png, woff2) are compressed already.
_COMPRESSIBLE = ("text/", "image/svg+xml", "application/json", "application/manifest+json")


def _brotli(body: bytes) -> bytes:
    return bytes(brotli.compress(body, quality=11, mode=brotli.MODE_TEXT))


def _gzip(body: bytes) -> bytes:
    # mtime=0: the same bytes give the same file, whenever and wherever they are built.
    return gzip.compress(body, compresslevel=9, mtime=0)


@dataclass(frozen=True)
class Encoding:
    """A Content-Encoding we serve, the suffix of its precompressed files, and how to make them."""

    name: str
    suffix: str
    compress: Callable[[bytes], bytes]


# In the order the server prefers them: brotli is some 15 % smaller than gzip on our files.
ENCODINGS = (Encoding("br", ".br", _brotli), Encoding("gzip", ".gz", _gzip))


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str
    digest: str
    cache_control: str
    # The body compressed, by Content-Encoding; only encodings that make it smaller.
    encoded: Mapping[str, bytes] = field(default_factory=dict)

    def representation(self, accept_encoding: str | None) -> tuple[str | None, bytes]:
        """The encoding to send (None: as it is) and the bytes, for this Accept-Encoding."""
        accepted = accepted_encodings(accept_encoding)
        for encoding in ENCODINGS:
            if encoding.name in self.encoded and encoding.name in accepted:
                return encoding.name, self.encoded[encoding.name]
        return None, self.body

    def etag(self, encoding: str | None) -> str:
        # Each representation its own validator: a cache must not answer a gzip request's
        # If-None-Match with the brotli bytes it holds.
        return f'"{self.digest}-{encoding}"' if encoding else f'"{self.digest}"'


def accepted_encodings(header: str | None) -> set[str]:
    """The codings an Accept-Encoding header allows (q above 0; `*` stands for any unnamed)."""
    qualities: dict[str, float] = {}
    for item in (header or "").split(","):
        coding, *params = (part.strip() for part in item.split(";"))
        if coding:
            qualities[coding.lower()] = _quality(params)
    if "x-gzip" in qualities:
        qualities.setdefault("gzip", qualities["x-gzip"])
    default = qualities.get("*", 0.0)
    return {encoding.name for encoding in ENCODINGS if qualities.get(encoding.name, default) > 0}


def _quality(params: Sequence[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0  # a q we can't read is not a yes
    return 1.0


class Precompressed:
    """Compressed copies of served bodies, kept in `directory` (None: in memory only).

    A copy is named by the file's fingerprinted name, which changes with its bytes, so a copy
    found there is always one of the current bytes. Copies are written whole (a temporary file,
    then a rename): a start interrupted mid-write leaves no half a file to serve later.
    """

    def __init__(self, directory: Path | None) -> None:
        self._directory = directory
        self._writable = directory is not None
        self.made: list[str] = []  # names compressed here rather than found: for the build's report

    def encoded(self, name: str, body: bytes) -> dict[str, bytes]:
        found = {}
        for encoding in ENCODINGS:
            data = self._read(name + encoding.suffix)
            if data is None:
                data = encoding.compress(body)
                self.made.append(name + encoding.suffix)
                self._write(name + encoding.suffix, data)
            if len(data) < len(body):
                found[encoding.name] = data
        return found

    def paths(self) -> set[Path]:
        """Every copy in the directory."""
        if self._directory is None or not self._directory.is_dir():
            return set()
        suffixes = tuple(encoding.suffix for encoding in ENCODINGS)
        return {path for path in self._directory.rglob("*") if path.name.endswith(suffixes)}

    def _read(self, name: str) -> bytes | None:
        if self._directory is None:
            return None
        try:
            return (self._directory / name).read_bytes()
        except OSError:  # not there (or not readable): made again
            return None

    def _write(self, name: str, data: bytes) -> None:
        if self._directory is None or not self._writable:
            return
        try:
            _write_whole(self._directory / name, data)
        except OSError as error:
            # A read-only install (an image built without the build step): compress at each
            # start instead. Serving is the same; only the start is slower.
            self._writable = False
            log.warning(
                "can't keep compressed static files in %s (%s): they are compressed at every "
                "start; run `python -m web.assets build` where the app is installed",
                self._directory,
                error,
            )


def _write_whole(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=".partial-")
    try:
        # Readable by all, as the files they are copies of: the image builds them as root and
        # runs the app as another user (mkstemp's own mode is 0600).
        os.fchmod(descriptor, 0o644)
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


class StaticFiles:
    """Every file under `root`, by its plain and its fingerprinted name.

    With `build_dir`, compressed copies are read from there and what is missing is made and
    kept there; without it they are made in memory.
    """

    def __init__(self, root: Path, build_dir: Path | None = None) -> None:
        self._root = root
        self._sources = {
            path.relative_to(root).as_posix(): path.read_bytes()
            for path in sorted(root.rglob("*"))
            if path.is_file() and not path.name.endswith(_SKIPPED_SUFFIXES)
        }
        self._urls: dict[str, str] = {}
        self._served: dict[str, Asset] = {}
        self.precompressed = Precompressed(build_dir)
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

    def copy_names(self) -> set[str]:
        """The names of the compressed copies the current files have (in the build dir)."""
        return {
            fingerprinted + encoding.suffix
            for fingerprinted in self._fingerprinted()
            if _compressible(self._served[fingerprinted].content_type)
            for encoding in ENCODINGS
        }

    def report(self) -> list[str]:
        """One line per file: its size as it is and as each encoding sends it."""
        names = "  ".join(f"{encoding.name:>12}" for encoding in ENCODINGS)
        lines = [f"{'file':<48} {'bytes':>9}  {names}"]
        for fingerprinted in sorted(self._fingerprinted()):
            asset = self._served[fingerprinted]
            sizes = "  ".join(
                f"{len(asset.encoded.get(encoding.name, asset.body)):>12,}"
                for encoding in ENCODINGS
            )
            lines.append(f"{fingerprinted:<48} {len(asset.body):>9,}  {sizes}")
        return lines

    def _fingerprinted(self) -> list[str]:
        return [url.removeprefix("/static/") for url in self._urls.values()]

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
        encoded = (
            self.precompressed.encoded(fingerprinted, body) if _compressible(content_type) else {}
        )
        self._served[name] = Asset(body, content_type, digest, PLAIN_CACHE, encoded)
        self._served[fingerprinted] = Asset(
            body, content_type, digest, FINGERPRINTED_CACHE, encoded
        )
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


def _compressible(content_type: str) -> bool:
    return content_type.startswith(_COMPRESSIBLE)


def _matches(if_none_match: str | None, etag: str) -> bool:
    """If-None-Match's weak comparison: any listed tag (W/ or not) that is this one, or `*`."""
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or etag in tags


def setup(
    app: web.Application, root: Path = STATIC_ROOT, build_dir: Path | None = BUILD_DIR
) -> StaticFiles:
    """Serve `root` at /static and give templates `static_url(name)`."""
    files = StaticFiles(root, build_dir)

    async def serve(request: web.Request) -> web.Response:
        asset = files.lookup(request.match_info["name"])
        if asset is None:
            # Errors middleware turns this into the usual page; never a filesystem lookup.
            raise web.HTTPNotFound()
        encoding, body = asset.representation(request.headers.get("Accept-Encoding"))
        headers = {"Cache-Control": asset.cache_control, "ETag": asset.etag(encoding)}
        if asset.encoded:
            headers["Vary"] = "Accept-Encoding"
        if _matches(request.headers.get("If-None-Match"), headers["ETag"]):
            return web.Response(status=304, headers=headers)
        headers["Content-Type"] = asset.content_type
        if encoding:
            headers["Content-Encoding"] = encoding
        # Content-Length is that of `body`, the bytes sent (aiohttp sets it from them).
        return web.Response(body=body, headers=headers)

    app.router.add_get("/static/{name:.+}", serve, name="static")
    aiohttp_jinja2.get_env(app).globals["static_url"] = files.url
    return files


# Pages are rendered per request, so they are compressed as they go out: gzip at level 6 takes
# a fifth of a millisecond for a 10 KB page (brotli, even at quality 4, several times that) and
# brings it to about 3 KB, which is most of what a repeat visit moves. No page holds a secret
# (no CSRF token, no session token: the cookie is HttpOnly and same-origin checks use Origin), so
# compressing text a visitor can put in the page (a search) next to it gives nothing away (BREACH).
PAGE_MIN_BYTES = 1024
PAGE_GZIP_LEVEL = 6


def compress_page(request: web.BaseRequest, response: web.Response) -> web.Response:
    """`response` (an HTML page) gzip-compressed when the browser accepts it and it is worth it."""
    response.headers.add("Vary", "Accept-Encoding")
    body = response.body
    if (
        not isinstance(body, bytes)
        or len(body) < PAGE_MIN_BYTES
        or "gzip" not in accepted_encodings(request.headers.get("Accept-Encoding"))
    ):
        return response
    response.body = gzip.compress(body, compresslevel=PAGE_GZIP_LEVEL, mtime=0)
    response.headers["Content-Encoding"] = "gzip"
    return response


def build(root: Path = STATIC_ROOT, build_dir: Path = BUILD_DIR) -> tuple[StaticFiles, int]:
    """Compress what is not yet in `build_dir` and remove copies of bytes no longer served.

    Returns the files and how many stale copies went.
    """
    files = StaticFiles(root, build_dir)
    current = {build_dir / name for name in files.copy_names()}
    stale = files.precompressed.paths() - current
    for path in stale:
        path.unlink(missing_ok=True)
    return files, len(stale)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m web.assets",
        description="Precompress the static files (brotli and gzip) the web sidecar serves.",
    )
    parser.add_argument("command", choices=["build"])
    parser.add_argument("--root", type=Path, default=STATIC_ROOT)
    parser.add_argument("--out", type=Path, default=BUILD_DIR)
    args = parser.parse_args(argv)
    files, removed = build(args.root, args.out)
    for line in files.report():
        print(line)
    print(
        f"{len(files.precompressed.made)} compressed copies made, {removed} stale ones removed, "
        f"in {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
