"""`mirror publish` end to end: a loopback site with a feed, a real repo with a bare remote, QR codes read back."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path, PurePosixPath

import lxml.html
import pytest
import zxingcpp
from markdown_it import MarkdownIt
from PIL import Image

from mirror.config import parse_config
from mirror.gitrepo import GitError
from mirror.manifest import Manifest
from mirror.publisher import Publisher

MD = MarkdownIt("commonmark").enable("table").enable("strikethrough")
PNG_1x1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2213bc90000000049454e44ae426082"
)


def article(n: int, extra: str = "") -> str:
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Story {n} - Test Times</title>
<meta property="og:site_name" content="Test Times">
<meta property="article:published_time" content="2026-11-0{n}T10:00:00Z"></head>
<body><nav><a href="/">Home</a> <a href="/about">About</a></nav>
<article><h1>Story {n}</h1>
<p>First paragraph of story {n}, long enough to be the article, with a <a href="/news/{(n % 3) + 1}.html">link
to another story</a> and some more words so that the extractor is sure.</p>
<p>Second paragraph of story {n}: the council approved the plan, residents were pleased, and the works
start next spring, when the weather allows. <img src="/img/{n}.png" alt="picture {n}"></p>
{extra}
</article><div class="share-widget"><a href="https://social.example/share">Share</a></div>
<script>alert(1)</script></body></html>"""


def feed(base: str, numbers: list[int]) -> str:
    items = "".join(
        f"<item><title>Story {n}</title><link>{base}/news/{n}.html</link>"
        f"<pubDate>Mon, 0{n} Nov 2026 10:00:00 GMT</pubDate></item>" for n in reversed(numbers))  # newest first
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>'


def serve_site(httpserver) -> dict:
    """A small news site on the test server: a feed, articles (some can be broken), images."""
    base = httpserver.url_for("").rstrip("/")
    state = {"numbers": [1, 2, 3], "broken": set(), "extra": ""}

    def handler(request):
        from werkzeug import Response

        path = request.path
        if path == "/feed.xml":
            return Response(feed(base, state["numbers"]), content_type="application/rss+xml")
        if m := re.fullmatch(r"/news/(\d+)\.html", path):
            n = int(m.group(1))
            if n in state["broken"]:
                return Response("boom", status=404)
            return Response(article(n, state["extra"] if n == 1 else ""), content_type="text/html; charset=utf-8")
        if re.fullmatch(r"/img/\d+\.png", path):
            return Response(PNG_1x1 + path.encode(), content_type="image/png")
        return Response("not found", status=404)

    httpserver.expect_request(re.compile(".*")).respond_with_handler(handler)
    state["base"] = base
    return state


@pytest.fixture
def site(httpserver):
    return serve_site(httpserver)


def make_config(tmp_path: Path, base: str, **publisher) -> object:
    data = {
        "publisher": {"repo": str(tmp_path / "repo"), "page_url": "github:o/r", "author": "Bot <bot@example.org>",
                      "language": "en", **publisher},
        "fetch": {"allow_hosts": ["127.0.0.1", "localhost"], "timeout": 5, "retries": 0},
        "nav": [{"title": "Home", "href": "/README.md"}, {"title": "{channel_name}", "href": "/indexes/{channel}.md"},
                {"title": "Tech here", "href": "https://github.com/o/r/blob/main/indexes/tech.md"}],
        "source": [{"name": "times", "channel": "news", "channel_name": "News", "kind": "feed",
                    "url": f"{base}/feed.xml", "links": "mirror", "images": "localize"},
                   {"name": "tech", "channel": "tech", "channel_name": "Tech", "kind": "urls",
                    "urls": [f"{base}/news/6.html"]}],
    }
    return parse_config(data, tmp_path / "mirror.toml")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def rendered_links(md_file: Path) -> list[str]:
    root = lxml.html.fragment_fromstring(MD.render(md_file.read_text("utf-8")) or "<p/>", create_parent="div")
    return [el.get("href") for el in root.iter("a")] + [el.get("src") for el in root.iter("img")]


def assert_links_resolve(repo: Path) -> int:
    """Every relative link and image in every Markdown file points at a file of the repo."""
    checked = 0
    for md_file in repo.rglob("*.md"):
        if ".git" in md_file.parts:
            continue
        for href in rendered_links(md_file):
            if re.match(r"^[a-z]+:", href) or href.startswith("#"):
                continue
            target = (md_file.parent / href.split("#")[0].split("?")[0]).resolve()
            assert target.is_file(), f"{md_file.relative_to(repo)}: broken link {href}"
            assert target.is_relative_to(repo.resolve())
            checked += 1
    return checked


def test_publish_commits_pages_qr_indexes_and_pushes(tmp_path, site):
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "--bare", "-q", str(remote)], check=True)
    config = make_config(tmp_path, site["base"], remote=str(remote))
    report = Publisher(config).publish()
    assert report.failed == [] and len(report.published) == 4 and report.pushed
    repo = tmp_path / "repo"
    assert git(remote, "log", "--format=%an <%ae>|%s", "main").splitlines() == [
        "Bot <bot@example.org>|Publish 4 articles (news: 3, tech: 1)"]

    manifest = Manifest.load(repo)
    assert len(manifest) == 4
    for rec in manifest:
        page = repo / rec.path
        text = page.read_text("utf-8")
        assert text.startswith(f"### {rec.title}\n")
        assert "<script" not in text and "alert(1)" not in text and "social.example" not in text
        url = f"https://github.com/o/r/blob/main/{rec.path}"
        assert url in text and rec.original_url in text
        decoded = zxingcpp.read_barcodes(Image.open(repo / (rec.path + ".png")))
        assert [d.text for d in decoded] == [url]
        links = rendered_links(page)
        page_dir = PurePosixPath(rec.path).parent
        depth = len(page_dir.parts)
        assert links.count("../" * depth + "README.md") == 2
        assert "../" * depth + "indexes/tech.md" in links  # absolute URL into this repo made relative
        if rec.channel == "news":  # that source localizes its images
            assert any(src.startswith("../" * depth + "assets/") for src in links)
    # Body links between mirrored stories point at the mirrored page.
    # Story 3 links to story 1, published earlier in the same run.
    one = manifest.get(f"{site['base']}/news/1.html")
    three = manifest.get(f"{site['base']}/news/3.html")
    rel = PurePosixPath(one.path).relative_to(PurePosixPath(three.path).parent)
    assert str(rel) in rendered_links(repo / three.path)
    assert f"{site['base']}/news/1.html" not in rendered_links(repo / three.path)
    assert assert_links_resolve(repo) > 20
    index = (repo / "indexes/news.md").read_text("utf-8")
    assert index.index("Story 2") < index.index("Story 1")  # newest first
    assert "Story 3" in (repo / "README.md").read_text("utf-8")


def test_links_to_articles_the_same_run_publishes_later_are_relative(tmp_path, site):
    # Story 1 links to story 2 and story 2 to story 3: published oldest first, each link points
    # ahead to a page not yet written when the body is converted.
    report = Publisher(make_config(tmp_path, site["base"])).publish(sources=["times"])
    assert report.failed == [] and len(report.published) == 3
    repo = tmp_path / "repo"
    manifest = Manifest.load(repo)
    for n, to in ((1, 2), (2, 3), (3, 1)):
        page = manifest.get(f"{site['base']}/news/{n}.html").path
        target = manifest.get(f"{site['base']}/news/{to}.html").path
        links = rendered_links(repo / page)
        assert str(PurePosixPath(target).relative_to(PurePosixPath(page).parent)) in links, (n, links)
        assert f"{site['base']}/news/{to}.html" not in links
    assert ".mirror-ahead" not in "".join(p.read_text("utf-8") for p in (repo / "pages").rglob("*.md"))
    assert_links_resolve(repo)


def test_a_link_ahead_to_an_article_that_fails_stays_its_url(tmp_path, site):
    site["broken"] = {2}
    report = Publisher(make_config(tmp_path, site["base"])).publish(sources=["times"])
    assert [url for url, _ in report.failed] == [f"{site['base']}/news/2.html"]
    repo = tmp_path / "repo"
    one = Manifest.load(repo).get(f"{site['base']}/news/1.html").path
    assert f"{site['base']}/news/2.html" in rendered_links(repo / one)
    assert ".mirror-ahead" not in (repo / one).read_text("utf-8")
    assert_links_resolve(repo)


def test_files_source_refuses_binary_and_oversized_files_and_publishes_the_rest(tmp_path):
    folder = tmp_path / "saved"
    folder.mkdir()
    (folder / "good.html").write_text(article(1), encoding="utf-8")
    (folder / "image.html").write_bytes(PNG_1x1 * 3)
    (folder / "noise.html").write_bytes(bytes(range(1, 32)) * 60)
    (folder / "huge.html").write_text(article(2) + "<!--" + "x" * 5000 + "-->", encoding="utf-8")
    config = parse_config({
        "publisher": {"repo": str(tmp_path / "repo"), "author": "Bot <bot@example.org>", "language": "en"},
        "fetch": {"max_bytes": 4096},
        "source": [{"name": "saved", "channel": "news", "channel_name": "News", "kind": "files",
                    "path": str(folder)}],
    }, tmp_path / "mirror.toml")
    report = Publisher(config).publish()
    assert [p.title for p in report.published] == ["Story 1"]
    failed = dict(report.failed)
    assert "not an HTML file (looks like image/png)" in failed[(folder / "image.html").as_uri()]
    assert "not an HTML file" in failed[(folder / "noise.html").as_uri()]
    assert "larger than the 4096-byte limit" in failed[(folder / "huge.html").as_uri()]
    assert len(failed) == 3


def test_second_run_with_nothing_new_changes_nothing(tmp_path, site):
    config = make_config(tmp_path, site["base"])
    Publisher(config).publish()
    repo = tmp_path / "repo"
    head = git(repo, "rev-parse", "HEAD")
    before = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file() and ".git" not in p.parts}
    report = Publisher(config).publish()
    assert report.published == [] and report.commit is None and report.unchanged == 4
    assert git(repo, "rev-parse", "HEAD") == head
    after = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file() and ".git" not in p.parts}
    assert after == before
    assert git(repo, "status", "--porcelain") == ""


def test_new_article_is_one_commit_and_a_failure_does_not_stop_the_rest(tmp_path, site):
    config = make_config(tmp_path, site["base"])
    Publisher(config).publish()
    site["numbers"] = [1, 2, 3, 4, 5]
    site["broken"].add(5)
    report = Publisher(config).publish()
    assert [p.title for p in report.published] == ["Story 4"]
    assert len(report.failed) == 1 and "404" in report.failed[0][1] and report.exit_code == 1
    repo = tmp_path / "repo"
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "2"
    assert git(repo, "show", "--stat", "--format=%s", "HEAD").startswith("Publish 1 article (news: 1)")
    # The failed one is tried again next time, and lands once the source is fixed.
    site["broken"].clear()
    report = Publisher(config).publish()
    assert [p.title for p in report.published] == ["Story 5"]


def test_fresh_clone_knows_what_is_published(tmp_path, site):
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "--bare", "-q", str(remote)], check=True)
    Publisher(make_config(tmp_path, site["base"], remote=str(remote))).publish()
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(remote), str(clone)], check=True)
    report = Publisher(make_config(tmp_path, site["base"], repo=str(clone), remote=str(remote))).publish()
    assert report.published == [] and report.commit is None


def test_retention_keeps_newest_pages_and_never_republishes(tmp_path, site):
    config = make_config(tmp_path, site["base"], keep_pages=1)
    report = Publisher(config).publish()
    repo = tmp_path / "repo"
    news = [r for r in Manifest.load(repo).by_channel("news")]
    assert [r.title for r in news] == ["Story 3"]
    assert report.removed == 2
    assert len(list((repo / "pages" / "news").rglob("*.md"))) == 1
    assert Publisher(config).publish().published == []
    assert_links_resolve(repo)


def test_dry_run_writes_nothing(tmp_path, site):
    report = Publisher(make_config(tmp_path, site["base"])).publish(dry_run=True)
    assert len(report.published) == 4 and report.commit is None
    assert not (tmp_path / "repo" / "pages").exists()


def add_shlink(httpserver, status: int = 200) -> list[str]:
    """A Shlink API on the test server; returns the list of long URLs it was asked for."""
    from werkzeug import Response

    asked: list[str] = []

    def shorten(request):
        import json

        if request.headers.get("X-Api-Key") != "k3y":
            return Response("{}", status=401)
        long_url = request.get_json()["longUrl"]
        asked.append(long_url)
        if status != 200:
            return Response('{"detail": "down"}', status=status, content_type="application/json")
        return Response(json.dumps({"shortUrl": f"https://s.example/{len(asked)}"}),
                        content_type="application/json")

    httpserver.expect_request("/rest/v3/short-urls", method="POST").respond_with_handler(shorten)
    return asked


def with_shortener(config, base: str):
    import dataclasses

    from mirror.shortener import ShortenerSettings

    return dataclasses.replace(config, shortener=ShortenerSettings(provider="shlink", api_url=base, api_key="k3y"))


def test_short_url_in_footer_and_qr_and_cached(tmp_path, httpserver):
    asked = add_shlink(httpserver)
    site_state = serve_site(httpserver)  # after the shortener: its catch-all must not shadow it
    config = with_shortener(make_config(tmp_path, site_state["base"]), site_state["base"])
    report = Publisher(config).publish()
    assert report.failed == [] and len(asked) == 4
    repo = tmp_path / "repo"
    for rec in Manifest.load(repo):
        assert rec.short_url.startswith("https://s.example/")
        text = (repo / rec.path).read_text("utf-8")
        assert rec.short_url in text
        assert [d.text for d in zxingcpp.read_barcodes(Image.open(repo / (rec.path + ".png")))] == [rec.short_url]
    # Re-publishing a changed page reuses the cached short URL: the shortener is not asked again.
    Publisher(config).publish(urls=[f"{site_state['base']}/news/1.html"], sources=["times"])
    assert len(asked) == 4


def test_failing_shortener_never_blocks_publishing(tmp_path, httpserver):
    asked = add_shlink(httpserver, status=500)
    site_state = serve_site(httpserver)
    config = with_shortener(make_config(tmp_path, site_state["base"]), site_state["base"])
    report = Publisher(config).publish()
    assert len(report.published) == 4 and report.failed == []
    assert len(report.warnings) == 4 and all("shlink" in w for w in report.warnings)
    assert "given up for this run" in report.warnings[-1]
    assert len(asked) == 3  # the circuit breaker stops calling a dead shortener
    repo = tmp_path / "repo"
    for rec in Manifest.load(repo):
        url = f"https://github.com/o/r/blob/main/{rec.path}"
        assert rec.short_url == ""
        assert [d.text for d in zxingcpp.read_barcodes(Image.open(repo / (rec.path + ".png")))] == [url]


def test_changed_article_is_republished_only_when_the_source_says_so(tmp_path, site):
    import dataclasses

    config = make_config(tmp_path, site["base"])
    Publisher(config).publish()
    repo = tmp_path / "repo"
    page = repo / Manifest.load(repo).get(f"{site['base']}/news/1.html").path
    before = page.read_text("utf-8")
    site["extra"] = "<p>A correction was added to this story after publication, in a new paragraph.</p>"
    assert Publisher(config).publish().published == []  # republish_changed is off
    sources = tuple(dataclasses.replace(s, republish_changed=True) for s in config.sources)
    report = Publisher(dataclasses.replace(config, sources=sources)).publish()
    assert [(p.title, p.updated) for p in report.published] == [("Story 1", True)]
    after = page.read_text("utf-8")
    assert "A correction was added" in after and after != before
    assert Publisher(dataclasses.replace(config, sources=sources)).publish().published == []


def test_indexes_are_paginated_newest_first(tmp_path, site):
    site["numbers"] = [1, 2, 3, 4, 5]
    Publisher(make_config(tmp_path, site["base"], index_page_size=2)).publish()
    repo = tmp_path / "repo"
    names = sorted(p.name for p in (repo / "indexes").glob("news*.md"))
    assert names == ["news-2.md", "news-3.md", "news.md"]
    first = (repo / "indexes/news.md").read_text("utf-8")
    assert first.index("Story 5") < first.index("Story 4") and "Story 3" not in first
    assert "(news-2.md)" in first
    assert "Story 1" in (repo / "indexes/news-3.md").read_text("utf-8")
    assert_links_resolve(repo)


def test_two_clones_publishing_at_once_both_land(tmp_path, site):
    import threading

    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "--bare", "-q", "-b", "main", str(remote)], check=True)
    Publisher(make_config(tmp_path, site["base"], remote=str(remote))).publish(sources=["tech"])
    clones = []
    for name in ("a", "b"):
        subprocess.run(["git", "clone", "-q", str(remote), str(tmp_path / name)], check=True)
        clones.append(make_config(tmp_path, site["base"], repo=str(tmp_path / name), remote=str(remote)))
    site["numbers"] = [1, 2]
    reports = {}
    barrier = threading.Barrier(2)

    def run(name, config, urls):
        barrier.wait()
        reports[name] = Publisher(config).publish(urls=urls, sources=["times"])

    threads = [threading.Thread(target=run, args=("a", clones[0], [f"{site['base']}/news/1.html"])),
               threading.Thread(target=run, args=("b", clones[1], [f"{site['base']}/news/2.html"]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.failed == [] and r.pushed for r in reports.values())
    final = tmp_path / "final"
    subprocess.run(["git", "clone", "-q", str(remote), str(final)], check=True)
    manifest = Manifest.load(final)
    assert sorted(r.title for r in manifest) == ["Story 1", "Story 2", "Story 6"]
    index = (final / "indexes/news.md").read_text("utf-8")
    assert "Story 1" in index and "Story 2" in index
    assert_links_resolve(final)


def test_mirror_folder_inside_another_checkout_gets_its_own_repo(tmp_path, site):
    """The default config's repo is a folder of the project's own checkout: a half-made `.git`
    there (a killed first run) is completed, and nothing ever lands in the outer repo."""
    outer = tmp_path / "project"
    subprocess.run(["git", "init", "-q", "-b", "main", str(outer)], check=True)
    (outer / "README.md").write_text("the project\n", "utf-8")
    git(outer, "add", "-A")
    git(outer, "-c", "user.name=P", "-c", "user.email=p@example.org", "commit", "-q", "-m", "project")
    mirror_dir = outer / "output"
    (mirror_dir / ".git").mkdir(parents=True)
    report = Publisher(make_config(tmp_path, site["base"], repo=str(mirror_dir))).publish()
    assert len(report.published) == 4 and report.commit
    assert git(mirror_dir, "rev-parse", "--show-toplevel").strip() == str(mirror_dir.resolve())
    assert git(outer, "log", "--format=%s").splitlines() == ["project"]
    assert git(outer, "status", "--porcelain") == "?? output/\n"


def test_bare_repository_as_the_mirror_folder_is_refused(tmp_path, site):
    subprocess.run(["git", "init", "-q", "--bare", str(tmp_path / "repo" / ".git")], check=True)
    with pytest.raises(GitError, match="bare repository"):
        Publisher(make_config(tmp_path, site["base"])).publish()


def _first_runs_at_once(folder: Path, runs: int) -> list[BaseException]:
    import threading

    from mirror.gitrepo import MirrorRepo

    errors: list[BaseException] = []
    barrier = threading.Barrier(runs)

    def first_run() -> None:
        barrier.wait()
        try:
            with MirrorRepo.open(folder) as repo:
                assert repo.root == folder.resolve()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first_run) for _ in range(runs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_many_first_runs_at_once_all_open_the_repo(tmp_path):
    """First runs that find `.git` missing or empty all `git init` it at once; one whose init
    trips over another's files ("File exists") looks again instead of failing the run."""
    for round_ in range(4):
        folder = tmp_path / f"r{round_}"
        if round_ % 2:
            (folder / ".git").mkdir(parents=True)  # what a run killed in its `git init` leaves
        assert _first_runs_at_once(folder, 6) == []
        assert git(folder, "symbolic-ref", "HEAD").strip() == "refs/heads/main"
