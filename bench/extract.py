"""Benchmark: extraction + conversion time per page, mirror beside the installed peers.

Usage: python bench/extract.py [FOLDER] [--rounds N] [--per-page] [--only mirror,trafilatura]
                               [--cpu] [--stages]

FOLDER holds HTML pages (any *.html below it); the default is the shared
corpus's source.html files when ../shared exists. Each extractor gets the
same page text; the best of --rounds runs of each page is kept, which
filters out the noise of a busy machine, and the extractors take turns
page by page. Prints one table: per page (with
--per-page) and the totals, in milliseconds. --cpu times the process's CPU
time instead of the wall clock: steadier when other work shares the machine.
--stages prints how mirror's time splits between the steps of an extraction.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
CORPUS = HERE.parent.parent / "shared" / "corpus" / "readability-pages"


def _mirror() -> Callable[[str, str], str]:
    from mirror.extract import extract_markdown

    return extract_markdown


def _trafilatura() -> Callable[[str, str], str]:
    import trafilatura

    return lambda html, url: trafilatura.extract(html, url=url or None) or ""


def _readability() -> Callable[[str, str], str]:
    from readability import Document

    return lambda html, url: Document(html, url=url or None).summary(html_partial=True)


PEERS = {"mirror": _mirror, "trafilatura": _trafilatura, "readability-lxml": _readability}


def load_pages(folder: Path | None) -> list[tuple[str, str]]:
    if folder is None:
        if not CORPUS.is_dir():
            sys.exit("no folder given and the shared corpus is absent")
        files = sorted(CORPUS.glob("*/source.html"))
        names = [f.parent.name for f in files]
    else:
        files = sorted(folder.rglob("*.html")) + sorted(folder.rglob("*.htm"))
        names = [str(f.relative_to(folder)) for f in files]
    return [(n, f.read_text(encoding="utf-8", errors="replace")) for n, f in zip(names, files, strict=True)]


CLOCK = time.perf_counter


def time_page(fn: Callable[[str, str], str], html: str, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = CLOCK()
        with contextlib.suppress(Exception):  # a peer failing on a page is timed all the same
            fn(html, "")
        best = min(best, CLOCK() - start)
    return best * 1000


# The steps of mirror.extract.extract_article, as the names it calls them by.
STAGES = ("parse_html", "read_metadata", "prepare_page", "grab_article", "clean_content",
          "html_to_markdown")


def stage_times(pages: list[tuple[str, str]]) -> dict[str, float]:
    """Milliseconds per page spent in each step of mirror's extraction (one run over the pages)."""
    import mirror.extract as extract

    spent = dict.fromkeys(STAGES, 0.0)
    originals = {name: getattr(extract, name) for name in STAGES}

    def timed(name: str) -> Callable:
        fn = originals[name]

        def run(*args: object, **kwargs: object) -> object:
            start = CLOCK()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] += CLOCK() - start
        return run

    for name in STAGES:
        setattr(extract, name, timed(name))
    try:
        start = CLOCK()
        for _, html in pages:
            with contextlib.suppress(Exception):
                extract.extract_markdown(html, "")
        total = CLOCK() - start
    finally:
        for name, fn in originals.items():
            setattr(extract, name, fn)
    result = {name: secs * 1000 / len(pages) for name, secs in spent.items()}
    result["other"] = total * 1000 / len(pages) - sum(result.values())
    result["total"] = total * 1000 / len(pages)
    return result


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?", type=Path)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--per-page", action="store_true")
    ap.add_argument("--only", default="")
    ap.add_argument("--cpu", action="store_true", help="time CPU time, not the wall clock")
    ap.add_argument("--stages", action="store_true", help="mirror's time per step of an extraction")
    args = ap.parse_args(argv)
    global CLOCK
    if args.cpu:
        CLOCK = time.process_time
    pages = load_pages(args.folder)
    if args.stages:
        stage_times(pages[:5])  # imports and first-use caches out of the way
        for name, ms in stage_times(pages).items():
            print(f"{name:<18} {ms:8.2f}")
        print(f"{len(pages)} pages, one run, ms per page ({'CPU' if args.cpu else 'wall'} time)")
        return
    wanted = [n for n in args.only.split(",") if n] or list(PEERS)
    extractors: dict[str, Callable[[str, str], str]] = {}
    for name in wanted:
        try:
            extractors[name] = PEERS[name]()
        except ImportError:
            print(f"({name} is not installed)")
    # Page by page, every extractor in turn: a change in the machine's load
    # then weighs on all of them alike.
    times: dict[str, list[float]] = {name: [] for name in extractors}
    for _, html in pages:
        for name, fn in extractors.items():
            times[name].append(time_page(fn, html, args.rounds))
    width = max([len(n) for n, _ in pages] + [10]) if args.per_page else 10
    header = f"{'page':<{width}} " + " ".join(f"{n:>16}" for n in extractors)
    print(header)
    print("-" * len(header))
    if args.per_page:
        for i, (name, _) in enumerate(pages):
            print(f"{name:<{width}} " + " ".join(f"{times[n][i]:>16.2f}" for n in extractors))
        print("-" * len(header))
    for label, fn in (("mean", statistics.mean), ("median", statistics.median),
                      ("p95", lambda v: sorted(v)[max(0, math.ceil(len(v) * 0.95) - 1)]), ("max", max),
                      ("total", sum)):
        print(f"{label:<{width}} " + " ".join(f"{fn(times[n]):>16.2f}" for n in extractors))
    print(f"{len(pages)} pages, best of {args.rounds} runs each, ms per page (extraction + conversion,"
          f" {'CPU' if args.cpu else 'wall'} time)")


if __name__ == "__main__":
    main()
