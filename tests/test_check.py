"""`mirror check` on a published demo repo: clean passes; each way of breaking it is reported, exit 1."""

from __future__ import annotations

import io
import json
import random
import shutil
from collections import Counter
from pathlib import Path
from urllib.parse import unquote

import pytest
import zxingcpp
from click.testing import CliRunner
from markdown_it import MarkdownIt
from PIL import Image

import mirror.check
from mirror.check import (
    check_repo,
    dangerous_url,
    format_report,
    html_links,
    read_qr_png,
    scan_markdown,
)
from mirror.cli import cli
from mirror.config import load_config
from mirror.publisher import Publisher
from mirror.qr import qr_png

ROOT = Path(__file__).resolve().parents[1]
PAGE_URL = "https://github.com/example/mirror-demo/blob/main/{path}"
RAIN = "pages/news/2026-11/zh-rain.md"
COMET = "pages/news/2026-11/en-comet.md"


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("demo")
    shutil.copytree(ROOT / "config", base / "config")
    report = Publisher(load_config(base / "config" / "mirror.toml")).publish()
    assert not report.failed
    return base


@pytest.fixture()
def demo(published, tmp_path) -> Path:
    """A fresh copy of the published demo: config/ and output/ (the mirror repo)."""
    shutil.copytree(published, tmp_path / "demo", ignore=shutil.ignore_patterns(".git"))
    return tmp_path / "demo"


def run_check(demo: Path):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["check", "-c", str(demo / "config" / "mirror.toml")])


def check(demo: Path):  # type: ignore[no-untyped-def]
    return check_repo(demo / "output", page_url=PAGE_URL)


def kinds(report) -> set[str]:  # type: ignore[no-untyped-def]
    return {p.kind for p in report.problems}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def append_to_body(demo: Path, snippet: str, page: str = RAIN) -> None:
    edit(demo / "output" / page, "\n---\n", f"\n{snippet}\n\n---\n")


def test_clean_demo_passes(demo):
    result = run_check(demo)
    assert result.exit_code == 0, result.output
    assert "checked 8 pages, 2 indexes, README" in result.output and "0 problems" in result.output
    report = check(demo)
    assert report.ok and report.counts["qr"] == 8 and report.counts["links"] > 100


def test_a_broken_looking_link_in_code_is_not_a_link(demo):
    append_to_body(demo, "```html\n[x](missing.md) <script>alert(1)</script>\n<a href=\"../../../../x\">\n```\n\n"
                         "Inline: `[y](nope.md)` and `<iframe src=x>`.\n\n"
                         "    [indented](code.md)\n\n"
                         "- a list\n\n  ```\n  [z](in-list-code.md)\n  ```\n")
    result = run_check(demo)
    assert result.exit_code == 0, result.output


def test_missing_qr(demo):
    (demo / "output" / (RAIN + ".png")).unlink()
    result = run_check(demo)
    assert result.exit_code == 1
    assert "qr (1):" in result.output and f"{RAIN}: QR image {RAIN}.png is missing" in result.output


def test_qr_of_another_url(demo):
    other = PAGE_URL.format(path=COMET)
    (demo / "output" / (RAIN + ".png")).write_bytes(qr_png(other))
    result = run_check(demo)
    assert result.exit_code == 1
    assert f"QR decodes to {other} but the page links {PAGE_URL.format(path=RAIN)}" in result.output


def test_qr_in_another_png_format_is_decoded_or_reported(demo, monkeypatch):
    # An RGB PNG: not what mirror writes, so the fast reader leaves it to zxing-cpp.
    rgb = io.BytesIO()
    Image.open(io.BytesIO(qr_png(PAGE_URL.format(path=RAIN), scale=4))).convert("RGB").save(rgb, "PNG")
    (demo / "output" / (RAIN + ".png")).write_bytes(rgb.getvalue())
    assert read_qr_png(rgb.getvalue()) is None
    assert check(demo).ok
    monkeypatch.setattr(mirror.check, "_decode", lambda png: None)  # no zxing-cpp installed
    report = check(demo)
    assert [p.path for p in report.problems] == [RAIN]
    assert "is not the QR code of" in report.problems[0].message


def test_qr_at_another_scale_still_passes(demo):
    # Not byte-identical to what mirror writes, but it decodes to the right URL.
    (demo / "output" / (RAIN + ".png")).write_bytes(qr_png(PAGE_URL.format(path=RAIN), scale=3))
    assert check(demo).ok


def test_damaged_qr(demo):
    png = (demo / "output" / (RAIN + ".png")).read_bytes()
    image = Image.open(io.BytesIO(png)).convert("L")
    image.paste(0, (20, 90, 185, 185))  # a black blot over half the symbol
    out = io.BytesIO()
    image.convert("1").save(out, "PNG")
    (demo / "output" / (RAIN + ".png")).write_bytes(out.getvalue())
    report = check(demo)
    assert [(p.kind, p.message) for p in report.problems] == [("qr", "QR image does not decode")]


def test_deleted_asset(demo):
    repo = demo / "output"
    asset = next(a for a in json.loads((repo / ".mirror/manifest.jsonl").read_text("utf-8").split("\n")[0])["assets"])
    (repo / asset).unlink()
    result = run_check(demo)
    assert result.exit_code == 1
    assert "broken-link" in result.output and f"{asset} does not exist" in result.output
    assert f"manifest asset {asset} is missing" in result.output


def test_orphan_page(demo):
    stray = demo / "output" / "pages/news/2026-11/stray.md"
    stray.write_text("### Stray\n\nNo one knows this page.\n", encoding="utf-8")
    result = run_check(demo)
    assert result.exit_code == 1
    assert "orphan (1):" in result.output and "stray.md: page file the manifest does not know" in result.output


def test_page_the_manifest_lists_is_gone(demo):
    (demo / "output" / RAIN).unlink()
    (demo / "output" / (RAIN + ".png")).unlink()
    result = run_check(demo)
    assert result.exit_code == 1
    assert f"missing-page (1):\n  {RAIN}: listed in the manifest" in result.output
    # ... and the index and README links to it are broken
    assert "indexes/news.md: line" in result.output and "README.md: line" in result.output


def test_page_no_index_links_to(demo):
    index = demo / "output" / "indexes" / "news.md"
    lines = index.read_text("utf-8").splitlines(keepends=True)
    kept = [line for line in lines if "zh-rain.md" not in line]
    assert len(kept) == len(lines) - 1
    index.write_text("".join(kept), encoding="utf-8")
    result = run_check(demo)
    assert result.exit_code == 1
    assert f"unindexed (1):\n  {RAIN}: no index in indexes/ links to this page" in result.output
    # the README still links it: only the indexes count, they are the complete list
    assert "zh-rain.md" in (demo / "output" / "README.md").read_text("utf-8")


@pytest.mark.parametrize(
    ("snippet", "what"),
    [
        ("<img src=x onerror=alert(1)>", "event handler attribute onerror="),
        ("[x](javascript:alert(1))", "javascript: URL in a link"),
        ("[x](JaVaScRiPt&#58;alert(1))", "javascript: URL in a link"),
        ("[x](java&#x09;script:alert(1)) ![y](vbscript:msgbox)", "javascript: URL"),
        ("![y](vbscript:msgbox)", "vbscript: URL in a image"),
        ("<a href=\"jav&#x61;script:alert(1)\">x</a>", "javascript: URL in href="),
        ("[x](data:text/html;base64,PHNjcmlwdD4=)", "data:text/html URL"),
        ("<script>alert(1)</script>", "<script> element"),
        ("<iframe src=\"https://evil.example/\"></iframe>", "<iframe> element"),
        ("text <SCRIPT SRC=//evil.example/x.js></SCRIPT> text", "<script> element"),
        ("<style>body{display:none}</style>", "<style> element"),
        ("<form action=/x><input></form>", "<form> element"),
        ("<svg onload=alert(1)>", "event handler attribute onload="),
        ("<a title=\">\" onclick=alert(1)>x</a>", "event handler attribute onclick="),
        ("<div>\n<svg/onload=alert(1)>\n</div>", "event handler attribute onload="),
        ("[x][evil]\n\n[evil]: javascript:alert(1)", "javascript: URL in a definition"),
        ("<javascript:alert(1)>", "javascript: URL in a autolink"),
    ],
)
def test_active_content(demo, snippet, what):
    append_to_body(demo, snippet)
    result = run_check(demo)
    assert result.exit_code == 1, result.output
    assert "active-content" in result.output and what in result.output, result.output


def test_link_that_escapes_the_repo(demo):
    append_to_body(demo, "[passwd](../../../../etc/passwd) ![x](/../../x.png)")
    report = check(demo)
    assert [p.kind for p in report.problems] == ["escapes-repo", "escapes-repo"]
    assert "../../../../etc/passwd leads out of the repo" in report.problems[0].message
    assert run_check(demo).exit_code == 1


def test_broken_index_link(demo):
    edit(demo / "output/indexes/tech.md", "../pages/tech/2026-11/en-sqlite.md", "../pages/tech/2026-11/en-sqlite2.md")
    result = run_check(demo)
    assert result.exit_code == 1
    assert "indexes/tech.md: line" in result.output and "pages/tech/2026-11/en-sqlite2.md does not exist" in result.output


def test_links_that_resolve(demo):
    (demo / "output/assets/a b.txt").write_text("x", encoding="utf-8")
    append_to_body(demo, "[frag](#note-1) [enc](../../../assets/a%20b.txt) [angle](<../../../assets/a b.txt>) "
                         "[root](/README.md \"title\") [dir](../../../pages/) [q](en-comet.md?x=1#y) "
                         "[ext](https://example.org/x) [mail](mailto:a@example.org) <a href=\"en-comet.md\">c</a>")
    assert check(demo).ok


def test_a_public_url_of_a_missing_file_is_broken(demo):
    append_to_body(demo, f"[gone]({PAGE_URL.format(path='pages/news/2026-11/gone.md')})")
    report = check(demo)
    assert kinds(report) == {"broken-link"} and "pages/news/2026-11/gone.md does not exist" in report.problems[0].message


def test_manifest_duplicate_path_and_retired_files(demo):
    repo = demo / "output"
    lines = (repo / ".mirror/manifest.jsonl").read_text("utf-8").splitlines()
    first, second = json.loads(lines[0]), json.loads(lines[1])
    clash = dict(first, url="https://demo.example/other.html")
    second["removed"] = True  # retired, but its files are still there
    lines[1] = json.dumps(second)
    lines.append(json.dumps(clash))
    (repo / ".mirror/manifest.jsonl").write_text("\n".join(lines) + "\nnot json\n", encoding="utf-8")
    report = check(demo)
    assert {"duplicate-path", "retired-present", "manifest"} <= kinds(report)
    assert any(p.kind == "retired-present" and p.path == second["path"] for p in report.problems)


def test_unsafe_manifest_path_and_escaping_symlink(demo):
    repo = demo / "output"
    with (repo / ".mirror/manifest.jsonl").open("a", encoding="utf-8") as f:
        f.write(json.dumps({"url": "https://demo.example/evil.html", "path": "pages/../../etc/passwd.md",
                            "channel": "news"}) + "\n")
    (repo / "pages/news/2026-11/link.md").symlink_to("/etc/passwd")
    report = check(demo)
    assert [(p.kind, p.path) for p in report.problems] == [
        ("escapes-repo", "pages/news/2026-11/link.md"), ("manifest", ".mirror/manifest.jsonl")]
    assert "page path outside pages/" in report.problems[1].message


def test_report_groups_and_truncates(demo):
    for n in range(25):
        (demo / "output" / f"pages/news/2026-11/stray-{n}.md").write_text("x\n", encoding="utf-8")
    report = check(demo)
    text = format_report(report, per_kind=5)
    assert "orphan (25):" in text and "  ... and 20 more" in text and "qr (25):" in text
    assert text.splitlines()[-1].startswith("checked 33 pages, 2 indexes, README") and text.endswith("50 problems")


def test_parallel_run_finds_the_same(demo, monkeypatch):
    append_to_body(demo, "[x](nope.md) <script>")
    monkeypatch.setattr(mirror.check, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(mirror.check, "CHUNK", 3)
    parallel = check_repo(demo / "output", page_url=PAGE_URL, workers=2)
    serial = check_repo(demo / "output", page_url=PAGE_URL, workers=1)
    assert parallel.problems == serial.problems and len(serial.problems) == 2
    assert parallel.counts == serial.counts


def test_usage_errors_exit_2(tmp_path):
    assert CliRunner().invoke(cli, ["check", "-c", str(tmp_path / "none.toml")]).exit_code == 2
    (tmp_path / "mirror.toml").write_text('[publisher]\nrepo = "no-repo-here"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", "-c", str(tmp_path / "mirror.toml")])
    assert result.exit_code == 2 and "no mirror repo" in result.output


# --------------------------------------------------------------------------- the scanner

MD = MarkdownIt("commonmark").enable("table").enable("strikethrough")
MD.validateLink = lambda url: True  # see every destination, even those markdown-it would drop


def oracle(text: str) -> Counter:
    """What markdown-it-py finds: link and image destinations, href/src in raw HTML."""
    found: Counter = Counter()
    raw = []
    for token in MD.parse(text):
        if token.type == "html_block":
            raw.append(token.content)
        for t in token.children or []:
            if t.type == "link_open":
                found["link", unquote(t.attrGet("href"))] += 1
            elif t.type == "image":
                found["image", unquote(t.attrGet("src"))] += 1
            elif t.type == "html_inline":
                raw.append(t.content)
    for fragment in raw:
        for dest in html_links(fragment):
            found["html", dest] += 1
    return found


def scanned(text: str) -> Counter:
    scan = scan_markdown(text)
    found: Counter = Counter()
    for link in scan.links:
        if link.kind != "definition":
            found["image" if link.kind == "image" else "link", unquote(link.dest)] += 1
    for _, fragment in scan.html:
        for dest in html_links(fragment):
            found["html", dest] += 1
    return found


TRICKY = [
    "```\n[x](broken.md)\n```\n",
    "- item\n\n  ```\n  [x](broken.md)\n  ```\n- [ok](a.md)\n",
    "    ```\n<script>alert(1)</script>\n```\n[a](b)\n",
    "> ```\n> [x](c)\n> ```\n[y](d)",
    "[a](<b c> \"t\") ![i](x.png 'tt') [r][ref] [ref] [Ref][]\n\n[ref]: /u/v.md \"title\"\n",
    "`[x](code)` and ``[y](`code`)`` [z](real)",
    "<a href=\"x.md\">a</a> <img src='y.png'>\n\n<div>\n[no](md)\n</div>\n\n[yes](md2)",
    "[a [b](c) d](e)", "![a [b](c) d](e)", "[![q](i.png)](https://x/y)",
    "[a](b(c)d) [e](f\\)g) [h](i \"j\" )", "<http://x.y/z> <mailto:a@b.c> <a@b.c>",
    "1. a\n2. b\n\n   ```js\n   x\n   ```\n   [l](m)\n",
    "para\n    [indented](cont)\n", "  - a\n      b\n\n        code [x](y)\n",
    "* a\n\n      code [x](y)\n", "[x]:\n/url\n\n[x]", "| a | [b](c) |\n|---|---|\n| [d](e) | f |\n",
    "text <span title=\"[x](y)\">z</span>", "~~~\n[a](b)\n~~~~\n[c](d)", "```\n[a](b)\n",
    "- ```\n  [a](b)\n  ```\n[c](d)", ">     code [a](b)\n> [c](d)",
    "[a](b\nc)", "[a](\nb\n)", "[a](b\n\"t\")", "[link](/url 'title \"and\" title')",
    "\\[a](b) [c\\](d)](e)", "[a]( <b> )", "[a](<b)c>)", "*[a](b)*", "[a](b) [c](d 'e' f)",
    "[ref]: /r.md\n<a href=\"h.md\">\n```js\n\n[a](b.md)", "+   | a |\n|---|\n[x]\n\t> [a](b.md)",
    "| a | b |\n|---|---|\n    [code](x)\n[after](y)", "a \\| b | c\n|---|---|\n2) <http://x/y>\n",
    "[a](b.md)[x]: /not-a-definition\n\n[c]: <d e.md>\n[c]",
]


@pytest.mark.parametrize("text", TRICKY)
def test_scanner_agrees_with_markdown_it(text):
    assert scanned(text) == oracle(text)


def test_scanner_agrees_with_markdown_it_on_the_demo_and_random_documents(published):
    for page in sorted((published / "output").rglob("*.md")):
        text = page.read_text("utf-8")
        assert scanned(text) == oracle(text), page
    pieces = ["[a](b.md)", "![i](c.png)", "[r][ref]", "[ref]", "`", "``", "```", "~~~", "    ", "  ", "- ",
              "1. ", "2) ", "> ", "\n", "\n", "\n\n", "\t", "<div>", "</div>", "<a href=\"h.md\">", "*", "#", "---",
              "text", "<http://x/y>", "[ref]: /r.md\n", "[x](<s p>)", "| a | b |\n|---|---|\n", "<script>", "</script>",
              "&#58;", "[l](u \"t\")", "<", "!", "\\", "[", "]", "(", ")"]
    rng = random.Random(20261126)
    for _ in range(1500):
        doc = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 25)))
        found, expected = scanned(doc), oracle(doc)
        # Where they differ, the scanner must only see more (reading less as code is safe).
        assert not (expected - found), repr(doc)


@pytest.mark.parametrize(
    ("url", "why"),
    [("javascript:x", "javascript:"), (" JAVA\tSCRIPT:x", "javascript:"), ("&#106;avascript:x", "javascript:"),
     ("java&#x0A;script:x", "javascript:"), ("\x01javascript:x", "javascript:"), ("vbscript:x", "vbscript:"),
     ("data:text/html,<script>", "data:text/html"), ("DATA:image/svg+xml,<svg>", "data:image/svg+xml"),
     ("data:image/png;base64,AAAA", ""), ("https://x/javascript:", ""), ("a.md", ""), ("javascript-guide.md", "")],
)
def test_dangerous_url(url, why):
    assert dangerous_url(url) == why


@pytest.mark.parametrize("scale", [1, 5])
def test_read_qr_png_agrees_with_zxing(scale):
    rng = random.Random(scale)
    texts = ["https://github.com/example/mirror-demo/blob/main/pages/news/2026-11/zh-rain.md", "HELLO 123",
             "12345", "https://例え.jp/パス?q=1", "x"]
    texts += ["https://s.example/" + "".join(rng.choice("abcXYZ019/-_%.") for _ in range(rng.randint(1, 2000)))
              for _ in range(12)]
    for text in texts:
        png = qr_png(text, scale=scale)
        assert read_qr_png(png) == text
        if scale > 2:
            assert zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))[0].text == text


def test_read_qr_png_refuses_what_it_cannot_trust():
    png = qr_png("https://example.org/a", scale=4)
    image = Image.open(io.BytesIO(png)).convert("L")
    x = y = (4 + 12) * 4 + 2  # the centre of data module (12, 12) of a 4 px per module image
    image.paste(255 - image.getpixel((x, y)), (x - 2, y - 2, x + 2, y + 2))  # one module flipped
    flipped = io.BytesIO()
    image.save(flipped, "PNG")
    assert read_qr_png(flipped.getvalue()) is None
    assert read_qr_png(b"not a png") is None and read_qr_png(png[:40]) is None
