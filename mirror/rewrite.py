"""Body link rewriting: keep links, point them at mirrored copies, or turn them into text."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote_plus, urlsplit, urlunsplit

from mirror.model import LinkPolicy

if TYPE_CHECKING:  # only types: a run with nothing new never loads lxml
    import lxml.html

# Query parameters that only say where a click came from; they never select a different article.
TRACKING_PARAMS = frozenset({"fbclid", "gclid", "gclsrc", "dclid", "msclkid", "yclid", "igshid", "mc_cid", "mc_eid"})
TRACKING_PREFIXES = ("utm_",)

# Schemes a rewritten page may link to; anything else (javascript:, data:, vbscript:, file:...)
# is turned into plain text rather than emitted.
SAFE_SCHEMES = frozenset({"http", "https", "mailto", "tel"})

_DEFAULT_PORTS = {"http": 80, "https": 443}
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")
# Browsers ignore ASCII whitespace and control characters inside a URL's scheme ("java\tscript:").
_IGNORED_IN_SCHEME = re.compile(r"[\x00-\x20\x7f]")
_PERCENT = re.compile(r"%[0-9a-fA-F]{2}")
_PATH_SAFE = "/:@!$&'()*+,;=%~"
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


@dataclass(slots=True)
class LinkReport:
    """What `rewrite_links` did to each link of a body."""

    kept: list[str] = field(default_factory=list)  # absolute links left pointing at the source
    mirrored: list[tuple[str, str]] = field(default_factory=list)  # (original URL, relative link written)
    unwrapped: list[str] = field(default_factory=list)  # links turned into their text
    removed: list[str] = field(default_factory=list)  # unsafe hrefs (javascript:, data:...) removed


def link_scheme(href: str) -> str | None:
    """The scheme of `href` as a browser would read it (lower case), or None for a relative URL."""
    match = _SCHEME.match(_IGNORED_IN_SCHEME.sub("", href))
    return match.group(1).lower() if match else None


def _normalize_percent(part: str) -> str:
    """Upper-case percent escapes and decode the ones that stand for unreserved characters."""

    def fix(match: re.Match[str]) -> str:
        char = chr(int(match.group(0)[1:], 16))
        return char if char in _UNRESERVED else match.group(0).upper()

    return _PERCENT.sub(fix, part)


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def normalize_url(url: str) -> str:
    """The key under which a URL is looked up: the same article gives the same key.

    Lower-cases scheme and host, drops default ports, the fragment (a fragment never names
    another document) and tracking parameters (utm_*, fbclid, gclid...), and normalises
    percent escapes. Query order and path case are kept: they can select different pages.
    A string that is not a parseable URL comes back stripped, unchanged otherwise.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return url.partition("#")[0].strip()
    host = parts.hostname.rstrip(".")  # .hostname is already lower-cased; rstrip: FQDN dot
    if not host:
        return url.partition("#")[0].strip()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    if parts.username is not None:
        userinfo = parts.username + (f":{parts.password}" if parts.password is not None else "")
        host = f"{userinfo}@{host}"
    # Escape what a browser would escape before sending (spaces, non-ASCII), keep existing escapes.
    path = _normalize_percent(quote(parts.path, safe=_PATH_SAFE)) or "/"
    # Filter the raw pairs so the parameters that stay keep their encoding as written.
    pairs = [
        pair
        for pair in parts.query.split("&")
        if pair and not _is_tracking(unquote_plus(pair.partition("=")[0]))
    ]
    query = _normalize_percent(quote("&".join(pairs), safe=_PATH_SAFE + "?"))
    return urlunsplit((scheme, host, path, query, ""))


def add_suffix(link: str, suffix: str) -> str:
    """Append `suffix` (such as "?m" or "n=1") to the query of `link`, before any fragment."""
    suffix = suffix.strip().lstrip("?&")
    if not suffix:
        return link
    base, hash_, fragment = link.partition("#")
    base = base.rstrip("&")
    if "?" not in base:
        joiner = "?"
    elif base.endswith("?"):
        joiner = ""
    else:
        joiner = "&"
    return f"{base}{joiner}{suffix}{hash_}{fragment}"


def _safe_target(path: str) -> bool:
    scheme = link_scheme(path)
    return bool(path.strip()) and (scheme is None or scheme in SAFE_SCHEMES)


def _unwrap(link: lxml.html.HtmlElement, root: lxml.html.HtmlElement) -> None:
    if link is root or link.getparent() is None:
        # The root itself is the link: it cannot be dropped, so make it a plain span.
        link.tag = "span"
        for name in list(link.attrib):
            del link.attrib[name]
    else:
        link.drop_tag()


def rewrite_links(
    root: lxml.html.HtmlElement,
    policy: LinkPolicy,
    mirrored: Callable[[str], str | None] = lambda url: None,
    suffix: str = "",
    page_url: str | None = None,
) -> LinkReport:
    """Rewrite the links of an article body in place, following the source's link policy.

    keep: links stay absolute. mirror: a link for which `mirrored(normalize_url(href))`
    returns a path (relative to the current page) is pointed at it, keeping its #fragment and
    adding `suffix` to its query; other links stay absolute. text: every link becomes its
    text (its children, such as images, are kept). Fragment-only links (#note-1) are left
    alone under every policy; unsafe hrefs (javascript:, data:...) never survive.
    When `page_url` (the article's own URL) is given, a link into the article itself
    (`<page_url>#note-1`, made absolute by the extractor) becomes fragment-only again.
    """
    report = LinkReport()
    self_key = normalize_url(page_url) if page_url else None
    links = [el for el in root.iter("a", "area") if isinstance(el.tag, str)]
    for link in links:
        href = link.get("href")
        if href is None:
            continue
        href = href.strip()
        if href.startswith("#"):
            continue
        scheme = link_scheme(href)
        if scheme is not None and scheme not in SAFE_SCHEMES:
            report.removed.append(href)
            _unwrap(link, root)
            continue
        if self_key and "#" in href and normalize_url(href) == self_key:
            link.set("href", "#" + href.partition("#")[2])
            continue
        if policy == "text":
            report.unwrapped.append(href)
            _unwrap(link, root)
            continue
        if policy == "mirror" and scheme in ("http", "https"):
            target = mirrored(normalize_url(href))
            if target and _safe_target(target):
                _, _, fragment = href.partition("#")
                new = add_suffix(target.partition("#")[0], suffix)
                if fragment:
                    new = f"{new}#{fragment}"
                link.set("href", new)
                report.mirrored.append((href, new))
                continue
        report.kept.append(href)
    return report


def link_rewriter(
    policy: LinkPolicy,
    mirrored: Callable[[str], str | None] = lambda url: None,
    suffix: str = "",
    page_url: str | None = None,
) -> Callable[[lxml.html.HtmlElement], LinkReport]:
    """The `rewrite(element)` hook for the extractor: `rewrite_links` with the policy bound."""

    def rewrite(root: lxml.html.HtmlElement) -> LinkReport:
        return rewrite_links(root, policy, mirrored, suffix, page_url)

    return rewrite


__all__ = [
    "LinkReport",
    "add_suffix",
    "link_rewriter",
    "link_scheme",
    "normalize_url",
    "rewrite_links",
]
