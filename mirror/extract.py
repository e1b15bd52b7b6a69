"""Article extraction: a page's HTML in, an Article (metadata and Markdown body) out."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

import lxml.html
from lxml import etree
from lxml.html import HtmlElement

from mirror.clean import (
    clean_content,
    compile_selector,
    compile_text_patterns,
    drop_title_heading,
    prepare_page,
)
from mirror.converter import html_to_markdown
from mirror.encoding import decode_html
from mirror.metadata import Metadata, clean_text, parse_date, read_metadata, strip_site_name
from mirror.model import Article, ExtractRules
from mirror.readable import grab_article, raw_text, replace_brs

_local = threading.local()


def _parser() -> etree.HTMLParser:
    # An lxml parser must not serve two threads at once; making one costs
    # about as much as parsing a page, so each thread keeps its own.
    parser = getattr(_local, "parser", None)
    if parser is None:
        # huge_tree: without it libxml2 stops at nesting depth 256 and loses the rest of the page.
        parser = etree.HTMLParser(
            remove_comments=True, remove_pis=True, collect_ids=False, huge_tree=True,
            encoding="utf-8",
        )
        # Every element an HtmlElement, chosen in C: lxml.html's per-tag lookup
        # runs Python code for each element proxy, which dominated extraction time.
        parser.set_element_class_lookup(
            etree.ElementDefaultClassLookup(
                element=lxml.html.HtmlElement,
                comment=lxml.html.HtmlComment,
                pi=lxml.html.HtmlProcessingInstruction,
                entity=lxml.html.HtmlEntity,
            )
        )
        _local.parser = parser
    return parser


# C0 controls but tab, LF and CR: no page means them. In UTF-8 these bytes
# never occur inside a multi-byte character, so deleting them is safe (and a
# bytes.translate is ten times faster than a regex over the text).
_CONTROL_BYTES = bytes(c for c in range(32) if c not in (9, 10, 13))

__all__ = ["compile_selector", "extract_article", "extract_markdown", "parse_html"]


# A character reference to what an XML tree cannot hold (C0 controls but tab/LF/CR, U+FFFE/F,
# surrogates): the parser decodes it into the tree, and lxml then refuses to set that text
# again when cleaning joins it with its neighbours. Attributes are cleaned where they are kept.
_FORBIDDEN_REF = re.compile(
    # Hexadecimal: 0-8, b, c, e-1f, d800-dfff, fffe, ffff.
    r"&#(?:[xX]0*(?:[0-8bBcCeEfF]|1[0-9a-fA-F]|[dD][89a-fA-F][0-9a-fA-F]{2}|[fF]{3}[eEfF])"
    r"(?![0-9a-fA-F])"
    # Decimal: 0-8, 11, 12, 14-31, 55296-57343, 65534, 65535.
    r"|0*(?:[0-8]|1[124-9]|2[0-9]|3[01]|5529[6-9]|55[3-9][0-9]{2}|56[0-9]{3}|57[0-2][0-9]{2}"
    r"|573[0-3][0-9]|5734[0-3]|6553[45])(?![0-9]))"
)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _scrub_text(root: HtmlElement) -> None:
    for el in root.iter():
        if el.text and _NOT_XML.search(el.text):
            el.text = _NOT_XML.sub("", el.text)
        if el.tail and _NOT_XML.search(el.tail):
            el.tail = _NOT_XML.sub("", el.tail)


def _only_links(content: HtmlElement) -> bool:
    """Whether the content is nothing but links (a menu): no image, hardly any text outside links."""
    if next(content.iter("img"), None) is not None:
        return False
    # Characters, not words: Chinese and Japanese text has no spaces between words.
    text = len("".join(raw_text(content).split()))
    linked = sum(len("".join(raw_text(a).split())) for a in content.iter("a") if a.get("href"))
    return linked > 0 and text - linked < 20


def parse_html(html: str) -> HtmlElement | None:
    """The page as an lxml tree, or None when there is nothing to parse. Never raises."""
    if not html:
        return None
    # The parser reads UTF-8 whatever an <?xml encoding=...?> or <meta> says:
    # the text is decoded already. Lone surrogates become "?".
    data = html.encode("utf-8", "replace").translate(None, _CONTROL_BYTES)
    try:
        root = etree.fromstring(data, _parser())
    except Exception:  # libxml2 can fail in odd ways on hostile input
        return None
    if not isinstance(root, HtmlElement):
        return None
    # One search for the forbidden numbers: pages hold many harmless references.
    if "&#" in html and _FORBIDDEN_REF.search(html):
        _scrub_text(root)
    return root


def _select_first(root: HtmlElement, selector: str | None) -> list[HtmlElement]:
    if not selector:
        return []
    return compile_selector(selector)(root)


def _rule_text(root: HtmlElement, selector: str | None) -> str | None:
    for el in _select_first(root, selector):
        text = clean_text(el.get("content") or el.get("datetime") or el.text_content())
        if text:
            return text
    return None


def _apply_rules(meta: Metadata, root: HtmlElement, rules: ExtractRules) -> None:
    title = _rule_text(root, rules.title)
    if title:
        meta.title = strip_site_name(title, meta.site_name, meta.page_title) \
            if rules.strip_title_suffix else title
    if rules.date:
        for el in _select_first(root, rules.date):
            dt = parse_date(el.get("datetime") or el.get("content") or clean_text(el.text_content()))
            if dt is not None:
                meta.published = dt
                break
    author = _rule_text(root, rules.author)
    if author:
        meta.author = author


def _content_by_rule(root: HtmlElement, selector: str) -> HtmlElement | None:
    found = compile_selector(selector)(root)
    # Outermost matches only, in document order; several become one body.
    chosen: list[HtmlElement] = []
    seen: set[HtmlElement] = set()
    for el in found:
        if el in seen or (el.getparent() is None and el is not root):
            continue
        if any(a in seen for a in el.iterancestors()):
            continue
        seen.add(el)
        chosen.append(el)
    if not chosen:
        return None
    if len(chosen) == 1:
        return chosen[0]
    wrapper = root.makeelement("div", {})
    for el in chosen:
        el.tail = None
        wrapper.append(el)
    return wrapper


def _collect_urls(content: HtmlElement) -> tuple[list[str], list[str]]:
    links: dict[str, None] = {}
    images: dict[str, None] = {}
    for el in content.iter("a", "img"):
        if el.tag == "a":
            href = el.get("href")
            if href and not href.startswith("#"):
                links[href] = None
        else:
            src = el.get("src")
            if src:
                images[src] = None
    return list(links), list(images)


def extract_article(
    html: str | bytes,
    url: str | None = None,
    rules: ExtractRules | None = None,
    rewrite: Callable[[HtmlElement], None] | None = None,
) -> Article:
    """Extract the article of a page: metadata, and its body cleaned and converted to Markdown.

    `rules` may name the content, title, date and author by selector and
    add elements or text to remove; without them the content is found
    automatically. `rewrite` is called with the cleaned content element,
    whose URLs are absolute by then, before conversion. Never raises on bad
    input: a page with nothing to extract gives an Article with empty Markdown.
    An invalid selector in `rules` raises ValueError.
    """
    rules = rules or ExtractRules()
    # A bad selector is the caller's error and is raised; anything the page
    # does past this point must not be.
    for selector in (rules.title, rules.content, rules.date, rules.author, *rules.remove):
        if selector:
            compile_selector(selector)
    compile_text_patterns(tuple(rules.remove_text))
    if isinstance(html, bytes | bytearray):
        html, _ = decode_html(bytes(html))
    if not isinstance(html, str):
        html = ""
    root = parse_html(html)
    if root is None:
        return Article(title="", markdown="", url=url)
    try:
        meta = read_metadata(root, url, strip_suffix=rules.strip_title_suffix)
        if rules.title or rules.date or rules.author:
            _apply_rules(meta, root, rules)
    except Exception:  # a metadata bug must not cost the article
        meta = Metadata(base_url=url)
    base_url = meta.base_url
    prepare_page(root, base_url)

    content: HtmlElement | None = None
    byline = None
    if rules.content:
        content = _content_by_rule(root, rules.content)
        if content is not None:
            replace_brs(content)
            drop_title_heading(content, meta.title)
    if content is None:
        # No rule, or the site changed its layout and the rule finds nothing:
        # the automatic search still gets the article.
        body = root.find("body")
        if body is None:
            body = root
        replace_brs(body)

        def reparse() -> HtmlElement | None:
            again = parse_html(html)
            if again is None:
                return None
            prepare_page(again, base_url)
            again_body = again.find("body")
            if again_body is None:
                again_body = again
            replace_brs(again_body)
            return again_body

        content, byline = grab_article(body, meta.title, reparse)
        if content is not None:
            # The search drops the first heading like the title anywhere in the
            # page; the one opening the article may be a later one.
            drop_title_heading(content, meta.title)
    if not meta.author and byline:
        meta.author = byline

    markdown = ""
    links: list[str] = []
    images: list[str] = []
    if content is not None:
        clean_content(content, base_url, rules.remove, rules.remove_text)
        if _only_links(content):
            content = None  # an error page, a paywall stub or an app shell: its menu is no article
    if content is not None:
        if rewrite is not None:
            rewrite(content)
        links, images = _collect_urls(content)
        # After `rewrite`, links may be relative to the mirrored page on purpose: resolving them
        # against the source URL again would undo that. Cleaning has made the rest absolute.
        markdown = html_to_markdown(content, None if rewrite is not None else base_url)
    return Article(
        title=meta.title,
        markdown=markdown,
        url=url,
        published=meta.published,
        author=meta.author,
        canonical_url=meta.canonical_url,
        short_url=meta.short_url,
        site_name=meta.site_name,
        description=meta.description,
        lang=meta.lang,
        images=images,
        links=links,
    )


def extract_markdown(html: str | bytes, url: str | None = None) -> str:
    """The Markdown body of a page's article, found automatically."""
    return extract_article(html, url or None).markdown
