"""QR code PNGs for share footers: encoded by segno, mask chosen and PNG written fast here."""

from __future__ import annotations

import os
import struct
import tempfile
import zlib
from functools import cache
from pathlib import Path

import segno

ERROR_LEVEL = "M"
QUIET_ZONE = 4  # modules of light border the standard asks for on every side
DEFAULT_SCALE = 5  # pixels per module: ~165-225 px for a short-to-typical URL

# Why not let segno (or qrcode) choose the mask: both score the eight masks in
# pure Python, module by module, which is ~80% of their run time. segno encodes
# with a fixed mask in a fraction of that; this module then scores all eight
# masks on the whole symbol held as one big integer (a few dozen bitwise
# operations per mask) and re-masks the symbol itself.
#
# Faster still (about a third of the rest): segno's encoder steps make the
# final message (data and Reed-Solomon codewords), and this module places its
# bits itself, through a per-version list of module positions, into a
# per-version template of the function patterns; segno's own placement and
# masking, module by module, are skipped. Those steps are not segno's public
# API: if they change, `_message` returns None and segno.make_qr does it all.

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_EC_BITS = {"L": 0b01, "M": 0b00, "Q": 0b11, "H": 0b10}
MASKS = (
    lambda i, j: (i + j) % 2 == 0,
    lambda i, j: i % 2 == 0,
    lambda i, j: j % 3 == 0,
    lambda i, j: (i + j) % 3 == 0,
    lambda i, j: (i // 2 + j // 3) % 2 == 0,
    lambda i, j: (i * j) % 2 + (i * j) % 3 == 0,
    lambda i, j: ((i * j) % 2 + (i * j) % 3) % 2 == 0,
    lambda i, j: ((i + j) % 2 + (i * j) % 3) % 2 == 0,
)
_TO_ASCII_BITS = bytes.maketrans(b"\x00\x01", b"01")


def qr_png(data: str, *, scale: int = DEFAULT_SCALE) -> bytes:
    """Return a PNG (1-bit greyscale) of the QR code of `data`, error correction level M.

    Non-ASCII text is encoded as UTF-8. The PNG carries no timestamp: the same
    `data` always gives the same bytes. Raises ValueError if `data` is too long
    for a QR code (about 2,300 bytes at level M) or `scale` is not positive.
    """
    if scale < 1:
        raise ValueError(f"scale must be a positive number of pixels, not {scale}")
    return _png(qr_rows(data), scale)


def write_qr(path: Path, data: str) -> None:
    """Write the QR code PNG of `data` to `path` atomically (temp file + os.replace)."""
    png = qr_png(data)
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(png)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files; a committed image should be readable
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def qr_rows(data: str) -> list[str]:
    """Return the symbol of `data` as rows of "1" (dark) / "0" (light), quiet zone excluded."""
    return _rows(data)


def _rows(data: str, mask: int | None = None, *, fast: bool = True) -> list[str]:
    """The symbol's rows with the best mask, or with `mask` if one is given."""
    content: str | bytes = data if data.isascii() else data.encode("utf-8")
    message = _message(content) if fast else None
    if message is not None:
        version, bits = message
        layout = _layout(version, ERROR_LEVEL)
        size, stride = layout.size, layout.stride
        # The symbol without mask or format information: the template, then the message.
        symbol = bytearray(layout.template)
        for position, bit in zip(layout.order, bits.translate(_TO_ASCII_BITS), strict=True):
            symbol[position] = bit
        plain = int(symbol, 2)
        pad = b"0" * QUIET_ZONE
        columns = (symbol[QUIET_ZONE + j :: stride] for j in range(size))
        plain_t = int(b"".join(pad + column + pad for column in columns), 2)
    else:
        # mask=0 makes segno skip its own (slow) mask evaluation; make_qr, not make,
        # because segno would otherwise pick a Micro QR for short data, which most
        # phone scanners cannot read.
        code = segno.make_qr(content, error=ERROR_LEVEL, boost_error=False, mask=0)
        layout = _layout(code.version, code.error.upper())
        size, stride = layout.size, layout.stride
        pad = b"\x00" * QUIET_ZONE
        joined = b"".join(pad + row + pad for row in code.matrix)
        dark = int(joined.translate(_TO_ASCII_BITS), 2)
        columns = (joined[QUIET_ZONE + j :: stride] for j in range(size))
        dark_t = int(b"".join(pad + column + pad for column in columns).translate(_TO_ASCII_BITS), 2)
        # The symbol without mask or format information, then each candidate mask.
        plain, plain_t = dark ^ layout.overlays[0], dark_t ^ layout.overlays_t[0]
    if mask is None:
        mask = min(
            range(8),
            key=lambda k: layout.penalty(
                plain ^ layout.overlays[k], plain_t ^ layout.overlays_t[k]
            ),
        )
    bits = format(plain ^ layout.overlays[mask], f"0{stride * size}b")
    return [bits[i * stride + QUIET_ZONE : (i + 1) * stride - QUIET_ZONE] for i in range(size)]


class _Layout:
    """Per-version geometry: mask overlays and the penalty rules of ISO/IEC 18004 7.8.3.

    A symbol is one integer: each row is `QUIET_ZONE` light bits, the row's
    modules (1 = dark), `QUIET_ZONE` light bits. Light pads keep runs and 2x2
    blocks from wrapping into the next row and count as the light area around a
    finder-like pattern at the symbol's edge, as the quiet zone does when printed.
    """

    def __init__(self, version: int, error: str) -> None:
        size = 17 + 4 * version
        self.size = size
        self.stride = stride = size + 2 * QUIET_ZONE
        function = function_modules(version)
        fmt = _format_modules(size, error)
        self.overlays: list[int] = []
        self.overlays_t: list[int] = []
        for k, mask in enumerate(MASKS):
            cells = {
                (i, j)
                for i in range(size)
                for j in range(size)
                if (i, j) not in function and mask(i, j)
            }
            cells |= fmt[k]
            self.overlays.append(self._pack(cells))
            self.overlays_t.append(self._pack({(j, i) for i, j in cells}))
        self.valid = self._pack({(i, j) for i in range(size) for j in range(size)})
        # The function patterns (format information left light: the overlays hold it) as
        # "0"/"1" text in the symbol's layout, and where each message bit goes in it.
        self.template = self._function_pattern(version, function, fmt)
        self.order = [i * stride + QUIET_ZONE + j for i, j in _placement(size, function)]
        self.everything = (1 << (stride * size)) - 1
        self.modules = size * size

    def _function_pattern(self, version: int, function: set[tuple[int, int]],
                          fmt: list[set[tuple[int, int]]]) -> bytes:
        # Whatever the data, segno draws the function patterns the same way: read them off
        # a symbol of this version, masked with mask 0, and clear the format modules.
        code = segno.make_qr("0", version=version, error=ERROR_LEVEL, boost_error=False, mask=0)
        format_cells = set().union(*fmt) | _format_region(self.size)
        bits = bytearray(b"0" * (self.stride * self.size))
        for i, j in function - format_cells:
            if code.matrix[i][j]:
                bits[i * self.stride + QUIET_ZONE + j] = 0x31
        return bytes(bits)

    def _pack(self, cells: set[tuple[int, int]]) -> int:
        bits = bytearray(b"0" * (self.stride * self.size))
        for i, j in cells:
            bits[i * self.stride + QUIET_ZONE + j] = 0x31  # "1"
        return int(bits, 2)

    def penalty(self, dark: int, dark_t: int) -> int:
        """Penalty points (N1 + N2 + N3 + N4) of a symbol given as rows and as columns."""
        stride = self.stride
        score = 0
        for lines in (dark, dark_t):
            for x in (lines, self.valid ^ lines):
                # N1: a run of 5 + i same-colour modules scores 3 + i: one point
                # per module past the fourth, plus two per run.
                run5 = x & x >> 1 & x >> 2 & x >> 3 & x >> 4
                score += run5.bit_count() + 2 * (run5 & ~(run5 >> 1)).bit_count()
            # N3: dark-light-dark*3-light-dark with four light modules before or after.
            lit = self.everything ^ lines
            core = lines & lit >> 1 & lines >> 2 & lines >> 3 & lines >> 4 & lit >> 5 & lines >> 6
            before = lit << 1 & lit << 2 & lit << 3 & lit << 4
            after = lit >> 7 & lit >> 8 & lit >> 9 & lit >> 10
            score += 40 * (core & (before | after)).bit_count()
        for x in (dark, self.valid ^ dark):
            # N2: 3 points per 2x2 same-colour block (overlapping blocks count).
            pair = x & x >> 1
            score += 3 * (pair & pair >> stride).bit_count()
        # N4: 10 points per full 5% the dark share strays from 50%.
        total = self.modules
        return score + 10 * (abs(dark.bit_count() * 20 - total * 10) // total)


@cache
def _layout(version: int, error: str) -> _Layout:
    return _Layout(version, error)


def _message(content: str | bytes) -> tuple[int, bytearray] | None:
    """(version, final message bits as 0/1 bytes) of `content` at level M, by segno's encoder
    steps (as segno's own encoder runs them for a QR code without ECI, structured append or
    error boost); None if segno no longer has them."""
    try:
        from segno import consts, encoder

        segments = encoder.prepare_data(content, None, None)
        error = consts.ERROR_LEVEL_M
        version = encoder.find_version(segments, error, eci=False, micro=False)
        buff = encoder.Buffer()
        ver_range = encoder.version_range(version)
        for segment in segments:
            encoder.write_segment(buff, segment, None, ver_range, False)
        capacity = consts.SYMBOL_CAPACITY[version][error]
        encoder.write_terminator(buff, capacity, None, len(buff))
        encoder.write_padding_bits(buff, version, len(buff))
        encoder.write_pad_codewords(buff, version, capacity, len(buff))
        bits = encoder.make_final_message(version, error, buff).getbits()
    except (AttributeError, ImportError, TypeError, KeyError):  # a segno without these steps
        return None
    if not isinstance(bits, bytearray) or len(bits) != len(_layout(version, ERROR_LEVEL).order):
        return None
    return version, bits


def _placement(size: int, function: set[tuple[int, int]]) -> list[tuple[int, int]]:
    """The modules that hold the message, in the order its bits go (ISO/IEC 18004 7.7.3):
    two-module columns from the right, alternately upwards and downwards, skipping the
    vertical timing pattern."""
    order = []
    for right in range(size - 1, 0, -2):
        if right <= 6:
            right -= 1
        upwards = (right & 2) == 0
        for vertical in range(size):
            for j in (right, right - 1):
                up = upwards ^ (j < 6)
                i = size - 1 - vertical if up else vertical
                if (i, j) not in function:
                    order.append((i, j))
    return order


def _alignment_centres(version: int) -> list[int]:
    if version == 1:
        return []
    count = version // 7 + 2
    size = 17 + 4 * version
    step = 26 if version == 32 else -(-(version * 4 + 4) // (count * 2 - 2)) * 2
    return [6] + [size - 7 - step * k for k in range(count - 2, -1, -1)]


def function_modules(version: int) -> set[tuple[int, int]]:
    """Modules that are not data: finders, separators, timing, alignment, format, version."""
    size = 17 + 4 * version
    cells: set[tuple[int, int]] = set()

    def square(top: int, left: int, height: int, width: int) -> None:
        cells.update((i, j) for i in range(top, top + height) for j in range(left, left + width))

    # Finder patterns with separators and the format information beside them.
    square(0, 0, 9, 9)
    square(0, size - 8, 9, 8)
    square(size - 8, 0, 8, 9)
    square(6, 0, 1, size)
    square(0, 6, size, 1)
    centres = _alignment_centres(version)
    last = len(centres) - 1
    for a, row in enumerate(centres):
        for b, col in enumerate(centres):
            if (a, b) in ((0, 0), (0, last), (last, 0)):
                continue  # these would overlap a finder pattern
            square(row - 2, col - 2, 5, 5)
    if version >= 7:
        square(0, size - 11, 6, 3)
        square(size - 11, 0, 3, 6)
    return cells


def _format_region(size: int) -> set[tuple[int, int]]:
    """Every module of the two copies of the format information, dark or light."""
    cells = {(i, 8) for i in range(9) if i != 6} | {(8, j) for j in range(9) if j != 6}
    cells |= {(8, size - 1 - i) for i in range(8)} | {(size - 7 + i, 8) for i in range(7)}
    return cells


def _format_modules(size: int, error: str) -> list[set[tuple[int, int]]]:
    """For each mask, the dark modules of the format information (ISO/IEC 18004 7.9)."""
    per_mask = []
    for mask in range(8):
        data = _EC_BITS[error] << 3 | mask
        rem = data
        for _ in range(10):
            rem = (rem << 1) ^ ((rem >> 9) * 0x537)
        bits = (data << 10 | rem) ^ 0x5412
        places: list[list[tuple[int, int]]] = [[] for _ in range(15)]
        for i in range(6):
            places[i].append((i, 8))
        places[6].append((7, 8))
        places[7].append((8, 8))
        places[8].append((8, 7))
        for i in range(9, 15):
            places[i].append((8, 14 - i))
        for i in range(8):
            places[i].append((8, size - 1 - i))
        for i in range(8, 15):
            places[i].append((size - 15 + i, 8))
        per_mask.append({cell for i in range(15) if bits >> i & 1 for cell in places[i]})
    return per_mask


def _png(rows: list[str], scale: int) -> bytes:
    """A 1-bit greyscale PNG (0 = black) of `rows`, `scale` px per module, quiet zone added."""
    light_row = "0" * (len(rows[0]) + 2 * QUIET_ZONE)
    margin = "0" * QUIET_ZONE
    padded = [light_row] * QUIET_ZONE + [margin + row + margin for row in rows]
    padded += [light_row] * QUIET_ZONE
    width = len(light_row) * scale
    row_bytes = -(-width // 8)
    # Dark is 0 in a greyscale PNG. "|" ends a row and becomes the padding bits
    # up to a whole byte. (str.replace beats a one-to-many str.translate 3:1.)
    bits = (
        ("|".join(padded) + "|")
        .replace("1", "d")
        .replace("0", "1" * scale)
        .replace("d", "0" * scale)
        .replace("|", "1" * (row_bytes * 8 - width))
    )
    pixels = int(bits, 2).to_bytes(row_bytes * len(padded), "big")
    # Each module row is `scale` identical scanlines: the first unfiltered, the
    # others with PNG's "Up" filter, i.e. all zero bytes, which zlib packs at once.
    repeat = (b"\x02" + b"\x00" * row_bytes) * (scale - 1)
    lines = [
        b"\x00" + pixels[start : start + row_bytes] + repeat
        for start in range(0, len(pixels), row_bytes)
    ]
    header = struct.pack(">IIBBBBB", width, width, 1, 0, 0, 0, 0)
    return b"".join(
        (
            _PNG_SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(b"".join(lines), 6)),
            _chunk(b"IEND", b""),
        )
    )


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
