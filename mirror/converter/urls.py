"""URL resolution and the safety check every emitted link or image URL passes."""

from __future__ import annotations

import re
from urllib.parse import quote, urljoin

# Browsers ignore ASCII whitespace and control characters inside a scheme,
# so "java\nscript:" is as dangerous as "javascript:".
_SCHEME_NOISE = re.compile(r"[\x00-\x20\x7f]+")
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")
# An allowlist: any other scheme may run code or an application on the
# reader's machine (javascript:, data:, ms-msdt:, search-ms:, intent:, jar:...).
SAFE_SCHEMES = frozenset({"http", "https", "mailto", "tel"})


def is_safe_url(url: str) -> bool:
    """True for web and mail URLs (http, https, mailto, tel) and relative ones; False for any other scheme."""
    if url.startswith(("http://", "https://", "/", "#")) and url.isprintable():
        return True
    m = _SCHEME.match(_SCHEME_NOISE.sub("", url))
    return not m or m.group(1).lower() in SAFE_SCHEMES


def resolve_url(url: str | None, base_url: str | None) -> str | None:
    """`url` made absolute against `base_url`; fragment-only links stay as written.

    Returns None for an empty or unsafe URL.
    """
    if url is None:
        return None
    url = url.strip()
    if not is_safe_url(url):
        return None
    # (an absolute web URL is already what urljoin would give, or closer to what the page
    # wrote: urljoin is slow and drops an empty "?" or "#"; one that urljoin might refuse
    # as malformed, an IPv6 or non-ASCII host, still goes through it)
    if base_url and not url.startswith("#") and not (
            url.startswith(("https://", "http://")) and url.isascii() and "[" not in url and "]" not in url):
        try:
            url = urljoin(base_url, url)
        except ValueError:  # e.g. an invalid IPv6 host in a hostile URL
            return None
        if not is_safe_url(url):
            return None
    if not url.isprintable():
        # CommonMark takes no control character in a destination: the link
        # would show as text.  (Spaces are printable; destinations handle them.)
        url = _CONTROLS.sub(lambda m: quote(m.group(), safe=""), url)
    return url


_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\ufffe\uffff]")
