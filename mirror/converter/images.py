"""Finding the real URL of an <img>: lazy-loading attributes, srcset, <picture>, <noscript>."""

from __future__ import annotations

import base64
import binascii
import re

import lxml.html

from mirror.converter.urls import resolve_url

# Attributes lazy-loading scripts use to hold the real image while `src`
# carries a placeholder; checked before `src`.
LAZY_ATTRS = (
    "data-src",
    "data-original",
    "data-lazy-src",
    "data-lazy",
    "data-url",
    "data-actualsrc",
    "data-echo",
)
SRCSET_ATTRS = ("data-srcset", "data-lazy-srcset", "srcset")

_PLACEHOLDER_NAME = re.compile(
    r"(?:^|[/_\-.])(?:blank|spacer|pixel|transparent|placeholder|lazy|lazyload|loading|"
    r"grey|gray|empty|clear|1x1|dot)\.(?:gif|png|svg|jpe?g|webp)(?:$|[?#])",
    re.IGNORECASE,
)
_DESCRIPTOR = re.compile(r"^\s*(\d+(?:\.\d+)?)([wx])\s*$", re.IGNORECASE)


def _is_placeholder(url: str) -> bool:
    low = url.strip().lower()
    return (
        not low
        or low.startswith(("data:", "about:", "javascript:"))
        or low in {"#", "/", "none", "null", "undefined"}
        or _PLACEHOLDER_NAME.search(low) is not None
    )


def largest_srcset_candidate(srcset: str) -> str | None:
    """The URL of the widest (or highest-density) candidate of a srcset."""
    best, best_score = None, -1.0
    # A candidate is "URL [descriptor]"; URLs may contain commas, but the
    # separator is a comma followed by whitespace or the end in practice.
    for part in re.split(r",\s+|,$", srcset.strip()):
        bits = part.strip().split()
        if not bits:
            continue
        url = bits[0].rstrip(",")
        score = 1.0
        if len(bits) > 1:
            m = _DESCRIPTOR.match(bits[1])
            if m:
                score = float(m.group(1)) * (1.0 if m.group(2).lower() == "w" else 1000.0)
        if url and not _is_placeholder(url) and score > best_score:
            best, best_score = url, score
    return best


def _tiny(img: lxml.html.HtmlElement) -> bool:
    """A tracking pixel: every size it states is 0 or 1 (a lone height="0" is a layout quirk)."""
    sizes = [(img.get(a) or "").strip().lower().removesuffix("px") for a in ("width", "height")]
    given = [v for v in sizes if v]
    return bool(given) and all(v in {"0", "1"} for v in given) and (len(given) == 2 or given[0] == "1")


# Image types a data: URL may carry: the raster formats CommonMark renderers
# (markdown-it, commonmark.js) let through.  SVG can hold script: never.
_DATA_IMAGE = re.compile(r"data:image/(png|gif|jpeg|jpg|webp)((?:;[^;,]*)*);base64,", re.IGNORECASE)
_MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "gif": b"GIF8", "jpeg": b"\xff\xd8\xff", "jpg": b"\xff\xd8\xff",
          "webp": b"RIFF"}


def data_image(url: str) -> str | None:
    """A `data:` URL that holds a real raster image (no placeholder), cleaned; else None.

    The payload must be base64 whose bytes are the declared type (PNG, GIF,
    JPEG, WebP), and a PNG or GIF must be larger than 1x1: pages put 1x1
    data: images where a lazy loader will later put the real one.
    """
    m = _DATA_IMAGE.match(url.lstrip())
    if m is None:
        return None
    kind = m.group(1).lower()
    payload = "".join(url.lstrip()[m.end():].split())  # HTML allows white space in it
    try:
        head = base64.b64decode(payload[:64] + "=" * (-len(payload[:64]) % 4))
    except (binascii.Error, ValueError):
        return None
    if not head.startswith(_MAGIC[kind]):
        return None
    if kind == "png" and head[12:16] == b"IHDR":
        size = (int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big"))
    elif kind == "gif":
        size = (int.from_bytes(head[6:8], "little"), int.from_bytes(head[8:10], "little"))
    else:
        size = (2, 2)  # not read: JPEG and WebP placeholders are rare
    if max(size) <= 1 or re.fullmatch(r"[A-Za-z0-9+/]*={0,2}", payload) is None:
        return None
    return f"data:image/{'jpeg' if kind == 'jpg' else kind};base64,{payload}"


def _looks_like_url(v: str) -> bool:
    # some scripts keep JSON or templates in data-src
    return not v.startswith(("{", "[", "<")) and "{{" not in v and " " not in v.strip()


def _same_image(a: str, b: str) -> bool:
    """Two URLs of one image that differ only in scheme (http: vs protocol-relative)."""
    return a.split("//", 1)[-1] == b.split("//", 1)[-1]


def _raw_image_src(img: lxml.html.HtmlElement) -> str | None:
    get = img.get
    src = get("src")
    names = img.keys()  # look up only the attributes the image has (most have few)
    if any(n[:5] == "data-" for n in names):
        for attr in LAZY_ATTRS:
            if attr in names:
                v = get(attr)
                if v and _looks_like_url(v) and not _is_placeholder(v):
                    v = v.strip()
                    # when src already holds this image, keep it as the page wrote it
                    return src.strip() if src and _same_image(src.strip(), v) else v
    if src and not _is_placeholder(src):
        return None if _tiny(img) else src.strip()
    for attr in SRCSET_ATTRS:
        if attr in names:
            v = get(attr)
            if v:
                cand = largest_srcset_candidate(v)
                if cand:
                    return cand
    picture = _picture_of(img)
    if picture is not None:
        for source in picture.iter("source"):
            for attr in SRCSET_ATTRS + ("src",):
                v = source.get(attr)
                if v:
                    cand = largest_srcset_candidate(v)
                    if cand:
                        return cand
    # <img src=placeholder><noscript><img src=real></noscript>
    nxt = (picture if picture is not None else img).getnext()
    if nxt is not None and nxt.tag == "noscript":
        fallback = _noscript_image(nxt)
        if fallback:
            return fallback
    # no real URL anywhere: an image the page carries inline is the image
    if src and src.lstrip()[:5].lower() == "data:" and not _tiny(img):
        return data_image(src)
    return None


def _picture_of(img: lxml.html.HtmlElement) -> lxml.html.HtmlElement | None:
    # libxml2 does not know <source> is void and nests the <img> inside it.
    parent = img.getparent()
    if parent is not None and parent.tag == "source":
        parent = parent.getparent()
    return parent if parent is not None and parent.tag == "picture" else None


def _noscript_image(noscript: lxml.html.HtmlElement) -> str | None:
    """The first real image inside a <noscript>, whose content lxml may keep as text."""
    imgs = list(noscript.iter("img"))
    if not imgs and noscript.text and "<img" in noscript.text.lower():
        try:
            frag = lxml.html.fragment_fromstring(noscript.text, create_parent="div")
        except Exception:
            return None
        imgs = list(frag.iter("img"))
    for inner in imgs:
        src = _raw_image_src(inner)
        if src:
            return src
    return None


def best_image_src(img: lxml.html.HtmlElement, base_url: str | None = None) -> str | None:
    """The real image URL of an <img>, resolved against `base_url`.

    None when the image is only a placeholder (1x1, data: placeholders, spacer
    files) or its URL is unsafe.  A `data:` URL comes back only when it holds
    a real raster image and the page offers no other URL.
    """
    try:
        src = _raw_image_src(img)
    except Exception:  # hostile attribute values must never break a conversion
        return None
    if not src:
        return None
    if src.startswith("data:"):  # only data_image() returns one: checked already
        return src
    return resolve_url(src, base_url)
