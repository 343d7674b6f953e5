"""A real baseline JPEG of one colour, for the LiveKit double's egress snapshots.

The test machines have no image library, and a snapshot must be a file a browser decodes. A
picture of one colour needs only the DC coefficient of each 8x8 block, so this writes a complete,
standard baseline JFIF (SOI, APP0, DQT, SOF0, DHT, SOS, EOI) with Annex K's DC Huffman table and
an AC table holding only end-of-block.
"""

from __future__ import annotations

import struct

# ITU-T T.81 Annex K.3: the luminance DC table (code lengths 1..16, then the symbols).
_DC_BITS = (0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0)
_DC_VALUES = tuple(range(12))
# Every block ends right after its DC coefficient: one AC symbol, end-of-block (0x00), code "0".
_AC_BITS = (1, *([0] * 15))
_AC_VALUES = (0x00,)


def _codes(bits: tuple[int, ...], values: tuple[int, ...]) -> dict[int, tuple[int, int]]:
    """Canonical Huffman codes: symbol → (code, length), as T.81 Annex C builds them."""
    codes: dict[int, tuple[int, int]] = {}
    code, index = 0, 0
    for length, count in enumerate(bits, start=1):
        for _ in range(count):
            codes[values[index]] = (code, length)
            code += 1
            index += 1
        code <<= 1
    return codes


_DC = _codes(_DC_BITS, _DC_VALUES)
_EOB = _codes(_AC_BITS, _AC_VALUES)[0x00]


class _Bits:
    def __init__(self) -> None:
        self.out = bytearray()
        self._value = 0
        self._count = 0

    def put(self, value: int, length: int) -> None:
        for shift in range(length - 1, -1, -1):
            self._value = (self._value << 1) | ((value >> shift) & 1)
            self._count += 1
            if self._count == 8:
                self._emit()

    def _emit(self) -> None:
        self.out.append(self._value)
        if self._value == 0xFF:
            self.out.append(0x00)  # byte stuffing
        self._value, self._count = 0, 0

    def flush(self) -> bytes:
        while self._count:
            self.put(1, 1)  # pad with ones
        return bytes(self.out)


def _dc_coefficient(sample: float) -> int:
    # The DCT of a constant block: F(0,0) = 8 * (sample - 128); the quantiser is 1.
    return round(8 * (sample - 128))


def _put_dc(bits: _Bits, diff: int) -> None:
    category = abs(diff).bit_length()
    code, length = _DC[category]
    bits.put(code, length)
    if category:
        bits.put(diff if diff > 0 else diff + (1 << category) - 1, category)
    bits.put(*_EOB)


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">HH", marker, len(payload) + 2) + payload


def solid_jpeg(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A `width` x `height` JPEG of one colour (4:4:4, quality "lossless" for a flat picture)."""
    red, green, blue = rgb
    components = (
        0.299 * red + 0.587 * green + 0.114 * blue,
        128 - 0.168736 * red - 0.331264 * green + 0.5 * blue,
        128 + 0.5 * red - 0.418688 * green - 0.081312 * blue,
    )
    coefficients = [_dc_coefficient(sample) for sample in components]
    blocks = ((width + 7) // 8) * ((height + 7) // 8)
    bits = _Bits()
    previous = [0, 0, 0]
    for _ in range(blocks):
        for index, coefficient in enumerate(coefficients):
            _put_dc(bits, coefficient - previous[index])
            previous[index] = coefficient
    scan = bits.flush()

    jfif = b"JFIF\x00" + struct.pack(">BBBHHBB", 1, 1, 0, 1, 1, 0, 0)
    quantiser = b"\x00" + bytes([1] * 64)
    frame = struct.pack(">BHHB", 8, height, width, 3) + b"".join(
        struct.pack(">BBB", component, 0x11, 0) for component in (1, 2, 3)
    )
    tables = (
        b"\x00"
        + bytes(_DC_BITS)
        + bytes(_DC_VALUES)
        + b"\x10"
        + bytes(_AC_BITS)
        + bytes(_AC_VALUES)
    )
    start_of_scan = struct.pack(">B", 3) + b"".join(
        struct.pack(">BB", component, 0x00) for component in (1, 2, 3)
    )
    start_of_scan += struct.pack(">BBB", 0, 63, 0)
    return b"".join(
        [
            b"\xff\xd8",
            _segment(0xFFE0, jfif),
            _segment(0xFFDB, quantiser),
            _segment(0xFFC0, frame),
            _segment(0xFFC4, tables),
            _segment(0xFFDA, start_of_scan),
            scan,
            b"\xff\xd9",
        ]
    )
