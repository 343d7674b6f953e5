"""Reading JSON request bodies into checked values, with messages a client developer can act on."""

from __future__ import annotations

import asyncio
import json
import math
import zlib
from typing import Any

from aiohttp import web

from core.kernel.errors import InvalidInput

# The whole body must arrive within this long: a client sending it a byte at a time would
# otherwise hold its socket (and its slot) for ever. The server's keep-alive timeout bounds headers.
BODY_SECONDS = web.AppKey("body_seconds", float)
# The body, read and decoded once by the body middleware for every request (b"" when none).
BODY: web.RequestKey[bytes] = web.RequestKey("body")

_GZIP = zlib.MAX_WBITS | 16
_ZLIB = zlib.MAX_WBITS
_RAW_DEFLATE = -zlib.MAX_WBITS


class BodyRefused(Exception):
    """A body we can't take: the status and the message the client gets; the connection closes."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def read_body(request: web.Request, *, limit: int, seconds: float) -> bytes:
    """The request body, in time, within `limit` bytes once decoded, or BodyRefused.

    The server runs with auto_decompress off, so every Content-Encoding a client may send is
    handled here, as a JSON/HTML refusal, rather than by the HTTP parser as a bare 400 or 500.
    """
    if not request.body_exists:
        return b""
    try:
        if request.content_length is not None and request.content.total_bytes >= min(
            request.content_length, limit + 1
        ):
            raw = await request.read()  # all of it has arrived: nothing to wait for
        else:
            async with asyncio.timeout(seconds):
                raw = await request.read()
    except TimeoutError:
        raise BodyRefused(408, "The request body arrived too slowly.") from None
    except web.HTTPRequestEntityTooLarge:
        raise BodyRefused(413, "The request body is too large.") from None
    except web.RequestPayloadError:
        raise BodyRefused(
            400, "The request body could not be read (bad chunked encoding)."
        ) from None
    return decode_content(raw, request.headers.get("Content-Encoding", ""), limit)


def decode_content(raw: bytes, content_encoding: str, limit: int) -> bytes:
    """Undo `Content-Encoding` (identity, gzip, deflate; applied in order, so undone in reverse)."""
    codings = [part.strip().lower() for part in content_encoding.split(",")]
    body = raw
    for coding in reversed([c for c in codings if c not in ("", "identity")]):
        if coding in ("gzip", "x-gzip"):
            body = _inflate(body, _GZIP, limit)
        elif coding == "deflate":
            # RFC 9110's deflate is zlib-wrapped, but many clients send raw deflate.
            wbits = _ZLIB if body[:1] == b"\x78" else _RAW_DEFLATE
            body = _inflate(body, wbits, limit)
        else:
            raise BodyRefused(
                415,
                f"Content-Encoding '{coding[:40]}' is not supported: use gzip, deflate or none.",
            )
    return body


def _inflate(data: bytes, wbits: int, limit: int) -> bytes:
    inflater = zlib.decompressobj(wbits)
    try:
        # One byte over the limit is enough to know it is too large (and bounds a zip bomb).
        out = inflater.decompress(data, limit + 1)
    except zlib.error:
        raise BodyRefused(
            400, "The request body does not decode as its Content-Encoding."
        ) from None
    if len(out) > limit:
        raise BodyRefused(413, "The request body is too large.")
    if not inflater.eof or inflater.unused_data:
        raise BodyRefused(400, "The request body does not decode as its Content-Encoding.")
    return out


def body_bytes(request: web.Request) -> bytes:
    """The decoded body the middleware read (see read_body)."""
    body: bytes = request.get(BODY, b"")
    return body


async def json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object; anything else is a 400 (size is capped by client_max_size)."""
    # JSON is UTF-8 (RFC 8259): decode it ourselves rather than trust a charset parameter,
    # since request.text() raises LookupError on an unknown one.
    try:
        text = body_bytes(request).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("The body must be UTF-8 JSON.") from None
    if not text.strip():
        raise InvalidInput("The body must be a JSON object, but it was empty.")
    try:
        body = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput(
            "The body is not valid JSON (%(problem)s at line %(line)s).",
            problem=error.msg,
            line=str(error.lineno),
        ) from None
    except (ValueError, RecursionError):
        # Valid JSON that Python refuses: integers over 4300 digits, or nesting too deep.
        raise InvalidInput("The body has a number too long or nesting too deep to read.") from None
    if not isinstance(body, dict):
        raise InvalidInput("The body must be a JSON object.")
    return body


def text_field(body: dict[str, Any], name: str, *, required: bool = True, default: str = "") -> str:
    value = body.get(name)
    if value is None:
        if required:
            raise InvalidInput("'%(name)s' is required.", name=name)
        return default
    if not isinstance(value, str):
        raise InvalidInput("'%(name)s' must be a string.", name=name)
    try:
        # JSON escapes can smuggle in lone surrogates, which SQLite (and UTF-8) cannot store.
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(
            "'%(name)s' contains characters that are not valid Unicode.", name=name
        ) from None
    if "\x00" in value:
        # SQLite's length() stops at a NUL, so it would slip past (or trip) the length CHECKs.
        raise InvalidInput("'%(name)s' must not contain NUL characters.", name=name)
    return value


def bool_field(body: dict[str, Any], name: str) -> bool:
    value = body.get(name)
    if not isinstance(value, bool):
        raise InvalidInput("'%(name)s' must be true or false.", name=name)
    return value


def optional_number(body: dict[str, Any], name: str) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput("'%(name)s' must be a number.", name=name)
    try:
        number = float(value)
    except OverflowError:  # an integer too large for a float
        raise InvalidInput("'%(name)s' must be a finite number.", name=name) from None
    if not math.isfinite(number):  # Python's json accepts NaN and Infinity
        raise InvalidInput("'%(name)s' must be a finite number.", name=name)
    return number
