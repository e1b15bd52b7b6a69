"""Metadata of a page: title, dates, author, canonical and short URLs, JSON-LD in its many shapes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import lxml.html
import pytest

from mirror.metadata import parse_date, read_metadata, strip_site_name


def meta_of(head: str, body: str = "<p>x</p>", url: str | None = "https://site.example/a/b"):
    root = lxml.html.document_fromstring(f"<html><head>{head}</head><body>{body}</body></html>")
    return read_metadata(root, url)


def test_json_ld_graph_with_author_list_and_publisher():
    m = meta_of("""
      <title>Ignored</title>
      <script type="application/ld+json">
      {"@context": "https://schema.org", "@graph": [
        {"@type": "WebSite", "name": "The Site"},
        {"@type": ["NewsArticle"], "headline": "Graph headline",
         "datePublished": "2022-01-02T03:04:05Z",
         "author": [{"@type": "Person", "name": "Ann One"}, {"name": "Ben Two"}],
         "publisher": {"@type": "Organization", "name": "Pub Co"}}]}
      </script>""")
    assert m.title == "Graph headline"
    assert m.published == datetime(2022, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert m.author == "Ann One, Ben Two"
    assert m.site_name == "Pub Co"


def test_json_ld_list_and_broken_json_never_raise():
    m = meta_of("""
      <script type="application/ld+json">{"@type": "Article", "headline": "Broken" ,,, </script>
      <script type="application/ld+json">[{"@type": "BlogPosting", "headline": "From list",
        "author": "Cy Three", "datePublished": "2021-06-01"}];</script>
      <script type="application/ld+json"><![CDATA[ {"@type": "Thing"} ]]></script>
      <script type="application/ld+json">null</script>""")
    assert m.title == "From list"
    assert m.author == "Cy Three"
    assert m.published == datetime(2021, 6, 1, tzinfo=UTC)


def test_og_wins_over_json_ld_and_h1_and_title():
    m = meta_of(
        '<meta property="og:title" content="OG title"><title>Page title</title>'
        '<script type="application/ld+json">{"@type":"Article","headline":"LD title"}</script>',
        "<h1>H1 title</h1>",
    )
    assert m.title == "OG title"
    assert meta_of("<title>Only the title</title>").title == "Only the title"
    # An <h1> the <title> repeats is the title without the site's name...
    assert meta_of("<title>Heading one - Bigsite</title>", "<h1>Heading one</h1>").title == "Heading one"
    # ...one it does not is a logo or a section name.
    assert meta_of("<title>Page</title>", "<h1>Our brand</h1>").title == "Page"
    assert meta_of("", "<h1>Heading one</h1>").title == "Heading one"


@pytest.mark.parametrize(
    ("title", "site", "page_title", "expected"),
    [
        ("Big news today - Daily Planet", "Daily Planet", "", "Big news today"),
        ("Big news today | Daily Planet", "daily planet", "", "Big news today"),
        ("Big news today_Daily Planet", "Daily Planet", "", "Big news today"),
        ("Big news today—Daily Planet", "Daily Planet", "", "Big news today"),
        ("Big news today | DP", None, "Other story | DP", "Big news today"),
        # A suffix that is neither the site nor shared with the <title> is part of the title.
        ("Python 3.12 - What is new", "Daily Planet", "", "Python 3.12 - What is new"),
        ("Big news today", "Daily Planet", "", "Big news today"),
    ],
)
def test_strip_site_name(title, site, page_title, expected):
    assert strip_site_name(title, site, page_title) == expected


def test_title_suffix_kept_when_rules_say_so():
    head = '<meta property="og:site_name" content="Planet"><title>Story - Planet</title>'
    assert meta_of(head).title == "Story"
    root = lxml.html.document_fromstring(f"<html><head>{head}</head><body></body></html>")
    assert read_metadata(root, None, strip_suffix=False).title == "Story - Planet"


def test_dates_from_meta_names_and_time_element():
    assert meta_of('<meta name="DC.date" content="2020-02-03">').published == datetime(
        2020, 2, 3, tzinfo=UTC
    )
    assert meta_of('<meta name="pubdate" content="Tue, 04 Feb 2020 10:00:00 +0200">').published == \
        datetime(2020, 2, 4, 8, 0, tzinfo=UTC)
    m = meta_of("", '<article><time datetime="2019-12-31T23:00:00-05:00">New year</time></article>')
    assert m.published == datetime(2020, 1, 1, 4, 0, tzinfo=UTC)
    # article:published_time wins over a <time> somewhere in the page
    m = meta_of('<meta property="article:published_time" content="2018-05-05T05:05:05Z">',
                '<time datetime="2001-01-01">old</time>')
    assert m.published == datetime(2018, 5, 5, 5, 5, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-02", datetime(2024, 1, 2, tzinfo=UTC)),
        ("2024-01-02T03:04:05Z", datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2024-01-02T03:04:05+0530", datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=5, minutes=30)))),
        ("2024/01/02 03:04", datetime(2024, 1, 2, 3, 4, tzinfo=UTC)),
        ("Posted 2024.01.02 03:04 +08:00", datetime(2024, 1, 2, 3, 4, tzinfo=timezone(timedelta(hours=8)))),
        ("Wed, 03 Jan 2024 10:00:00 GMT", datetime(2024, 1, 3, 10, tzinfo=UTC)),
        ("1704067200", datetime(2024, 1, 1, tzinfo=UTC)),
        ("not a date", None),
        ("", None),
        ("2024-13-45", None),
    ],
)
def test_parse_date(value, expected):
    got = parse_date(value)
    assert got == expected
    if got is not None:
        assert got.tzinfo is not None


def test_author_canonical_shortlink_lang_description():
    m = meta_of(
        '<meta property="article:author" content="https://facebook.example/someone">'
        '<meta name="author" content="Dee Four">'
        '<link rel="canonical" href="../canon">'
        '<link rel="alternate shortlink" href="/?p=123">'
        '<meta name="description" content="Short summary.">'
        '<meta property="og:locale" content="pt_BR">'
    )
    assert m.author == "Dee Four"
    assert m.canonical_url == "https://site.example/canon"
    assert m.short_url == "https://site.example/?p=123"
    assert m.description == "Short summary."
    assert m.lang == "pt-BR"


def test_author_from_rel_author_link():
    m = meta_of("", '<p>By <a rel="author" href="/people/eve">Eve Five</a></p>')
    assert m.author == "Eve Five"


def test_no_metadata_at_all():
    m = meta_of("", "<p>nothing</p>", url=None)
    assert m.title == ""
    assert m.published is None and m.author is None and m.canonical_url is None


def test_date_printed_in_a_date_line_when_markup_has_none():
    m = meta_of("", '<div class="nav">2001-01-01 00:00</div><h1>T</h1>'
                    '<div class="info">2024-01-02 10:05 来源：本报</div><p>text</p>')
    assert m.published == datetime(2024, 1, 2, 10, 5, tzinfo=UTC)
    m = meta_of("", '<span class="pubtime">2023年3月4日 08:09</span>')
    assert m.published == datetime(2023, 3, 4, 8, 9, tzinfo=UTC)
    assert meta_of("", '<div class="info">no date here</div>').published is None
