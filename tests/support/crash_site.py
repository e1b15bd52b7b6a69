"""A loopback news site, config files and repo invariants for the crash and concurrency suites."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
PAGE_URL = "https://github.com/o/r/blob/main/{path}"
AUTHOR = "Bot <bot@example.org>"
_EPOCH = datetime(2026, 10, 1, tzinfo=UTC)
_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2213bc90000000049454e44ae426082"
)


def published(n: int) -> datetime:
    """Article n's date: one per day, so that every order (feed, index) is strict."""
    return _EPOCH + timedelta(days=n, hours=10)


def title(n: int) -> str:
    return f"Story number {n}"


def article_html(n: int) -> str:
    when = published(n).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{title(n)} - Crash Times</title>
<meta property="article:published_time" content="{when}"></head>
<body><nav><a href="/">Home</a> <a href="/about">About</a></nav>
<article><h1>{title(n)}</h1>
<p>First paragraph of story {n}: the council met again and talked about the plan for the river
bank, with a <a href="/news/{max(n - 1, 1)}.html">link to an earlier story</a> for context.</p>
<p>Second paragraph of story {n}: residents were pleased, the works start next spring when the
weather allows, and the budget is known. <img src="/img/{n}.png" alt="picture {n}"></p>
<p>Third paragraph of story {n}, so that the extractor is sure this is the article body.</p>
</article><script>alert({n})</script></body></html>"""


def feed_xml(base: str, numbers: Iterable[int]) -> str:
    items = "".join(
        f"<item><title>{title(n)}</title><link>{base}/news/{n}.html</link>"
        f"<pubDate>{published(n).strftime('%a, %d %b %Y %H:%M:%S GMT')}</pubDate></item>"
        for n in sorted(numbers, reverse=True)  # newest first, as feeds are
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>'


@dataclass
class Site:
    """What the site serves: feeds by name (`/<name>.xml`) listing article numbers; a delay per article."""

    feeds: dict[str, list[int]] = field(default_factory=dict)
    article_delay: float = 0.0
    gate: threading.Event = field(default_factory=threading.Event)  # articles wait while it is clear
    gone: set[int] = field(default_factory=set)  # articles answered with 404
    log: list[tuple[float, str]] = field(default_factory=list)  # (monotonic time, path) of every request
    base: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.gate.set()

    def requests(self, pattern: str) -> list[tuple[float, str]]:
        with self._lock:
            return [(t, p) for t, p in self.log if re.fullmatch(pattern, p)]

    def url(self, n: int) -> str:
        return f"{self.base}/news/{n}.html"


class _Handler(BaseHTTPRequestHandler):
    site: Site  # set on the subclass made per server

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        site = self.site
        with site._lock:
            site.log.append((time.monotonic(), self.path))
        if m := re.fullmatch(r"/(\w+)\.xml", self.path):
            if m.group(1) in site.feeds:
                return self._send(feed_xml(site.base, site.feeds[m.group(1)]).encode(), "application/rss+xml")
        elif m := re.fullmatch(r"/news/(\d+)\.html", self.path):
            site.gate.wait(60)
            time.sleep(site.article_delay)
            if int(m.group(1)) in site.gone:
                return self._send(b"gone", "text/plain", 404)
            return self._send(article_html(int(m.group(1))).encode(), "text/html; charset=utf-8")
        elif m := re.fullmatch(r"/img/(\d+)\.png", self.path):
            return self._send(_PNG + m.group(1).encode(), "image/png")  # distinct bytes per image
        self._send(b"not found", "text/plain", 404)

    def _send(self, body: bytes, content_type: str, status: int = 200) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class serve:
    """`with serve(Site(...)) as site:` runs the site on 127.0.0.1 in a thread."""

    def __init__(self, site: Site) -> None:
        handler = type("Handler", (_Handler,), {"site": site})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        site.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.site = site
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Site:
        self.thread.start()
        return self.site

    def __exit__(self, *exc: object) -> None:
        self.site.gate.set()  # a test that failed with the gate closed must not leave runs stalled
        self.server.shutdown()
        self.server.server_close()


# ----------------------------------------------------------------------------- config and runs


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string of ASCII is a TOML basic string
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    raise TypeError(value)


def write_config(
    path: Path,
    *,
    repo: Path,
    base: str,
    feeds: Sequence[str] = ("news",),
    remote: Path | None = None,
    **publisher: object,
) -> Path:
    """A config mirroring `feeds` of the site (source and feed `<name>`, all in channel "news")."""
    settings = {"repo": str(repo), "page_url": "github:o/r", "author": AUTHOR, "language": "en",
                **({"remote": str(remote)} if remote else {}), **publisher}
    lines = ["[publisher]", *(f"{k} = {_toml(v)}" for k, v in settings.items()), "",
             "[fetch]", 'allow_hosts = ["127.0.0.1"]', "timeout = 10", "retries = 0", "",
             "[[nav]]", 'title = "Home"', 'href = "/README.md"', "",
             "[[nav]]", 'title = "News"', 'href = "/indexes/news.md"', ""]
    for name in feeds:
        lines += ["[[source]]", f"name = {_toml(name)}", 'channel = "news"', 'channel_name = "News"',
                  'kind = "feed"', f"url = {_toml(f'{base}/{name}.xml')}", 'links = "mirror"',
                  'images = "localize"', "limit = 200", ""]
    path.write_text("\n".join(lines), "utf-8")
    return path


def publish_command(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "mirror", "publish", "-c", str(config), *args]


def run_env() -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(PROJECT), NO_COLOR="1", TERM="dumb")
    env.pop("GIT_DIR", None)
    return env


def start_publish(config: Path, *args: str, new_session: bool = True) -> subprocess.Popen[str]:
    """`mirror publish -c config` as a child process, in its own process group (to kill it whole)."""
    return subprocess.Popen(
        publish_command(config, *args), env=run_env(), cwd=str(config.parent), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=new_session,
    )


def git(repo: Path, *args: str, check: bool = True) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                          env=run_env(), check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} in {repo}: {proc.stderr.strip()}")
    return proc.stdout


def init_bare(path: Path, *, push_delay: float = 0.0) -> Path:
    """A bare remote; with `push_delay`, its pre-receive hook marks `<path>/pushing` and sleeps,
    so a push is a window a test can aim a kill at."""
    subprocess.run(["git", "init", "--bare", "-q", "-b", "main", str(path)], check=True, env=run_env())
    if push_delay:
        hook = path / "hooks" / "pre-receive"
        # The hook runs in the bare repo: the marker follows a copy of the remote.
        hook.write_text(f"#!/bin/sh\ncat >/dev/null\ntouch pushing\nsleep {push_delay}\n")
        hook.chmod(0o755)
    return path


def add_remote(repo: Path, remote: Path) -> None:
    """Point the repo's `mirror` remote at `remote`, with receive-pack in a session of its own:
    killing a publish's process group then stops the client, not the server, as in CI."""
    git(repo, "remote", "add", "mirror", str(remote.absolute()))
    if shutil.which("setsid"):  # util-linux; without it a group kill also stops the server side
        git(repo, "config", "remote.mirror.receivepack", "setsid git-receive-pack")


# ----------------------------------------------------------------------------- invariants


def tree_files(repo: Path) -> list[Path]:
    """Files of the work tree, .git left out (not walked: orphaned git processes may be changing it)."""
    found = []
    for folder, dirs, files in os.walk(repo):
        if folder == str(repo):
            dirs[:] = [d for d in dirs if d != ".git"]
        found += [Path(folder) / f for f in files]
    return found


def is_temp(name: str) -> bool:
    """A temporary file of mirror's writers (fsutil, qr: `.<name>.<random>.tmp`; images: `.tmp-*.part`)."""
    return name.endswith(".tmp") or (name.startswith(".tmp-") and name.endswith(".part"))


_FSCK_NOISE = re.compile(r"^(dangling|unreachable) \w+ [0-9a-f]+$|^Checking|^$")


def fsck_problems(repo: Path) -> list[str]:
    proc = subprocess.run(["git", "-C", str(repo), "fsck", "--full", "--no-progress"],
                          capture_output=True, text=True, env=run_env(), check=False)
    bad = [ln for ln in (proc.stdout + proc.stderr).splitlines() if not _FSCK_NOISE.match(ln)]
    if proc.returncode != 0:
        bad.insert(0, f"git fsck exited {proc.returncode}")
    return bad


def _index_titles(repo: Path) -> list[str]:
    titles = []
    for index in sorted((repo / "indexes").glob("news*.md")):
        titles += re.findall(r"\[(Story number \d+)\]\(", index.read_text("utf-8"))
    return titles


def mirror_problems(repo: Path, expected: dict[str, str], *, remote: Path | None = None) -> list[str]:
    """Everything wrong with a mirror repo that should hold exactly the articles `expected`
    (URL -> title), committed, clean and (with `remote`) pushed. [] when all is well."""
    problems: list[str] = []
    problems += [f"fsck: {ln}" for ln in fsck_problems(repo)]
    for lock in ("index.lock", "HEAD.lock", "refs/heads/main.lock"):
        if (repo / ".git" / lock).exists():
            problems.append(f"leftover .git/{lock}")
    if (repo / ".git" / "rebase-merge").exists() or (repo / ".git" / "rebase-apply").exists():
        problems.append("a rebase is still in progress")
    files = tree_files(repo)
    problems += [f"temp file {p.relative_to(repo)}" for p in files if is_temp(p.name)]
    if status := git(repo, "status", "--porcelain", "--untracked-files=all"):
        problems.append(f"work tree not clean:\n{status}")
    if git(repo, "symbolic-ref", "-q", "HEAD", check=False).strip() != "refs/heads/main":
        problems.append("HEAD is not on main")

    manifest_file = repo / ".mirror" / "manifest.jsonl"
    records = [json.loads(ln) for ln in manifest_file.read_text("utf-8").splitlines() if ln.strip()] \
        if manifest_file.exists() else []
    urls = Counter(r["url"] for r in records)
    problems += [f"manifest has {u} {k} times" for u, k in urls.items() if k > 1]
    if set(urls) != set(expected):
        problems.append(f"manifest URLs: missing {sorted(set(expected) - set(urls))}, "
                        f"unexpected {sorted(set(urls) - set(expected))}")
    paths = Counter(r["path"] for r in records)
    problems += [f"manifest path {p} held by {k} records" for p, k in paths.items() if k > 1]
    pages = {str(p.relative_to(repo)) for p in (repo / "pages").rglob("*.md")} if (repo / "pages").exists() else set()
    qrs = {str(p.relative_to(repo)) for p in (repo / "pages").rglob("*.png")} if (repo / "pages").exists() else set()
    if pages != set(paths):
        problems.append(f"pages without a record: {sorted(pages - set(paths))}; "
                        f"records without a page: {sorted(set(paths) - pages)}")
    if qrs != {p + ".png" for p in paths}:
        problems.append(f"QR codes do not match pages: {sorted(qrs ^ {p + '.png' for p in paths})}")
    for r in records:
        if r["url"] in expected and r["title"] != expected[r["url"]]:
            problems.append(f"{r['url']}: title {r['title']!r}, expected {expected[r['url']]!r}")

    titles = Counter(_index_titles(repo))
    problems += [f"index lists {t!r} {k} times" for t, k in titles.items() if k > 1]
    if set(titles) != set(expected.values()):
        problems.append(f"indexes: missing {sorted(set(expected.values()) - set(titles))}, "
                        f"unexpected {sorted(set(titles) - set(expected.values()))}")
    readme = (repo / "README.md").read_text("utf-8") if (repo / "README.md").exists() else ""
    if "](indexes/news.md)" not in readme:
        problems.append("README does not link the news index")

    problems += [f"check: {p.kind} {p.path}: {p.message}" for p in _check(repo)]
    if remote is not None:
        local = git(repo, "rev-parse", "HEAD").strip()
        pushed = git(remote, "rev-parse", "main", check=False).strip()
        if pushed != local:
            problems.append(f"remote main is {pushed or 'missing'}, local HEAD is {local}")
    return problems


def _check(repo: Path) -> list:  # type: ignore[type-arg]
    """Problems `mirror check` finds (links, QR codes, manifest), or none if it is not there yet."""
    try:
        from mirror.check import check_repo
    except ImportError:  # pragma: no cover - the checker is written by another helper
        return []
    return check_repo(repo, page_url=PAGE_URL, workers=1).problems
