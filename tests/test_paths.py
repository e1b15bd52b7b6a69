"""Page ids are safe file names, page paths are stable and collision-free, relative links render."""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import unquote

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from mirror.fsutil import UnsafePath, safe_join
from mirror.manifest import Manifest, Record
from mirror.paths import (
    PageLayout,
    PagePaths,
    assign_path,
    is_safe_name,
    month_of,
    page_id,
    relative_path,
)

# Written out here rather than imported: the test states what "portable" means.
_CJK = (
    "\u1100-\u11ff\u3005-\u3007\u3040-\u30ff\u3100-\u318f\u31a0-\u31bf\u31f0-\u31ff"
    "\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7ff\uf900-\ufaff\U00020000-\U000323af"
)
PORTABLE = re.compile(f"[a-z0-9{_CJK}][a-z0-9._\\-{_CJK}]*")
RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}
HEX8 = re.compile(r"[0-9a-f]{8}")


def assert_portable(name: str) -> None:
    assert PORTABLE.fullmatch(name), name
    assert not name.endswith((".", "-")), name
    assert len(name.encode("utf-8")) <= 110, name
    assert name.split(".")[0].upper() not in RESERVED, name


# --- page_id ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.example.com/news/2021/06/17/975278.html", "975278"),
        ("https://example.com/world/some-title-slug/", "some-title-slug"),
        ("https://example.com/world/some-title-slug", "some-title-slug"),
        ("https://example.com/News/My-Story.HTML", "my-story"),
        ("https://example.com/?id=123", "123"),
        ("https://example.com/article.php?id=123", "article-123"),
        ("https://example.com/index.php?id=123", "123"),
        ("https://example.com/news/show.aspx?cat=4&ArticleID=778", "show-778"),
        ("https://example.com/news/story?id=5&utm_source=feed", "story-5"),
        ("https://example.com/view.php?cat=news&art=5x", "view-cat-news-art-5x"),
        ("https://mp.weixin.qq.com/s?__biz=MzA3&mid=2650&idx=1&sn=ab12", "s-biz-mza3-mid-2650-idx-1-sn-ab12"),
        ("https://example.com/news/1234?page=2", "1234"),  # a real id in the path wins over the query
        ("https://example.com/news/12?page=2", "12"),
        ("https://example.com/news/%E4%B8%AD%E6%96%87%E6%A0%87%E9%A2%98.html", "中文标题"),
        ("https://example.com/jp/%E3%83%8B%E3%83%A5%E3%83%BC%E3%82%B9-1", "ニュース-1"),
        ("https://example.com/kr/%ED%95%9C%EA%B5%AD%EC%96%B4", "한국어"),
        ("https://example.com/p/123#comments", "123"),
        ("https://example.com/slug/index.html", "slug"),
        ("https://example.com/a/b/c.html;jsessionid=ABC123", "c"),
        ("https://example.com/Über-uns", "uber-uns"),
        ("https://example.com/%EF%BC%A1%EF%BC%A2%EF%BC%A3%EF%BC%91", "abc1"),  # fullwidth ＡＢＣ１
        ("https://example.com/a%00b", "a-b"),
        ("https://example.com/a/..", "a"),
        ("https://example.com/.hidden", "hidden"),
        ("https://example.com/_config.yml", "config.yml"),  # Jekyll hides names starting with _
        ("https://example.com/--rm -rf", "rm-rf"),
        ("https://example.com/hello%20world%21%21", "hello-world"),
        ("https://example.com/%F0%9F%94%A5breaking%F0%9F%94%A5news", "breaking-news"),
        ("https://example.com/CON.html", "con_"),
        ("https://example.com/nul", "nul_"),
        ("https://example.com/aux.tar.gz", "aux_.tar.gz"),
        ("https://example.com/com1.txt", "com1_.txt"),
        ("https://example.com/LPT9", "lpt9_"),
        ("https://example.com/console", "console"),
        ("https://example.com/?q=hello+world", "q-hello-world"),
        ("file:///tmp/articles/Local%20Story.html", "local-story"),
    ],
)
def test_page_id_of_real_world_url_shapes(url: str, expected: str) -> None:
    got = page_id(url)
    assert got == expected
    assert_portable(got)


@pytest.mark.parametrize(
    "url",
    ["https://example.com", "https://example.com/", "https://example.com/?", "https://example.com/%2e%2e",
     "https://example.com/../..", "https://example.com/%00", "", "   ", "https://example.com/???"],
)
def test_page_id_without_a_usable_segment_is_a_short_hash(url: str) -> None:
    got = page_id(url)
    assert re.fullmatch(r"[0-9a-f]{10}", got), got
    assert got == page_id(url)


def test_page_id_ignores_what_does_not_name_the_article() -> None:
    base = "https://example.com/news/2026/11/story-one.html"
    assert page_id(base) == page_id(base + "?utm_source=rss&utm_medium=feed") == page_id(base + "#top")
    assert page_id("https://EXAMPLE.com") == page_id("https://example.com:443/#x") == page_id("https://example.com/")


def test_very_long_slug_is_cut_on_a_character_and_keeps_urls_apart() -> None:
    slug = "a-very-long-headline-about-" + "something-important-" * 20
    one = page_id(f"https://example.com/{slug}one")
    two = page_id(f"https://example.com/{slug}two")
    for got in (one, two):
        assert len(got.encode()) <= 100
        assert HEX8.fullmatch(got[-8:]) and got[-9] == "-"
        assert_portable(got)
    assert one != two
    assert one[:-8] == two[:-8]
    # CJK takes three bytes a character: the cut must not split one.
    cjk = page_id("https://example.com/" + "%E4%B8%AD" * 80)
    assert len(cjk.encode()) <= 100
    assert cjk.startswith("中" * 30)
    cjk.encode("utf-8").decode("utf-8")


def test_hostile_urls_never_crash() -> None:
    for url in ["http://[::1", "https://example.com/a\ud800b", "\udfff", "http://exa mple.com/x y", "\x00\x01", "javascript:alert(1)", "//", "%", "%zz",
                "https://example.com/%ff%fe", "https://example.com/" + "/" * 5000, "x" * 100_000]:
        assert_portable(page_id(url))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_string_gives_a_portable_id(url: str) -> None:
    got = page_id(url)
    assert_portable(got)
    assert len(got.encode("utf-8")) <= 255
    assert got == page_id(url)
    safe_join(Path("/nonexistent-root"), f"pages/news/2026-11/{got}.md.png")


_segment = st.text(st.characters(codec="utf-8"), max_size=40)


@settings(max_examples=300, deadline=None)
@given(st.lists(_segment, max_size=6), st.text(max_size=40), st.text(max_size=10))
def test_any_url_shaped_string_gives_a_portable_id(segments: list[str], query: str, fragment: str) -> None:
    url = "https://example.com/" + "/".join(segments) + ("?" + query if query else "") + "#" + fragment
    got = page_id(url)
    assert_portable(got)
    assert is_safe_name(got)


# --- relative_path --------------------------------------------------------------------------

md = MarkdownIt("commonmark", {"html": False})
SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")


def rendered_target(from_dir: str, link: str) -> str:
    """Render `[x](link)` as GitHub would; the repo path its href leads to from a page in `from_dir`."""
    tokens = md.parseInline(f"see [the page]({link}) here")[0].children
    opens = [t for t in tokens if t.type == "link_open"]
    assert len(opens) == 1, f"{link!r} did not render as one link"
    href = opens[0].attrs["href"]
    # A plain relative path: no scheme, query, fragment, or backslash (browsers read it as "/").
    assert not SCHEME.match(href) and not href.startswith("/"), href
    assert not set("?#\\") & set(href), href
    # Resolve as a browser does (RFC 3986 dot segments), decoding each segment after splitting.
    parts = [p for p in from_dir.split("/") if p not in ("", ".")]
    segments = href.split("/")
    for i, seg in enumerate(segments):
        if seg == "..":
            assert parts, f"{href!r} leaves the repo"
            parts.pop()
        elif seg not in (".", "") or (seg == "" and i == len(segments) - 1 and i > 0):
            parts.append(unquote(seg))
    return "/".join(parts)


@pytest.mark.parametrize(
    ("from_dir", "to_path", "expected"),
    [
        ("pages/news/2026-11", "indexes/news.md", "../../../indexes/news.md"),
        ("pages/news/2026-11", "README.md", "../../../README.md"),
        ("pages/news/2026-11", "pages/news/2026-11/other.md", "other.md"),
        ("pages/news/2026-11", "pages/news/2026-10/older.md", "../2026-10/older.md"),
        ("pages/news/2026-11", "pages/news/2026-11/975278.md.png", "975278.md.png"),
        ("indexes", "pages/news/2026-11/975278.md", "../pages/news/2026-11/975278.md"),
        ("", "indexes/news.md", "indexes/news.md"),
        (".", "./README.md", "README.md"),
        ("pages/news/2026-11", "indexes/S看世界.md", "../../../indexes/S看世界.md"),
        ("pages/news/2026-11", "indexes/a b.md", "../../../indexes/a%20b.md"),
        ("pages/news/2026-11", "indexes/a(b).md", "../../../indexes/a%28b%29.md"),
        ("pages/news/2026-11", "indexes/<b>.md", "../../../indexes/%3Cb%3E.md"),
    ],
)
def test_relative_path(from_dir: str, to_path: str, expected: str) -> None:
    link = relative_path(from_dir, to_path)
    assert link == expected
    assert rendered_target(from_dir, link) == to_path.removeprefix("./")


@pytest.mark.parametrize(
    "name",
    ["a b.md", "a(b.md", "a)b.md", "a<b>.md", "50%.md", "a%41.md", "q?.md", "h#1.md", "a&amp;b.md",
     "back\\slash.md", "tick`.md", "pipe|.md", 'quote".md', "[br].md", "tab\t.md", "nb\u00a0sp.md",
     "bidi\u202e.md", "zw\u200b.md", "line\u2028.md", "S看 世界 (1).md", "*star*.md", "_u_.md"],
)
def test_relative_links_to_awkward_names_render_to_the_right_file(name: str) -> None:
    from_dir = "pages/news/2026-11"
    link = relative_path(from_dir, f"indexes/{name}")
    assert rendered_target(from_dir, link) == f"indexes/{name}"
    # Non-ASCII letters stay readable in the Markdown source.
    if "看" in name:
        assert "看" in link


def test_a_first_segment_with_a_colon_is_not_read_as_a_scheme() -> None:
    link = relative_path("", "javascript:alert(1).md")
    assert link.startswith("./")
    assert rendered_target("", link) == "javascript:alert(1).md"
    assert relative_path("", "c:/x.md").startswith("./")


def test_relative_path_refuses_to_leave_the_repo() -> None:
    with pytest.raises(UnsafePath):
        relative_path("pages", "../../etc/passwd")
    with pytest.raises(UnsafePath):
        relative_path("../outside", "README.md")


def test_relative_path_to_a_folder_and_to_itself() -> None:
    assert relative_path("pages/news", "indexes/") == "../../indexes/"
    assert relative_path("pages/news", "pages/news") == "./"


# --- page paths -----------------------------------------------------------------------------

RUN = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)


def record(url: str, path: str, channel: str = "news", **kw: str) -> Record:
    return Record(url=url, id=PagePaths(path).id, path=path, channel=channel, **kw)


def test_page_path_from_the_article_month_in_utc() -> None:
    m = Manifest()
    url = "https://example.com/news/2021/06/17/975278.html"
    assert assign_path(m, url=url, channel="news", published=datetime(2021, 6, 17, 8, tzinfo=UTC),
                       run_date=RUN) == "pages/news/2021-06/975278.md"
    # 23:30 on 30 November in New York is December in UTC.
    late = datetime(2026, 11, 30, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert assign_path(m, url=url, channel="news", published=late, run_date=RUN) == "pages/news/2026-12/975278.md"
    assert assign_path(m, url=url, channel="news", published="2026-11-30T23:30:00-05:00",
                       run_date=RUN).startswith("pages/news/2026-12/")
    assert assign_path(m, url=url, channel="news", published=date(2025, 1, 9), run_date=RUN) \
        == "pages/news/2025-01/975278.md"
    # No date, or one that does not parse: the run's month.
    assert assign_path(m, url=url, channel="news", published=None, run_date=RUN) == "pages/news/2026-11/975278.md"
    assert assign_path(m, url=url, channel="news", published="last Tuesday", run_date=RUN) \
        == "pages/news/2026-11/975278.md"
    assert assign_path(m, url=url, channel="news", month="2024-02", pages_dir="p") == "p/news/2024-02/975278.md"
    assert assign_path(m, url=url, channel="世界", run_date=RUN) == "pages/世界/2026-11/975278.md"
    assert assign_path(m, url=url, channel="news", run_date=RUN, page_id="canonical-name") \
        == "pages/news/2026-11/canonical-name.md"


def test_month_of() -> None:
    assert month_of(None, RUN) == "2026-11"
    assert month_of("2026-01-01T00:30:00+01:00", RUN) == "2025-12"
    with pytest.raises(ValueError):
        month_of(None, None)


def test_page_paths_value() -> None:
    p = PagePaths("pages/news/2026-11/975278.md")
    assert (p.qr, p.folder, p.id) == ("pages/news/2026-11/975278.md.png", "pages/news/2026-11", "975278")


def test_known_article_keeps_its_path_forever(tmp_path: Path) -> None:
    m = Manifest([record("https://example.com/a/1.html", "pages/news/2019-03/1.md")])
    m.save(tmp_path)
    again = Manifest.load(tmp_path)
    for manifest in (m, again):
        # Whatever the new date, channel or spelling of the URL.
        assert assign_path(manifest, url="https://EXAMPLE.com/a/1.html?utm_source=x#c", channel="other",
                           published=RUN, run_date=RUN) == "pages/news/2019-03/1.md"


def test_a_clash_gets_a_hash_of_the_url_not_a_counter() -> None:
    m = Manifest([record("https://one.example/news/975278.html", "pages/news/2026-11/975278.md")])
    two = assign_path(m, url="https://two.example/975278.html", channel="news", run_date=RUN)
    assert re.fullmatch(r"pages/news/2026-11/975278-[0-9a-f]{8}\.md", two)
    # The same URL gets the same name whichever run assigns it first.
    assert two == assign_path(Manifest(list(m)), url="https://two.example/975278.html", channel="news",
                              run_date=RUN)
    m.add(record("https://two.example/975278.html", two))
    three = assign_path(m, url="https://three.example/975278.html", channel="news", run_date=RUN)
    assert three not in m.paths() and three.startswith("pages/news/2026-11/975278-")
    # Another month, or another channel, is another folder: no clash.
    assert assign_path(m, url="https://two.example/975278.html?x=1", channel="news", month="2026-10") \
        == "pages/news/2026-10/975278.md"


def test_clash_is_case_insensitive_for_macos_and_windows_clones() -> None:
    m = Manifest([record("https://one.example/ABC", "pages/news/2026-11/ABC.md")])
    got = assign_path(m, url="https://two.example/abc", channel="news", run_date=RUN)
    assert got.lower() != "pages/news/2026-11/abc.md"


def test_a_layout_never_hands_out_one_path_twice_in_a_run() -> None:
    m = Manifest()
    layout = PageLayout(m)
    urls = [f"https://site{i}.example/news/975278.html" for i in range(5)]
    paths = [layout.assign(url=u, channel="news", run_date=RUN) for u in urls]
    assert len(set(paths)) == 5
    assert paths[0] == "pages/news/2026-11/975278.md"
    # Asking again for the same URL gives the same path.
    assert layout.assign(url=urls[3], channel="news", run_date=RUN) == paths[3]


def test_full_month_folder_continues_in_the_next(tmp_path: Path) -> None:
    m = Manifest()
    limit = 6  # three pages and their QR images
    for i in range(8):
        url = f"https://example.com/news/{i}.html"
        path = assign_path(m, url=url, channel="news", run_date=RUN, folder_limit=limit)
        for p in (path, PagePaths(path).qr):
            target = safe_join(tmp_path, p)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text("x")
        m.add(record(url, path))
    folders = sorted(os.listdir(tmp_path / "pages/news"))
    assert folders == ["2026-11", "2026-11-2", "2026-11-3"]
    counts = [len(os.listdir(tmp_path / "pages/news" / f)) for f in folders]
    assert counts == [6, 6, 4]
    assert all(c <= limit for c in counts)


def test_one_layout_for_a_run_fills_folders_exactly_to_the_limit() -> None:
    m = Manifest()
    layout = PageLayout(m, folder_limit=6)
    paths = []
    for i in range(4):  # handed out first, recorded later
        paths.append(layout.assign(url=f"https://example.com/a/{i}.html", channel="news", run_date=RUN))
    for i in range(4, 7):  # recorded as they are handed out
        paths.append(layout.assign(url=f"https://example.com/a/{i}.html", channel="news", run_date=RUN))
        m.add(record(f"https://example.com/a/{i}.html", paths[-1]))
    for i in range(4):
        m.add(record(f"https://example.com/a/{i}.html", paths[i]))
    folders = [PagePaths(p).folder.rsplit("/", 1)[1] for p in paths]
    assert folders == ["2026-11"] * 3 + ["2026-11-2"] * 3 + ["2026-11-3"]


def test_retired_pages_free_folder_room_but_keep_their_names() -> None:
    urls = [f"https://example.com/news/{i}.html" for i in range(3)]
    m = Manifest([record(u, f"pages/news/2026-11/{i}.md") for i, u in enumerate(urls)])
    assert assign_path(m, url="https://example.com/x/9.html", channel="news", run_date=RUN,
                       folder_limit=6).startswith("pages/news/2026-11-2/")
    m.retire(urls[0])
    assert assign_path(m, url="https://example.com/x/9.html", channel="news", run_date=RUN,
                       folder_limit=6) == "pages/news/2026-11/9.md"
    # A retired page's name is not reused by another article: old links must not change meaning.
    other = assign_path(m, url="https://other.example/0.html", channel="news", run_date=RUN, folder_limit=6)
    assert other != "pages/news/2026-11/0.md"


def test_folder_limit_below_two_still_places_one_page_per_folder() -> None:
    m = Manifest([record("https://example.com/1", "pages/news/2026-11/1.md")])
    assert assign_path(m, url="https://example.com/2", channel="news", run_date=RUN, folder_limit=1) \
        == "pages/news/2026-11-2/2.md"


def test_stable_across_reloads_and_new_runs(tmp_path: Path) -> None:
    first = {}
    m = Manifest.load(tmp_path)
    layout = PageLayout(m, folder_limit=4)
    for i in range(5):
        url = f"https://example.com/n/{i % 3}/item.html?id={i}"
        first[url] = layout.assign(url=url, channel="news", run_date=RUN)
        m.add(record(url, first[url]))
    m.save(tmp_path)
    m2 = Manifest.load(tmp_path)
    layout2 = PageLayout(m2, folder_limit=4)
    for url, path in first.items():
        assert layout2.assign(url=url, channel="news", run_date=datetime(2027, 5, 1, tzinfo=UTC)) == path
    new = layout2.assign(url="https://example.com/n/new.html", channel="news", run_date=RUN)
    assert new not in first.values()


def test_never_a_path_outside_the_repo(tmp_path: Path) -> None:
    bad = Record(url="https://example.com/evil", id="x", path="../../outside/x.md", channel="news")
    m = Manifest([bad])
    got = assign_path(m, url="https://example.com/evil", channel="news", run_date=RUN, repo_root=tmp_path)
    assert got == "pages/news/2026-11/evil.md"
    safe_join(tmp_path, got)
    for channel in ["..", "../x", "a/b", "", ".git", "con", "my channel", "-x"]:
        with pytest.raises(ValueError):
            assign_path(Manifest(), url="https://example.com/1", channel=channel, run_date=RUN)
    with pytest.raises(UnsafePath):
        assign_path(Manifest(), url="https://example.com/1", channel="news", run_date=RUN, pages_dir="../up")
    with pytest.raises(ValueError):
        assign_path(Manifest(), url="https://example.com/1", channel="news", month="2026-13")
    with pytest.raises(ValueError):
        assign_path(Manifest(), url="https://example.com/1", channel="news", run_date=RUN, page_id="../x")


def test_a_symlinked_pages_folder_leading_out_is_refused(tmp_path: Path) -> None:
    repo, outside = tmp_path / "repo", tmp_path / "outside"
    repo.mkdir()
    outside.mkdir()
    (repo / "pages").symlink_to(outside)
    with pytest.raises(UnsafePath):
        assign_path(Manifest(), url="https://example.com/1", channel="news", run_date=RUN, repo_root=repo)


_name = st.text(min_size=1, max_size=12).filter(lambda s: "/" not in s and s not in (".", ".."))


@settings(max_examples=300, deadline=None)
@given(st.lists(_name, max_size=3), st.lists(_name, min_size=1, max_size=3))
def test_any_relative_link_renders_to_its_target(from_parts: list[str], to_parts: list[str]) -> None:
    assume(from_parts[: len(to_parts)] != to_parts)  # the target is a file, not a folder above
    from_dir, to_path = "/".join(from_parts), "/".join(to_parts)
    link = relative_path(from_dir, to_path)
    assert rendered_target(from_dir, link) == to_path
