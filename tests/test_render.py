"""Pages, indexes and README render to Markdown whose links and text come out as meant."""

import lxml.html
import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from mirror.render import Renderer, md_link, md_text, resolve_href

MD = MarkdownIt("commonmark").enable("table").enable("strikethrough")


def rendered(md: str) -> lxml.html.HtmlElement:
    return lxml.html.fragment_fromstring(MD.render(md) or "<p></p>", create_parent="div")


@pytest.mark.parametrize("title", [
    "Plain title", "a](javascript:alert(1))", "<!-- x -->", "`code` and ``more``", "*not* _emphasis_",
    "# not a heading", "1. not a list", "| not | a table |", "&amp; stays &lt;text&gt;", "line\nbreak",
    "[x][y] ![img](z)", "back\\slash", "~~no strike~~", "<script>alert(1)</script>",
])
def test_md_text_renders_as_the_same_text(title):
    root = rendered("### " + md_text(title))
    assert root.text_content().strip() == " ".join(title.split())
    assert root.find(".//a") is None and root.find(".//script") is None and root.find(".//code") is None


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=60))
def test_md_text_any_text_stays_text(text):
    root = rendered("- x " + md_text(text))
    assert root.text_content().strip() == ("x " + " ".join(text.split())).strip()
    assert [el.tag for el in root.iter()] == ["div", "ul", "li"]


def test_md_link_keeps_hostile_destination_inert():
    root = rendered(md_link("t", "../a b/(c).md"))
    a = root.find(".//a")
    assert a.get("href") == "../a%20b/%28c%29.md"


@pytest.mark.parametrize("href,expected", [
    ("/README.md", "../../../README.md"),
    ("/indexes/news.md", "../../../indexes/news.md"),
    ("/indexes/news.md?n1#top", "../../../indexes/news.md?n1#top"),
    ("https://github.com/o/r/blob/main/indexes/tech.md", "../../../indexes/tech.md"),
    ("https://github.com/o/other/blob/main/README.md", "https://github.com/o/other/blob/main/README.md"),
    ("https://example.org/x", "https://example.org/x"),
    ("https://github.com/o/r/blob/main/indexes/%E7%A7%91%20x.md", "../../../indexes/科%20x.md"),
])
def test_nav_hrefs_relative_to_page(href, expected):
    assert resolve_href(href, "pages/news/2026-11", "https://github.com/o/r/blob/main/{path}") == expected


def test_page_has_legacy_shape_and_resolving_links():
    r = Renderer(language="zh-CN", page_url="https://github.com/o/r/blob/main/{path}",
                 nav=[("首页", "/README.md"), ("{channel_name}", "/indexes/{channel}.md")])
    text = r.page(path="pages/news/2026-11/abc.md", title="A *title*", body="Body **bold**.\n",
                  channel="news", channel_name="新闻", original_url="https://src.example/a.html",
                  page_url=r.url_of("pages/news/2026-11/abc.md"), short_url="https://s.example/x",
                  qr_src="abc.md.png", published="2026-11-20", author="Ann")
    assert text.startswith("### A \\*title\\*\n------------------------\n")
    assert text.endswith("\n") and not text.endswith("\n\n")
    root = rendered(text)
    hrefs = [a.get("href") for a in root.iter("a")]
    assert hrefs.count("../../../README.md") == 2 and hrefs.count("../../../indexes/news.md") == 2
    assert "https://github.com/o/r/blob/main/pages/news/2026-11/abc.md" in hrefs
    assert "https://src.example/a.html" in hrefs
    img = root.find(".//a/img")
    assert img.get("src") == "abc.md.png" and img.getparent().get("href") == "https://s.example/x"
    assert root.find(".//strong").text == "bold"
    assert "原文地址" in root.text_content()


def test_page_is_deterministic():
    r = Renderer(language="en")
    kw = dict(path="pages/a/2026-01/x.md", title="T", body="b", channel="a", channel_name="A",
              original_url="", page_url="", short_url="", qr_src="x.md.png")
    assert r.page(**kw) == r.page(**kw)


def test_index_links_and_pagination():
    r = Renderer(language="en", nav=[("Home", "/README.md")])
    text = r.index(path="indexes/news-2.md", channel="news", channel_name="News",
                   entries=[("2026-11-01", "First [one]", "pages/news/2026-11/first.md")],
                   number=2, total=3, newer="indexes/news.md", older="indexes/news-3.md")
    root = rendered(text)
    links = {a.text_content(): a.get("href") for a in root.iter("a")}
    assert links["First [one]"] == "../pages/news/2026-11/first.md"
    assert links["Home"] == "../README.md"
    assert links["Newer articles"] == "news.md" and links["Older articles"] == "news-3.md"


def test_user_template_overrides_builtin(tmp_path):
    (tmp_path / "page.md.j2").write_text("# {{ title }}\n\n{{ body }}\n", encoding="utf-8")
    r = Renderer(language="en", templates=tmp_path)
    text = r.page(path="pages/a/2026-01/x.md", title="T", body="b", channel="a", channel_name="A",
                  original_url="", page_url="", short_url="", qr_src="x.md.png")
    assert text == "# T\n\nb\n"
