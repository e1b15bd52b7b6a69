"""The console script as a user calls it: help, version, exit codes, convert, init, publish of the demo."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import lxml.html
import zxingcpp
from markdown_it import MarkdownIt
from PIL import Image

import mirror
from mirror.config import load_config

ROOT = Path(__file__).resolve().parents[1]
MD = MarkdownIt("commonmark").enable("table").enable("strikethrough")


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mirror", *args], capture_output=True, text=True, cwd=cwd)


def test_version():
    out = run("--version")
    assert out.returncode == 0
    assert mirror.__version__ in out.stdout


def test_help_lists_commands():
    out = run("--help")
    assert out.returncode == 0
    for command in ("publish", "convert", "index", "init", "check"):
        assert command in out.stdout
    assert "--dry-run" in run("publish", "--help").stdout


def test_bad_config_is_exit_2_with_file_and_key(tmp_path):
    bad = tmp_path / "mirror.toml"
    bad.write_text('[publisher]\nrepo = "out"\nlanguage = "fr"\n', encoding="utf-8")
    out = run("publish", "-c", str(bad))
    assert out.returncode == 2
    assert "mirror.toml" in out.stderr and "publisher.language" in out.stderr
    missing = run("publish", "-c", str(tmp_path / "nope.toml"))
    assert missing.returncode == 2 and "nope.toml" in missing.stderr


def test_unknown_source_is_a_usage_error():
    out = run("publish", "--source", "no-such-source", "--dry-run", cwd=ROOT)
    assert out.returncode == 2 and "no-such-source" in out.stderr


ARTICLE = """<html><head><title>Hello page - Site</title><meta property="og:site_name" content="Site">
<link rel="canonical" href="https://news.example/a/hello.html"></head><body><nav>Menu</nav>
<article><h1>Hello page</h1><p>This is the article text, long enough to count as an article body for
the extractor, with <b>bold</b> and a <a href="/b.html">link</a>.</p>
<p>A second paragraph says more about the subject, so that there is no doubt at all.</p></article>
<script>evil()</script></body></html>"""


def test_convert_body_only_and_full_page(tmp_path):
    src = tmp_path / "a.html"
    src.write_text(ARTICLE, encoding="utf-8")
    body = run("convert", str(src), "--body-only", "--base-url", "https://news.example/a/", cwd=tmp_path)
    assert body.returncode == 0, body.stderr
    assert "**bold**" in body.stdout and "(https://news.example/b.html)" in body.stdout
    page = run("convert", str(src), "-c", str(ROOT / "config" / "mirror.toml"), "-o", str(tmp_path / "out.md"),
               cwd=tmp_path)
    assert page.returncode == 0, page.stderr
    text = (tmp_path / "out.md").read_text("utf-8")
    assert text.startswith("### Hello page\n") and "evil" not in text and "Menu" not in text
    assert "https://news.example/a/hello.html" in text
    html = MD.render(text)
    assert "<strong>bold</strong>" in html
    codes = zxingcpp.read_barcodes(Image.open(tmp_path / "out.md.png"))
    assert codes and codes[0].text.startswith("https://github.com/example/mirror-demo/blob/main/pages/")


def test_convert_missing_file_is_an_error(tmp_path):
    out = run("convert", str(tmp_path / "none.html"), cwd=tmp_path)
    assert out.returncode != 0 and "none.html" in out.stderr


def test_init_scaffolds_a_valid_config_and_workflow(tmp_path):
    out = run("init", str(tmp_path / "m"), "--repo-url", "https://github.com/me/news")
    assert out.returncode == 0, out.stderr
    config = load_config(tmp_path / "m" / "mirror.toml")
    assert config.publisher.page_url == "https://github.com/me/news/blob/main/{path}"
    assert config.publisher.repo == (tmp_path / "m").resolve()
    workflow = (tmp_path / "m" / ".github" / "workflows" / "mirror.yml").read_text("utf-8")
    assert "schedule:" in workflow and "workflow_dispatch:" in workflow and "mirror \"${args[@]}\"" in workflow
    assert "mirror check -c mirror.toml" in workflow
    assert "${{ inputs.url }}" not in workflow.split("run: |")[1]  # inputs never pasted into the script
    again = run("init", str(tmp_path / "m"))
    assert again.returncode != 0 and "exists" in again.stderr


def test_readme_quick_start_publishes_the_demo_offline(tmp_path):
    """The README's main command, on a copy of config/: a committed output repo, then nothing new."""
    shutil.copytree(ROOT / "config", tmp_path / "config")
    first = run("publish", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "8 published, 0 failed" in first.stderr
    out = tmp_path / "output"
    log = subprocess.run(["git", "-C", str(out), "log", "--format=%s"], capture_output=True, text=True).stdout
    assert log.splitlines() == ["Publish 8 articles (news: 5, tech: 3)"]
    rain = (out / "pages/news/2026-11/zh-rain.md").read_text("utf-8")
    assert "本市迎来入冬首场降雨" in rain and "adsbygoogle" not in rain and "【推广】" not in rain
    root = lxml.html.fragment_fromstring(MD.render(rain), create_parent="div")
    assert all(img.get("src").startswith(("../../../assets/", "zh-rain.md.png")) for img in root.iter("img"))
    second = run("publish", cwd=tmp_path)
    assert second.returncode == 0 and "0 published" in second.stderr and "nothing to commit" in second.stderr
