"""A run that finds nothing new: it takes the quick way (no full manifest load) only on a repo a
full run would leave as it is, and gives the full run's result; anything a killed run, a user or
a merge left behind sends it the full way, which repairs and commits it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_publish import git, serve_site

from mirror.config import parse_config
from mirror.manifest import MANIFEST_PATH, Manifest, SavedKeys
from mirror.publisher import STALE_INDEXES, Publisher, RunReport

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


@pytest.fixture
def site(httpserver):
    return serve_site(httpserver)


def make_config(tmp_path: Path, base: str, repo: Path, *, failing_source: bool = False, **publisher: object):
    sources = [{"name": "times", "channel": "news", "channel_name": "News", "kind": "feed",
                "url": f"{base}/feed.xml", "links": "mirror", "images": "localize"}]
    if failing_source:
        sources.append({"name": "gone", "channel": "news", "channel_name": "News", "kind": "feed",
                        "url": f"{base}/gone.xml"})
    return parse_config({
        "publisher": {"repo": str(repo), "page_url": "github:o/r", "author": "Bot <bot@example.org>",
                      "language": "en", **publisher},
        "fetch": {"allow_hosts": ["127.0.0.1", "localhost"], "timeout": 5, "retries": 0},
        "source": sources,
    }, tmp_path / "mirror.toml")


def commit_by_hand(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=Someone", "-c", "user.email=someone@example.org", "commit", "-q", "-m", message)


def files(repo: Path) -> dict[str, bytes]:
    return {str(p.relative_to(repo)): p.read_bytes() for p in sorted(repo.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(repo).parts}


def a_page(repo: Path) -> Path:
    return sorted((repo / "pages").rglob("*.md"))[0]


@pytest.fixture
def published(tmp_path: Path, site: dict) -> Path:
    """A repo where stories 1 to 3 are published and committed, and the site still lists them."""
    repo = tmp_path / "repo"
    report = Publisher(make_config(tmp_path, site["base"], repo)).publish()
    assert len(report.published) == 3 and report.commit
    return repo


# --- what may be left in a repo between two runs ---------------------------------------------
# Each returns config overrides for the runs that follow; QUICK says whether the repo is
# still settled (the quick way is right), and `check` what both runs must have done.


def nothing(repo: Path, site: dict, config) -> dict:
    return {}


def stale_index_lock(repo: Path, site: dict, config) -> dict:
    lock = repo / ".git" / "index.lock"
    lock.write_bytes(b"")
    old = time.time() - 600
    os.utime(lock, (old, old))
    return {}


def temp_file_of_a_killed_write(repo: Path, site: dict, config) -> dict:
    page = a_page(repo)
    (page.parent / f".{page.name}.k3j9.tmp").write_text("### half a pa", "utf-8")
    return {}


def ignored_temp_file(repo: Path, site: dict, config) -> dict:
    (repo / ".gitignore").write_text("*.tmp\n", "utf-8")
    commit_by_hand(repo, "ignore temp files")
    page = a_page(repo)
    (page.parent / f".{page.name}.png.x1.tmp").write_bytes(b"\x89PNG half")
    return {}


def other_ignored_file(repo: Path, site: dict, config) -> dict:
    (repo / ".gitignore").write_text("*.log\n", "utf-8")
    commit_by_hand(repo, "ignore logs")
    (repo / "notes.log").write_text("mine", "utf-8")
    return {}


def page_never_recorded(repo: Path, site: dict, config) -> dict:
    # A killed run wrote an article's page and QR code, and died before recording it.
    folder = a_page(repo).parent
    (folder / "lost.md").write_text("### Lost\n\ntext\n\n#### [x](y)\n", "utf-8")
    (folder / "lost.md.png").write_bytes(b"\x89PNG")
    return {}


def run_killed_before_its_commit(repo: Path, site: dict, config) -> dict:
    # Everything of story 4 written (page, QR, image, manifest, indexes) but not committed.
    site["numbers"] = [1, 2, 3, 4]
    assert Publisher(config).publish().commit
    git(repo, "reset", "-q", "HEAD~1")
    return {}


def page_edited_by_hand(repo: Path, site: dict, config) -> dict:
    with a_page(repo).open("a", encoding="utf-8") as f:
        f.write("\nAn edit.\n")
    return {}


def interrupted_push(repo: Path, site: dict, config) -> dict:
    # A push killed after its rebase took the remote's README: the marker says "rebuild".
    (repo / "README.md").write_text("# the remote's README, missing our articles\n", "utf-8")
    commit_by_hand(repo, "rebased")
    (repo / ".git" / STALE_INDEXES).touch()
    return {}


def readme_deleted(repo: Path, site: dict, config) -> dict:
    (repo / "README.md").unlink()
    commit_by_hand(repo, "no README")
    return {}


def union_merged_manifest(repo: Path, site: dict, config) -> dict:
    path = repo / MANIFEST_PATH
    lines = path.read_text("utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[::-1] + lines[:1]), "utf-8")
    commit_by_hand(repo, "merge")
    return {}


def manifest_of_an_older_mirror(repo: Path, site: dict, config) -> dict:
    path = repo / MANIFEST_PATH
    path.write_text(path.read_text("utf-8").replace('"etag":"",', "", 1), "utf-8")
    commit_by_hand(repo, "older mirror")
    return {}


def fewer_pages_kept(repo: Path, site: dict, config) -> dict:
    return {"keep_pages": 1}


def as_many_pages_kept(repo: Path, site: dict, config) -> dict:
    return {"keep_pages": 3}


def new_article(repo: Path, site: dict, config) -> dict:
    site["numbers"] = [1, 2, 3, 4]
    return {}


def failing_source(repo: Path, site: dict, config) -> dict:
    return {"failing_source": True}


def unpushed_commit(repo: Path, site: dict, config) -> dict:
    return {"remote": "a fresh bare repo"}  # the commit made before any remote was set


CASES: list[tuple[Callable[..., dict], bool]] = [
    (nothing, True),
    (stale_index_lock, True),
    (other_ignored_file, True),
    (as_many_pages_kept, True),
    (failing_source, True),
    (unpushed_commit, True),
    (temp_file_of_a_killed_write, False),
    (ignored_temp_file, False),
    (page_never_recorded, False),
    (run_killed_before_its_commit, False),
    (page_edited_by_hand, False),
    (interrupted_push, False),
    (readme_deleted, False),
    (union_merged_manifest, False),
    (manifest_of_an_older_mirror, False),
    (fewer_pages_kept, False),
    (new_article, False),
]


def run(tmp_path: Path, site: dict, repo: Path, overrides: dict, monkeypatch, *, quick: bool
        ) -> tuple[RunReport, int]:
    """One publish; returns its report and how many times it loaded the whole manifest."""
    overrides = dict(overrides)
    if overrides.get("remote"):
        remote = tmp_path / f"{repo.name}-remote.git"
        subprocess.run(["git", "init", "--bare", "-q", "-b", "main", str(remote)], check=True)
        overrides["remote"] = str(remote)
    loads = []
    load = Manifest.load
    with monkeypatch.context() as m:
        m.setattr(Manifest, "load", lambda root: loads.append(root) or load(root))
        if not quick:
            m.setattr(SavedKeys, "read", staticmethod(lambda root: None))
        # One clock for both: a record's dates are the run's.
        report = Publisher(make_config(tmp_path, site["base"], repo, **overrides), now=NOW).publish()
    return report, len(loads)


@pytest.mark.parametrize(("damage", "settled"), CASES, ids=[d.__name__ for d, _ in CASES])
def test_quick_only_when_settled_and_same_result_as_the_full_run(tmp_path, site, published, monkeypatch,
                                                                 damage, settled):
    overrides = damage(published, site, make_config(tmp_path, site["base"], published))
    full = tmp_path / "full"
    shutil.copytree(published, full, symlinks=True)

    quick_report, quick_loads = run(tmp_path, site, published, overrides, monkeypatch, quick=True)
    full_report, full_loads = run(tmp_path, site, full, overrides, monkeypatch, quick=False)

    assert full_loads == 1
    assert (quick_loads == 0) is settled, "quick way taken" if quick_loads == 0 else "full way taken"
    # The same result: report, exit code, commit, files, and nothing left behind.
    def outcome(r: RunReport) -> tuple:
        return ([(p.channel, p.title, p.path, p.updated) for p in r.published], r.failed, r.warnings,
                r.unchanged, r.removed, bool(r.commit), r.pushed, r.push_error, r.exit_code,
                r.commit_message() if r.commit else "")
    assert outcome(quick_report) == outcome(full_report)
    assert files(published) == files(full)
    for repo in (published, full):
        assert git(repo, "status", "--porcelain").strip() == ""
        assert not (repo / ".git" / "index.lock").exists()
        assert not (repo / ".git" / STALE_INDEXES).exists()
        assert not [p for p in repo.rglob("*.tmp") if ".git" not in p.parts]
    assert git(published, "rev-parse", "HEAD^{tree}") == git(full, "rev-parse", "HEAD^{tree}")
    assert git(published, "log", "--format=%s") == git(full, "log", "--format=%s")
    if overrides.get("remote"):
        assert quick_report.pushed
        remote = tmp_path / "repo-remote.git"
        assert git(remote, "rev-parse", "main") == git(published, "rev-parse", "HEAD")


def test_repairs_that_the_full_run_makes(tmp_path, site, published, monkeypatch):
    """The quick check must never hide these: each is repaired by a run with nothing new."""
    config = make_config(tmp_path, site["base"], published)
    folder = a_page(published).parent
    temp = folder / ".x.md.abc.tmp"
    temp.write_text("half", "utf-8")
    lost = folder / "lost.md"
    lost.write_text("### Lost\n", "utf-8")
    report = Publisher(config).publish()
    assert report.commit is None and report.exit_code == 0
    assert not temp.exists() and not lost.exists()

    (published / "README.md").write_text("stale\n", "utf-8")
    commit_by_hand(published, "stale README")
    (published / ".git" / STALE_INDEXES).touch()
    report = Publisher(config).publish()
    assert report.commit and "Story 3" in (published / "README.md").read_text("utf-8")
    assert not (published / ".git" / STALE_INDEXES).exists()

    site["numbers"] = [1, 2, 3, 4]
    report = Publisher(config).publish()
    git(published, "reset", "-q", "HEAD~1")  # as if killed right before its commit
    report = Publisher(config).publish()
    assert report.published == [] and report.commit
    assert "Story 4" in git(published, "show", "HEAD:.mirror/manifest.jsonl")
    assert git(published, "status", "--porcelain") == ""


def write_cli_config(tmp_path: Path, site: dict, repo: Path) -> Path:
    config = tmp_path / "cli.toml"
    config.write_text(f"""
[publisher]
repo = "{repo.as_posix()}"
page_url = "github:o/r"
author = "Bot <bot@example.org>"
language = "en"
[fetch]
allow_hosts = ["127.0.0.1", "localhost"]
retries = 0
[[source]]
name = "times"
channel = "news"
channel_name = "News"
kind = "feed"
url = "{site['base']}/feed.xml"
links = "mirror"
images = "localize"
""", "utf-8")
    return config


def test_cli_output_and_exit_code_of_a_run_with_nothing_new(tmp_path, site, published):
    config = write_cli_config(tmp_path, site, published)
    head = git(published, "rev-parse", "HEAD")
    out = subprocess.run([sys.executable, "-m", "mirror", "publish", "-c", str(config)],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip() == "0 published, 0 failed, 3 unchanged; nothing to commit"
    assert git(published, "rev-parse", "HEAD") == head
    # The same run when a killed run left an unrecorded page: the full way removes it.
    lost = a_page(published).parent / "lost.md"
    lost.write_text("### Lost\n", "utf-8")
    out = subprocess.run([sys.executable, "-m", "mirror", "publish", "-c", str(config)],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0 and out.stderr.strip() == "0 published, 0 failed, 3 unchanged; nothing to commit"
    assert not lost.exists()


def test_a_run_with_nothing_new_loads_only_what_it_needs(tmp_path, site, published):
    """Start-up is most of such a run: converter, extractor, images, QR codes, templates, GitPython,
    rich's progress bar and tables are not loaded (a regression here costs every hourly run)."""
    config = write_cli_config(tmp_path, site, published)
    script = ("import sys\nfrom mirror.cli import main\n"
              f"sys.argv = ['mirror', 'publish', '-c', {str(config)!r}]\n"
              "try:\n    main()\nexcept SystemExit as exit:\n    print(exit.code)\n"
              "print(' '.join(sorted(sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path)
    code, modules = out.stdout.splitlines()[-2:]
    assert code == "0", out.stderr
    loaded = set(modules.split())
    assert "mirror.publisher" in loaded and "feedparser" in loaded  # it did run
    unwanted = {"git", "jinja2", "PIL", "qrcode", "segno", "markdown_it", "cssselect", "rich.progress",
                "rich.table", "mirror.converter", "mirror.extract", "mirror.images", "mirror.qr",
                "mirror.render", "mirror.paths", "mirror.readable", "mirror.clean", "mirror.metadata"}
    assert sorted(unwanted & loaded) == []
