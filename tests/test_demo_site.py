"""The offline demo site is well-formed: links resolve, the GBK page is GBK, feed and listings work."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import feedparser
import lxml.html
import pytest
from PIL import Image

from mirror.images import sniff_image

DEMO = Path(__file__).resolve().parents[1] / "config" / "demo"
PREFIX = "https://demo.example/"
GBK_PAGE = "news/2026/11/zh-rain.html"
ARTICLES = sorted(p.relative_to(DEMO).as_posix() for p in DEMO.glob("*/2026/11/*.html"))
PAGES = sorted(p.relative_to(DEMO).as_posix() for p in DEMO.rglob("*.html"))
_META_CHARSET = re.compile(rb"""<meta\s+charset=["']?([\w-]+)""", re.IGNORECASE)


def parse_headers_file(text: str) -> dict[str, dict[str, str]]:
    """Netlify `_headers`: a path line, then indented `Name: value` lines."""
    rules: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0] in " \t":
            name, sep, value = line.strip().partition(":")
            assert current is not None and sep and name.strip(), f"_headers line {number}: {line!r}"
            current[name.strip()] = value.strip()
        else:
            assert line.startswith("/"), f"_headers line {number}: a path must start with /"
            current = rules.setdefault(line.strip(), {})
    return rules


def load(rel: str) -> lxml.html.HtmlElement:
    data = (DEMO / rel).read_bytes()
    match = _META_CHARSET.search(data[:2048])
    charset = match.group(1).decode() if match else "utf-8"
    return lxml.html.fromstring(data.decode(charset))


def local_file(url: str) -> Path | None:
    """The demo file a https://demo.example/ URL is served from; None for other hosts."""
    if not url.startswith(PREFIX):
        return None
    return DEMO / unquote(urlsplit(url).path).lstrip("/")


def references(root: lxml.html.HtmlElement) -> list[str]:
    """Every URL a page points at that a browser or the mirror would follow."""
    refs: list[str] = []
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        if el.tag in ("a", "link") and el.get("href") and el.get("rel") != "shortlink":
            refs.append(el.get("href"))
        for attr in ("src", "data-src", "poster"):
            if el.get(attr):
                refs.append(el.get(attr))
        for attr in ("srcset", "data-srcset"):
            for candidate in (el.get(attr) or "").split(","):
                if candidate.split():
                    refs.append(candidate.split()[0])
        if el.tag == "meta" and el.get("property") in ("og:image", "og:url"):
            refs.append(el.get("content"))
    return [r for r in refs if not r.startswith("data:")]


def test_the_demo_has_the_pages_the_publisher_expects():
    assert len(ARTICLES) == 8
    chinese = [a for a in ARTICLES if load(a).get("lang") == "zh-CN"]
    assert len(chinese) >= 3
    assert {"feed.xml", "index.html", "index-2.html", "_headers"} <= {p.name for p in DEMO.iterdir()}


def test_every_local_link_and_image_resolves_to_a_file_and_fragment():
    checked = relative = 0
    for rel in PAGES:
        root = load(rel)
        for ref in references(root):
            if ref.startswith("#"):
                assert root.get_element_by_id(ref[1:], None) is not None, f"{rel}: {ref}"
                continue
            url = urljoin(PREFIX + rel, ref)
            path = local_file(url)
            if path is None:
                continue
            checked += 1
            relative += not ref.startswith(PREFIX)
            assert path.is_file(), f"{rel}: {ref} -> {path} is missing"
            fragment = urlsplit(url).fragment
            if fragment:
                assert load(path.relative_to(DEMO).as_posix()).get_element_by_id(fragment, None) is not None, (
                    f"{rel}: {ref}: no element with that id"
                )
    assert checked > 150 and relative > 100  # the walk really looked at the pages


def test_articles_carry_metadata_and_the_clutter_a_cleaner_removes():
    for rel in ARTICLES:
        root = load(rel)
        html = lxml.html.tostring(root, encoding="unicode")
        assert root.xpath("//link[@rel='canonical']/@href") == [PREFIX + rel]
        assert len(root.xpath("//article//h1")) == 1, rel
        assert root.xpath("//article//time/@datetime")[0].startswith("2026-11-"), rel
        assert root.xpath("//meta[@property='og:title']/@content"), rel
        (ld,) = root.xpath("//script[@type='application/ld+json']/text()")
        data = json.loads(ld)
        article = next(n for n in data.get("@graph", [data]) if n["@type"] == "NewsArticle")
        assert article["datePublished"].startswith("2026-11-")
        for clutter in ("adsbygoogle", 'id="div-gpt-ad-123"', "share-widget", "subscribe-box", "/px.gif?p="):
            assert clutter in html, f"{rel}: no {clutter}"
        promos = root.xpath("//p[@class='promo']/text()")
        assert len(promos) == 1 and promos[0].startswith(("Sponsored:", "【推广】")), rel
    texts = [lxml.html.tostring(load(rel), encoding="unicode") for rel in ARTICLES]
    assert sum("data-src=" in t for t in texts) >= 3
    assert sum(" srcset=" in t for t in texts) >= 2
    assert sum("<table" in t for t in texts) >= 2
    assert sum("<blockquote" in t for t in texts) >= 2
    assert sum("<pre><code" in t for t in texts) >= 2
    assert sum('rel="shortlink" href="https://demo.example/s/' in t for t in texts) >= 2


def test_articles_link_to_other_demo_articles_for_the_mirror_policy():
    targets = set()
    for rel in ARTICLES:
        for ref in load(rel).xpath("//div[@class='post-body']//a/@href"):
            path = local_file(urljoin(PREFIX + rel, ref))
            if path is not None and path.suffix == ".html":
                targets.add(path.relative_to(DEMO).as_posix())
    assert len(targets) >= 4 and targets <= set(ARTICLES)


def test_the_gbk_page_is_really_gbk():
    data = (DEMO / GBK_PAGE).read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    text = data.decode("gb18030")
    assert "本市迎来入冬首场降雨" in text and "西山区" in text
    assert '<meta charset="gbk">' in text
    assert parse_headers_file((DEMO / "_headers").read_text("utf-8"))["/" + GBK_PAGE]["Content-Type"] == (
        "text/html; charset=gbk"
    )
    # The other pages are UTF-8, as they say.
    for rel in PAGES:
        if rel != GBK_PAGE:
            assert b'<meta charset="utf-8">' in (DEMO / rel).read_bytes()[:200], rel
            (DEMO / rel).read_bytes().decode("utf-8")


def test_the_headers_file_parses_and_names_real_files():
    rules = parse_headers_file((DEMO / "_headers").read_text("utf-8"))
    assert rules
    for path, headers in rules.items():
        assert (DEMO / path.lstrip("/")).is_file(), path
        assert headers, path


def test_the_feed_lists_the_news_articles_in_november_2026():
    feed = feedparser.parse((DEMO / "feed.xml").read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "rss20"
    links = [urljoin(PREFIX + "feed.xml", e.link) for e in feed.entries]
    files = [local_file(link).relative_to(DEMO).as_posix() for link in links]
    assert sorted(files) == [a for a in ARTICLES if a.startswith("news/")]
    assert any(not e.link.startswith("https://") for e in feed.entries)  # relative item links
    for entry in feed.entries:
        assert entry.title
        assert entry.published_parsed[:2] == (2026, 11)


def test_the_tech_listing_and_its_next_page_list_the_tech_articles():
    seen = []
    rel, pages = "index.html", 0
    while rel:
        root = load(rel)
        pages += 1
        seen += [
            local_file(urljoin(PREFIX + rel, a.get("href"))).relative_to(DEMO).as_posix()
            for a in root.cssselect(".article-list a.headline")
        ]
        following = root.cssselect("a.next")
        rel = urljoin(PREFIX + rel, following[0].get("href"))[len(PREFIX) :] if following else ""
    assert pages == 2
    assert sorted(seen) == [a for a in ARTICLES if a.startswith("tech/")]


def test_images_are_small_real_images_of_the_type_their_name_says():
    images = list((DEMO / "img").iterdir())
    assert len(images) >= 6
    names = {"jpg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp"}
    for image in images:
        data = image.read_bytes()
        assert len(data) < 5 * 1024, image.name
        assert sniff_image(data) == names[image.suffix[1:]], image.name
        with Image.open(image) as decoded:
            decoded.verify()


def test_the_whole_demo_is_small():
    total = sum(p.stat().st_size for p in DEMO.rglob("*") if p.is_file())
    assert total < 200 * 1024, total
