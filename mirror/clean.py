"""Cleaning article HTML: no scripts, ads, widgets, trackers or active content; safe absolute URLs."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from urllib.parse import quote

from lxml import etree
from lxml.html import HtmlElement

from mirror.converter import best_image_src
from mirror.converter.urls import resolve_url
from mirror.readable import VIDEOS, raw_text, text_similarity, words_pattern

# Removed with their content wherever they are.
ALWAYS_DROP = frozenset(
    {
        "script", "style", "noscript", "template", "svg", "canvas", "object", "embed", "applet",
        "link", "meta", "input", "button", "select", "textarea", "option", "datalist", "frame",
        "frameset", "dialog", "base", "title", "head", "param", "portal",
    }
)
EMBED_TAGS = frozenset({"iframe", "object", "embed"})
# Lazy-loading and responsive attributes are folded into `src` by best_image_src.
KEEP_ATTRS = frozenset(
    {
        "href", "src", "alt", "title", "colspan", "rowspan", "datetime", "start", "reversed",
        "type", "lang", "dir", "id", "name", "width", "height", "poster", "cite", "abbr", "scope",
        "headers", "span", "align", "value", "open", "controls", "label", "srclang", "kind",
    }
)
URL_ATTRS = ("href", "src", "poster", "cite")
CODE_CLASS = re.compile(r"^(?:language|lang)-[\w+#.-]+$")
# Cheap first look, on lower-cased class and id, before splitting them into
# words: every junk word holds one of these.
JUNK_HINT = re.compile(words_pattern((
    "ad", "share", "sharing", "social", "sponsor", "promo", "outbrain", "taboola", "subscri",
    "newsletter", "signup", "related", "recommend", "recirc", "comment", "disqus", "cookie",
    "consent", "popup", "modal", "paywall", "gpt", "dfp", "banner",
)))
JUNK_WORDS = frozenset(
    {
        "ad", "ads", "adv", "advert", "adverts", "advertisement", "advertising", "adsbygoogle",
        "adslot", "adunit", "adbox", "adcontainer", "dfp", "gpt", "sponsor", "sponsored",
        "sponsors", "promo", "promos", "promotion", "promoted", "outbrain", "taboola", "share",
        "shares", "sharing", "sharebar", "sharedaddy", "social", "socials", "subscribe",
        "subscription", "newsletter", "signup", "related", "recommended", "recirculation",
        "comment", "comments", "disqus", "cookie", "cookies", "consent", "popup", "modal",
        "paywall",
    }
)
# Inline elements whose text belongs to the sentence around them whatever their
# class says (a glossary link styled "popup" is still part of the sentence).
PROSE_INLINE = frozenset(
    {"a", "em", "strong", "b", "i", "u", "abbr", "code", "sup", "sub", "mark", "cite", "q",
     "time", "small", "s", "del", "kbd", "var", "dfn"}
)
CLASS_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
TRACKER = re.compile(
    r"/(?:pixel|beacon|tracking|tracker|track|1x1|spacer|blank|transparent)\.(?:gif|png)|/b/ss/|"
    r"facebook\.com/tr[/?]|google-analytics\.com/|doubleclick\.net/|scorecardresearch\.com/|"
    r"quantserve\.com/|/__utm\.gif|pixel\.wp\.com/|stats\.wp\.com/|/pixel(?:[/?]|$)|"
    r"bat\.bing\.com/|analytics\.twitter\.com/|/collect\?",
    re.I,
)
_TRACKER_LOWER = re.compile(TRACKER.pattern)
VIDEO_HOSTS = re.compile(
    VIDEOS.pattern + r"|//(www\.)?(vimeo\.com|youtu\.be|ted\.com/talks|embed\.ted\.com|"
    r"dailymotion\.com|player\.bilibili\.com|streamable\.com|rumble\.com/embed|"
    r"facebook\.com/plugins/video)",
    re.I,
)
BLOCKS = (
    "p", "li", "div", "section", "article", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6",
    "figure", "figcaption", "table", "tr", "td", "th", "dd", "dt", "pre", "aside", "header",
    "footer", "ul", "ol", "dl", "details", "form",
)
SPACES = re.compile(r"\s+")


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff\ud800-\udfff]")


def _xml_safe_url(url: str | None) -> str | None:
    """`url` with the characters an XML attribute (and a Markdown link) cannot hold percent-encoded."""
    if url is None or not _NOT_XML.search(url):
        return url
    return _NOT_XML.sub(lambda m: quote(m.group(), safe="", errors="replace"), url)


def compile_selector(selector: str) -> Callable[[HtmlElement], list[HtmlElement]]:
    """A function returning the elements `selector` (CSS, or XPath when it starts with "/" or "(") selects.

    Raises ValueError naming the selector when it is not valid.
    """
    return _compile_selector(selector)


@functools.lru_cache(maxsize=256)
def _compile_selector(selector: str) -> Callable[[HtmlElement], list[HtmlElement]]:
    if not isinstance(selector, str) or not selector.strip():
        raise ValueError(f"invalid selector {selector!r}: empty")
    s = selector.strip()
    try:
        if s.startswith(("/", "(")):
            find = etree.XPath(s)
        else:
            from lxml.cssselect import CSSSelector

            find = CSSSelector(s)
    except Exception as err:  # cssselect and lxml raise several unrelated types
        raise ValueError(f"invalid selector {selector!r}: {err}") from None

    def select(root: HtmlElement) -> list[HtmlElement]:
        try:
            found = find(root)
        except Exception:  # an XPath that fails at run time selects nothing
            return []
        if not isinstance(found, list):
            return []
        return [el for el in found if isinstance(el, HtmlElement)]

    return select


@functools.lru_cache(maxsize=64)
def compile_text_patterns(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    """The compiled `remove_text` patterns; ValueError naming the one that is not valid."""
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern))
        except re.error as err:
            raise ValueError(f"invalid remove_text pattern {pattern!r}: {err}") from None
    return tuple(compiled)


def is_hidden(el: HtmlElement) -> bool:
    """Whether a browser would not show the element (hidden attribute, aria-hidden, inline style)."""
    if el.get("hidden") is not None:
        return True
    if el.get("aria-hidden") == "true" and "fallback-image" not in (el.get("class") or ""):
        return True
    style = el.get("style")
    if style and ("none" in style or "hidden" in style):
        s = style.replace(" ", "").lower()
        return "display:none" in s or "visibility:hidden" in s
    return False


def _drop(el: HtmlElement) -> None:
    if el.getparent() is not None:
        el.drop_tree()


PAGE_DROP = ("script", "style", "noscript", "template", "svg", "canvas", "select", "datalist")
# Substrings one of which every tracker URL below holds: the pattern is tried
# only on the few image URLs that have one.
_TRACKER_HINTS = ("pixel", "beacon", "track", "1x1", "spacer", "blank", "transparent", "/b/ss/",
                  "facebook.com/tr", "google-analytics", "doubleclick", "scorecardresearch",
                  "quantserve", "__utm", "stats.wp.com", "bat.bing", "analytics", "/collect?")


def _is_tracker(url: str) -> bool:
    low = url.lower()
    for hint in _TRACKER_HINTS:  # a plain loop: a generator costs more than the tests
        if hint in low:
            # Without re.I on ASCII (a data: URL can be 100 kB long): several times faster.
            if url.isascii():
                return _TRACKER_LOWER.search(low) is not None
            return TRACKER.search(url) is not None
    return False


# Void elements libxml2 does not know as void: it nests what follows them
# inside, where dropping the element would drop that text too.
VOID_CONTAINERS = ("wbr", "embed", "source", "track", "keygen", "param")


def _unnest(el: HtmlElement) -> None:
    """Move what libxml2 put inside a void element to just after it."""
    parent = el.getparent()
    if parent is None or (not len(el) and not el.text):
        return
    children = list(el)
    tail = el.tail
    el.tail, el.text = el.text, None
    at = parent.index(el)
    for offset, child in enumerate(children, 1):
        parent.insert(at + offset, child)
    last = children[-1] if children else el
    last.tail = (last.tail or "") + (tail or "") or None


def prepare_page(root: HtmlElement, base_url: str | None) -> None:
    """One pass over the whole page before extraction.

    Images get their real source (lazy attributes, srcset, the <noscript>
    fallback) while those still exist; then scripts, styles and <noscript>
    go, and <font> becomes <span>.
    """
    for el in list(root.iter(*VOID_CONTAINERS)):
        _unnest(el)
    drop: list[HtmlElement] = []
    for el in root.iter("img", "font"):
        if el.tag == "font":
            el.tag = "span"
            continue
        src = best_image_src(el, base_url)
        if src is None or _is_tracker(src):
            drop.append(el)
        else:
            el.set("src", _xml_safe_url(src) or "")
    for el in drop:
        _drop(el)
    # In C, and before any Python pass over the page: these subtrees (an
    # inline SVG can hold thousands of elements) would only slow them down.
    etree.strip_elements(root, *PAGE_DROP, with_tail=False)


def drop_title_heading(content: HtmlElement, title: str) -> None:
    """Remove the first h1/h2 that repeats the article title (the page template prints it)."""
    if not title:
        return
    for h in content.iter("h1", "h2"):
        if text_similarity(title, SPACES.sub(" ", h.text_content())) > 0.75:
            _drop(h)
        return


def _junk_by_name(el: HtmlElement) -> bool:
    cls, ident = el.get("class"), el.get("id")
    if not cls and not ident:
        return False
    return _junk_names(f"{cls or ''} {ident or ''}")


@functools.lru_cache(maxsize=8192)
def _junk_names(names: str) -> bool:
    if not JUNK_HINT.search(names.lower()):
        return False
    for name in names.split():
        words = CLASS_WORDS.findall(name)
        # "sharing-with-a-single-developer" is a heading's slug, not a widget's name.
        if sum(1 for w in words if not w.isdigit()) > 4:
            continue
        if any(w.lower() in JUNK_WORDS for w in words):
            return True
    return False


def _is_small_widget(el: HtmlElement, total: int) -> bool:
    """Whether a junk-named element is small beside the content and holds no article prose."""
    if len(raw_text(el)) >= 0.35 * total:
        return False
    long_paragraphs = 0
    for p in el.iter("p"):
        if len(raw_text(p)) > 150:
            long_paragraphs += 1
            if long_paragraphs >= 2:
                return False
    return True


def remove_matching_text(content: HtmlElement, patterns: tuple[str, ...]) -> None:
    """Drop the smallest blocks whose text matches one of `patterns`."""
    if not patterns:
        return
    rxs = compile_text_patterns(tuple(patterns))
    matched = []
    for el in content.iter(*BLOCKS):
        if el is not content:
            text = SPACES.sub(" ", el.text_content()).strip()
            if any(rx.search(text) for rx in rxs):
                matched.append(el)
    hits = set(matched)
    for el in matched:
        if not any(d in hits for d in el.iterdescendants(*BLOCKS)):
            _drop(el)


def clean_content(content: HtmlElement, base_url: str | None, remove: tuple[str, ...] = (),
                  remove_text: tuple[str, ...] = ()) -> None:
    """Make the chosen content safe and plain, in place.

    Drops active and interactive elements, embeds other than known video
    players, ads and share/subscribe/related/comment widgets (by class or id,
    only when small beside the article), hidden elements, trackers, and every
    attribute the converter has no use for; resolves URLs and removes unsafe ones.
    """
    for selector in remove:
        select = compile_selector(selector)
        for el in select(content):
            if el is not content:
                _drop(el)
    remove_matching_text(content, remove_text)

    # Whole kinds of elements go in C before the Python pass over the rest.
    etree.strip_elements(content, etree.Comment, etree.ProcessingInstruction, *ALWAYS_DROP,
                         with_tail=False)
    total = len(raw_text(content))
    # Pages repeat URLs (and urljoin is slow): each is resolved once.
    resolved_urls: dict[str, str | None] = {}
    drop: list[HtmlElement] = []
    unwrap: list[HtmlElement] = []
    for el in content.iter(etree.Element):
        tag = el.tag
        if tag == "iframe" or tag == "embed":
            if not VIDEO_HOSTS.search(el.get("src") or el.get("data-src") or ""):
                drop.append(el)
                continue
            if not el.get("src"):
                el.set("src", _xml_safe_url(el.get("data-src")) or "")
        if tag == "form" and el is not content:
            # Some sites wrap the whole page in one <form>: keep what it holds when that is the article.
            (unwrap if len(raw_text(el)) > total / 2 else drop).append(el)
        # One call for the names is cheaper than a lookup per name looked at.
        keys = el.keys()
        if not keys:
            continue
        if el is not content:
            if ("hidden" in keys or "aria-hidden" in keys or "style" in keys) and is_hidden(el):
                drop.append(el)
                continue
            if tag not in PROSE_INLINE and ("class" in keys or "id" in keys) and _junk_by_name(el) \
                    and _is_small_widget(el, total):
                drop.append(el)
                continue
        if tag == "img":
            src = el.get("src")
            if not src or _is_tracker(src):
                drop.append(el)
                continue
        items = el.items()
        kept = []
        for name, value in items:
            if name in KEEP_ATTRS:
                if name in URL_ATTRS:
                    resolved = resolved_urls.get(value, "")
                    if resolved == "":
                        resolved = resolved_urls[value] = _xml_safe_url(resolve_url(value, base_url))
                    if resolved is None:
                        continue
                    value = resolved
                elif _NOT_XML.search(value):
                    value = _NOT_XML.sub("", value)  # lxml refuses to set them back (F11)
                kept.append((name, value))
            elif name == "class":
                # Only a "language-" or "lang-" class is kept: most values hold neither.
                classes = [c for c in value.split() if CODE_CLASS.match(c)] if "lang" in value else None
                if classes:
                    kept.append((name, " ".join(classes)))
        if kept != items:
            # Rebuilt rather than edited: lxml refuses to delete some names a
            # page can carry (e.g. "{x}y", read as a namespace).
            attrib = el.attrib
            attrib.clear()
            for name, value in kept:
                attrib[name] = value
    for el in drop:
        _drop(el)
    for el in unwrap:
        if el.getparent() is not None:
            el.drop_tag()


__all__ = [
    "clean_content",
    "compile_selector",
    "compile_text_patterns",
    "drop_title_heading",
    "is_hidden",
    "prepare_page",
    "remove_matching_text",
]
