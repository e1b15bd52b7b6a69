"""Coverage-guided fuzzing of the converter and the extractor with atheris (optional; not run in CI).

    pip install atheris
    python bench/fuzz_atheris.py -atheris_runs=200000 [corpus_dir] [-max_total_time=600]

A crash (an exception escaping `html_to_markdown`/`extract_article`), an input that takes over two
seconds, or active content in the Markdown (script, event handler, javascript:/data: URL once
rendered with raw HTML allowed) stops the run and leaves the input in `crash-*` for replay.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

with atheris.instrument_imports(include=["mirror"]):
    from mirror import extract_article, html_to_markdown

from support.active import markdown_problems  # noqa: E402

BOUND = 2.0
SEEDS = [
    b'<p><a href="jav&#x09;ascript:alert(1)">x</a><img src=x onerror=alert(1)></p>',
    b"<table><tr><td colspan=2><script>alert(1)</script>*b* [x](javascript:1)</td></tr></table>",
    b"<ul><li><pre><code>&lt;script&gt;</code></pre></li></ul><svg onload=alert(1)>",
]


# Failures already filed (docs/RELIABILITY.md), skipped so a campaign can look past them.
KNOWN: dict[str, str] = {}  # F8 and F9 (control characters in URLs, "{" attribute names) are fixed


def check(markdown: str, what: str, data: bytes) -> None:
    problems = markdown_problems(markdown)
    if problems:
        raise AssertionError(f"{what}: active content {problems} from {data[:200]!r} -> {markdown[:300]!r}")


def one_input(data: bytes) -> None:
    try:
        _one_input(data)
    except (ValueError, KeyError) as err:
        if not any(text in str(err) for text in KNOWN.values()):
            raise


def _one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    mode = fdp.ConsumeIntInRange(0, 2)
    raw = fdp.ConsumeBytes(fdp.remaining_bytes())
    # A slow call is timed again: the first call's lazy imports, or a busy machine, are slow once;
    # a pathological input is slow every time.
    for _ in (1, 2):
        started = time.perf_counter()
        run(mode, raw)
        elapsed = time.perf_counter() - started
        if elapsed <= BOUND:
            return
    raise AssertionError(f"mode {mode} took {elapsed:.2f} s, twice, on {raw[:200]!r}")


def run(mode: int, raw: bytes) -> None:
    if mode == 0:
        check(html_to_markdown(raw, "https://site.example/a/b.html"), "html_to_markdown(bytes)", raw)
    elif mode == 1:
        text = raw.decode("utf-8", "surrogateescape")
        check(html_to_markdown(text), "html_to_markdown(str)", raw)
    else:
        page = b"<html><head><title>t</title></head><body><article>" + raw + b"</article></body></html>"
        check(extract_article(page, url="https://site.example/a.html").markdown, "extract_article", raw)


def main() -> None:
    args = list(sys.argv)
    folders = [a for a in args[1:] if not a.startswith("-")]
    if not folders:  # start from a few hostile seeds rather than from nothing
        seed_dir = Path("bench/out/fuzz-corpus")
        seed_dir.mkdir(parents=True, exist_ok=True)
        for n, seed in enumerate(SEEDS):
            (seed_dir / f"seed-{n}").write_bytes(b"\x02" + seed)
        args.append(str(seed_dir))
    atheris.Setup(args, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
