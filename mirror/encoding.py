"""Turn fetched bytes into text: BOM, HTTP charset, <meta>, detection, checked against the bytes."""

from __future__ import annotations

import codecs
import re

__all__ = [
    "decode_html",
    "decode_text",
    "normalize_charset",
    "charset_from_content_type",
    "sniff_binary",
    "garbled_share",
]

# WHATWG Encoding Standard: legacy labels are read as their supersets, because
# pages labelled GB2312 or ISO-8859-1 routinely use characters only the
# superset has. Keys are lower-case labels; values are Python codec names.
_WHATWG_LABELS: dict[str, str] = {
    "gbk": "gb18030",
    "gb2312": "gb18030",
    "gb_2312": "gb18030",
    "gb_2312-80": "gb18030",
    "csgb2312": "gb18030",
    "chinese": "gb18030",
    "iso-ir-58": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "ms936": "gb18030",
    "windows-936": "gb18030",
    "euc-cn": "gb18030",
    "gb18030": "gb18030",
    "big5": "big5hkscs",
    "big5-hkscs": "big5hkscs",
    "cn-big5": "big5hkscs",
    "csbig5": "big5hkscs",
    "x-x-big5": "big5hkscs",
    "cp950": "big5hkscs",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "csshiftjis": "cp932",
    "ms932": "cp932",
    "windows-31j": "cp932",
    "cp932": "cp932",
    "euc-kr": "cp949",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601-1989": "cp949",
    "ksc5601": "cp949",
    "windows-949": "cp949",
    "cp949": "cp949",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "iso_8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "us-ascii": "cp1252",
    "ascii": "cp1252",
    "ansi_x3.4-1968": "cp1252",
    "windows-1252": "cp1252",
    "cp1252": "cp1252",
    "x-user-defined": "cp1252",
    "iso-8859-9": "cp1254",
    "latin5": "cp1254",
    "iso-8859-11": "cp874",
    "tis-620": "cp874",
    "windows-874": "cp874",
    "x-mac-cyrillic": "mac-cyrillic",
    "unicode-1-1-utf-8": "utf-8",
    "utf8": "utf-8",
    "utf-8": "utf-8",
    "utf-16": "utf-16-le",
    "ucs-2": "utf-16-le",
}

# Codecs a document may name. Anything else (utf-7, which can smuggle markup,
# and Python's bytes-to-bytes codecs such as base64 or zlib) is ignored.
_ALLOWED_CODECS = frozenset(
    {
        "utf-8",
        "utf-16-le",
        "utf-16-be",
        "gb18030",
        "big5hkscs",
        "cp932",
        "euc_jp",
        "iso2022_jp",
        "cp949",
        "cp866",
        "cp874",
        "koi8-r",
        "koi8-u",
        "mac-cyrillic",
        "mac-roman",
        # Further legacy charsets a detector may name; all ASCII-compatible.
        "euc_jis_2004",
        "euc_jisx0213",
        "shift_jis_2004",
        "shift_jisx0213",
        "johab",
        "mac-greek",
        "mac-turkish",
        "mac-latin2",
        "mac-iceland",
        "cp437",
        "cp850",
        "cp858",
        "cp1125",
        "ptcp154",
        "kz1048",
        *(f"cp{n}" for n in range(1250, 1259)),
        *(f"iso8859-{n}" for n in (2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16)),
    }
)

# Labels of the Latin-1 family: servers send them by default whatever the page
# really is, so they are the weakest declaration.
_LATIN1_FAMILY = frozenset({"cp1252"})

_MULTIBYTE = frozenset(
    {"gb18030", "big5hkscs", "cp932", "euc_jp", "cp949", "euc_jis_2004", "euc_jisx0213",
     "shift_jis_2004", "shift_jisx0213", "johab"}
)  # fmt: skip

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

_PRESCAN_BYTES = 4096
_DETECT_BYTES = 256 * 1024
_CHARSET_PARAM = re.compile(r"""charset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.IGNORECASE)
_META_CHARSET = re.compile(
    rb"""<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([A-Za-z0-9_.:\-]+)""", re.IGNORECASE
)
_XML_ENCODING = re.compile(
    rb"""^\s*<\?xml\b[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9_.:\-]+)["']""", re.IGNORECASE
)
_COMMENT = re.compile(rb"<!--.*?(?:-->|$)", re.DOTALL)


def _c1_passthrough(error: UnicodeError) -> tuple[str, int]:
    # WHATWG windows-1252 maps the five bytes cp1252 leaves undefined to the
    # C1 control with the same number; Python's codec refuses them instead.
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return "".join(chr(b) for b in error.object[error.start : error.end]), error.end


codecs.register_error("mirror-c1", _c1_passthrough)


def normalize_charset(label: str | None) -> str | None:
    """The Python codec for a charset label under WHATWG rules, or None if unknown or unsafe."""
    if not label:
        return None
    key = label.strip().strip("\"'").lower()
    if not key:
        return None
    name = _WHATWG_LABELS.get(key)
    if name is None:
        try:
            name = codecs.lookup(key).name
        except (LookupError, ValueError):
            return None
        name = _WHATWG_LABELS.get(name, name)
    return name if name in _ALLOWED_CODECS else None


def charset_from_content_type(content_type: str | None) -> str | None:
    """The raw charset label of a Content-Type header value, if it has one."""
    if not content_type:
        return None
    match = _CHARSET_PARAM.search(content_type)
    return match.group(1) if match else None


def _meta_charset(content: bytes) -> str | None:
    head = _COMMENT.sub(b"", content[:_PRESCAN_BYTES])
    match = _META_CHARSET.search(head)
    if not match:
        return None
    label = match.group(1).decode("ascii", "replace")
    name = normalize_charset(label)
    # WHATWG: a <meta> cannot truthfully declare UTF-16, since it was just
    # read as ASCII-compatible bytes.
    if name in ("utf-16-le", "utf-16-be"):
        return "utf-8"
    return name


def _xml_charset(content: bytes) -> str | None:
    match = _XML_ENCODING.search(content[:_PRESCAN_BYTES])
    return normalize_charset(match.group(1).decode("ascii", "replace")) if match else None


def _decode(content: bytes, codec: str) -> str:
    return content.decode(codec, "mirror-c1" if codec == "cp1252" else "replace")


def _is_utf8_with_non_ascii(content: bytes) -> bool:
    if content.isascii():
        return False
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _strict(content: bytes, codec: str) -> bool:
    try:
        content.decode(codec)
    except UnicodeDecodeError:
        return False
    return True


def _looks_utf16(content: bytes) -> bool:
    # Markup in UTF-16 is mostly ASCII, so about every other byte is NUL.
    return content.count(0) >= len(content) // 4


def _fits(content: bytes, codec: str) -> bool:
    """Whether `content` plausibly is in `codec`: it decodes, near enough without errors."""
    if codec == "cp1252":
        return True  # every byte means something in WHATWG windows-1252
    if codec in ("utf-16-le", "utf-16-be") and not _looks_utf16(content):
        return False  # any even number of ASCII bytes "decodes" as UTF-16
    if _strict(content, codec):
        return True
    # A real page in a declared charset may still carry a stray bad byte or a
    # truncated character; one error in many characters is not a lie.
    text = content.decode(codec, "replace")
    bad = text.count("\ufffd")
    non_ascii = sum(1 for ch in text if ord(ch) > 127) - bad
    return non_ascii >= 50 * bad


def _detect(content: bytes) -> str | None:
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(content[:_DETECT_BYTES]).best()
    except Exception:  # a detector bug must not lose the page
        return None
    if best is None:
        return None
    codec = normalize_charset(best.encoding)
    # UTF-16 without a BOM is a detector's guess on short text, not a real
    # web page: such a page would be full of NUL bytes.
    if codec in ("utf-16-le", "utf-16-be") and not _looks_utf16(content):
        return None
    return codec


def _choose(content: bytes, declared: list[str | None], forced: str | None) -> tuple[str, str]:
    codec = normalize_charset(forced)
    if codec:
        return _decode(content, codec), codec
    for bom, bom_codec in _BOMS:
        if content.startswith(bom):
            return content[len(bom) :].decode(bom_codec, "replace"), bom_codec
    utf8 = _is_utf8_with_non_ascii(content)
    for candidate in declared:
        if not candidate:
            continue
        # Valid UTF-8 with non-ASCII bytes is almost never an accident of a
        # legacy charset, so it overrules any other declaration.
        if utf8 and candidate != "utf-8":
            continue
        if candidate in _LATIN1_FAMILY and not content.isascii():
            # Old CJK sites are often served as ISO-8859-1 by a default server
            # setting; cp1252 accepts any bytes, so ask the detector.
            detected = _detect(content)
            if detected in _MULTIBYTE and _strict(content, detected):
                return _decode(content, detected), detected
        if _fits(content, candidate):
            return _decode(content, candidate), candidate
    if utf8 or content.isascii():
        return content.decode("utf-8", "replace"), "utf-8"
    detected = _detect(content)
    if detected:
        return _decode(content, detected), detected
    return content.decode("utf-8", "replace"), "utf-8"


# Magic numbers of the binary formats a web server hands out by mistake.
# Each is long or odd enough that no text document starts with it.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"PK\x05\x06", "application/zip"),
    (b"PK\x07\x08", "application/zip"),
    (b"\x1f\x8b", "application/gzip"),
    (b"\x28\xb5\x2f\xfd", "application/zstd"),
    (b"\xfd7zXZ\x00", "application/x-xz"),
    (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (b"Rar!\x1a\x07", "application/vnd.rar"),
    (b"\x7fELF", "application/x-executable"),
    (b"\x00asm", "application/wasm"),
    (b"wOFF", "font/woff"),
    (b"wOF2", "font/woff2"),
    (b"OggS", "audio/ogg"),
    (b"fLaC", "audio/flac"),
    (b"\x1a\x45\xdf\xa3", "video/webm"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"\x00\x00\x01\x00", "image/x-icon"),
)
_RIFF = {b"WEBP": "image/webp", b"WAVE": "audio/wav", b"AVI ": "video/x-msvideo"}
_FTYP = {b"avif": "image/avif", b"avis": "image/avif", b"heic": "image/heic", b"mif1": "image/heic"}
_SNIFF_BYTES = 4096
_NUL_SHARE = 0.1
_WIDE_CODECS = ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
_TEXT_CONTROLS = frozenset("\t\n\r\f")


def _is_wide_text(sample: bytes) -> bool:
    """Whether NUL-rich bytes read as UTF-16 or UTF-32 text with hardly any junk."""
    sample = sample[: len(sample) - len(sample) % 4]
    for codec in _WIDE_CODECS:
        text = sample.decode(codec, "replace")
        junk = sum(
            1
            for ch in text
            if ch == "\ufffd" or (ord(ch) < 32 and ch not in _TEXT_CONTROLS) or ord(ch) == 0x7F
        )
        if text and junk <= len(text) // 50:
            return True
    return False


def sniff_binary(content: bytes) -> str | None:
    """What binary format `content` looks like ("image/png", ...), or None when it may be text.

    Headers lie (a PNG served as text/html), bytes do not: known magic
    numbers first, then a share of NUL bytes no text in an 8-bit or UTF-8
    charset has (UTF-16 and UTF-32 text, NUL-rich too, is recognised).
    """
    head = content[:16]
    for magic, media_type in _MAGIC:
        if head.startswith(magic):
            return media_type
    if head.startswith(b"RIFF") and head[8:12] in _RIFF:
        return _RIFF[head[8:12]]
    if head[4:8] == b"ftyp":
        return _FTYP.get(head[8:12], "video/mp4")
    sample = content[:_SNIFF_BYTES]
    if sample and sample.count(0) > len(sample) * _NUL_SHARE and not _is_wide_text(sample):
        return "binary data"
    return None


# What decoded text never holds but decoded binary is full of: C0 controls
# other than tab, newlines and form feed; DEL and C1 controls; U+FFFD.
_GARBLED = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\ufffd]")


def garbled_share(text: str, sample: int = 8192) -> float:
    """The share of the first `sample` characters of decoded `text` that are controls or U+FFFD.

    Real pages, whatever their language, score about 0; binary data with no
    known magic number (an undecoded brotli body, say) about 0.5.
    """
    head = text[:sample]
    return len(_GARBLED.findall(head)) / len(head) if head else 0.0


def decode_html(
    content: bytes, content_type: str | None = None, forced: str | None = None
) -> tuple[str, str]:
    """Decode an HTML page; returns (text, codec name). Never raises.

    Clues in order: `forced`; a byte-order mark; the HTTP header's charset;
    `<meta charset>` or `<meta http-equiv=content-type>` in the first 4 KB;
    detection; UTF-8 with replacement characters. Each declared charset is
    checked against the bytes, so a header or <meta> that lies is skipped.
    """
    try:
        header = normalize_charset(charset_from_content_type(content_type))
        meta = _meta_charset(content)
        if header in _LATIN1_FAMILY and meta and meta not in _LATIN1_FAMILY:
            # Servers add ISO-8859-1 by default; a page saying otherwise knows better.
            declared = [meta, header]
        else:
            declared = [header, meta]
        return _choose(content, declared, forced)
    except Exception:  # never lose a page to a decoding bug
        return content.decode("utf-8", "replace"), "utf-8"


def decode_text(
    content: bytes, content_type: str | None = None, forced: str | None = None
) -> tuple[str, str]:
    """Decode an XML document (feed, sitemap) or plain text; returns (text, codec name). Never raises.

    Like :func:`decode_html`, with the XML declaration's encoding in place of <meta>.
    """
    try:
        header = normalize_charset(charset_from_content_type(content_type))
        xml = _xml_charset(content)
        declared = [xml, header] if header in _LATIN1_FAMILY and xml else [header, xml]
        return _choose(content, declared, forced)
    except Exception:
        return content.decode("utf-8", "replace"), "utf-8"
