"""An article's metadata from its page: title, date, author, canonical and short URLs, site, language."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from lxml.html import HtmlElement

from mirror.converter.urls import resolve_url

SPACES = re.compile(r"\s+")
# Separators sites put between an article title and their own name.
TITLE_SEPARATOR = re.compile(r"\s+[-|–—·:»]{1,2}\s+|\s*[_|—–]\s*|\s+::\s+")
DATE_META = (
    "article:published_time", "og:published_time", "datepublished", "published_time",
    "article.published", "parsely-pub-date", "sailthru.date", "date", "pubdate", "publishdate",
    "publish-date", "publish_date", "dc.date", "dc.date.issued", "dc.date.created",
    "dcterms.created", "dcterms.date", "dcterms.issued", "citation_publication_date",
    "citation_date", "article_date_original", "original-publish-date", "cxenseparse:recs:publishtime",
)
DATE_RANK = {name: i for i, name in enumerate(DATE_META)}
AUTHOR_META = ("author", "article:author", "parsely-author", "sailthru.author", "dc.creator",
               "dcterms.creator", "citation_author", "byl", "twitter:creator")
AUTHOR_RANK = {name: i for i, name in enumerate(AUTHOR_META)}
LOOSE_DATE = re.compile(
    r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T\s]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*"
    r"(Z|[+-]\d{2}:?\d{2})?"
)
ARTICLE_TYPES = re.compile(
    r"Article|AdvertiserContentArticle|NewsArticle|AnalysisNewsArticle|AskPublicNewsArticle|"
    r"BackgroundNewsArticle|OpinionNewsArticle|ReportageNewsArticle|ReviewNewsArticle|Report|"
    r"SatiricalArticle|ScholarlyArticle|MedicalScholarlyArticle|SocialMediaPosting|BlogPosting|"
    r"LiveBlogPosting|DiscussionForumPosting|TechArticle|APIReference|WebPage"
)


@dataclass(slots=True)
class Metadata:
    """What a page says about itself, before its body is looked at."""

    title: str = ""
    published: datetime | None = None
    author: str | None = None
    canonical_url: str | None = None
    short_url: str | None = None
    site_name: str | None = None
    description: str | None = None
    lang: str | None = None
    base_url: str | None = None
    page_title: str = ""  # the <title> element
    h1: str = ""


def clean_text(text: str | None) -> str:
    """Text with runs of whitespace collapsed and the ends trimmed."""
    return SPACES.sub(" ", text or "").strip()


def parse_date(value: str | None) -> datetime | None:
    """An aware datetime from the many ways pages write dates (naive means UTC); None if unreadable."""
    if not value:
        return None
    value = value.strip()
    if not value or len(value) > 100:
        return None
    dt: datetime | None = None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except ValueError:
        try:
            dt = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            dt = None
        if dt is None:
            m = LOOSE_DATE.search(value)
            if m:
                try:
                    dt = datetime(int(m[1]), int(m[2]), int(m[3]), int(m[4] or 0), int(m[5] or 0),
                                  int(m[6] or 0))
                except ValueError:
                    return None
                if m[7]:
                    off = m[7]
                    if off == "Z":
                        dt = dt.replace(tzinfo=UTC)
                    else:
                        sign = -1 if off[0] == "-" else 1
                        digits = off[1:].replace(":", "")
                        delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
                        dt = dt.replace(tzinfo=timezone(sign * delta))
            elif value.isdigit() and 9 <= len(value) <= 13:
                seconds = int(value) / (1000 if len(value) > 11 else 1)
                try:
                    dt = datetime.fromtimestamp(seconds, UTC)
                except (OverflowError, OSError, ValueError):
                    return None
    if dt is None:
        return None
    if dt.tzinfo is None or dt.utcoffset() is None:
        dt = dt.replace(tzinfo=UTC)
    return dt


DATE_HOLDER = re.compile(r"date|time|pub|info|meta|byline|source", re.I)
# A full date with a time of day, as pages print it near the headline.
VISIBLE_DATE = re.compile(r"\b(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?\s*(\d{1,2}):(\d{2})(?::(\d{2}))?")


@functools.lru_cache(maxsize=4096)
def _is_date_holder(name: str) -> bool:
    # Pages repeat a few class names on many elements: each is tried once.
    return DATE_HOLDER.search(name) is not None


def _date_in_text(root: HtmlElement) -> datetime | None:
    """A date printed in an element named like a date line, when no markup gives one."""
    body = root.find("body")
    if body is None:
        return None
    from mirror.readable import raw_text

    for el in body.iter("span", "div", "p", "time", "em", "small", "li"):
        name = el.get("class") or el.get("id")
        if not name or not _is_date_holder(name):
            continue
        text = raw_text(el)
        if len(text) > 200:
            continue
        m = VISIBLE_DATE.search(text)
        if m:
            try:
                return datetime(int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]),
                                int(m[6] or 0), tzinfo=UTC)
            except ValueError:
                continue
    return None


def _json_ld_objects(data: object, out: list[dict]) -> None:
    if isinstance(data, list):
        for item in data:
            _json_ld_objects(item, out)
    elif isinstance(data, dict):
        out.append(data)
        graph = data.get("@graph")
        if graph is not None:
            _json_ld_objects(graph, out)


def _load_json(text: str) -> object:
    text = text.strip()
    # CDATA wrappers and trailing semicolons are common in hand-written JSON-LD.
    if text.startswith("<![CDATA["):
        text = text[9:].removesuffix("]]>")
    text = text.strip().rstrip(";")
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return json.loads(text, strict=False)
    except ValueError:
        return None


def _ld_name(value: object) -> str | None:
    if isinstance(value, str):
        return clean_text(value) or None
    if isinstance(value, dict):
        return _ld_name(value.get("name"))
    if isinstance(value, list):
        names = [n for n in (_ld_name(v) for v in value) if n]
        return ", ".join(dict.fromkeys(names)) or None
    return None


def _ld_types(obj: dict) -> list[str]:
    t = obj.get("@type")
    if isinstance(t, str):
        return [t]
    if isinstance(t, list):
        return [x for x in t if isinstance(x, str)]
    return []


def _json_ld(scripts: list[str]) -> dict[str, str | None]:
    objects: list[dict] = []
    for text in scripts:
        _json_ld_objects(_load_json(text), objects)
    found: dict[str, str | None] = {}
    articles = [o for o in objects if any(ARTICLE_TYPES.fullmatch(t) for t in _ld_types(o))]
    # Prefer real article types over a generic WebPage; other objects (breadcrumbs,
    # organisations) say nothing about the article when an article object exists.
    articles.sort(key=lambda o: "WebPage" in _ld_types(o))
    for obj in articles or objects:
        for key, field in (("headline", "title"), ("name", "title_name"),
                           ("datePublished", "published"), ("dateCreated", "created"),
                           ("description", "description")):
            if key == "name" and not articles:
                continue
            value = obj.get(key)
            if isinstance(value, str) and value.strip() and field not in found:
                found[field] = clean_text(value)
        if "author" not in found:
            author = _ld_name(obj.get("author")) or _ld_name(obj.get("creator"))
            if author:
                found["author"] = author
        if "site_name" not in found:
            publisher = _ld_name(obj.get("publisher"))
            if publisher:
                found["site_name"] = publisher
    return found


def _ld_title(ld: dict[str, str | None], page_title: str) -> str | None:
    headline, name = ld.get("title"), ld.get("title_name")
    if headline and name and headline != name:
        # Sites disagree on which of the two is the title (Wikipedia puts a
        # description in headline): the one the <title> repeats wins, else name.
        from mirror.readable import text_similarity

        if text_similarity(page_title, headline) > 0.75 and text_similarity(page_title, name) <= 0.75:
            return headline
        return name
    return headline or name


def _suffix_parts(title: str) -> list[tuple[str, str]]:
    """(head, tail) splits of a title at each separator, last separator first."""
    parts = []
    for m in TITLE_SEPARATOR.finditer(title):
        head, tail = title[: m.start()].strip(), title[m.end():].strip()
        if head and tail:
            parts.append((head, tail))
    return parts[::-1]


def _norm(s: str) -> str:
    return re.sub(r"\W+", "", s.lower())


def strip_site_name(title: str, site_name: str | None, page_title: str = "", h1: str = "",
                    host: str = "") -> str:
    """`title` without a trailing " - Site" when that part is the site's name.

    It is when it equals the site name (og:site_name), when the <title> ends
    the same way while saying something else, when the page's <h1> is the
    part before it, or when it spells the host name ("Example" on example.com).
    """
    if not title:
        return title
    site = _norm(site_name or "")
    page_tails = {_norm(t) for _, t in _suffix_parts(page_title)} if page_title != title else set()
    heading = _norm(h1)
    host_letters = _norm(host.removeprefix("www."))
    for head, tail in _suffix_parts(title):
        t = _norm(tail)
        if len(head) < 3 or not t:
            continue
        if t == site or t in page_tails or (heading and _norm(head) == heading) or (
            len(t) >= 3 and host_letters and t in host_letters
        ):
            return head
    # "Site | Title" when the leading part is the site name
    for head, tail in reversed(_suffix_parts(title)):
        if site and _norm(head) == site and len(tail) >= 3:
            return tail
    return title


def read_metadata(root: HtmlElement, url: str | None = None, strip_suffix: bool = True) -> Metadata:
    """Everything the page's head (and JSON-LD, <time>, rel=author) says about the article."""
    meta = Metadata()
    values: dict[str, str] = {}
    dates: list[tuple[int, str]] = []
    authors: list[tuple[int, str]] = []
    ld_scripts: list[str] = []
    base = None
    canonical = shortlink = None
    time_value = None
    rel_author = None
    for el in root.iter("meta", "link", "script", "title", "base", "time", "h1", "html"):
        tag = el.tag
        if tag == "meta":
            content = el.get("content")
            if content is None:
                if el.get("itemprop") == "datePublished" and el.get("datetime"):
                    dates.append((DATE_RANK["datepublished"], el.get("datetime")))
                continue
            keys = []
            for attr in ("property", "name", "itemprop", "http-equiv"):
                v = el.get(attr)
                if v:
                    keys.extend(v.lower().split())
            for key in keys:
                values.setdefault(key, content)
                if key in DATE_RANK:
                    dates.append((DATE_RANK[key], content))
                if key in AUTHOR_RANK:
                    authors.append((AUTHOR_RANK[key], content))
        elif tag == "link":
            rels = (el.get("rel") or "").lower().split()
            href = el.get("href")
            if not href:
                continue
            if "canonical" in rels and canonical is None:
                canonical = href
            if shortlink is None and ({"shortlink", "shorturl", "short_url", "short-url"} & set(rels)
                                      or (el.get("rev") or "").lower() == "canonical"):
                shortlink = href
        elif tag == "script":
            if (el.get("type") or "").strip().lower() == "application/ld+json" and el.text:
                ld_scripts.append(el.text)
        elif tag == "title":
            if not meta.page_title:
                meta.page_title = clean_text(el.text_content())
        elif tag == "base":
            if base is None and el.get("href"):
                base = el.get("href")
        elif tag == "time":
            if time_value is None:
                value = el.get("datetime")
                if value and (el.get("pubdate") is not None or el.get("itemprop") == "datePublished"
                              or time_value is None):
                    time_value = value
        elif tag == "html":
            meta.lang = clean_text(el.get("lang") or el.get("xml:lang")) or None
        elif tag == "h1" and not meta.h1:
            meta.h1 = clean_text(el.text_content())
    # A byline by class or itemprop is found by the content search, which visits every element anyway.
    for el in root.iter("a"):
        rel = el.get("rel")
        if rel and "author" in rel.split():
            rel_author = clean_text(el.text_content())
            break
    ld = _json_ld(ld_scripts)

    # A <base> that is not a web address (javascript:, data:, file:, malformed)
    # is ignored: the page's own URL is the better base.
    resolved_base = resolve_url(base, url) if base else None
    if resolved_base and not resolved_base.lower().startswith(("http://", "https://")):
        resolved_base = None
    meta.base_url = resolved_base or url
    if canonical:
        meta.canonical_url = resolve_url(canonical, meta.base_url)
    elif values.get("og:url"):
        meta.canonical_url = resolve_url(values["og:url"], meta.base_url)
    if shortlink:
        meta.short_url = resolve_url(shortlink, meta.base_url)
    meta.site_name = clean_text(values.get("og:site_name") or ld.get("site_name")
                                or values.get("application-name")) or None
    meta.description = clean_text(values.get("og:description") or values.get("description")
                                  or values.get("twitter:description") or ld.get("description")) or None
    if not meta.lang:
        lang = values.get("content-language") or values.get("og:locale") or values.get("language")
        meta.lang = clean_text(lang).replace("_", "-") or None

    # An <h1> is often a site's logo or a section name: it is the title only
    # when the <title> repeats it (minus the site name) or there is no <title>.
    h1 = meta.h1 if meta.h1 and (not meta.page_title or _norm(meta.h1) in _norm(meta.page_title)) \
        else ""
    title = clean_text(values.get("og:title") or values.get("twitter:title")
                       or _ld_title(ld, meta.page_title) or h1 or meta.page_title or meta.h1)
    if strip_suffix:
        try:
            host = (urlsplit(url).hostname or "") if url else ""
        except ValueError:  # e.g. a malformed IPv6 host
            host = ""
        title = strip_site_name(title, meta.site_name, meta.page_title, meta.h1, host)
    meta.title = title

    candidates = sorted(dates)
    if ld.get("published"):
        candidates.insert(1 if candidates and candidates[0][0] == 0 else 0, (0, ld["published"]))
    if time_value:
        candidates.append((len(DATE_META), time_value))
    if ld.get("created"):
        candidates.append((len(DATE_META) + 1, ld["created"]))
    for _, value in candidates:
        dt = parse_date(value)
        if dt is not None:
            meta.published = dt
            break
    if meta.published is None:
        meta.published = _date_in_text(root)

    author_values = [v for _, v in sorted(authors)]
    for value in [*author_values[:1], ld.get("author"), *author_values[1:], rel_author]:
        value = clean_text(value)
        # article:author is often a profile URL, which is no name.
        if value and not re.match(r"^(https?:)?//|^www\.", value) and len(value) < 200:
            meta.author = value
            break
    return meta
