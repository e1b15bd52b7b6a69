"""Where articles come from: a feed, a listing page, a list of URLs or local files, read into Entries."""

from __future__ import annotations

import html
import io
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

import feedparser
import lxml.etree
import lxml.html

from mirror.encoding import decode_html, sniff_binary
from mirror.fetch import Fetcher, FetchError, one_line
from mirror.model import Entry, SourceProfile

__all__ = [
    "SourceError",
    "entries",
    "feed_entries",
    "listing_entries",
    "url_entries",
    "file_entries",
]

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
_HEAD_BYTES = 64 * 1024
_TAG = re.compile(r"<[^>]*>")
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")
_DOCTYPE_SUBSET = re.compile(rb"<!DOCTYPE[^>\[]*\[.*?\]\s*>", re.IGNORECASE | re.DOTALL)
_ENTITY_DECL = re.compile(rb"<!ENTITY[^>]*>", re.IGNORECASE)
# Numeric character references that may name no XML character: one or two
# digits (controls), the surrogate block, and long ones (beyond U+10FFFF).
# Ordinary ones (&#20013;) do not match, which keeps CJK feeds fast.
_CHAR_REF = re.compile(
    rb"&#(?:[xX]0*([0-9a-fA-F]{1,2}|[dD][89a-fA-F][0-9a-fA-F]{2}|[0-9a-fA-F]{6,})(?![0-9a-fA-F])"
    rb"|0*([0-9]{1,2}|5[5-7][0-9]{3}|[0-9]{7,})(?![0-9]));?"
)
_REPLACEMENT_REF = b"&#xFFFD;"
_ALLOWED_CONTROLS = frozenset((0x9, 0xA, 0xD))


class SourceError(Exception):
    """A source could not be read at all; the message names the source and the reason."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))  # it quotes what servers and parsers said


def entries(
    profile: SourceProfile, fetcher: Fetcher, warnings: list[str] | None = None
) -> list[Entry]:
    """The entries a source announces, in its order, without duplicates, at most `profile.limit`.

    What is worth telling but does not stop the source (entries skipped for
    want of a usable link) is appended to `warnings`, one line each, when given.
    """
    reader = _READERS.get(profile.kind)
    if reader is None:
        raise SourceError(f"source {profile.name!r}: unknown kind {profile.kind!r}")
    if profile.limit is not None and profile.limit <= 0:
        return []
    unique: dict[str, Entry] = {}
    for entry in reader(profile, fetcher, warnings):
        unique.setdefault(entry.url, entry)
        if profile.limit is not None and len(unique) >= profile.limit:
            break
    return list(unique.values())


# --- shared bits --------------------------------------------------------------------------


def _web_url(href: str | None, base: str) -> str | None:
    """`href` made absolute against `base`, without its fragment; None unless it is http(s)."""
    if not href:
        return None
    try:
        url = urldefrag(urljoin(base, href.strip()))[0]
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return url


def _clean_title(text: str | None) -> str | None:
    if not text:
        return None
    # Controls (raw in a loose feed, or escaped twice) have no place in a title.
    text = " ".join(_CONTROLS.sub(" ", html.unescape(_TAG.sub(" ", text))).split())
    return text or None


def _warn_unlinked(profile: SourceProfile, skipped: int, warnings: list[str] | None) -> None:
    # A source whose links all broke would otherwise look like "nothing new" forever.
    if skipped and warnings is not None:
        what = "entry" if skipped == 1 else "entries"
        warnings.append(f"source {profile.name!r}: {skipped} {what} without a usable link skipped")


def _fetch(profile: SourceProfile, fetcher: Fetcher, url: str, what: str, **kwargs: Any) -> Any:
    try:
        return fetcher.get(url, **kwargs)
    except FetchError as err:
        raise SourceError(f"source {profile.name!r}: cannot fetch the {what}: {err}") from None


# --- feed ----------------------------------------------------------------------------------


def _struct_to_utc(value: Any) -> datetime | None:
    try:
        return datetime(*value[:6], tzinfo=UTC)
    except (TypeError, ValueError, IndexError):
        return None


def _feed_link(item: Any) -> str | None:
    link = item.get("link")
    if link:
        return str(link)
    for candidate in item.get("links", ()):
        if candidate.get("rel", "alternate") == "alternate" and candidate.get("href"):
            return str(candidate["href"])
    return None


def _fix_char_ref(match: re.Match[bytes]) -> bytes:
    digits_hex, digits_dec = match.group(1), match.group(2)
    # Over eight digits is no code point, and int() of a huge run costs time.
    if len(digits_hex or digits_dec) > 8:
        return _REPLACEMENT_REF
    code = int(digits_hex, 16) if digits_hex else int(digits_dec)
    if (
        code > 0x10FFFF
        or 0xD800 <= code <= 0xDFFF
        or (code < 0x20 and code not in _ALLOWED_CONTROLS)
    ):
        return _REPLACEMENT_REF
    return match.group(0)


def _defuse(content: bytes) -> bytes:
    """The feed made safe to parse.

    Without a DTD internal subset: entity declarations have no business in a
    feed, and nested ones ("billion laughs") cost seconds of CPU before expat
    gives up. And with character references to what is no character (a
    surrogate, beyond U+10FFFF, a NUL or another control XML forbids) turned
    into U+FFFD: feedparser's fallback parser crashes on surrogates and
    out-of-range ones, and a NUL has no place in a title.
    """
    if b"&#" in content:
        content = _CHAR_REF.sub(_fix_char_ref, content)
    head, rest = content[:_HEAD_BYTES], content[_HEAD_BYTES:]
    if b"<!" not in head:
        return content
    head = _ENTITY_DECL.sub(b"", _DOCTYPE_SUBSET.sub(b"", head))
    return head + rest


def feed_entries(
    profile: SourceProfile, fetcher: Fetcher, warnings: list[str] | None = None
) -> list[Entry]:
    """Entries of an RSS (0.9x, 1.0, 2.0) or Atom feed, fetched with the run's fetcher.

    Items without a usable (http or https) link are skipped, and counted in
    one line appended to `warnings` when given.
    """
    if not profile.url:
        raise SourceError(f"source {profile.name!r}: a feed source needs a url")
    fetched = _fetch(profile, fetcher, profile.url, "feed", accept=FEED_ACCEPT)
    binary = sniff_binary(fetched.content)
    if binary:
        raise SourceError(
            f"source {profile.name!r}: {fetched.final_url} is not a readable feed (looks like {binary})"
        )
    try:
        # A file object, never a string: given a string, feedparser would fetch
        # URLs or open local files itself.
        parsed = feedparser.parse(
            io.BytesIO(_defuse(fetched.content)),
            response_headers={
                "content-location": fetched.final_url,
                "content-type": fetched.headers.get("Content-Type", "application/xml"),
            },
            sanitize_html=True,
        )
    except Exception as err:  # feedparser's fallback parser has crashed on hostile feeds
        raise SourceError(
            f"source {profile.name!r}: {fetched.final_url} is not a readable feed "
            f"({type(err).__name__}: {err})"
        ) from None
    if parsed.get("bozo") and not parsed.entries:
        reason = parsed.get("bozo_exception") or "not a feed"
        raise SourceError(
            f"source {profile.name!r}: {fetched.final_url} is not a readable feed ({reason})"
        )
    found = []
    skipped = 0
    for item in parsed.entries:
        url = _web_url(_feed_link(item), fetched.final_url)
        if url is None:
            skipped += 1
            continue
        published = _struct_to_utc(item.get("published_parsed") or item.get("updated_parsed"))
        found.append(
            Entry(
                url=url,
                title=_clean_title(item.get("title")),
                published=published,
                source=profile.name,
            )
        )
    _warn_unlinked(profile, skipped, warnings)
    return found


# --- listing -------------------------------------------------------------------------------


def _selector(profile: SourceProfile, expression: str) -> Callable[[Any], list[Any]]:
    """A CSS selector, or XPath when it starts with "/" or "("; compiled once."""
    try:
        if expression.lstrip().startswith(("/", "(")):
            return lxml.etree.XPath(expression.strip())
        from lxml.cssselect import CSSSelector  # listing sources only: a feed never loads cssselect

        return CSSSelector(expression)
    except Exception as err:  # cssselect and lxml raise several unrelated types
        raise SourceError(f"source {profile.name!r}: bad selector {expression!r}: {err}") from None


def _link_of(node: Any) -> tuple[str | None, str | None]:
    """(href, title) of a selected node: an <a>, an element containing one, or an href string."""
    if isinstance(node, str):
        return str(node), None
    if not isinstance(getattr(node, "tag", None), str):
        return None, None
    anchor = node if node.tag in ("a", "link") else next(node.iterdescendants("a"), None)
    if anchor is None:
        return None, None
    title = _clean_title(anchor.text_content()) if anchor.tag == "a" else None
    if title is None:
        title = _clean_title(anchor.get("title"))
    if title is None:
        image = next(anchor.iterdescendants("img"), None)
        title = _clean_title(image.get("alt")) if image is not None else None
    return anchor.get("href"), title


def _parse_page(profile: SourceProfile, text: str, url: str) -> tuple[Any, str]:
    try:
        doc = lxml.html.fromstring(
            text.encode("utf-8"), parser=lxml.html.HTMLParser(encoding="utf-8")
        )
    except (lxml.etree.ParserError, ValueError) as err:
        raise SourceError(
            f"source {profile.name!r}: {url} is not a readable page ({err})"
        ) from None
    base = url
    base_href = next(iter(doc.xpath("//base/@href")), None)
    if base_href:
        base = urljoin(url, str(base_href).strip())
    return doc, base


def _select(select: Callable[[Any], list[Any]], doc: Any) -> list[Any]:
    try:
        found = select(doc)
    except lxml.etree.XPathError:
        return []
    return found if isinstance(found, list) else [found]


def listing_entries(
    profile: SourceProfile, fetcher: Fetcher, warnings: list[str] | None = None
) -> list[Entry]:
    """Entries linked from an index page, following the "next page" link up to `max_pages` pages.

    Selected items without a usable (http or https) link are skipped, and
    counted in one line appended to `warnings` when given.
    """
    if not profile.url or not profile.item:
        raise SourceError(
            f"source {profile.name!r}: a listing source needs a url and an item selector"
        )
    select_item = _selector(profile, profile.item)
    select_next = _selector(profile, profile.next_page) if profile.next_page else None
    found: list[Entry] = []
    page_url: str | None = profile.url
    visited: set[str] = set()
    pages = 0
    skipped = 0
    while page_url and pages < max(1, profile.max_pages):
        pages += 1
        visited.add(page_url)
        try:
            fetched = fetcher.get(page_url, encoding=profile.encoding, expect="html")
            doc, base = _parse_page(profile, fetched.text, fetched.final_url)
        except (FetchError, SourceError) as err:
            if pages > 1:
                break  # a later page failed: keep what the earlier pages gave
            if isinstance(err, SourceError):
                raise
            raise SourceError(
                f"source {profile.name!r}: cannot fetch the listing page: {err}"
            ) from None
        visited.add(fetched.final_url)
        for node in _select(select_item, doc):
            href, title = _link_of(node)
            url = _web_url(href, base)
            if url is None:
                skipped += 1
            else:
                found.append(Entry(url=url, title=title, source=profile.name))
        page_url = None
        if select_next is not None:
            for node in _select(select_next, doc):
                candidate = _web_url(_link_of(node)[0], base)
                if candidate is not None:
                    page_url = candidate if candidate not in visited else None
                    break
    _warn_unlinked(profile, skipped, warnings)
    return found


# --- urls ----------------------------------------------------------------------------------


def url_entries(
    profile: SourceProfile, fetcher: Fetcher | None = None, warnings: list[str] | None = None
) -> list[Entry]:
    """The configured URLs as entries; those that are not http(s) are dropped, and counted in
    `warnings` when given."""
    found = []
    for raw in profile.urls:
        url = _web_url(raw, raw)
        if url is not None:
            found.append(Entry(url=url, source=profile.name))
    _warn_unlinked(profile, len(profile.urls) - len(found), warnings)
    return found


# --- files ---------------------------------------------------------------------------------


def _head_facts(path: Path) -> tuple[str | None, str | None, datetime | None]:
    """(canonical URL, title, published) from the head of a local HTML file; a cheap parse."""
    with path.open("rb") as stream:
        head = stream.read(_HEAD_BYTES)
    text, _ = decode_html(head)
    end = text.lower().find("</head>")
    if end >= 0:
        text = text[:end] + "</head>"
    try:
        doc = lxml.html.fromstring(
            text.encode("utf-8"), parser=lxml.html.HTMLParser(encoding="utf-8")
        )
    except (lxml.etree.ParserError, ValueError):
        return None, None, None
    url = None
    for href in doc.xpath(
        "//link[contains(concat(' ', normalize-space(translate(@rel, 'CANONICAL', 'canonical')), ' '),"
        " ' canonical ')]/@href | //meta[@property='og:url']/@content"
    ):
        url = _web_url(str(href), str(href))
        if url:
            break
    title = _clean_title(next(iter(doc.xpath("//title/text()")), None))
    published = None
    for value in doc.xpath("//meta[@property='article:published_time']/@content"):
        published = _iso_to_utc(str(value))
        if published:
            break
    return url, title, published


def _iso_to_utc(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _html_files(path: Path) -> Iterable[Path]:
    if path.is_dir():
        return sorted(
            p for p in path.iterdir() if p.suffix.lower() in (".html", ".htm") and p.is_file()
        )
    return [path]


def file_entries(
    profile: SourceProfile, fetcher: Fetcher | None = None, warnings: list[str] | None = None
) -> list[Entry]:
    """Local HTML files (one file, or the *.html and *.htm of a folder, by name) as entries.

    Every file makes an entry (its own file: URL when it names no canonical
    one); a file of a folder that cannot be read is skipped with a warning.
    """
    if profile.path is None:
        raise SourceError(f"source {profile.name!r}: a files source needs a path")
    root = Path(profile.path).expanduser()
    if not root.exists():
        raise SourceError(f"source {profile.name!r}: {root} does not exist")
    found = []
    for file in _html_files(root):
        try:
            canonical, title, published = _head_facts(file)
        except OSError as err:
            if not root.is_dir():
                raise SourceError(f"source {profile.name!r}: cannot read {file}: {err}") from None
            if warnings is not None:  # one unreadable file of a folder does not stop the others
                warnings.append(f"source {profile.name!r}: cannot read {file}: {err.strerror or err}")
            continue
        url = canonical or file.resolve().as_uri()
        found.append(
            Entry(url=url, title=title, published=published, source=profile.name, path=file)
        )
    return found


_READERS: dict[str, Callable[[SourceProfile, Fetcher, list[str] | None], list[Entry]]] = {
    "feed": feed_entries,
    "listing": listing_entries,
    "urls": url_entries,
    "files": file_entries,
}
