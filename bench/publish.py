"""Publishing benchmark: a loopback site with a feed, published into a fresh repo, QR and commit included.

Prints, each on its own line:
  - N articles end to end (default 1,000) with the per-phase breakdown and peak memory;
  - a second run with nothing new on a repo of --big pages (default 20,000), as a user runs it:
    the wall time of the `mirror publish -c CONFIG` command, a feed of 100 entries all published;
  - peak memory for 1,000 and 10,000 articles (flat in the number of articles);
  - QR PNG ms each, and staging 5,000 new files (from bench/qr.py and bench/stage.py).

Usage: python bench/publish.py [--articles 1000] [--big 20000] [--big-repo DIR] [--runs 5]
                               [--memory 1000,10000] [--skip-big] [--only-big]
Filling the big repo takes minutes: --big-repo DIR keeps it (and the port its URLs name) for the
next call, which then only times the runs with nothing new.
Each scenario runs in a child process so that its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent

PARAGRAPH = (
    "<p>The city council met on {d} to discuss the new cycling lanes along the river, "
    "and residents asked about <a href=\"/tag/transport\">transport</a> plans, noise, and the "
    "<em>timeline</em> for works that will take <strong>two years</strong>. Article {i}, part {k}.</p>"
)


def article_html(i: int) -> bytes:
    body = "\n".join(PARAGRAPH.format(d="2026-11-01", i=i, k=k) for k in range(12))
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Article {i} - Bench Daily</title>
<meta property="og:title" content="Article {i}"><meta property="og:site_name" content="Bench Daily">
<meta property="article:published_time" content="2026-11-{1 + i % 28:02d}T08:00:00Z">
<link rel="canonical" href="/news/{i}.html"></head>
<body><header><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/tech">Tech</a></nav></header>
<div class="share">Share: <a href="https://social.example/share?u={i}">post</a></div>
<article><h1>Article {i}</h1><p class="byline">By Staff</p>
<figure><img data-src="/img/{i % 50}.jpg" src="data:image/gif;base64,R0lGODlhAQABAAAAACw="
 alt="Picture {i}"><figcaption>A picture.</figcaption></figure>
{body}
<ul><li>one</li><li>two</li><li>three</li></ul>
<table><tr><th>a</th><th>b</th></tr><tr><td>1</td><td>2</td></tr></table>
</article>
<ins class="adsbygoogle" data-ad-slot="1"></ins><script>track({i})</script>
<footer>Copyright Bench Daily</footer></body></html>""".encode()


def feed_xml(base: str, n: int) -> bytes:
    items = "".join(
        f"<item><title>Article {i}</title><link>{base}/news/{i}.html</link>"
        f"<pubDate>Sun, {1 + i % 28:02d} Nov 2026 08:00:00 GMT</pubDate></item>"
        for i in range(n - 1, -1, -1)
    )
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Bench</title>'
            f"<link>{base}/</link>{items}</channel></rss>").encode()


class Site(BaseHTTPRequestHandler):
    n = 0
    feed_items = 0
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        if self.path == "/feed.xml":
            body, ctype = feed_xml(base, self.feed_items or self.n), "application/rss+xml"
        elif self.path.startswith("/news/"):
            body, ctype = article_html(int(self.path.split("/")[-1].split(".")[0])), "text/html; charset=utf-8"
        else:
            self.send_error(404)
            return
        etag = f'"{hash(body) & 0xffffffff:x}"'
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.end_headers()
        self.wfile.write(body)


class Server(ThreadingHTTPServer):
    allow_reuse_address = True  # the nothing-new run serves the same URLs, so the same port
    daemon_threads = True


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(n: int, feed_items: int = 0, port: int = 0) -> ThreadingHTTPServer:
    Site.n, Site.feed_items = n, feed_items
    server = Server(("127.0.0.1", port), Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def run_child(repo: Path, n: int, feed_items: int, port: int) -> dict:
    """One publish in this process (called in a child): returns timings and peak RSS."""
    from mirror.config import parse_config
    from mirror.publisher import Publisher

    server = serve(n, feed_items, port)
    config = parse_config({
        "publisher": {"repo": str(repo), "page_url": "github:bench/mirror", "author": "Bench <b@example.org>"},
        "fetch": {"allow_hosts": ["127.0.0.1"], "workers": 8, "per_host": 8, "timeout": 10},
        "nav": [{"title": "Home", "href": "/README.md"}],
        "source": [{"name": "bench", "channel": "news", "channel_name": "News", "kind": "feed",
                    "url": f"http://127.0.0.1:{port}/feed.xml"}],
    }, repo.parent / "bench.toml")
    t = time.perf_counter()
    report = Publisher(config).publish()
    total = time.perf_counter() - t
    server.shutdown()
    return {
        "published": len(report.published), "failed": len(report.failed), "unchanged": report.unchanged,
        "commit": bool(report.commit), "total_s": round(total, 3),
        "phases_s": {k: round(v, 3) for k, v in sorted(report.timings.items())},
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "failures": report.failed[:3],
    }


PORT = free_port()


def child(repo: Path, n: int, feed_items: int = 0, port: int = PORT) -> dict:
    """Run one publish in a child process; adds `process_s`, the whole command's wall time."""
    t = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "--child", str(repo), str(n), str(feed_items), str(port)],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_s"] = round(time.perf_counter() - t, 3)
    return result


def mirror_command() -> list[str]:
    """The console script next to this Python (what a user types), else `python -m mirror`."""
    script = Path(sys.executable).with_name("mirror")
    return [str(script)] if script.exists() else [sys.executable, "-m", "mirror"]


def nothing_new_on_a_big_repo(n: int, keep: Path | None, runs: int) -> None:
    """Time `mirror publish` on a repo of `n` pages whose feed lists 100 published entries."""
    with contextlib.ExitStack() as stack:
        if keep is None:
            repo = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "repo"
        else:
            repo = keep.expanduser().resolve()
        # The records name the site's URLs, port included: a kept repo is served on its port.
        port_file = repo / ".git" / "bench-port"
        if port_file.exists():
            port = int(port_file.read_text())
            print(f"(reusing the repo in {repo}, served on port {port})", flush=True)
        else:
            if repo.exists() and any(repo.iterdir()):
                raise SystemExit(f"{repo}: not empty, and not a repo this benchmark filled")
            t = time.perf_counter()
            fill = child(repo, n, port=PORT)
            port = PORT
            port_file.write_text(str(port))
            print(f"(filled a {n}-page repo in {time.perf_counter() - t:.1f} s, "
                  f"published {fill['published']}, failed {fill['failed']})", flush=True)
        pages = (repo / ".mirror" / "manifest.jsonl").read_bytes().count(b"\n")
        config = repo / ".git" / "bench-mirror.toml"  # in .git: never committed
        config.write_text(
            f'[publisher]\nrepo = "{repo.as_posix()}"\npage_url = "github:bench/mirror"\n'
            f'author = "Bench <b@example.org>"\n[fetch]\nallow_hosts = ["127.0.0.1"]\n'
            f'[[source]]\nname = "bench"\nchannel = "news"\nchannel_name = "News"\nkind = "feed"\n'
            f'url = "http://127.0.0.1:{port}/feed.xml"\n', "utf-8")
        server = serve(pages, feed_items=100, port=port)
        stack.callback(server.shutdown)
        command = [*mirror_command(), "publish", "-c", str(config)]

        def timed(prepare: Callable[[], object] = lambda: None) -> tuple[list[float], str]:
            walls = []
            for _ in range(runs):
                prepare()
                t = time.perf_counter()
                out = subprocess.run(command, capture_output=True, text=True, check=False)
                walls.append(time.perf_counter() - t)
                if out.returncode != 0 or "0 published" not in out.stderr:
                    raise SystemExit(f"{' '.join(command)}: exit {out.returncode}\n{out.stderr}")
            return walls, out.stderr.strip().splitlines()[-1]

        def figures(walls: list[float]) -> str:
            return (f"{statistics.median(walls):.2f} s median, {min(walls):.2f} s best of {runs} "
                    f"({' '.join(f'{w:.2f}' for w in walls)})")

        walls, last = timed()
        # The same run when a killed write left a temp file: the full way (load every record,
        # repair), which the quick way must match in all but time.
        leftover = next((repo / "pages").rglob("*.md")).with_name(".bench.md.x1.tmp")
        full, _ = timed(lambda: leftover.write_text("half"))
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        note = "; PYTHONDONTWRITEBYTECODE set: mirror's modules compiled at every start" if (
            os.environ.get("PYTHONDONTWRITEBYTECODE")) else ""
        print(f"second run, nothing new, {pages}-page repo (feed of 100): `mirror publish` wall "
              f"{figures(walls)} (target <= 1.5 s); the full way (a temp file left): {figures(full)}; "
              f"last output {last!r}; load average {load}{note}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=1000)
    ap.add_argument("--big", type=int, default=20000, help="pages in the repo of the nothing-new run")
    ap.add_argument("--memory", default="1000,10000", help="article counts for the peak-memory line")
    ap.add_argument("--big-repo", type=Path, help="keep the big repo here and reuse it when it is there")
    ap.add_argument("--runs", type=int, default=5, help="timed runs with nothing new on the big repo")
    ap.add_argument("--skip-big", action="store_true")
    ap.add_argument("--only-big", action="store_true", help="only the big repo's runs with nothing new")
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(run_child(Path(args.child[0]), int(args.child[1]), int(args.child[2]), int(args.child[3]))))
        return
    if args.only_big:
        nothing_new_on_a_big_repo(args.big, args.big_repo, args.runs)
        return
    with tempfile.TemporaryDirectory() as tmp:
        r = child(Path(tmp) / "repo", args.articles)
        print(f"publish {args.articles} articles end to end: {r['total_s']} s (target <= 20 s); "
              f"phases {json.dumps(r['phases_s'])}; published {r['published']}, failed {r['failed']}; "
              f"peak RSS {r['peak_rss_mb']} MB", flush=True)
        r2 = child(Path(tmp) / "repo", args.articles)
        print(f"second run, nothing new, {args.articles}-page repo: {r2['total_s']} s in the run, "
              f"{r2['process_s']} s for the whole process; published {r2['published']}, "
              f"commit {r2['commit']}", flush=True)
    if not args.skip_big:
        nothing_new_on_a_big_repo(args.big, args.big_repo, args.runs)
    for n in [int(x) for x in args.memory.split(",") if x]:
        with tempfile.TemporaryDirectory() as tmp:
            r = child(Path(tmp) / "repo", n)
            print(f"peak RSS publishing {n} articles: {r['peak_rss_mb']} MB ({r['total_s']} s)", flush=True)
    for script in ("qr.py", "stage.py"):
        if (HERE / script).exists():
            subprocess.run([sys.executable, str(HERE / script)], check=False, env={**os.environ})


if __name__ == "__main__":
    main()
