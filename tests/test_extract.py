"""Article extraction: the article text and nothing else, metadata, rules, URLs and the rewrite hook."""

from __future__ import annotations

from datetime import UTC, datetime

import lxml.html
import pytest
from markdown_it import MarkdownIt

from mirror.extract import compile_selector, extract_article, extract_markdown
from mirror.model import ExtractRules

PARAS = [
    "The river authority said on Tuesday that the new flood barrier, built over four years, "
    "had passed its first winter without a single failure, despite record rainfall.",
    "Engineers credited the design of the sluice gates, which open automatically when the "
    "water level upstream rises faster than twenty centimetres an hour, with the result.",
    "Residents of the lower town, who were evacuated twice in the decade before the barrier "
    "was built, said they finally felt safe enough to renovate their ground floors.",
    "The authority will publish a full report on the barrier's performance in the spring, "
    "including the maintenance costs, which critics had said would be far too high.",
]

PAGE = f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<title>Flood barrier passes its first winter | Valley Gazette</title>
<meta property="og:site_name" content="Valley Gazette">
<meta property="og:title" content="Flood barrier passes its first winter | Valley Gazette">
<meta property="og:description" content="The new barrier held.">
<meta property="article:published_time" content="2024-03-05T08:30:00+01:00">
<meta name="author" content="Ada Brook">
<link rel="canonical" href="/news/flood-barrier">
<link rel="shortlink" href="https://vg.example/s/42">
<script>window.tracker = function () {{ document.write('<p>TRACKED</p>'); }};</script>
<style>.x {{ color: red }}</style>
</head>
<body class="has-ads">
<header class="site-header"><nav class="menu"><a href="/">Home</a> <a href="/news">News</a>
  <a href="/sport">Sport</a></nav></header>
<div class="page">
<main>
<article class="post-with-share">
  <h1>Flood barrier passes its first winter</h1>
  <div class="byline">By Ada Brook</div>
  <div class="share-buttons"><a href="https://social.example/share?u=1">Share on Social</a>
    <button onclick="share()">Copy link</button></div>
  <p>{PARAS[0]} <span style="display:none">HIDDEN SPAN TEXT</span></p>
  <figure><img src="/img/barrier.jpg" alt="The barrier" onerror="alert(1)">
    <figcaption>The barrier at dawn.</figcaption></figure>
  <p>{PARAS[1]} See <a href="reports/2023.html" onclick="steal()">last year's report</a>.</p>
  <div class="ad-slot" id="div-gpt-ad-123"><ins class="adsbygoogle">ADVERT TEXT</ins></div>
  <p>{PARAS[2]} <a href="javascript:alert(1)">CLICK</a> <a href="JaVa&#x09;ScRiPt:alert(2)">ME</a></p>
  <aside class="newsletter-signup"><p>SUBSCRIBE to our newsletter for daily updates!</p>
    <form action="/subscribe"><input name="email"><button>Sign up</button></form></aside>
  <p>{PARAS[3]}</p>
  <img src="https://pixel.example/track.gif" width="1" height="1" alt="">
  <p hidden>HIDDEN PARAGRAPH</p>
  <div aria-hidden="true">ARIA HIDDEN</div>
  <script>document.write("INLINE SCRIPT")</script>
  <iframe src="https://ads.example/frame.html">IFRAME ADS</iframe>
</article>
<section class="related-links"><h2>Related stories</h2><ul>
  <li><a href="/a">RELATED ONE headline here</a></li><li><a href="/b">RELATED TWO headline</a></li></ul></section>
<div id="comments" class="comments"><h3>Comments</h3>
  <p>COMMENT: great article, really enjoyed it, thanks for writing.</p></div>
</main>
<aside class="sidebar"><h3>Most read</h3><ul><li><a href="/x">SIDEBAR LINK one</a></li></ul></aside>
</div>
<footer class="site-footer"><p>FOOTER copyright Valley Gazette</p></footer>
</body></html>"""

JUNK = [
    "Home", "Sport", "Share on Social", "Copy link", "HIDDEN SPAN TEXT", "ADVERT TEXT",
    "SUBSCRIBE", "Sign up", "HIDDEN PARAGRAPH", "ARIA HIDDEN", "INLINE SCRIPT", "IFRAME ADS",
    "RELATED ONE", "COMMENT:", "SIDEBAR LINK", "FOOTER copyright", "TRACKED", "color: red",
]

MD = MarkdownIt("commonmark").enable("table")


def rendered(markdown: str) -> str:
    return MD.render(markdown)


def test_article_text_kept_and_junk_removed():
    article = extract_article(PAGE, "https://gazette.example/news/2024/flood.html")
    text = article.markdown
    for para in PARAS:
        for sentence_start in (para[:60], para[-50:]):
            assert sentence_start in " ".join(text.split()), sentence_start
    for junk in JUNK:
        assert junk not in text, junk
    assert "The barrier at dawn." in text
    html = rendered(text).lower()
    for bad in ("<script", "onerror", "onclick", "javascript:", "<iframe", "<form", "<button"):
        assert bad not in html, bad
    # The title is printed by the page template, not repeated in the body.
    assert "Flood barrier passes its first winter" not in text


def test_metadata_from_the_page():
    article = extract_article(PAGE, "https://gazette.example/news/2024/flood.html")
    assert article.title == "Flood barrier passes its first winter"
    assert article.site_name == "Valley Gazette"
    assert article.published == datetime(2024, 3, 5, 7, 30, tzinfo=UTC)
    assert article.published.tzinfo is not None
    assert article.author == "Ada Brook"
    assert article.canonical_url == "https://gazette.example/news/flood-barrier"
    assert article.short_url == "https://vg.example/s/42"
    assert article.description == "The new barrier held."
    assert article.lang == "en-GB"
    assert article.url == "https://gazette.example/news/2024/flood.html"


def test_urls_resolved_and_listed_in_order():
    article = extract_article(PAGE, "https://gazette.example/news/2024/flood.html")
    assert article.images == ["https://gazette.example/img/barrier.jpg"]
    assert article.links == ["https://gazette.example/news/2024/reports/2023.html"]
    assert "](https://gazette.example/news/2024/reports/2023.html)" in article.markdown
    assert "(https://gazette.example/img/barrier.jpg" in article.markdown


def test_base_element_sets_the_base_url():
    page = PAGE.replace("<head>", '<head><base href="https://cdn.example/base/">')
    article = extract_article(page, "https://gazette.example/news/2024/flood.html")
    assert article.images == ["https://cdn.example/img/barrier.jpg"]
    assert article.links == ["https://cdn.example/base/reports/2023.html"]


def test_rewrite_hook_sees_absolute_urls_and_its_changes_are_kept():
    seen: list[str] = []

    def rewrite(content: lxml.html.HtmlElement) -> None:
        for a in content.iter("a"):
            if a.get("href") is None:  # a link whose unsafe URL was removed
                continue
            seen.append(a.get("href"))
            a.set("href", "https://mirror.example/" + a.get("href").rsplit("/", 1)[-1])
        for img in content.iter("img"):
            seen.append(img.get("src"))
            img.set("src", "../assets/ab/abc.jpg")

    article = extract_article(PAGE, "https://gazette.example/news/2024/flood.html", rewrite=rewrite)
    assert seen == [
        "https://gazette.example/news/2024/reports/2023.html",
        "https://gazette.example/img/barrier.jpg",
    ]
    assert article.links == ["https://mirror.example/2023.html"]
    assert article.images == ["../assets/ab/abc.jpg"]
    assert "](https://mirror.example/2023.html)" in article.markdown
    assert "../assets/ab/abc.jpg" in article.markdown
    assert "gazette.example/img" not in article.markdown


def test_content_selector_css_and_xpath():
    for selector in ("article.post-with-share", "//article", "(//main/article)[1]"):
        article = extract_article(
            PAGE, "https://gazette.example/n", rules=ExtractRules(content=selector)
        )
        text = " ".join(article.markdown.split())
        assert PARAS[0][:60] in text and PARAS[3][:60] in text
        assert "RELATED ONE" not in text and "SIDEBAR LINK" not in text
        for junk in ("ADVERT TEXT", "HIDDEN SPAN TEXT", "INLINE SCRIPT", "SUBSCRIBE", "Copy link"):
            assert junk not in text, (selector, junk)


def test_rules_remove_and_remove_text():
    rules = ExtractRules(
        content="article",
        remove=("figure", "//p[contains(., 'Residents')]"),
        remove_text=(r"^The authority will publish",),
    )
    article = extract_article(PAGE, "https://gazette.example/n", rules=rules)
    text = " ".join(article.markdown.split())
    assert "The barrier at dawn" not in text
    assert "Residents of the lower town" not in text
    assert "full report" not in text
    assert PARAS[0][:60] in text and PARAS[1][:60] in text


def test_remove_text_drops_only_the_smallest_matching_block():
    page = (
        "<html><body><article><div><p>Keep this first paragraph of real text.</p>"
        "<p>Support our journalism: subscribe today for only one euro.</p>"
        "<p>Keep this last paragraph too.</p></div></article></body></html>"
    )
    rules = ExtractRules(content="article", remove_text=(r"Support our journalism",))
    text = extract_article(page, rules=rules).markdown
    assert "Keep this first" in text and "Keep this last" in text
    assert "subscribe" not in text


def test_rules_title_date_author():
    page = (
        "<html><head><title>Home</title></head><body><h2 class='t'>Real headline</h2>"
        "<span class='when'>2023-11-02 14:05</span><span class='who'>Bo Chen</span>"
        "<div id='body'><p>Some text that is long enough, with commas, to be content.</p></div>"
        "</body></html>"
    )
    rules = ExtractRules(title="h2.t", date="//span[@class='when']", author=".who", content="#body")
    article = extract_article(page, rules=rules)
    assert article.title == "Real headline"
    assert article.published == datetime(2023, 11, 2, 14, 5, tzinfo=UTC)
    assert article.author == "Bo Chen"
    assert "Some text" in article.markdown


@pytest.mark.parametrize("bad", ["div[", "//div[", "(//p", "p::nonsense-pseudo", ""])
def test_invalid_selector_raises_value_error_naming_it(bad):
    with pytest.raises(ValueError) as err:
        compile_selector(bad)
    assert repr(bad) in str(err.value)
    with pytest.raises(ValueError):
        extract_article(PAGE, rules=ExtractRules(content=bad or "div["))


def test_compile_selector_selects():
    root = lxml.html.fromstring("<div><p class='a'>1</p><p>2</p></div>")
    assert [e.text for e in compile_selector("p.a")(root)] == ["1"]
    assert [e.text for e in compile_selector("//p")(root)] == ["1", "2"]
    assert compile_selector("(count(//p))")(root) == []  # a number selects no element


def test_bytes_in_gbk_are_decoded():
    body = "".join(f"<p>{'北京今日天气晴朗，气温适宜，市民纷纷外出游玩，公园里人山人海。' * 3}</p>" for _ in range(4))
    page = (
        '<html><head><meta charset="gbk"><title>天气新闻</title></head><body><article>'
        f"<h1>天气新闻</h1>{body}</article></body></html>"
    ).encode("gbk")
    article = extract_article(page, "https://news.example/a")
    assert "北京今日天气晴朗" in article.markdown
    assert article.title == "天气新闻"


@pytest.mark.parametrize(
    "junk",
    [
        b"", b"   ", b"\x00\x01\x02\xff\xfe" * 1000, "\x00".join("abc"), "<", "<html",
        "<?xml version='1.0' encoding='utf-8'?><html><body><p>x</p></body></html>",
        "<html><body>" + "<div>" * 5000 + "deep" + "</div>" * 5000 + "</body></html>",
        "<table><tr><td><table><tr><td>" * 50, "<<<>>>&&&;;;", "\ufeff<p>bom</p>",
        bytes(range(256)) * 50,
    ],
)
def test_garbage_never_raises(junk):
    article = extract_article(junk, "https://x.example/")
    assert isinstance(article.markdown, str)
    assert "<script" not in article.markdown


def test_hopeless_input_gives_empty_markdown():
    assert extract_article(b"").markdown == ""
    assert extract_article("   ").markdown == ""
    assert extract_markdown("", "") == ""


def test_lazy_images_and_noscript_fallback_use_the_real_source():
    page = (
        "<html><body><article>"
        f"<p>{PARAS[0]}</p>"
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-src="/real/one.jpg" alt="one">'
        f"<p>{PARAS[1]}</p>"
        '<img src="/placeholder.gif" alt="two"><noscript><img src="/real/two.jpg" alt="two"></noscript>'
        f"<p>{PARAS[2]}</p></article></body></html>"
    )
    article = extract_article(page, "https://site.example/post")
    assert article.images == ["https://site.example/real/one.jpg", "https://site.example/real/two.jpg"]
    assert "noscript" not in article.markdown


def test_video_embeds_kept_other_iframes_dropped():
    page = (
        "<html><body><article>"
        f"<p>{PARAS[0]}</p>"
        '<iframe src="https://www.youtube.com/embed/abc123"></iframe>'
        f"<p>{PARAS[1]}</p>"
        '<iframe src="https://widgets.example/poll"></iframe>'
        f"<p>{PARAS[2]}</p></article></body></html>"
    )
    article = extract_article(page, "https://site.example/post", rules=ExtractRules(content="article"))
    assert "youtube.com/embed/abc123" in article.markdown
    assert "widgets.example" not in article.markdown


def test_code_language_class_survives_for_the_converter():
    page = (
        "<html><body><article>"
        f"<p>{PARAS[0]}</p>"
        '<pre><code class="language-python hljs foo">print("hi")</code></pre>'
        f"<p>{PARAS[1]}</p></article></body></html>"
    )
    seen = []
    extract_article(page, rules=ExtractRules(content="article"),
                    rewrite=lambda c: seen.extend(e.get("class") for e in c.iter("code")))
    assert seen == ["language-python"]


def test_tables_lists_and_headings_survive_extraction():
    rows = "".join(f"<tr><td>City {i}</td><td>{i * 1000}</td><td>{i}%</td></tr>" for i in range(12))
    page = (
        "<html><head><title>Population report</title></head><body><div id='wrap'><article>"
        "<h1>Population report</h1>"
        f"<p>{PARAS[0]}</p><h2>By city</h2>"
        f"<table><thead><tr><th>City</th><th>People</th><th>Growth</th></tr></thead>{rows}</table>"
        f"<p>{PARAS[1]}</p><ul><li>First point, with detail.</li><li>Second point.</li></ul>"
        f"<p>{PARAS[2]}</p></article></div></body></html>"
    )
    md = extract_article(page).markdown
    assert "| City |" in md.replace("|City|", "| City |") or "<table" in md
    assert "City 11" in md
    assert "## By city" in md
    assert "First point" in md and "Second point" in md


def test_class_heuristics_do_not_remove_the_article():
    # The article's own container carries junk-looking class names.
    page = (
        "<html><body class='ads-enabled'><div class='share-wrapper comments-open'>"
        + "".join(f"<p>{p}</p>" for p in PARAS)
        + "</div></body></html>"
    )
    for rules in (None, ExtractRules(content="div.share-wrapper")):
        md = " ".join(extract_article(page, rules=rules).markdown.split())
        for p in PARAS:
            assert p[:60] in md


def test_deeply_nested_page_keeps_the_text_after_the_nesting():
    # libxml2 gives up below depth 256 unless told otherwise; the article comes after.
    page = (
        "<html><body>" + "<font>" * 400 + "x" + "</font>" * 400
        + "<article>" + "".join(f"<p>{p}</p>" for p in PARAS) + "</article></body></html>"
    )
    md = " ".join(extract_article(page).markdown.split())
    for p in PARAS:
        assert p[:60] in md


def test_control_characters_do_not_reach_the_markdown():
    page = "<html><body><article>" + "".join(
        f"<p>{p[:40]}\x00\x01\x0b\x1f{p[40:]}</p>" for p in PARAS
    ) + "</article></body></html>"
    md = extract_article(page).markdown
    assert not any(ch in md for ch in "\x00\x01\x0b\x1f")
    assert PARAS[0][40:90] in " ".join(md.split())


def test_content_rule_that_finds_nothing_falls_back_to_automatic():
    article = extract_article(PAGE, rules=ExtractRules(content="div.layout-that-changed"))
    md = " ".join(article.markdown.split())
    assert PARAS[0][:60] in md and "SIDEBAR LINK" not in md


def _random_page(rnd, depth=0):
    tags = ["div", "p", "a", "img", "article", "main", "table", "tr", "td", "ul", "li", "br",
            "span", "h1", "script", "noscript", "form", "iframe", "svg", "picture", "source",
            "pre", "code", "font", "time", "meta", "base", "head", "body", "select", "object"]
    attrs = ['class="ad-slot"', 'style="display:none"', "hidden", 'href="javascript:x()"',
             'href="/rel"', 'src="/a.jpg"', 'data-src="x.png"', 'onclick="x()"', 'rel="author"',
             'role="navigation"', 'datetime="2020-01-01"', 'property="og:title"', 'width="1"',
             'href="http://[::1"', 'colspan="x"', 'href="jav&#x09;ascript:alert(1)"']
    texts = ["hello, world. ", "\x00", "&#0;", "&#xD800;", "中文，测试。", "<", ">", '"', " ",
             "lorem ipsum dolor sit amet, consectetur adipiscing elit. "]
    out = []
    for _ in range(rnd.randint(0, 6)):
        if rnd.random() < 0.4 and depth < 10:
            tag = rnd.choice(tags)
            attr = " ".join(rnd.sample(attrs, rnd.randint(0, 3)))
            close = f"</{tag}>" if rnd.random() < 0.8 else ""
            out.append(f"<{tag} {attr}>{_random_page(rnd, depth + 1)}{close}")
        else:
            out.append(rnd.choice(texts) * rnd.randint(1, 5))
    return "".join(out)


def test_random_markup_never_raises_nor_leaks_active_content():
    import random

    rnd = random.Random(7)
    rules = [None, ExtractRules(content="div"),
             ExtractRules(content="//p", remove=("span",), remove_text=("lorem",), title="h1", date="time")]
    for i in range(300):
        page = _random_page(rnd)
        data = page.encode("utf-8", "surrogatepass") if i % 3 == 0 else page
        article = extract_article(data, rnd.choice([None, "https://ex.example/a/b", "http://[::1"]),
                                  rules[i % 3])
        html = rendered(article.markdown).lower()
        assert "javascript:" not in html and "onclick" not in html and "<script" not in html


def test_content_rule_matching_several_elements_takes_them_in_order_once():
    page = (
        "<html><body><div class='part'><p>First part of the story.</p>"
        "<div class='part'><p>Nested part, inside the first.</p></div></div>"
        "<aside>Not this.</aside><div class='part'><p>Second part of the story.</p></div>"
        "</body></html>"
    )
    md = extract_article(page, rules=ExtractRules(content="div.part")).markdown
    assert md.count("Nested part") == 1
    assert md.index("First part") < md.index("Nested part") < md.index("Second part")
    assert "Not this" not in md


def test_threads_extract_at_once():
    from concurrent.futures import ThreadPoolExecutor

    pages = [PAGE.replace("Flood barrier", f"Flood barrier {i}") for i in range(16)]
    with ThreadPoolExecutor(4) as pool:
        articles = list(pool.map(lambda p: extract_article(p, "https://gazette.example/n"), pages))
    for i, article in enumerate(articles):
        assert article.title == f"Flood barrier {i} passes its first winter"
        assert PARAS[2][:60] in " ".join(article.markdown.split())


@pytest.mark.parametrize("void", ["<wbr>", "<embed src='https://x.example/a.swf'>",
                                  "<source src='https://x.example/a.mp4'>", "<track src='a.vtt'>"])
def test_void_elements_libxml2_nests_into_do_not_swallow_text(void):
    page = ("<html><body><article>" + "".join(f"<p>{p}</p>" for p in PARAS[:2])
            + f"<p>Before the element{void} AFTER the element.</p><p>NEXT paragraph here.</p>"
            + f"<p>{PARAS[3]}</p></article></body></html>")
    md = extract_article(page, "https://site.example/a.html").markdown
    assert "AFTER the element" in md and "NEXT paragraph" in md


@pytest.mark.parametrize("base", ["javascript:alert(1)//", "data:text/html,x", "file:///etc/", "http://[bad"])
def test_hostile_base_href_is_ignored(base):
    page = PAGE.replace("<head>", f'<head><base href="{base}">')
    article = extract_article(page, "https://gazette.example/news/2024/flood.html")
    assert article.images == ["https://gazette.example/img/barrier.jpg"]
    assert article.links == ["https://gazette.example/news/2024/reports/2023.html"]


@pytest.mark.parametrize("href", ["a&#x04;b.html", "/p&#x1f;q.html", "&#xFFFE;"])
def test_control_characters_in_urls_are_percent_encoded(href):
    page = ("<html><body><article>" + "".join(f"<p>{p}</p>" for p in PARAS)
            + f'<p>See <a href="{href}">this link</a> and <img src="{href}" alt="pic"></p>'
            + "</article></body></html>")
    article = extract_article(page, "https://site.example/news/a.html")
    assert "this link" in article.markdown
    assert not any(ord(c) < 0x20 and c != "\n" for c in article.markdown)
    assert all("%" in u for u in article.links + article.images)


@pytest.mark.parametrize("middle", ["<p {cript>odd attribute</p>", "<b {x}y=1 onclick=alert(1)>odd attribute</b>"])
def test_attribute_names_lxml_reads_as_namespaces_do_not_lose_the_article(middle):
    page = ("<html><body><article>" + "".join(f"<p>{p}</p>" for p in PARAS) + middle
            + "</article></body></html>")
    article = extract_article(page, "https://site.example/news/a.html")
    assert "odd attribute" in article.markdown and "onclick" not in article.markdown


def test_mixed_div_wraps_inline_runs_and_leaves_blocks_in_place():
    from mirror.readable import _wrap_phrasing

    div = lxml.html.fragment_fromstring(
        "<div>Lead text <b>bold</b> more<br><br> <p>A block</p> \n<ul><li>item</li></ul>"
        "between <a href='/x'>link</a> end<br> </div>"
    )
    block, items = div.find("p"), div.find("ul")
    made = _wrap_phrasing(div)
    assert [el.tag for el in div] == ["p", "p", "ul", "p"]
    # Blocks are the same elements, never moved out and back in.
    assert div[1] is block and div[2] is items
    assert made == [div[0], div[3]]
    assert lxml.html.tostring(div[0], encoding="unicode") == "<p>Lead text <b>bold</b> more</p>"
    assert lxml.html.tostring(div[3], encoding="unicode") == '<p>between <a href="/x">link</a> end</p>'
    assert block.tail == " \n"


def test_a_div_of_blocks_only_is_left_alone():
    from mirror.readable import _wrap_phrasing

    div = lxml.html.fragment_fromstring("<div>\n <p>one</p>\n <p>two</p>\n</div>")
    before = lxml.html.tostring(div)
    assert _wrap_phrasing(div) == []
    assert lxml.html.tostring(div) == before


def test_text_after_a_removed_element_is_kept():
    page = ("<html><body><article><div>" + "".join(f"<p>{p}</p>" for p in PARAS[:2])
            + "<div>Lead in <span class='sidebar-widget'>SIDEBAR WIDGET</span> TAIL after the widget"
            + " stays in the article, as it is prose.</div>"
            + "".join(f"<p>{p}</p>" for p in PARAS[2:]) + "</div></article></body></html>")
    md = " ".join(extract_article(page, "https://site.example/a.html").markdown.split())
    assert "SIDEBAR WIDGET" not in md
    assert "Lead in TAIL after the widget stays in the article" in md


def test_link_heavy_container_loses_to_the_prose_despite_more_paragraphs():
    link_paras = "".join(
        f"<p><a href='/story/{i}'>{PARAS[i % 4][:120]}</a>, <a href='/more/{i}'>more, and more</a></p>"
        for i in range(12)
    )
    page = (f"<html><body><div class='column'>{link_paras}</div>"
            "<div class='column'>" + "".join(f"<p>{p}</p>" for p in PARAS)
            + "</div></body></html>")
    md = extract_article(page, "https://site.example/a.html").markdown
    assert PARAS[0][:60] in " ".join(md.split())
    assert "/story/" not in md


def test_words_pattern_finds_exactly_the_words():
    import re

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from mirror.readable import words_pattern

    words = ["-ad-", "ad-break", "page", "pagination", "pager", "com-", "comment", "a.b", "xo"]
    pattern = re.compile(words_pattern(words))
    assert pattern.search("the-ad-slot") and pattern.search("a.b") and not pattern.search("axb")

    @settings(max_examples=300, deadline=None)
    @given(st.text(alphabet="-abcdegimnoprtx. ", max_size=20))
    def same_as_plain_search(text: str) -> None:
        assert bool(pattern.search(text)) == any(w in text for w in words)

    same_as_plain_search()


@pytest.mark.parametrize("ref", ["&#1;", "&#0011;", "&#x1F;", "&#X0B;", "&#xd800;", "&#57343;", "&#xFFFE;",
                                 "&#65535;"])
def test_references_to_characters_xml_cannot_hold_are_dropped_from_text(ref):
    page = ("<html><body><article>" + "".join(f"<p>{p}</p>" for p in PARAS[:3])
            + f"<p>Before{ref}after &#8217; &#039; &#x41; <b>bold</b> tail{ref} end.</p>"
            + f"<p>{PARAS[3]}</p></article></body></html>")
    md = extract_article(page, "https://site.example/a.html").markdown
    # libxml2 reads a reference to a surrogate as U+FFFD.
    assert md.count("Before") == 1 and md.replace("\ufffd", "").count("Beforeafter") == 1
    assert "\u2019 ' A" in md and "tail end." in md.replace("\ufffd", "")
    assert not any(ord(c) < 0x20 and c != "\n" or c in "\ufffe\uffff" or "\ud800" <= c <= "\udfff" for c in md)
