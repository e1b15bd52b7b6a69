"""Benchmark of mirror's HTML -> Markdown converter beside the installed peers, page by page.

Usage: python bench/convert.py [FOLDER] [--repeat N] [--summary]

FOLDER holds .html files (searched recursively); without it the
Readability test pages under shared/corpus are used when present.  Each
page is converted by every converter in turn, best of N runs, so a busy
machine disturbs all converters alike.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "readability-pages"


def converters() -> dict[str, Callable[[str], str]]:
    """mirror first, then every peer that imports."""
    from mirror.converter import html_to_markdown

    found: dict[str, Callable[[str], str]] = {"mirror": html_to_markdown}
    try:
        from html_to_markdown import convert as rust_convert

        def _rust(html: str) -> str:
            out = rust_convert(html)
            return out if isinstance(out, str) else getattr(out, "content", str(out))

        found["html-to-markdown"] = _rust
    except ImportError:
        pass
    try:
        from markdownify import markdownify

        found["markdownify"] = lambda html: markdownify(html, heading_style="ATX", bullets="-")
    except ImportError:
        pass
    try:
        import html2text

        def _h2t(html: str) -> str:
            h = html2text.HTML2Text()
            h.body_width = 0
            return h.handle(html)

        found["html2text"] = _h2t
    except ImportError:
        pass
    return found


def find_pages(folder: Path | None) -> list[Path]:
    if folder is None:
        if not DEFAULT_CORPUS.exists():
            raise SystemExit(f"no folder given and {DEFAULT_CORPUS} is absent")
        return sorted(DEFAULT_CORPUS.glob("*/expected.html"))
    if folder.is_file():
        return [folder]
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".html", ".htm"))


def page_name(path: Path, base: Path | None) -> str:
    if path.name == "expected.html":
        return path.parent.name
    return str(path.relative_to(base)) if base and path.is_relative_to(base) else path.name


def run(pages: list[Path], convs: dict[str, Callable[[str], str]], repeat: int,
        base: Path | None, summary: bool) -> None:
    names = list(convs)
    totals = dict.fromkeys(names, 0.0)
    failures = dict.fromkeys(names, 0)
    total_bytes = 0
    width = max([len(page_name(p, base)) for p in pages] + [12])
    header = f"{'page':<{width}} {'KB':>8} " + " ".join(f"{n + ' ms':>20}" for n in names)
    if not summary:
        print(header)
        print("-" * len(header))
    for path in pages:
        html = path.read_bytes().decode("utf-8", errors="replace")
        size = len(html.encode("utf-8"))
        total_bytes += size
        row = []
        for name in names:
            best = float("inf")
            for _ in range(repeat):
                t0 = time.perf_counter()
                try:
                    convs[name](html)
                except Exception:
                    failures[name] += 1
                best = min(best, time.perf_counter() - t0)
            totals[name] += best
            row.append(best)
        if not summary:
            print(f"{page_name(path, base):<{width}} {size / 1024:>8.1f} "
                  + " ".join(f"{t * 1000:>20.2f}" for t in row))
    mb = total_bytes / 1_000_000
    print("-" * len(header))
    print(f"{'total s':<{width}} {total_bytes / 1024:>8.0f} "
          + " ".join(f"{totals[n]:>20.3f}" for n in names))
    print(f"{'mean ms/page':<{width}} {'':>8} "
          + " ".join(f"{totals[n] * 1000 / max(len(pages), 1):>20.2f}" for n in names))
    print(f"{'MB/s':<{width}} {mb:>8.2f} "
          + " ".join(f"{mb / totals[n] if totals[n] else 0:>20.2f}" for n in names))
    ref = totals.get("mirror") or 0
    print(f"{'x mirror time':<{width}} {'':>8} "
          + " ".join(f"{totals[n] / ref if ref else 0:>20.2f}" for n in names))
    if any(failures.values()):
        print("failures: " + ", ".join(f"{n}={c}" for n, c in failures.items() if c))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", nargs="?", type=Path, help="folder of .html files")
    ap.add_argument("--repeat", type=int, default=3, help="runs per page and converter (best kept)")
    ap.add_argument("--summary", action="store_true", help="totals only, no per-page rows")
    args = ap.parse_args(argv)
    pages = find_pages(args.folder)
    if not pages:
        raise SystemExit("no .html files found")
    convs = converters()
    for conv in convs.values():  # imports and first-call setup stay out of the timings
        conv("<p>warm <b>up</b></p>")
    print(f"{len(pages)} pages, converters: {', '.join(convs)}, best of {args.repeat}")
    run(pages, convs, max(1, args.repeat), args.folder, args.summary)


if __name__ == "__main__":
    main()
