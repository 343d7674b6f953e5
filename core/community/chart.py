"""A small PNG chart of viewers over a session, drawn by hand (zlib + struct, no imaging library).

Discord shows it inside the end-of-stream summary. It is a filled step chart: one column per
minute of the session, as tall as the most viewers seen in that minute, on a dark background
that sits well in Discord's dark and light themes.
"""

from __future__ import annotations

import struct
import zlib

WIDTH, HEIGHT = 480, 120
PADDING = 6
BACKGROUND = (30, 31, 34)
GRID = (60, 62, 68)
FILL = (145, 70, 255)
LINE = (200, 170, 255)


def viewers_chart(samples: list[tuple[int, int]], minutes: int) -> bytes:
    """PNG bytes for (minute, viewers) samples over a session of `minutes` minutes.

    Minutes without a sample repeat the last known value (nothing changed then).
    """
    span = max(1, minutes, *(minute + 1 for minute, _ in samples))
    per_minute = _carry_forward(samples, span)
    top = max(1, *per_minute)
    pixels = [[BACKGROUND] * WIDTH for _ in range(HEIGHT)]
    plot_height = HEIGHT - 2 * PADDING
    for quarter in range(1, 4):
        y = PADDING + plot_height * quarter // 4
        pixels[y] = [GRID] * WIDTH
    for x in range(WIDTH):
        value = per_minute[min(span - 1, x * span // WIDTH)]
        height = round(plot_height * value / top)
        if height == 0:
            continue
        top_y = HEIGHT - PADDING - height
        for y in range(top_y, HEIGHT - PADDING):
            pixels[y][x] = FILL
        pixels[top_y][x] = LINE
    return _png(pixels)


def _carry_forward(samples: list[tuple[int, int]], span: int) -> list[int]:
    known = dict(samples)
    values, last = [], 0
    for minute in range(span):
        last = known.get(minute, last)
        values.append(last)
    return values


def _png(pixels: list[list[tuple[int, int, int]]]) -> bytes:
    height, width = len(pixels), len(pixels[0])
    raw = b"".join(b"\x00" + bytes(c for pixel in row for c in pixel) for row in pixels)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)
