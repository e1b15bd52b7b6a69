"""Sources read into entries: feeds, listing pages with pagination, URL lists and local files."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest
from pytest_httpserver import HTTPServer
from support.rawsite import RawSite, head

from mirror.fetch import Fetcher
from mirror.model import FetchSettings, SourceProfile
from mirror.sources import SourceError, entries

SETTINGS = FetchSettings(timeout=2, retries=0, backoff=0.01, allow_hosts=("127.0.0.1", "localhost"))


@pytest.fixture
def fetcher() -> Fetcher:
    with Fetcher(SETTINGS) as f:
        yield f


def profile(kind: str, **fields: object) -> SourceProfile:
    return SourceProfile(name="news", channel="world", channel_name="World", kind=kind, **fields)  # type: ignore[arg-type]


def serve(httpserver: HTTPServer, path: str, body: str | bytes, content_type: str) -> str:
    httpserver.expect_request(path).respond_with_data(body, content_type=content_type)
    return httpserver.url_for(path)


RSS2 = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xml:base="https://news.example/world/">
<channel><title>World</title><link>https://news.example/</link>
  <item><title>First &amp; foremost</title><link>/2026/first.html</link>
        <pubDate>Tue, 03 Nov 2026 10:00:00 +0800</pubDate></item>
  <item><title>Relative to the base</title><link>second.html</link></item>
  <item><title>No link at all</title><description>just text</description></item>
  <item><title>Script link</title><link>javascript:alert(1)</link></item>
  <item><title>Duplicate of first</title><link>https://news.example/2026/first.html#comments</link></item>
  <item><title>Third</title><link>https://news.example/2026/third.html</link>
        <pubDate>Wed, 04 Nov 2026 08:30:00 GMT</pubDate></item>
</channel></rss>
"""


def test_rss2_feed_with_relative_links_dates_and_duplicates(
    httpserver: HTTPServer, fetcher: Fetcher
) -> None:
    url = serve(httpserver, "/feed.xml", RSS2, "application/rss+xml")
    found = entries(profile("feed", url=url), fetcher)
    assert [e.url for e in found] == [
        "https://news.example/2026/first.html",
        "https://news.example/world/second.html",
        "https://news.example/2026/third.html",
    ]
    assert found[0].title == "First & foremost"
    assert found[0].published == datetime(2026, 11, 3, 2, 0, tzinfo=UTC)
    assert found[1].published is None
    assert found[2].published == datetime(2026, 11, 4, 8, 30, tzinfo=UTC)
    assert all(e.source == "news" for e in found)


ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Science</title><id>tag:news.example,2026:science</id><updated>2026-11-05T00:00:00Z</updated>
  <entry><title type="html">Stars &lt;em&gt;shine&lt;/em&gt;</title><id>tag:news.example,2026:1</id>
    <link rel="alternate" href="articles/stars.html"/>
    <published>2026-11-04T12:00:00+02:00</published><updated>2026-11-05T00:00:00Z</updated></entry>
  <entry><title>Only updated</title><id>tag:news.example,2026:2</id>
    <link href="https://science.example/moons.html"/><updated>2026-11-01T09:15:00Z</updated></entry>
  <entry><title>Only an id</title><id>tag:news.example,2026:3</id><updated>2026-11-01T09:15:00Z</updated></entry>
</feed>
"""


def test_atom_feed_resolves_links_against_the_feed_url(
    httpserver: HTTPServer, fetcher: Fetcher
) -> None:
    url = serve(httpserver, "/science/atom.xml", ATOM, "application/atom+xml")
    found = entries(profile("feed", url=url), fetcher)
    assert [e.url for e in found] == [
        httpserver.url_for("/science/articles/stars.html"),
        "https://science.example/moons.html",
    ]
    assert found[0].title == "Stars shine"
    assert found[0].published == datetime(2026, 11, 4, 10, 0, tzinfo=UTC)
    assert found[1].published == datetime(2026, 11, 1, 9, 15, tzinfo=UTC)


RSS1 = """<?xml version="1.0" encoding="gb2312"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
         xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://news.example/rss"><title>新闻</title><link>https://news.example/</link>
    <items><rdf:Seq><rdf:li rdf:resource="https://news.example/a.html"/></rdf:Seq></items></channel>
  <item rdf:about="https://news.example/a.html"><title>今日要闻</title><link>https://news.example/a.html</link>
    <dc:date>2026-11-02T08:00:00+08:00</dc:date></item>
</rdf:RDF>
"""


def test_rss1_feed_in_gb2312(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    url = serve(httpserver, "/rss1.xml", RSS1.encode("gb2312"), "application/rdf+xml")
    [entry] = entries(profile("feed", url=url), fetcher)
    assert entry.url == "https://news.example/a.html"
    assert entry.title == "今日要闻"
    assert entry.published == datetime(2026, 11, 2, 0, 0, tzinfo=UTC)


def test_malformed_feed_keeps_what_was_recovered(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    broken = RSS2.replace("</channel></rss>", "<item><title>Cut off <link>https://news.example/x")
    url = serve(httpserver, "/broken.xml", broken, "application/rss+xml")
    found = entries(profile("feed", url=url), fetcher)
    assert found[0].url == "https://news.example/2026/first.html"
    assert len(found) >= 3


def test_not_a_feed_is_a_clear_source_error(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    url = serve(httpserver, "/page.html", "<html><body><p>Hello <b>world</p></html>", "text/html")
    with pytest.raises(SourceError, match=r"source 'news': .* is not a readable feed"):
        entries(profile("feed", url=url), fetcher)


@pytest.mark.parametrize("content_type", ["application/rss+xml", "image/png"])
def test_image_served_as_the_feed_is_named(
    httpserver: HTTPServer, fetcher: Fetcher, content_type: str
) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    url = serve(httpserver, "/feed.xml", png, content_type)
    with pytest.raises(SourceError) as caught:
        entries(profile("feed", url=url), fetcher)
    assert str(caught.value) == f"source 'news': {url} is not a readable feed (looks like image/png)"


def test_source_errors_are_printable_one_liners(fetcher: Fetcher) -> None:
    # The redirect target, quoted in the message, is the server's to choose, bytes and all.
    with RawSite() as site:
        feed = site.route(
            "/feed.xml",
            lambda conn, req: conn.sendall(head(302, {"Location": "/gone\x1b]0;owned\x07.xml"})),
        )
        with pytest.raises(SourceError) as caught:
            entries(profile("feed", url=feed), fetcher)
    message = str(caught.value)
    assert message.isprintable() and "redirected to" in message and "\\x1b]0;owned" in message


def test_feed_that_cannot_be_fetched_names_the_source(
    httpserver: HTTPServer, fetcher: Fetcher
) -> None:
    with pytest.raises(SourceError, match=r"source 'news': cannot fetch the feed: .*HTTP 500"):
        httpserver.expect_request("/gone.xml").respond_with_data("", status=500)
        entries(profile("feed", url=httpserver.url_for("/gone.xml")), fetcher)


def test_feed_body_that_names_a_local_file_is_not_opened(
    httpserver: HTTPServer, fetcher: Fetcher, tmp_path: Path
) -> None:
    # feedparser opens a string that names a file; the fetched bytes must never be taken as a path.
    secret = tmp_path / "secret.xml"
    secret.write_text(RSS2, encoding="utf-8")
    url = serve(httpserver, "/trick.xml", str(secret), "application/rss+xml")
    with pytest.raises(SourceError):
        entries(profile("feed", url=url), fetcher)


def test_entity_bomb_in_a_feed_is_defused(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    levels = "".join(f'<!ENTITY lol{i + 1} "{f"&lol{i};" * 10}">' for i in range(9))
    bomb = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol0 "lol">{levels}]>'
        '<rss version="2.0"><channel><item><title>&lol9;</title>'
        "<link>https://news.example/a.html</link></item></channel></rss>"
    )
    url = serve(httpserver, "/bomb.xml", bomb, "application/rss+xml")
    started = time.monotonic()
    found = entries(profile("feed", url=url), fetcher)
    assert time.monotonic() - started < 1.0
    assert [e.url for e in found] == ["https://news.example/a.html"]
    assert len(found[0].title or "") < 50  # not expanded


def test_feed_with_references_to_no_character_is_read(
    httpserver: HTTPServer, fetcher: Fetcher
) -> None:
    # feedparser's fallback parser crashed on a surrogate reference (UnicodeEncodeError).
    garbage = "&#xD800;&#55296;&#x110000;&#1114112;&#0;&#x1F;&#99999999999999999999;"
    feed = RSS2.replace("First &amp; foremost", f"First {garbage}&#65;&#x4e2d;&#25991;")
    url = serve(httpserver, "/feed.xml", feed, "application/rss+xml")
    found = entries(profile("feed", url=url), fetcher)
    assert [e.url for e in found][:2] == [
        "https://news.example/2026/first.html",
        "https://news.example/world/second.html",
    ]
    assert found[0].title == "First " + "\ufffd" * 7 + "A中文"


def test_controls_in_titles_are_dropped(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    # Raw controls make the feed ill-formed, so feedparser's loose parser passes them through.
    title = "Mayor\x01 &amp;#x7f;speaks\x1b[2J \x7f today"
    feed = RSS2.replace("First &amp; foremost", title)
    url = serve(httpserver, "/feed.xml", feed.encode("utf-8"), "application/rss+xml")
    assert entries(profile("feed", url=url), fetcher)[0].title == "Mayor speaks [2J today"


def test_a_crash_inside_feedparser_is_a_source_error(
    httpserver: HTTPServer, fetcher: Fetcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Whatever hostile feed trips the parser next, one source must fail, not the whole run.
    def crash(*args: object, **kwargs: object) -> None:
        raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")

    monkeypatch.setattr(feedparser, "parse", crash)
    url = serve(httpserver, "/feed.xml", RSS2, "application/rss+xml")
    with pytest.raises(SourceError, match=r"source 'news': .* is not a readable feed \(Unicode"):
        entries(profile("feed", url=url), fetcher)


def test_feed_entries_without_a_usable_link_are_counted_in_a_warning(
    httpserver: HTTPServer, fetcher: Fetcher
) -> None:
    url = serve(httpserver, "/feed.xml", RSS2, "application/rss+xml")
    warnings: list[str] = []
    found = entries(profile("feed", url=url), fetcher, warnings)
    assert len(found) == 3
    # "No link at all" and "javascript:alert(1)"
    assert warnings == ["source 'news': 2 entries without a usable link skipped"]
    assert len(entries(profile("feed", url=url), fetcher)) == 3  # no list: nothing to report into


def test_feed_with_all_links_usable_warns_nothing(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    url = serve(httpserver, "/atom.xml", ATOM.split("  <entry><title>Only an id")[0] + "</feed>",
                "application/atom+xml")
    warnings: list[str] = []
    assert len(entries(profile("feed", url=url), fetcher, warnings)) == 2
    assert warnings == []


def test_limit_caps_entries(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    url = serve(httpserver, "/feed.xml", RSS2, "application/rss+xml")
    found = entries(profile("feed", url=url, limit=2), fetcher)
    assert [e.url for e in found] == [
        "https://news.example/2026/first.html",
        "https://news.example/world/second.html",
    ]


def listing_page(n: int, next_href: str | None) -> str:
    items = "".join(
        f'<li class="story"><h2><a href="/story/{n}-{i}.html"> Story {n}.{i} </a></h2></li>'
        for i in range(2)
    )
    nav = f'<a class="next" href="{next_href}">Next</a>' if next_href else ""
    return f"""<html><head><title>Index {n}</title></head><body>
      <nav><a href="/about.html">About</a></nav>
      <ul>{items}<li class="story"><a href="mailto:desk@news.example">Write to us</a></li></ul>
      {nav}</body></html>"""


def test_listing_follows_next_pages_and_stops_on_a_loop(
    httpserver: HTTPServer, fetcher: Fetcher
) -> None:
    httpserver.expect_request("/list", query_string="page=2").respond_with_data(
        listing_page(2, "/list?page=3"), content_type="text/html"
    )
    httpserver.expect_request("/list", query_string="page=3").respond_with_data(
        listing_page(3, "/list"),
        content_type="text/html",  # points back to page 1
    )
    httpserver.expect_request("/list").respond_with_data(
        listing_page(1, "/list?page=2"), content_type="text/html"
    )
    src = profile(
        "listing",
        url=httpserver.url_for("/list"),
        item="li.story",
        next_page="a.next",
        max_pages=10,
    )
    found = entries(src, fetcher)
    assert [e.title for e in found] == [f"Story {n}.{i}" for n in (1, 2, 3) for i in range(2)]
    assert found[0].url == httpserver.url_for("/story/1-0.html")
    pages = [r for r, _ in httpserver.log if r.path == "/list"]
    assert len(pages) == 3  # the loop back to page 1 was not followed


def test_listing_max_pages_and_xpath(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    serve(httpserver, "/list", listing_page(1, "/list2"), "text/html")
    serve(httpserver, "/list2", listing_page(2, None), "text/html")
    one = entries(
        profile(
            "listing",
            url=httpserver.url_for("/list"),
            item="//li[@class='story']//a",
            next_page="a.next",
        ),
        fetcher,
    )
    assert [e.title for e in one] == ["Story 1.0", "Story 1.1"]
    two = entries(
        profile(
            "listing",
            url=httpserver.url_for("/list"),
            item="(//h2/a)",
            next_page="//a[@class='next']",
            max_pages=2,
        ),
        fetcher,
    )
    assert len(two) == 4


def test_listing_items_without_a_usable_link_are_counted_in_a_warning(
    httpserver: HTTPServer, fetcher: Fetcher
) -> None:
    serve(httpserver, "/list", listing_page(1, "/list2"), "text/html")
    serve(httpserver, "/list2", listing_page(2, None), "text/html")
    src = profile("listing", url=httpserver.url_for("/list"), item="li.story", next_page="a.next",
                  max_pages=2)
    warnings: list[str] = []
    assert len(entries(src, fetcher, warnings)) == 4
    assert warnings == ["source 'news': 2 entries without a usable link skipped"]  # the mailto: items


def test_listing_page_that_is_an_image_is_a_clear_source_error(
    httpserver: HTTPServer, fetcher: Fetcher
) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    url = serve(httpserver, "/list", png, "text/html")
    with pytest.raises(SourceError, match=r"not an HTML page \(looks like image/png\)"):
        entries(profile("listing", url=url, item="a"), fetcher)


def test_listing_with_a_bad_selector_names_it(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    with pytest.raises(SourceError, match="bad selector"):
        entries(profile("listing", url="https://news.example/", item="li[[["), fetcher)


def test_urls_source_keeps_only_web_urls() -> None:
    src = profile(
        "urls",
        urls=(
            "https://a.example/1",
            " https://a.example/2 ",
            "ftp://a.example/3",
            "https://a.example/1",
        ),
    )
    warnings: list[str] = []
    with Fetcher(SETTINGS) as f:
        found = entries(src, f, warnings)
    assert [e.url for e in found] == ["https://a.example/1", "https://a.example/2"]
    assert warnings == ["source 'news': 1 entry without a usable link skipped"]


def test_files_source_reads_canonical_or_file_uri(tmp_path: Path) -> None:
    (tmp_path / "b.html").write_text(
        '<html><head><title>Second</title><link rel="Canonical" href="https://news.example/b"></head><body></body></html>',
        encoding="utf-8",
    )
    (tmp_path / "a.htm").write_bytes(
        '<html><head><meta charset="gbk"><title>第一</title><meta property="og:url" content="https://news.example/a"></head></html>'.encode(
            "gbk"
        )
    )
    (tmp_path / "c.html").write_text(
        "<html><head><title> Third\n page </title>"
        '<meta property="article:published_time" content="2026-11-03T08:00:00+08:00"></head></html>',
        encoding="utf-8",
    )
    (tmp_path / "notes.txt").write_text("not html", encoding="utf-8")
    with Fetcher(SETTINGS) as f:
        found = entries(profile("files", path=tmp_path), f)
        single = entries(profile("files", path=tmp_path / "c.html"), f)
    assert [e.url for e in found] == [
        "https://news.example/a",
        "https://news.example/b",
        (tmp_path / "c.html").as_uri(),
    ]
    assert [e.title for e in found] == ["第一", "Second", "Third page"]
    assert [e.path for e in found] == [tmp_path / "a.htm", tmp_path / "b.html", tmp_path / "c.html"]
    assert [e.published for e in found] == [None, None, datetime(2026, 11, 3, 0, 0, tzinfo=UTC)]
    assert single == [found[2]]


def test_files_source_missing_path_is_a_source_error(tmp_path: Path) -> None:
    with Fetcher(SETTINGS) as f, pytest.raises(SourceError, match="does not exist"):
        entries(profile("files", path=tmp_path / "nope"), f)


def test_listing_keeps_earlier_pages_when_a_later_one_fails(
    httpserver: HTTPServer, fetcher: Fetcher
) -> None:
    serve(httpserver, "/list", listing_page(1, "/broken"), "text/html")
    httpserver.expect_request("/broken").respond_with_data("", status=500)
    src = profile(
        "listing", url=httpserver.url_for("/list"), item="li.story", next_page="a.next", max_pages=5
    )
    assert [e.title for e in entries(src, fetcher)] == ["Story 1.0", "Story 1.1"]
    with pytest.raises(
        SourceError, match=r"source 'news': cannot fetch the listing page: .*HTTP 500"
    ):
        entries(profile("listing", url=httpserver.url_for("/broken"), item="a"), fetcher)
