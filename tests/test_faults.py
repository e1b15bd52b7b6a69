"""Fault suite: whole publish runs with one misbehaving article or feed among good ones, on 127.0.0.1.

Each scenario checks what a CI job that runs unattended for years needs: the run ends in bounded
time, the bad URL is reported with its cause, the good articles are committed, and nothing of the
bad one is left behind (no page, no QR code, no manifest record, no temp file, a clean tree).
"""

from __future__ import annotations

import fcntl
import gzip
import re
import socket
import subprocess
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.rawsite import RawSite, Request, head, reset, respond, stream

from mirror.config import parse_config
from mirror.manifest import Manifest
from mirror.paths import page_id
from mirror.publisher import Publisher, RunReport
from mirror.rewrite import normalize_url

BOUND = 20.0  # seconds a whole run may take, whatever the site does
GOOD = ("/news/good-1.html", "/news/good-2.html")
PNG_1x1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2213bc90000000049454e44ae426082"
)
CHINESE = "本市迎来入冬首场降雨，周末气温将降至五度。气象台提醒市民注意添衣保暖，出行携带雨具。"


def article(title: str, body: str = "") -> str:
    body = body or (
        f"<p>{title}: the council approved the plan on Tuesday, residents were pleased, and the works "
        "start next spring, when the weather allows it and the contractors are ready.</p>"
        "<p>A second paragraph with more words, so that the extractor is certain that this is the "
        "article and not a navigation block or a list of links to other stories.</p>"
    )
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head><body>'
        f'<nav><a href="/">Home</a></nav><article><h1>{title}</h1>{body}</article></body></html>'
    )


def page(html: str | bytes, content_type: str = "text/html; charset=utf-8") -> Callable[[socket.socket, Request], None]:
    def handler(conn: socket.socket, req: Request) -> None:
        respond(conn, 200, html, content_type)

    return handler


def hang(conn: socket.socket, limit: float = 30.0) -> None:
    """Say nothing until the client gives up (or `limit` passes)."""
    conn.settimeout(0.2)
    started = time.monotonic()
    while time.monotonic() - started < limit:
        try:
            if not conn.recv(1024):
                return
        except TimeoutError:
            continue
        except OSError:
            return


@pytest.fixture
def site() -> Iterator[RawSite]:
    with RawSite() as s:
        for n, path in enumerate(GOOD, 1):
            s.route(path, page(article(f"Good story {n}")))
        yield s


def config(tmp_path: Path, sources: list[dict], **fetch: object):  # type: ignore[no-untyped-def]
    data = {
        "publisher": {"repo": str(tmp_path / "repo"), "page_url": "github:o/r",
                      "author": "Bot <bot@example.org>", "language": "en"},
        "fetch": {"allow_hosts": ["127.0.0.1"], "timeout": 1, "retries": 1, **fetch},
        "source": sources,
    }
    return parse_config(data, tmp_path / "mirror.toml")


def urls_source(site: RawSite, bad: str) -> list[dict]:
    """One `urls` source: the bad URL between two good ones."""
    return [{"name": "times", "channel": "news", "channel_name": "News", "kind": "urls",
             "urls": [site.url(GOOD[0]), bad, site.url(GOOD[1])]}]


def feed_sources(site: RawSite, feed_url: str) -> list[dict]:
    """A `urls` source with the good articles, and a feed source whose feed is under test."""
    return [{"name": "good", "channel": "news", "channel_name": "News", "kind": "urls",
             "urls": [site.url(p) for p in GOOD]},
            {"name": "wire", "channel": "wire", "channel_name": "Wire", "kind": "feed", "url": feed_url}]


def publish(tmp_path: Path, sources: list[dict], **fetch: object) -> RunReport:
    started = time.monotonic()
    report = Publisher(config(tmp_path, sources, **fetch)).publish()
    elapsed = time.monotonic() - started
    assert elapsed < BOUND, f"the run took {elapsed:.1f} s"
    return report


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def assert_clean_tree(repo: Path) -> None:
    """Committed, nothing left over: no changes, no temp files, no lock."""
    assert git(repo, "status", "--porcelain", "--untracked-files=all", "--ignored") == ""
    leftovers = [p for p in repo.rglob("*") if ".git" not in p.relative_to(repo).parts
                 and re.search(r"\.(tmp|part)$|^\.tmp-|~$", p.name)]
    assert leftovers == []
    lock = repo / ".git" / "mirror.lock"
    if lock.exists():  # an flock file: it may stay, but nobody may hold it
        with lock.open("rb") as f:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)


def assert_only_published(repo: Path, urls: list[str]) -> None:
    """The manifest, the pages and the QR codes hold exactly the articles of `urls`, all committed."""
    manifest = Manifest.load(repo)
    assert sorted(r.url for r in manifest) == sorted(normalize_url(u) for u in urls)
    committed = set(git(repo, "ls-files").splitlines())
    pages = sorted(p.relative_to(repo).as_posix() for p in (repo / "pages").rglob("*") if p.is_file())
    expected = sorted([r.path for r in manifest] + [r.path + ".png" for r in manifest])
    assert pages == expected
    assert set(pages) <= committed


def assert_contained(tmp_path: Path, report: RunReport, site: RawSite, bad: str, cause: str) -> str:
    """The bad URL failed with `cause` (a regex), the good ones are committed, nothing else is there."""
    repo = tmp_path / "repo"
    assert [u for u, _ in report.failed] == [bad], report.failed
    reason = report.failed[0][1]
    assert re.search(cause, reason, re.IGNORECASE), reason
    assert report.commit is not None
    assert sorted(p.url for p in report.published) == sorted(site.url(p) for p in GOOD)
    assert_only_published(repo, [site.url(p) for p in GOOD])
    assert not list(repo.rglob(page_id(bad) + ".md*"))
    assert_clean_tree(repo)
    return reason


def assert_all_published(tmp_path: Path, report: RunReport, urls: list[str]) -> None:
    assert report.failed == []
    assert sorted(p.url for p in report.published) == sorted(urls)
    assert_only_published(tmp_path / "repo", urls)
    assert_clean_tree(tmp_path / "repo")


def page_text(tmp_path: Path, url: str) -> str:
    rec = Manifest.load(tmp_path / "repo").get(normalize_url(url))
    assert rec is not None, url
    return (tmp_path / "repo" / rec.path).read_text("utf-8")


# ----------------------------------------------------------------------------- slow servers


def test_server_that_never_answers_times_out(tmp_path: Path, site: RawSite) -> None:
    bad = site.route("/news/silent.html", lambda conn, req: hang(conn))
    report = publish(tmp_path, urls_source(site, bad))
    assert_contained(tmp_path, report, site, bad, r"no data for 1 s|timed? ?out|within")


def test_headers_trickling_a_byte_a_second_are_cut(tmp_path: Path, site: RawSite) -> None:
    def trickle(conn: socket.socket, req: Request) -> None:
        stream(conn, (bytes([b]) for b in head(200, {"Content-Type": "text/html"}) * 10), pause=1.0)

    bad = site.route("/news/trickle-head.html", trickle)
    report = publish(tmp_path, urls_source(site, bad))
    assert_contained(tmp_path, report, site, bad, r"within|no data|timed? ?out")


def test_body_trickling_a_byte_a_second_is_cut_at_the_deadline(tmp_path: Path, site: RawSite) -> None:
    body = article("Slow story").encode()

    def trickle(conn: socket.socket, req: Request) -> None:
        conn.sendall(head(200, {"Content-Type": "text/html; charset=utf-8", "Content-Length": str(len(body))}))
        stream(conn, (body[i:i + 1] for i in range(len(body))), pause=1.0)

    bad = site.route("/news/trickle-body.html", trickle)
    started = time.monotonic()
    report = publish(tmp_path, urls_source(site, bad))
    assert_contained(tmp_path, report, site, bad, r"no complete response within|no data for|timed out")
    # The deadline (3 x timeout) bounds each attempt: two attempts at most, plus the run itself.
    assert time.monotonic() - started < 2 * 3 + 9


# ----------------------------------------------------------------------------- status codes


def test_429_with_retry_after_is_retried_and_published(tmp_path: Path, site: RawSite) -> None:
    def limited(conn: socket.socket, req: Request) -> None:
        if site.count(req.path) == 1:
            respond(conn, 429, "slow down", "text/plain", {"Retry-After": "1"})
        else:
            respond(conn, 200, article("Rate limited story"))

    bad = site.route("/news/limited.html", limited)
    started = time.monotonic()
    report = publish(tmp_path, urls_source(site, bad))
    assert time.monotonic() - started >= 1.0  # Retry-After was honoured
    assert site.count("/news/limited.html") == 2
    assert_all_published(tmp_path, report, [site.url(GOOD[0]), bad, site.url(GOOD[1])])


def test_429_asking_for_an_hour_gives_up_at_once(tmp_path: Path, site: RawSite) -> None:
    bad = site.route("/news/closed.html",
                     lambda conn, req: respond(conn, 429, "come back later", "text/plain", {"Retry-After": "3600"}))
    started = time.monotonic()
    report = Publisher(config(tmp_path, urls_source(site, bad), max_backoff=6)).publish()
    # Waiting max_backoff cannot satisfy a server that asked for an hour: give up now, retry next run.
    assert time.monotonic() - started < 6
    assert_contained(tmp_path, report, site, bad, r"HTTP 429")


def test_500_then_200_is_retried_and_published(tmp_path: Path, site: RawSite) -> None:
    def flaky(conn: socket.socket, req: Request) -> None:
        if site.count(req.path) == 1:
            respond(conn, 500, "oops", "text/plain")
        else:
            respond(conn, 200, article("Flaky story"))

    bad = site.route("/news/flaky.html", flaky)
    report = publish(tmp_path, urls_source(site, bad))
    assert site.count("/news/flaky.html") == 2
    assert_all_published(tmp_path, report, [site.url(GOOD[0]), bad, site.url(GOOD[1])])
    assert "Flaky story" in page_text(tmp_path, bad)


def test_persistent_503_is_reported_after_the_retries(tmp_path: Path, site: RawSite) -> None:
    bad = site.route("/news/down.html", lambda conn, req: respond(conn, 503, "down", "text/plain"))
    report = publish(tmp_path, urls_source(site, bad))
    assert site.count("/news/down.html") == 2  # retries = 1
    assert_contained(tmp_path, report, site, bad, r"HTTP 503")


def test_404_is_reported(tmp_path: Path, site: RawSite) -> None:
    bad = site.url("/news/gone.html")
    report = publish(tmp_path, urls_source(site, bad))
    assert_contained(tmp_path, report, site, bad, r"HTTP 404")


# ----------------------------------------------------------------------------- broken connections


def test_connection_reset_mid_body_is_reported(tmp_path: Path, site: RawSite) -> None:
    body = article("Reset story").encode()

    def resetting(conn: socket.socket, req: Request) -> None:
        conn.sendall(head(200, {"Content-Type": "text/html", "Content-Length": str(len(body))}) + body[:200])
        time.sleep(0.05)
        reset(conn)

    bad = site.route("/news/reset.html", resetting)
    report = publish(tmp_path, urls_source(site, bad))
    assert site.count("/news/reset.html") == 2  # a reset is worth one retry
    assert_contained(tmp_path, report, site, bad, r"reset|connection|broken")


def test_connection_reset_once_then_served_is_published(tmp_path: Path, site: RawSite) -> None:
    def once(conn: socket.socket, req: Request) -> None:
        if site.count(req.path) == 1:
            conn.sendall(head(200, {"Content-Type": "text/html", "Content-Length": "5000"}) + b"<html><body><p>")
            time.sleep(0.05)
            reset(conn)
        else:
            respond(conn, 200, article("Second try story"))

    bad = site.route("/news/reset-once.html", once)
    report = publish(tmp_path, urls_source(site, bad))
    assert_all_published(tmp_path, report, [site.url(GOOD[0]), bad, site.url(GOOD[1])])
    assert "Second try story" in page_text(tmp_path, bad)


def test_truncated_body_is_not_published_half(tmp_path: Path, site: RawSite) -> None:
    body = article("Truncated story").encode()

    def truncated(conn: socket.socket, req: Request) -> None:
        # Promises twice what it sends, then closes cleanly (a FIN, not a reset).
        conn.sendall(head(200, {"Content-Type": "text/html", "Content-Length": str(2 * len(body))}) + body)
        conn.shutdown(socket.SHUT_WR)

    bad = site.route("/news/truncated.html", truncated)
    report = publish(tmp_path, urls_source(site, bad))
    assert_contained(tmp_path, report, site, bad, r"incomplete|truncat|connection|bytes read")


def test_connection_refused_is_reported(tmp_path: Path, site: RawSite) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        bad = f"http://127.0.0.1:{sock.getsockname()[1]}/news/nobody.html"
    report = publish(tmp_path, urls_source(site, bad))
    assert_contained(tmp_path, report, site, bad, r"refused|connect")


# ----------------------------------------------------------------------------- hostile sizes


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """About 200 KB of gzip that inflates to 200 MB, made in memory."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = b"\0" * (1 << 20)
    return b"".join([packer.compress(zeros) for _ in range(200)] + [packer.flush()])


def test_gzip_bomb_is_stopped_at_the_size_limit(tmp_path: Path, site: RawSite, gzip_bomb: bytes) -> None:
    def bomb(conn: socket.socket, req: Request) -> None:
        headers = {"Content-Type": "text/html", "Content-Encoding": "gzip", "Content-Length": str(len(gzip_bomb))}
        stream(conn, [head(200, headers), gzip_bomb])

    bad = site.route("/news/bomb.html", bomb)
    report = publish(tmp_path, urls_source(site, bad), max_bytes=5_000_000)
    assert_contained(tmp_path, report, site, bad, r"larger than max_bytes")


def test_gzip_garbage_is_reported(tmp_path: Path, site: RawSite) -> None:
    broken = gzip.compress(article("Garbled").encode())[:40] + b"\xde\xad\xbe\xef" * 50
    bad = site.route("/news/garbled.html", lambda conn, req: respond(
        conn, 200, broken, "text/html", {"Content-Encoding": "gzip"}))
    report = publish(tmp_path, urls_source(site, bad))
    assert_contained(tmp_path, report, site, bad, r"decompress|decod|connection|incomplete")


def test_fifty_megabyte_page_is_refused_without_being_kept(tmp_path: Path, site: RawSite) -> None:
    sent = []

    def huge(conn: socket.socket, req: Request) -> None:
        # No Content-Length: the limit must be enforced while reading, not from the header.
        chunk = b"<p>" + b"lorem ipsum dolor sit amet " * 2400 + b"</p>\n"
        def chunks() -> Iterator[bytes]:
            yield head(200, {"Content-Type": "text/html; charset=utf-8"}) + b"<html><body><article>"
            total = 0
            while total < 50 * 1024 * 1024:
                total += len(chunk)
                sent.append(len(chunk))
                yield chunk
        stream(conn, chunks())

    bad = site.route("/news/huge.html", huge)
    report = publish(tmp_path, urls_source(site, bad))  # default max_bytes: 20 MB
    assert_contained(tmp_path, report, site, bad, r"larger than max_bytes")
    # The client hung up near the limit, rather than reading the 50 MB.
    assert sum(sent) < 40 * 1024 * 1024


def test_redirect_loop_is_stopped(tmp_path: Path, site: RawSite) -> None:
    def loop(conn: socket.socket, req: Request) -> None:
        other = "/news/loop-b.html" if req.path == "/news/loop-a.html" else "/news/loop-a.html"
        respond(conn, 302, "", "text/plain", {"Location": other})

    bad = site.route("/news/loop-a.html", loop)
    site.route("/news/loop-b.html", loop)
    report = publish(tmp_path, urls_source(site, bad))
    assert_contained(tmp_path, report, site, bad, r"redirect loop")
    assert site.count("/news/loop-a.html") + site.count("/news/loop-b.html") <= 12


# ----------------------------------------------------------------------------- lying charsets


def test_header_says_utf8_but_body_is_gbk(tmp_path: Path, site: RawSite) -> None:
    html = article("降雨", f"<p>{CHINESE}</p><p>{CHINESE}</p>").replace('<meta charset="utf-8">', "")
    bad = site.route("/news/gbk.html", page(html.encode("gbk"), "text/html; charset=utf-8"))
    report = publish(tmp_path, urls_source(site, bad))
    assert_all_published(tmp_path, report, [site.url(GOOD[0]), bad, site.url(GOOD[1])])
    text = page_text(tmp_path, bad)
    assert CHINESE in text and "\ufffd" not in text


def test_header_says_latin1_but_body_is_utf8_chinese(tmp_path: Path, site: RawSite) -> None:
    html = article("降雨", f"<p>{CHINESE}</p><p>{CHINESE}</p>").replace('<meta charset="utf-8">', "")
    bad = site.route("/news/latin1.html", page(html.encode("utf-8"), "text/html; charset=iso-8859-1"))
    report = publish(tmp_path, urls_source(site, bad))
    assert_all_published(tmp_path, report, [site.url(GOOD[0]), bad, site.url(GOOD[1])])
    text = page_text(tmp_path, bad)
    assert CHINESE in text and "æœ" not in text


def test_unknown_charset_label_is_survived(tmp_path: Path, site: RawSite) -> None:
    html = article("Story with a bogus charset").replace('<meta charset="utf-8">', '<meta charset="x-no-such">')
    bad = site.route("/news/bogus-charset.html", page(html.encode(), "text/html; charset=klingon-8"))
    report = publish(tmp_path, urls_source(site, bad))
    assert_all_published(tmp_path, report, [site.url(GOOD[0]), bad, site.url(GOOD[1])])


# ----------------------------------------------------------------------------- not an article


def test_pdf_served_as_the_article_is_reported_as_not_html(tmp_path: Path, site: RawSite) -> None:
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n" + bytes(range(256)) * 20 + b"\n%%EOF\n"
    bad = site.route("/news/report.html", page(pdf, "application/pdf"))
    report = publish(tmp_path, urls_source(site, bad))
    assert_contained(tmp_path, report, site, bad, r"not an HTML page \(.*pdf")


def test_png_served_as_the_article_is_reported(tmp_path: Path, site: RawSite) -> None:
    bad = site.route("/news/picture.html", page(PNG_1x1 * 50, "image/png"))
    report = publish(tmp_path, urls_source(site, bad))
    assert_contained(tmp_path, report, site, bad, r"not an HTML page \(.*png")


def test_png_bytes_labelled_html_are_not_published_as_garbage(tmp_path: Path, site: RawSite) -> None:
    png = PNG_1x1 + bytes(range(256)) * 40
    bad = site.route("/news/mislabelled.html", page(png, "text/html"))
    report = publish(tmp_path, urls_source(site, bad))
    assert_contained(tmp_path, report, site, bad, r"not an HTML page \(.*png")


def test_empty_body_is_reported(tmp_path: Path, site: RawSite) -> None:
    bad = site.route("/news/empty.html", page(b""))
    report = publish(tmp_path, urls_source(site, bad))
    assert_contained(tmp_path, report, site, bad, r"empty|no article content")


def test_page_of_only_navigation_is_reported(tmp_path: Path, site: RawSite) -> None:
    html = "<html><body><nav><a href='/'>Home</a> <a href='/a'>About</a></nav><script>x()</script></body></html>"
    bad = site.route("/news/nav-only.html", page(html))
    report = publish(tmp_path, urls_source(site, bad))
    assert_contained(tmp_path, report, site, bad, r"no article content")


# ----------------------------------------------------------------------------- broken feeds


def rss(items: str) -> str:
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Wire</title>{items}</channel></rss>'


def item(site: RawSite, path: str, title: str = "A wire story") -> str:
    return f"<item><title>{title}</title><link>{site.url(path)}</link><pubDate>Mon, 02 Nov 2026 10:00:00 GMT</pubDate></item>"


def wire(site: RawSite, n: int) -> str:
    path = f"/wire/{n}.html"
    site.route(path, page(article(f"Wire story {n}")))
    return path


def good_urls(site: RawSite) -> list[str]:
    return [site.url(p) for p in GOOD]


def test_truncated_feed_publishes_its_complete_entries(tmp_path: Path, site: RawSite) -> None:
    xml = rss(item(site, wire(site, 1)) + item(site, wire(site, 2)) + item(site, wire(site, 3)))
    cut = xml[: xml.index(site.url("/wire/3.html")) + 20]  # inside the third item's link
    feed = site.route("/wire/feed.xml", page(cut.encode(), "application/rss+xml"))
    report = publish(tmp_path, feed_sources(site, feed))
    published = sorted(p.url for p in report.published)
    assert site.url("/wire/1.html") in published and site.url("/wire/2.html") in published
    assert set(good_urls(site)) <= set(published)
    # A cut link points nowhere: if it was read at all, it failed and nothing of it is kept.
    assert all(u.startswith(site.url("/wire/3")) for u, _ in report.failed), report.failed
    assert_only_published(tmp_path / "repo", published)
    assert_clean_tree(tmp_path / "repo")


def test_html_served_as_the_feed_is_a_source_failure(tmp_path: Path, site: RawSite) -> None:
    feed = site.route("/wire/feed.xml", page(article("Not a feed"), "text/html; charset=utf-8"))
    report = publish(tmp_path, feed_sources(site, feed))
    assert [u for u, _ in report.failed] == ["source wire"]
    assert feed in report.failed[0][1] and re.search(r"not a (readable )?feed", report.failed[0][1])
    assert sorted(p.url for p in report.published) == good_urls(site)
    assert_only_published(tmp_path / "repo", good_urls(site))
    assert_clean_tree(tmp_path / "repo")


def test_feed_with_garbage_entities_is_read(tmp_path: Path, site: RawSite) -> None:
    entities = "&nbsp;&bogus;&#0;&#xD800;&#x110000;&#65;&amp&"
    items = item(site, wire(site, 1), f"Story {entities} one") + item(site, wire(site, 2), "Story two &copy;")
    feed = site.route("/wire/feed.xml", page(rss(items).encode(), "application/rss+xml"))
    report = publish(tmp_path, feed_sources(site, feed))
    urls = good_urls(site) + [site.url("/wire/1.html"), site.url("/wire/2.html")]
    assert_all_published(tmp_path, report, urls)
    for rec in Manifest.load(tmp_path / "repo"):
        assert "\x00" not in rec.title and not re.search(r"[\ud800-\udfff]", rec.title)


def test_feed_entries_without_links_are_skipped_with_a_warning(tmp_path: Path, site: RawSite) -> None:
    items = (item(site, wire(site, 1)) + "<item><title>No link here</title></item>"
             + "<item><title>Empty link</title><link>  </link></item>"
             + "<item><title>Not the web</title><link>ftp://files.example/x</link></item>")
    feed = site.route("/wire/feed.xml", page(rss(items).encode(), "application/rss+xml"))
    report = publish(tmp_path, feed_sources(site, feed))
    assert report.failed == []
    assert sorted(p.url for p in report.published) == sorted(good_urls(site) + [site.url("/wire/1.html")])
    assert_clean_tree(tmp_path / "repo")
    assert any("wire" in w and re.search(r"without a (usable )?link|no link", w) for w in report.warnings), report.warnings


def test_duplicate_feed_entries_are_published_once(tmp_path: Path, site: RawSite) -> None:
    path = wire(site, 1)
    items = (item(site, path) + item(site, path, "Same story again")
             + f"<item><title>Tracked</title><link>{site.url(path)}?utm_source=rss#top</link></item>")
    feed = site.route("/wire/feed.xml", page(rss(items).encode(), "application/rss+xml"))
    report = publish(tmp_path, feed_sources(site, feed))
    assert report.failed == []
    assert [normalize_url(p.url) for p in report.published].count(site.url(path)) == 1
    assert len(report.published) == 3
    assert_only_published(tmp_path / "repo", good_urls(site) + [site.url(path)])
    assert site.count(path) == 1
    assert_clean_tree(tmp_path / "repo")


def test_feed_that_never_answers_does_not_stop_the_other_sources(tmp_path: Path, site: RawSite) -> None:
    feed = site.route("/wire/feed.xml", lambda conn, req: hang(conn))
    report = publish(tmp_path, feed_sources(site, feed))
    assert [u for u, _ in report.failed] == ["source wire"] and feed in report.failed[0][1]
    assert_only_published(tmp_path / "repo", good_urls(site))
    assert_clean_tree(tmp_path / "repo")


def test_everything_failing_commits_nothing_and_leaves_no_trace(tmp_path: Path, site: RawSite) -> None:
    bad = site.route("/news/down.html", lambda conn, req: respond(conn, 503, "down", "text/plain"))
    sources = [{"name": "times", "channel": "news", "channel_name": "News", "kind": "urls", "urls": [bad]}]
    report = publish(tmp_path, sources)
    assert [u for u, _ in report.failed] == [bad] and report.published == []
    repo = tmp_path / "repo"
    assert not (repo / "pages").exists() or not any((repo / "pages").rglob("*.md"))
    assert_clean_tree(repo)


# ----------------------------------------------------------------------------- images


def test_misbehaving_images_cost_only_a_warning(tmp_path: Path, site: RawSite) -> None:
    def trickle(conn: socket.socket, req: Request) -> None:
        conn.sendall(head(200, {"Content-Type": "image/png", "Content-Length": "5000"}))
        stream(conn, (PNG_1x1[i:i + 1] for i in range(len(PNG_1x1))), pause=1.0)

    def resetting(conn: socket.socket, req: Request) -> None:
        conn.sendall(head(200, {"Content-Type": "image/png", "Content-Length": "5000"}) + PNG_1x1[:20])
        time.sleep(0.05)
        reset(conn)

    def huge(conn: socket.socket, req: Request) -> None:
        stream(conn, [head(200, {"Content-Type": "image/png"}), PNG_1x1] + [b"\0" * (1 << 20)] * 30)

    svg = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(1)</script></svg>'
    bad = {
        "/img/trickle.png": (trickle, r"within|no data|timed out"),
        "/img/reset.png": (resetting, r"reset|connection"),
        "/img/huge.png": (huge, r"larger than|too large"),
        "/img/evil.svg": (lambda conn, req: respond(conn, 200, svg, "image/svg+xml"), r"SVG"),
        "/img/page.png": (lambda conn, req: respond(conn, 200, article("not an image")), r"not a recognised image"),
        "/img/missing.png": (None, r"404"),
    }
    for path, (handler, _) in bad.items():
        if handler is not None:
            site.route(path, handler)
    site.route("/img/ok.png", lambda conn, req: respond(conn, 200, PNG_1x1, "image/png"))
    images = "".join(f'<img src="{p}" alt="{p}">' for p in [*bad, "/img/ok.png"])
    url = site.route("/news/pictures.html", page(article("Pictures", f"<p>{'Words about the pictures. ' * 10}</p><p>{images}</p>")))
    sources = [{"name": "times", "channel": "news", "channel_name": "News", "kind": "urls", "images": "localize",
                "urls": [site.url(GOOD[0]), url], "image_max_bytes": 1_000_000}]
    report = publish(tmp_path, sources)
    assert_all_published(tmp_path, report, [site.url(GOOD[0]), url])
    for path, (_, cause) in bad.items():
        warning = next((w for w in report.warnings if site.url(path) in w), None)
        assert warning is not None and re.search(cause, warning), (path, report.warnings)
    repo = tmp_path / "repo"
    assets = [p for p in (repo / "assets").rglob("*") if p.is_file()]
    assert len(assets) == 1 and assets[0].read_bytes() == PNG_1x1
    text = page_text(tmp_path, url)
    assert "onload" not in text and "<svg" not in text
