"""`mirror check` speed on a synthetic mirror repo of N pages (default 20,000), as CI would run it.

The repo is written directly (Renderer pages, qr_png QR codes, a Manifest, paginated indexes
and a README), laid out as `mirror publish` lays it out; it is kept in --dir and reused when
it already holds N pages, since writing 20,000 QR codes takes minutes.

Prints: the repo's size, then check_repo with 1 and with 2 worker processes, then the
`mirror check` command end to end (interpreter start-up included).

Usage: python bench/check.py [--pages 20000] [--dir /tmp/mirror-bench-check] [--fresh]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mirror.check import check_repo, format_report  # noqa: E402
from mirror.manifest import Manifest, Record  # noqa: E402
from mirror.paths import relative_path  # noqa: E402
from mirror.qr import qr_png  # noqa: E402
from mirror.render import Renderer  # noqa: E402

PAGE_URL = "https://github.com/example/bench-mirror/blob/main/{path}"
CHANNELS = [("news", "新闻"), ("tech", "科技"), ("world", "国际"), ("culture", "文化")]
PER_FOLDER = 450  # pages per month folder, under the 1,000-entry limit with their QR codes
INDEX_PAGE = 50
NAV = [("首页", "/README.md"), ("{channel_name}", "/indexes/{channel}.md"), ("新闻", "/indexes/news.md"),
       ("科技", "/indexes/tech.md"), ("关于", "https://github.com/example/bench-mirror/blob/main/README.md")]

PARAGRAPH = ("受一股较强冷空气影响，本市周二凌晨迎来入冬后的第一场降雨。The council met on Tuesday to discuss the "
             "new cycling lanes along the river, and residents asked about the **timeline** for works that "
             "will take two years, the *noise*, and the cost. 第 {i} 篇，第 {k} 段。")


def body(i: int, path: str, previous: str | None, asset: str) -> str:
    folder = path.rpartition("/")[0]
    parts = [PARAGRAPH.format(i=i, k=k) for k in range(6)]
    parts.insert(1, f"![图 {i}]({relative_path(folder, asset)})")
    parts.insert(3, "## 小标题 Subheading\n\n- 周二：小到中雨\n- 周三：雨转多云\n- [原文](https://source.example/a/"
                    f"{i}.html)")
    if previous:
        parts.append(f"相关：[上一篇]({relative_path(folder, previous)}) and a [note](#note-1).")
    if i % 7 == 0:
        parts.append("```python\n# a code sample: [not](a-link.md) <script>x</script>\nprint('hi')\n```")
    if i % 11 == 0:
        parts.append("| 日期 | 天气 |\n|---|---|\n| 周二 | 小雨 |\n| 周三 | [多云](https://weather.example/) |")
    parts.append("> 引用：We were pointing at a star cluster.\n\n1\\. Footnote text.")
    return "\n\n".join(parts)


def write_qrs(root: str, jobs: list[tuple[str, str]]) -> int:
    for path, url in jobs:
        with open(os.path.join(root, path), "wb") as f:
            f.write(qr_png(url))
    return len(jobs)


def build(root: Path, n: int) -> None:
    renderer = Renderer(language="zh-CN", page_url=PAGE_URL, nav=NAV)
    manifest = Manifest()
    assets = []
    for k in range(200):
        digest = hashlib.sha256(str(k).encode()).hexdigest()
        asset = f"assets/{digest[:2]}/{digest}.jpg"
        (root / asset).parent.mkdir(parents=True, exist_ok=True)
        (root / asset).write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg " + digest.encode())
        assets.append(asset)
    qr_jobs: list[tuple[str, str]] = []
    by_channel: dict[str, list[Record]] = {c: [] for c, _ in CHANNELS}
    previous: dict[str, str] = {}
    for i in range(n):
        channel, channel_name = CHANNELS[i % len(CHANNELS)]
        number = i // len(CHANNELS)
        folder = f"pages/{channel}/2026-{1 + (number // PER_FOLDER) % 12:02d}"
        if number // PER_FOLDER >= 12:
            folder += f"-{1 + number // (PER_FOLDER * 12)}"
        path = f"{folder}/article-{i:06d}.md"
        asset = assets[i % len(assets)]
        url = renderer.url_of(path)
        text = renderer.page(path=path, title=f"第 {i} 篇文章 Article {i}", body=body(i, path, previous.get(channel), asset),
                             channel=channel, channel_name=channel_name,
                             original_url=f"https://source.example/a/{i}.html", page_url=url, short_url="",
                             qr_src=f"article-{i:06d}.md.png", published=f"2026-11-{1 + i % 28:02d}",
                             author="林晓雨")
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
        qr_jobs.append((path + ".png", url))
        record = Record(url=f"https://source.example/a/{i}.html", id=f"article-{i:06d}", path=path, channel=channel,
                        source=channel, title=f"Article {i}", published=f"2026-11-{1 + i % 28:02d}T08:00:00Z",
                        original_url=f"https://source.example/a/{i}.html", first_seen="2026-11-26T00:00:00Z",
                        updated="2026-11-26T00:00:00Z", assets=(asset,))
        manifest.add(record)
        by_channel[channel].append(record)
        previous[channel] = path
    manifest.save(root)
    for channel, channel_name in CHANNELS:
        records = by_channel[channel][::-1]
        chunks = [records[k:k + INDEX_PAGE] for k in range(0, len(records), INDEX_PAGE)] or [[]]
        names = [f"indexes/{channel}.md"] + [f"indexes/{channel}-{m}.md" for m in range(2, len(chunks) + 1)]
        (root / "indexes").mkdir(exist_ok=True)
        for m, chunk in enumerate(chunks):
            text = renderer.index(path=names[m], channel=channel, channel_name=channel_name,
                                  entries=[(r.published[:10], r.title, r.path) for r in chunk], number=m + 1,
                                  total=len(chunks), newer=names[m - 1] if m else "",
                                  older=names[m + 1] if m + 1 < len(chunks) else "")
            (root / names[m]).write_text(text, encoding="utf-8")
    latest = sorted((r for rs in by_channel.values() for r in rs), key=lambda r: r.path)[-30:]
    (root / "README.md").write_text(renderer.readme(
        title="Bench Mirror",
        sections=[("频道", [(name, f"indexes/{c}.md", len(by_channel[c])) for c, name in CHANNELS])],
        latest=[(r.published[:10], r.channel, r.title, r.path) for r in latest],
    ), encoding="utf-8")
    workers = os.cpu_count() or 1
    chunks = [qr_jobs[k::workers] for k in range(workers)]
    with ProcessPoolExecutor(workers) as pool:
        sum(pool.map(write_qrs, [str(root)] * workers, chunks))


def _cpu() -> float:
    """CPU seconds of this process and its finished children: wall time means little on a busy box."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=20_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/mirror-bench-check"))
    parser.add_argument("--fresh", action="store_true", help="rebuild the repo even if it is there")
    args = parser.parse_args()

    root = args.dir / f"repo-{args.pages}"
    stamp = root / ".bench-complete"
    if args.fresh or not stamp.exists():
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        t = time.perf_counter()
        build(root, args.pages)
        stamp.write_text("ok\n")
        print(f"built {args.pages:,} pages in {time.perf_counter() - t:.1f} s")
    files = sum(len(names) for _, _, names in os.walk(root))
    size = sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"repo: {args.pages:,} pages, {files:,} files, {size / 1e6:.0f} MB ({root})")

    for workers in (1, 2):
        cpu = _cpu()
        t = time.perf_counter()
        report = check_repo(root, page_url=PAGE_URL, workers=workers)
        elapsed = time.perf_counter() - t
        cpu = _cpu() - cpu
        assert report.ok, format_report(report)
        c = report.counts
        print(f"check_repo, {workers} process{'es' if workers > 1 else ''}: {elapsed:.1f} s wall, {cpu:.1f} s CPU "
              f"({c['pages']:,} pages, {c['indexes']:,} indexes, {c['links']:,} links, {c['qr']:,} QR codes; "
              f"{cpu / c['pages'] * 1000:.2f} ms CPU per page)")

    config = args.dir / "mirror.toml"
    config.write_text(f'[publisher]\nrepo = "{root}"\npage_url = "{PAGE_URL}"\n', encoding="utf-8")
    t, cpu = time.perf_counter(), _cpu()
    out = subprocess.run([sys.executable, "-m", "mirror", "check", "-c", str(config)], capture_output=True,
                         text=True, cwd=Path(__file__).resolve().parents[1])
    elapsed, cpu = time.perf_counter() - t, _cpu() - cpu
    print(f"mirror check -c {config}: exit {out.returncode} in {elapsed:.1f} s wall, {cpu:.1f} s CPU")
    print("  " + (out.stdout.strip().splitlines() or [out.stderr.strip()])[-1])


if __name__ == "__main__":
    main()
