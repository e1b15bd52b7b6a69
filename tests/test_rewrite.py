"""Body links follow the source's policy: kept, pointed at the mirrored copy, or made plain text."""

from __future__ import annotations

import lxml.html
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mirror.converter import html_to_markdown
from mirror.rewrite import add_suffix, link_rewriter, link_scheme, normalize_url, rewrite_links

BODY = """
<div class="article">
  <p>The <a href="https://demo.example/news/2026/11/en-library.html">rooftop garden</a> opened,
     see <a href="https://Demo.Example:443/news/2026/11/zh-rain.html?utm_source=feed#table">the rain table</a>
     and <a href="https://www.example.org/report.pdf">the full report</a>.</p>
  <p>Notes: <a href="#fn1">1</a>.</p>
  <figure><a href="https://demo.example/img/full.jpg"><img src="https://demo.example/img/rain.jpg" alt="Rain"></a></figure>
  <p>Write to <a href="mailto:desk@demo.example">the desk</a>.</p>
</div>
"""

MIRRORED = {
    "https://demo.example/news/2026/11/en-library.html": "../2026-11/lib0001.md",
    "https://demo.example/news/2026/11/zh-rain.html": "../2026-11/rain0002.md",
}


def body() -> lxml.html.HtmlElement:
    return lxml.html.fragment_fromstring(BODY)


def hrefs(root: lxml.html.HtmlElement) -> list[str]:
    return [a.get("href") for a in root.iter("a")]


def test_keep_leaves_every_link_as_it_was():
    root = body()
    before = hrefs(root)
    report = rewrite_links(root, "keep")
    assert hrefs(root) == before
    assert "https://www.example.org/report.pdf" in report.kept
    assert "#fn1" not in report.kept  # fragment-only links are not body links to judge
    assert report.mirrored == [] and report.unwrapped == []
    assert "rooftop garden" in html_to_markdown(root)


def test_mirror_points_mirrored_articles_at_their_pages_and_keeps_the_rest():
    root = body()
    asked: list[str] = []

    def mirrored(url: str) -> str | None:
        asked.append(url)
        return MIRRORED.get(url)

    report = rewrite_links(root, "mirror", mirrored)
    links = hrefs(root)
    assert links[0] == "../2026-11/lib0001.md"
    # Host case, default port and tracking parameter did not prevent the match; fragment kept.
    assert links[1] == "../2026-11/rain0002.md#table"
    assert links[2] == "https://www.example.org/report.pdf"
    assert links[3] == "#fn1"
    assert links[4] == "https://demo.example/img/full.jpg"
    assert links[5] == "mailto:desk@demo.example"
    assert report.mirrored == [
        ("https://demo.example/news/2026/11/en-library.html", "../2026-11/lib0001.md"),
        (
            "https://Demo.Example:443/news/2026/11/zh-rain.html?utm_source=feed#table",
            "../2026-11/rain0002.md#table",
        ),
    ]
    # The lookup is made with normalised URLs, never with mailto: or fragment-only links.
    assert "https://demo.example/news/2026/11/zh-rain.html" in asked
    assert all(url.startswith("https://") for url in asked)
    assert "https://www.example.org/report.pdf" in report.kept


def test_mirror_appends_the_suffix_to_rewritten_links_only():
    root = body()
    rewrite_links(root, "mirror", MIRRORED.get, suffix="?m")
    links = hrefs(root)
    assert links[0] == "../2026-11/lib0001.md?m"
    assert links[1] == "../2026-11/rain0002.md?m#table"
    assert links[2] == "https://www.example.org/report.pdf"


def test_suffix_merges_with_a_query_the_mirrored_path_already_has():
    root = lxml.html.fragment_fromstring('<p><a href="https://demo.example/a.html#x">a</a></p>')
    rewrite_links(root, "mirror", lambda url: "../p/a.md?page=2", suffix="?n1")
    assert hrefs(root) == ["../p/a.md?page=2&n1#x"]


@pytest.mark.parametrize(
    ("link", "suffix", "expected"),
    [
        ("../a.md", "?m", "../a.md?m"),
        ("../a.md", "m", "../a.md?m"),
        ("../a.md?x=1", "?m", "../a.md?x=1&m"),
        ("../a.md?x=1#frag", "?n1", "../a.md?x=1&n1#frag"),
        ("../a.md?", "?m", "../a.md?m"),
        ("../a.md?x=1&", "&m", "../a.md?x=1&m"),
        ("../a.md#f", "", "../a.md#f"),
    ],
)
def test_add_suffix(link, suffix, expected):
    assert add_suffix(link, suffix) == expected


def test_text_unwraps_every_link_and_keeps_its_children():
    root = body()
    report = rewrite_links(root, "text")
    assert hrefs(root) == ["#fn1"]
    # The linked image survives as an image; the words survive as words.
    assert root.xpath("//figure/img/@src") == ["https://demo.example/img/rain.jpg"]
    text = root.text_content()
    assert "rooftop garden" in text and "the rain table" in text and "the full report" in text
    assert len(report.unwrapped) == 5
    assert "rooftop garden opened" in " ".join(html_to_markdown(root).split())


def test_unsafe_links_never_survive_any_policy():
    html = (
        '<div><a href="javascript:alert(1)">a</a><a href=" JaVa&#9;Script:alert(2)">b</a>'
        '<a href="data:text/html,<script>x</script>">c</a><a href="vbscript:x">d</a>'
        '<a href="https://demo.example/ok.html">ok</a></div>'
    )
    for policy in ("keep", "mirror", "text"):
        root = lxml.html.fragment_fromstring(html)
        report = rewrite_links(root, policy, lambda url: "javascript:alert(3)")
        out = lxml.html.tostring(root, encoding="unicode").lower()
        assert "script:" not in out and "data:" not in out, policy
        assert len(report.removed) == 4
        assert root.text_content() == "abcdok"


def test_mirrored_function_answering_an_unsafe_target_is_ignored():
    root = lxml.html.fragment_fromstring('<p><a href="https://demo.example/a.html">a</a></p>')
    rewrite_links(root, "mirror", lambda url: "javascript:alert(1)")
    assert hrefs(root) == ["https://demo.example/a.html"]


@pytest.mark.parametrize("policy", ["keep", "mirror", "text"])
def test_links_into_the_page_itself_become_fragment_links_again(policy):
    page = "https://demo.example/news/2026/11/en-comet.html"
    root = lxml.html.fragment_fromstring(
        f'<p><a href="{page}#note-1">1</a> <a href="HTTPS://demo.example/news/2026/11/en-comet.html?utm_source=x#viewing">v</a>'
        f' <a href="{page}">self</a></p>'
    )
    rewrite_links(root, policy, lambda url: "../2026-11/comet.md", page_url=page)
    expected = {"keep": [page], "mirror": ["../2026-11/comet.md"], "text": []}[policy]
    assert hrefs(root) == ["#note-1", "#viewing", *expected]


def test_root_that_is_itself_a_link():
    root = lxml.html.fragment_fromstring('<a href="https://demo.example/a.html">alone</a>')
    rewrite_links(root, "text")
    assert root.get("href") is None and root.text_content() == "alone"


def test_link_rewriter_is_the_extractor_hook():
    root = body()
    hook = link_rewriter("mirror", MIRRORED.get, "?m")
    report = hook(root)
    assert len(report.mirrored) == 2


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://Demo.Example/a", "https://demo.example/a"),
        ("https://demo.example:443/a", "https://demo.example/a"),
        ("http://demo.example:80/a", "http://demo.example/a"),
        ("http://demo.example:8080/a", "http://demo.example:8080/a"),
        ("https://demo.example", "https://demo.example/"),
        ("https://demo.example/a#", "https://demo.example/a"),
        ("https://demo.example/a#section", "https://demo.example/a"),
        ("https://demo.example/a?", "https://demo.example/a"),
        ("https://demo.example/a?utm_source=x&utm_medium=y", "https://demo.example/a"),
        ("https://demo.example/a?id=3&fbclid=abc&gclid=def", "https://demo.example/a?id=3"),
        ("https://demo.example/a?UTM_Campaign=z&p=2", "https://demo.example/a?p=2"),
        ("https://demo.example/a?q=a+b&utm_term=t", "https://demo.example/a?q=a+b"),
        ("https://demo.example/%7euser/%c3%a9", "https://demo.example/~user/%C3%A9"),
        ("https://demo.example/Case/Path", "https://demo.example/Case/Path"),
        ("https://demo.example/é?q=é", "https://demo.example/%C3%A9?q=%C3%A9"),  # as a browser sends it
        ("https://demo.example/a b", "https://demo.example/a%20b"),
        ("https://demo.example/a?b=2&a=1", "https://demo.example/a?b=2&a=1"),
        ("https://demo.example./a", "https://demo.example/a"),
        ("http://[::1]:8080/a", "http://[::1]:8080/a"),
        ("  https://demo.example/a  ", "https://demo.example/a"),
        ("http://bad:port/", "http://bad:port/"),  # unparseable: returned, not raised
    ],
)
def test_normalize_url(url, expected):
    assert normalize_url(url) == expected
    assert normalize_url(normalize_url(url)) == normalize_url(url)


def test_normalize_url_keeps_distinct_articles_distinct():
    keys = {
        normalize_url(u)
        for u in (
            "https://demo.example/a?id=1",
            "https://demo.example/a?id=2",
            "https://demo.example/A?id=1",
            "http://demo.example/a?id=1",
            "https://other.example/a?id=1",
        )
    }
    assert len(keys) == 5


URL_TEXT = st.text(alphabet=st.sampled_from(list("aA:/?#&=%.-_~@[]2e5cfF \t\u00e9")), max_size=40)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["", "http://", "https://", "HTTPS://Demo.Example:443/"]), URL_TEXT)
def test_normalize_url_never_raises_and_is_idempotent(prefix, rest):
    key = normalize_url(prefix + rest)
    assert normalize_url(key) == key


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["keep", "mirror", "text"]), URL_TEXT, st.sampled_from(["javascript:", "JaVa\tScRiPt:", "data:", ""]))
def test_no_policy_ever_emits_an_unsafe_href(policy, rest, scheme):
    root = lxml.html.fragment_fromstring("<p>x</p>")
    link = lxml.html.Element("a", href=scheme + rest)
    link.text = "t"
    root.append(link)
    rewrite_links(root, policy, lambda url: "../a.md")
    for href in root.xpath("//a/@href"):
        assert link_scheme(href) in (None, "http", "https", "mailto", "tel")
