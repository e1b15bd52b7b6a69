"""Property-based fuzzing of the converter, the extractor and the page renderer over generated HTML and bytes.

Properties: no exception, bounded time per example, and nothing active in the output once rendered
with raw HTML allowed. The default profile stays around 30 s and is derandomised, so CI is stable;
`FUZZ_EXAMPLES=5000 python -m pytest tests/test_fuzz.py` runs a long, randomised campaign.
"""

from __future__ import annotations

import os
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.active import markdown_problems

from mirror import extract_article, html_to_markdown
from mirror.render import Renderer
from mirror.rewrite import rewrite_links

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "0"))
# Inputs holding these are skipped, to look past bugs already filed (FUZZ_AVOID="<dl,{" sets the list).
AVOID = [a.lower() for a in os.environ.get("FUZZ_AVOID", "").split(",") if a]
FUZZ = settings(
    max_examples=EXAMPLES or 200,
    deadline=5000,  # ms per example, a backstop: `timed` holds each call to BOUND
    derandomize=not EXAMPLES,
    database=None if not EXAMPLES else settings.default.database,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    print_blob=True,
)
BOUND = 2.0  # seconds per call

TAGS = [
    "div", "p", "span", "a", "img", "table", "tr", "td", "th", "thead", "tbody", "caption", "ul", "ol",
    "li", "pre", "code", "b", "i", "em", "strong", "h1", "h2", "h3", "h6", "blockquote", "br", "hr",
    "sup", "sub", "u", "s", "del", "kbd", "mark", "dl", "dt", "dd", "details", "summary", "figure",
    "figcaption", "picture", "source", "video", "audio", "article", "section", "nav", "aside", "header",
    "footer", "main", "wbr", "q", "cite", "abbr", "time", "address", "center", "font",
    # active or odd ones, which must never come out
    "script", "style", "iframe", "object", "embed", "param", "form", "input", "button", "textarea",
    "select", "option", "svg", "math", "noscript", "template", "xmp", "plaintext", "base", "meta",
    "link", "title", "frameset", "frame", "applet", "isindex", "listing", "noembed", "image",
]
ATTRS = [
    "href", "src", "srcset", "data-src", "data-original", "alt", "title", "class", "id", "style",
    "onclick", "onload", "onerror", "onmouseover", "ONFOCUS", "colspan", "rowspan", "align", "action",
    "formaction", "xlink:href", "poster", "background", "lang", "dir", "width", "open", "start",
    "value", "type", "content", "http-equiv", "rel", "name", "datetime", "srcdoc", "{cript", "{x}y",
    "a{b", "}",
]
URLS = [
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", "jav&#x09;ascript:alert(1)", "jav&#x0A;ascript:x",
    "&#106;avascript:alert(1)", "&#x6A;avascript:x", "javascript&colon;alert(1)", "java&Tab;script:x",
    " \x01javascript:alert(1)", "\tjavascript:x", "java\nscript:x", "java\x00script:x",
    "vbscript:msgbox(1)", "VBSCRIPT:x", "data:text/html,<script>alert(1)</script>",
    "data:image/png;base64,iVBORw0KGgo=", "DATA:image/svg+xml,<svg onload=alert(1)>", "livescript:x",
    "%6a%61vascript:x", "https://ok.example/a?b=1&c=2#f", "http://ok.example/(x)", "/rel/path.html",
    "../up.png", "#frag", "mailto:a@b.example", "tel:+1", "//proto.example/x", "http://[bad", "",
    " ", "https://ok.example/\" onmouseover=\"alert(1)", "https://ok.example/)](javascript:alert(1))",
    "https://ok.example/<script>", "file:///etc/passwd", "about:blank", "blob:https://x/1",
    "x.png 1x, javascript:alert(1) 2x", "https://ok.example/中文 路径.png", "a&#x04;b.html",
    "/p&#x1f;q", "&#xFFFE;", "https://ok.example/&#0;x",
]
SNIPPETS = [
    "*", "**", "_", "`", "```", "~~~", "[", "]", "(", ")", "](", "<", ">", "&", "#", "# ", "|", "\\",
    "!", "~", "-", "- ", "+ ", "1. ", "=", "    ", "\n", "\n\n", "\t", " ", "\r", "&lt;script&gt;",
    "&lt;img src=x onerror=alert(1)&gt;", "&amp;", "&#0;", "&#xD800;", "&#x110000;", "&nbsp;",
    "&bogus;", "&colon;", "&", "中文", "新闻", "テスト", "한국어", "\u200b", "\u202e", "\u00a0", "\x00",
    "\x0b", "\x0c", "\x1f", "\x7f", "\x85", "\ufffd", "\ud800", "<!--", "-->", "<![CDATA[", "]]>",
    "</script>", "</textarea>", "</xmp>", "javascript:alert(1)", "[x](javascript:alert(1))",
    "<javascript:alert(1)>", "![i](data:image/png,x)", "word", "Lorem ipsum dolor sit amet.",
]

texts = st.lists(
    st.one_of(st.sampled_from(SNIPPETS), st.text(max_size=8)), max_size=8
).map("".join)
attr_values = st.one_of(st.sampled_from(URLS), texts, st.sampled_from(["1", "2", "0", "-1", "99999", "open"]))


@st.composite
def attributes(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(ATTRS))
    value = draw(attr_values)
    quoting = draw(st.sampled_from(["double", "single", "bare", "raw", "none"]))
    if quoting == "double":
        return f' {name}="{value.replace("&", "&amp;").replace(chr(34), "&quot;")}"'
    if quoting == "single":
        return f" {name}='{value}'"
    if quoting == "bare":
        return f" {name}={value.replace(' ', '')}"
    if quoting == "raw":  # hostile: quotes and all, as written
        return f' {name}="{value}"'
    return f" {name}"


def elements(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    @st.composite
    def element(draw: st.DrawFn) -> str:
        tag = draw(st.sampled_from(TAGS))
        if draw(st.integers(0, 9)) == 0:
            tag = tag.upper()
        attrs = "".join(draw(st.lists(attributes(), max_size=3)))
        inner = "".join(draw(st.lists(children, max_size=4)))
        close = draw(st.integers(0, 5))  # mostly closed; sometimes left open or self-closed
        if close == 0:
            return f"<{tag}{attrs}>{inner}"
        if close == 1:
            return f"<{tag}{attrs}/>{inner}"
        return f"<{tag}{attrs}>{inner}</{tag}>"

    return element()


def _fresh(html: str) -> bool:
    return not any(a in html.lower() for a in AVOID)


html_fragments = st.recursive(texts, elements, max_leaves=25).filter(_fresh)


@st.composite
def pages(draw: st.DrawFn) -> str:
    head = "".join(draw(st.lists(html_fragments, max_size=2)))
    title = draw(texts)
    body = "".join(draw(st.lists(html_fragments, min_size=1, max_size=4)))
    prose = draw(st.booleans())
    filler = ("<p>" + "Plain words of an ordinary article paragraph, long enough to be content. " * 3
              + "</p>") if prose else ""
    return (f"<html><head><title>{title}</title>{head}</head><body><article>"
            f"{filler}{body}{filler}</article></body></html>")


def timed(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    """`fn(...)`, held to BOUND seconds; a slow call is timed again, since a busy machine (or a
    first call's lazy imports) is slow once, while a pathological input is slow every time."""
    for _ in (1, 2):
        started = time.perf_counter()
        out = fn(*args, **kwargs)
        elapsed = time.perf_counter() - started
        if elapsed < BOUND:
            return out
    raise AssertionError(f"{fn.__name__} took {elapsed:.2f} s, twice")


RENDERER = Renderer(language="en", page_url="https://github.com/o/r/blob/main/{path}",
                    nav=[("Home", "/README.md"), ("{channel_name}", "/indexes/{channel}.md")])


@FUZZ
@given(html=html_fragments, base=st.sampled_from([None, "https://site.example/news/a.html"]))
def test_converter_on_generated_html(html: str, base: str | None) -> None:
    markdown = timed(html_to_markdown, html, base)
    assert isinstance(markdown, str)
    assert markdown_problems(markdown) == [], (html, markdown)


@settings(FUZZ, max_examples=EXAMPLES or 100)
@given(data=st.binary(max_size=2000))
def test_converter_and_extractor_on_random_bytes(data: bytes) -> None:
    markdown = timed(html_to_markdown, data)
    assert markdown_problems(markdown) == []
    article = timed(extract_article, data, url="https://site.example/a.html")
    assert markdown_problems(article.markdown) == []


@settings(FUZZ, max_examples=EXAMPLES or 80)  # a whole page per example: the costly one
@given(html=pages(), policy=st.sampled_from(["keep", "mirror", "text", None]))
def test_extractor_and_page_on_generated_pages(html: str, policy: str | None) -> None:
    def rewrite(root) -> None:  # type: ignore[no-untyped-def]
        rewrite_links(root, policy, lambda url: "../2026-10/other.md", "", "https://site.example/news/a.html")

    article = timed(extract_article, html, url="https://site.example/news/a.html",
                    rewrite=rewrite if policy else None)
    assert markdown_problems(article.markdown) == [], (html, article.markdown)
    # The whole page: the title, author and original URL come from the same hostile document.
    page = RENDERER.page(
        path="pages/news/2026-11/a.md", title=article.title, body=article.markdown, channel="news",
        channel_name="News", original_url=article.canonical_url or "https://site.example/news/a.html",
        page_url="https://github.com/o/r/blob/main/pages/news/2026-11/a.md", short_url="",
        qr_src="a.md.png", published="", author=article.author or "",
    )
    assert markdown_problems(page) == [], (html, page)
    assert page.startswith("### ") and page.split("\n", 1)[1].startswith("-----")


@settings(FUZZ, max_examples=EXAMPLES or 100)
@given(title=texts, channel_name=texts, author=texts)
def test_renderer_keeps_hostile_strings_as_text(title: str, channel_name: str, author: str) -> None:
    page = RENDERER.page(
        path="pages/news/2026-11/a.md", title=title, body="Body.", channel="news", channel_name=channel_name,
        original_url="https://site.example/a.html", page_url="https://github.com/o/r/blob/main/pages/a.md",
        short_url="", qr_src="a.md.png", author=author, published="2026-11-01",
    )
    index = RENDERER.index(path="indexes/news.md", channel="news", channel_name=channel_name,
                           entries=[("2026-11-01", title, "pages/news/2026-11/a.md")], number=1, total=1)
    for text in (page, index):
        assert markdown_problems(text) == [], text
    # The heading is one line: a title cannot open another block.
    assert page.split("\n")[1].startswith("-----")
