"""Reading JSON request bodies into checked values, with messages a client developer can act on."""

from __future__ import annotations

import json
import math
from typing import Any

from aiohttp import web

from core.kernel.errors import InvalidInput


async def json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object; anything else is a 400 (size is capped by client_max_size)."""
    # JSON is UTF-8 (RFC 8259): decode it ourselves rather than trust a charset parameter,
    # since request.text() raises LookupError on an unknown one.
    try:
        text = (await request.read()).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("The body must be UTF-8 JSON.") from None
    if not text.strip():
        raise InvalidInput("The body must be a JSON object, but it was empty.")
    try:
        body = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput(
            f"The body is not valid JSON ({error.msg} at line {error.lineno})."
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
            raise InvalidInput(f"'{name}' is required.")
        return default
    if not isinstance(value, str):
        raise InvalidInput(f"'{name}' must be a string.")
    try:
        # JSON escapes can smuggle in lone surrogates, which SQLite (and UTF-8) cannot store.
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"'{name}' contains characters that are not valid Unicode.") from None
    if "\x00" in value:
        # SQLite's length() stops at a NUL, so it would slip past (or trip) the length CHECKs.
        raise InvalidInput(f"'{name}' must not contain NUL characters.")
    return value


def bool_field(body: dict[str, Any], name: str) -> bool:
    value = body.get(name)
    if not isinstance(value, bool):
        raise InvalidInput(f"'{name}' must be true or false.")
    return value


def optional_number(body: dict[str, Any], name: str) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"'{name}' must be a number.")
    try:
        number = float(value)
    except OverflowError:  # an integer too large for a float
        raise InvalidInput(f"'{name}' must be a finite number.") from None
    if not math.isfinite(number):  # Python's json accepts NaN and Infinity
        raise InvalidInput(f"'{name}' must be a finite number.")
    return number
