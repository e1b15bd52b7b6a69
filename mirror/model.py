"""The data that flows between the pipeline's stages: plain, typed records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

SourceKind = Literal["feed", "listing", "urls", "files"]
LinkPolicy = Literal["keep", "mirror", "text"]
ImagePolicy = Literal["keep", "localize"]


@dataclass(frozen=True, slots=True)
class Entry:
    """One article a source announces: where it is, and what the source says of it."""

    url: str
    title: str | None = None
    published: datetime | None = None
    source: str = ""
    # For `files` sources: the local file to read instead of fetching `url`.
    path: Path | None = None


@dataclass(slots=True)
class Fetched:
    """A fetched document: bytes, decoded text and what HTTP said about it."""

    url: str  # what was asked for
    final_url: str  # after redirects
    status: int
    content: bytes
    text: str
    encoding: str
    headers: Mapping[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False  # a conditional request answered 304


@dataclass(slots=True)
class Article:
    """An extracted article: metadata plus its body as Markdown."""

    title: str
    markdown: str
    url: str | None = None
    published: datetime | None = None
    author: str | None = None
    canonical_url: str | None = None
    short_url: str | None = None  # the site's own short link, if it publishes one
    site_name: str | None = None
    description: str | None = None
    lang: str | None = None
    images: list[str] = field(default_factory=list)  # image URLs in the body, as written in `markdown`
    links: list[str] = field(default_factory=list)  # link URLs in the body, as written in `markdown`


@dataclass(frozen=True, slots=True)
class ExtractRules:
    """Per-source extraction and cleaning settings; empty means automatic."""

    title: str | None = None  # CSS selector or XPath (starts with "/" or "(")
    content: str | None = None
    date: str | None = None
    author: str | None = None
    remove: tuple[str, ...] = ()  # selectors of elements to drop
    remove_text: tuple[str, ...] = ()  # regexes: drop a block whose text matches (re.search)
    strip_title_suffix: bool = True  # drop " - Site Name" from titles


@dataclass(frozen=True, slots=True)
class FetchSettings:
    """How the one HTTP client of a run behaves."""

    timeout: float = 20.0  # seconds, connect and read each
    deadline: float | None = None  # seconds for one attempt, connect to last byte; None: 3 x timeout
    retries: int = 3
    backoff: float = 0.5  # seconds; doubled on each retry
    max_backoff: float = 30.0  # cap, also on Retry-After
    per_host: int = 4  # concurrent requests to one host
    workers: int = 8  # concurrent requests in all
    delay: float = 0.0  # seconds between two requests to one host
    user_agent: str = "mirror/0.1 (+https://github.com/)"
    max_bytes: int = 20 * 1024 * 1024
    allow_private: bool = False  # allow loopback/private/link-local addresses
    allow_hosts: tuple[str, ...] = ()  # hosts or IPs allowed even if private (e.g. "127.0.0.1")


@dataclass(frozen=True, slots=True)
class SourceProfile:
    """One `[[source]]` of the config."""

    name: str
    channel: str
    channel_name: str
    kind: SourceKind
    url: str | None = None  # feed URL, listing page URL
    urls: tuple[str, ...] = ()  # for kind "urls"
    path: Path | None = None  # for kind "files": a file or a folder
    item: str | None = None  # listing: selector of article links
    next_page: str | None = None  # listing: selector of the "next page" link
    max_pages: int = 1  # listing: pages to follow
    limit: int | None = None  # at most this many entries per run
    rules: ExtractRules = ExtractRules()
    links: LinkPolicy = "keep"
    images: ImagePolicy = "keep"
    link_suffix: str = ""  # appended to rewritten links, e.g. "?m" (deterministic)
    image_max_bytes: int = 10 * 1024 * 1024
    image_types: tuple[str, ...] = ("image/jpeg", "image/png", "image/gif", "image/webp", "image/avif")  # no SVG: it can carry script
    republish_changed: bool = False  # re-publish an article whose content changed
    encoding: str | None = None  # force a charset for this source's pages
    extra: Mapping[str, Any] = field(default_factory=dict)
