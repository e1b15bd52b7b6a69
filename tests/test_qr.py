"""QR code PNGs: they decode back to the exact text, are deterministic and standard-conformant."""

from __future__ import annotations

import io
import os
import stat
import struct
import zlib
from pathlib import Path

import pytest
import segno
import zxingcpp
from PIL import Image, ImageFilter

from mirror import qr
from mirror.qr import DEFAULT_SCALE, QUIET_ZONE, qr_png, qr_rows, write_qr

PAGE_URL = "https://example.github.io/news-mirror/pages/world/2026-11/a1b2c3d4e5.md"
SHORT_URL = "https://s.example/Ab3x9"
LONG_URL = (
    "https://example.org/news/2026/11/26/" + "a-rather-long-article-slug-" * 17 + "?utm=x&id=42"
)
NON_ASCII = "Café crème — 新闻 «Über» ✓ https://例子.测试/路径?q=ä"


def decode(png: bytes) -> list[str]:
    return [result.text for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


def chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    found, pos = [], 8
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, body = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", png[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body), kind
        found.append((kind, body))
        pos += 12 + length
    return found


@pytest.mark.parametrize(
    "data",
    [PAGE_URL, SHORT_URL, LONG_URL, NON_ASCII, "http://a.b/", "x" * 1200, "ä" * 700],
    ids=["page-url", "short-url", "long-url", "non-ascii", "tiny", "1200-chars", "utf8-1400-bytes"],
)
def test_png_decodes_to_exactly_the_text(data: str) -> None:
    assert decode(qr_png(data)) == [data]


def test_long_url_is_about_500_chars() -> None:
    assert 480 <= len(LONG_URL) <= 520
    assert decode(qr_png(LONG_URL)) == [LONG_URL]


@pytest.mark.parametrize(
    ("data", "masks"),
    [
        ("hi", range(8)),  # version 1: no alignment pattern
        (PAGE_URL, range(8)),  # version 5
        ("v" * 150, range(8)),  # version 8: version information
        ("w" * 400, (1, 4)),  # version 15
        ("z" * 1500, (2, 7)),  # version 32, whose alignment spacing breaks the formula
        ("y" * 2300, (3, 6)),  # version 40
    ],
    ids=["v1", "v5", "v8", "v15", "v32", "v40"],
)
def test_remasked_symbol_is_exactly_segnos(data: str, masks: range | tuple[int, ...]) -> None:
    for mask in masks:
        expected = segno.make_qr(data, error="m", boost_error=False, mask=mask)
        assert qr._rows(data, mask) == ["".join(map(str, row)) for row in expected.matrix], mask
    assert decode(qr._png(qr._rows(data, masks[-1]), 2)) == [data]


def test_own_placement_and_segnos_placement_agree_on_every_version(monkeypatch) -> None:
    # mirror places segno's final message itself; without segno's encoder steps it falls back
    # to segno.make_qr: both give the same symbol, on each of the 40 versions.
    texts = {}
    for n in range(1, 2332, 7):
        found = qr._message("a" * n)
        assert found is not None
        texts.setdefault(found[0], "a" * n)
    assert sorted(texts) == list(range(1, 41))
    own = {v: qr._rows(t) for v, t in texts.items()}
    monkeypatch.setattr(qr, "_message", lambda content: None)
    assert {v: qr._rows(t) for v, t in texts.items()} == own


def test_forced_masks_all_decode() -> None:
    for mask in range(8):
        assert decode(qr._png(qr._rows(PAGE_URL, mask), 4)) == [PAGE_URL], mask


def reference_penalty(rows: list[str]) -> int:
    """ISO/IEC 18004:2015 7.8.3.1, module by module; outside the symbol counts as light."""
    size = len(rows)
    grid = [[int(c) for c in row] for row in rows]
    lines = grid + [list(col) for col in zip(*grid, strict=True)]
    score = 0
    for line in lines:
        run, prev = 0, None
        for m in [*line, None]:
            if m == prev:
                run += 1
                continue
            if run >= 5:
                score += 3 + run - 5
            run, prev = 1, m
        padded = [0] * 4 + line + [0] * 4
        for p in range(4, 4 + size - 6):
            if padded[p : p + 7] == [1, 0, 1, 1, 1, 0, 1] and (
                padded[p - 4 : p] == [0] * 4 or padded[p + 7 : p + 11] == [0] * 4
            ):
                score += 40
    for i in range(size - 1):
        for j in range(size - 1):
            if grid[i][j] == grid[i][j + 1] == grid[i + 1][j] == grid[i + 1][j + 1]:
                score += 3
    dark = sum(map(sum, grid))
    score += 10 * int(abs(dark * 100 / size**2 - 50) // 5)
    return score


@pytest.mark.parametrize("data", ["hi", PAGE_URL, "z" * 300])
def test_mask_penalty_follows_the_standard(data: str) -> None:
    code = segno.make_qr(data, error="m", boost_error=False)
    layout = qr._layout(code.version, "M")
    scores = []
    for mask in range(8):
        rows = qr._rows(data, mask)
        dark = int("".join("0000" + r + "0000" for r in rows), 2)
        dark_t = int("".join("0000" + "".join(c) + "0000" for c in zip(*rows, strict=True)), 2)
        assert layout.penalty(dark, dark_t) == reference_penalty(rows), mask
        scores.append(reference_penalty(rows))
    assert qr_rows(data) == qr._rows(data, scores.index(min(scores)))


def test_still_decodes_when_blurred_and_shrunk() -> None:
    # Roughly what a phone camera sees of a footer on a screen.
    image = Image.open(io.BytesIO(qr_png(LONG_URL))).convert("L")
    small = image.resize((image.width * 2 // 3,) * 2, Image.Resampling.BILINEAR)
    blurred = small.filter(ImageFilter.GaussianBlur(1))
    assert [r.text for r in zxingcpp.read_barcodes(blurred)] == [LONG_URL]


def test_png_is_deterministic_and_carries_no_metadata() -> None:
    first, second = qr_png(PAGE_URL), qr_png(PAGE_URL)
    assert first == second
    assert [kind for kind, _ in chunks(first)] == [b"IHDR", b"IDAT", b"IEND"]
    assert qr_png(PAGE_URL + "x") != first


def test_png_geometry_and_quiet_zone() -> None:
    rows = qr_rows(PAGE_URL)
    image = Image.open(io.BytesIO(qr_png(PAGE_URL))).convert("L")
    side = (len(rows) + 2 * QUIET_ZONE) * DEFAULT_SCALE
    assert image.size == (side, side)
    border = QUIET_ZONE * DEFAULT_SCALE
    pixels = image.load()
    assert all(pixels[x, y] == 255 for x in range(side) for y in range(border))
    assert all(pixels[x, y] == 255 for x in range(border) for y in range(side))
    # The top-left finder pattern's corner module is dark, scaled to a block.
    assert all(
        pixels[border + dx, border + dy] == 0
        for dx in range(DEFAULT_SCALE)
        for dy in range(DEFAULT_SCALE)
    )
    assert decode(qr_png(PAGE_URL, scale=2)) == [PAGE_URL]
    assert (
        Image.open(io.BytesIO(qr_png(PAGE_URL, scale=2))).size
        == ((len(rows) + 2 * QUIET_ZONE) * 2,) * 2
    )


def test_short_url_has_fewer_modules_than_long_url() -> None:
    assert len(qr_rows(SHORT_URL)) < len(qr_rows(PAGE_URL)) < len(qr_rows(LONG_URL))
    assert len(qr_png(SHORT_URL)) < len(qr_png(LONG_URL))


def test_never_a_micro_qr_for_short_data() -> None:
    assert len(qr_rows("a")) == 21  # version 1; a Micro QR would be 11-17 modules
    assert decode(qr_png("a")) == ["a"]


def test_rejects_data_too_long_and_bad_scale() -> None:
    with pytest.raises(ValueError):
        qr_png("x" * 3000)
    with pytest.raises(ValueError):
        qr_png(PAGE_URL, scale=0)


def test_write_qr_is_atomic_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "a1b2c3d4e5.md.png"
    target.write_bytes(b"stale")
    write_qr(target, SHORT_URL)
    assert decode(target.read_bytes()) == [SHORT_URL]
    assert os.listdir(tmp_path) == [target.name]
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_write_qr_leaves_nothing_behind_on_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "a.md.png"
    target.write_bytes(b"previous")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk went away")

    monkeypatch.setattr(qr.os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_qr(target, SHORT_URL)
    assert os.listdir(tmp_path) == [target.name]
    assert target.read_bytes() == b"previous"
    with pytest.raises(ValueError):
        write_qr(tmp_path / "big.md.png", "x" * 3000)
    assert os.listdir(tmp_path) == [target.name]
