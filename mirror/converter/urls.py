"""URL resolution and the safety check every emitted link or image URL passes."""

from __future__ import annotations

import re
from urllib.parse import urljoin

# Browsers ignore ASCII whitespace and control characters inside a scheme,
# so "java\nscript:" is as dangerous as "javascript:".
_SCHEME_NOISE = re.compile(r"[\x00-\x20\x7f]+")
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")
_UNSAFE_SCHEMES = frozenset({"javascript", "vbscript", "data", "file", "about", "blob"})


def is_safe_url(url: str) -> bool:
    """False for URLs that run code or embed content (javascript:, vbscript:, data:, ...)."""
    if url.startswith(("http://", "https://", "/", "#")) and url.isprintable():
        return True
    m = _SCHEME.match(_SCHEME_NOISE.sub("", url))
    return not (m and m.group(1).lower() in _UNSAFE_SCHEMES)


def resolve_url(url: str | None, base_url: str | None) -> str | None:
    """`url` made absolute against `base_url`; fragment-only links stay as written.

    Returns None for an empty or unsafe URL.
    """
    if url is None:
        return None
    url = url.strip()
    if not is_safe_url(url):
        return None
    if base_url and not url.startswith("#"):
        try:
            url = urljoin(base_url, url)
        except ValueError:  # e.g. an invalid IPv6 host in a hostile URL
            return None
        if not is_safe_url(url):
            return None
    return url
