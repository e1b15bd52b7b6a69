"""The mirror repo on real git: one commit per run, a run lock, pushes that survive a race."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mirror.gitrepo import GitError, LockTimeout, MirrorRepo, PushError

AUTHOR = "Mirror Bot <bot@mirror.example>"
PROJECT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def no_git_identity(tmp_path, monkeypatch):
    """Like a fresh CI machine: no global or system git config, so no user.name/email."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    for var in (
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
        "EMAIL",
    ):
        monkeypatch.delenv(var, raising=False)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


def bare(path: Path) -> Path:
    subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True)
    return path


def clone(remote: Path, path: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(remote), str(path)], check=True, capture_output=True)
    return path


def commit_count(root: Path) -> int:
    return int(git(root, "rev-list", "--count", "HEAD").strip())


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


# ----- commit ------------------------------------------------------------------------------


def test_commit_then_nothing_changed_makes_no_commit(tmp_path):
    with MirrorRepo.open(tmp_path / "repo") as repo:
        assert repo.head() is None
        assert repo.commit("nothing yet", AUTHOR) is None
        assert repo.head() is None
        write(repo.root, "pages/a.md", "# A\n")
        sha = repo.commit("publish 1 article", AUTHOR)
        assert sha and len(sha) == 40
        assert repo.head() == sha
        assert repo.commit("publish again", AUTHOR) is None
        assert repo.head() == sha
        assert commit_count(repo.root) == 1
        files = git(repo.root, "ls-tree", "-r", "--name-only", "HEAD").split()
        assert files == [".gitattributes", "pages/a.md"]
        attributes = git(repo.root, "show", "HEAD:.gitattributes")
        assert "/.mirror/*.jsonl merge=union" in attributes
        assert "/README.md merge=mirror-ours" in attributes
        assert "/indexes/*.md merge=mirror-ours" in attributes
        assert git(repo.root, "status", "--porcelain") == ""


def test_commit_author_and_committer_without_any_git_config(tmp_path):
    with MirrorRepo.open(tmp_path / "repo", branch="pages") as repo:
        write(repo.root, "a.md", "a")
        repo.commit("# 1 article\n\nfrom the feed", AUTHOR)
        who = git(repo.root, "log", "-1", "--format=%an|%ae|%cn|%ce")
        assert who.strip() == "Mirror Bot|bot@mirror.example|Mirror Bot|bot@mirror.example"
        # A leading "#" is kept: it is a message, not a comment.
        assert git(repo.root, "log", "-1", "--format=%B").strip() == "# 1 article\n\nfrom the feed"
        assert git(repo.root, "symbolic-ref", "HEAD").strip() == "refs/heads/pages"
        assert repo.branch == "pages"
        # Nothing was written to the repo's config to get there.
        out = subprocess.run(["git", "config", "user.name"], cwd=repo.root, capture_output=True)
        assert out.returncode != 0


def test_bad_author_is_a_clear_error(tmp_path):
    with MirrorRepo.open(tmp_path / "repo") as repo:
        write(repo.root, "a.md", "a")
        with pytest.raises(GitError, match="Name <email"):
            repo.commit("x", "just a name")


def test_deletions_and_modifications_are_staged(tmp_path):
    with MirrorRepo.open(tmp_path / "repo") as repo:
        write(repo.root, "pages/old.md", "old")
        write(repo.root, "pages/kept.md", "v1")
        repo.commit("first", AUTHOR)
        (repo.root / "pages" / "old.md").unlink()
        write(repo.root, "pages/kept.md", "v2")
        write(repo.root, "pages/new.md", "new")
        assert repo.changed_files() == ["pages/kept.md", "pages/new.md", "pages/old.md"]
        repo.commit("second", AUTHOR)
        assert repo.changed_files() == []
        changes = git(repo.root, "show", "--name-status", "--format=", "HEAD").split("\n")
        assert sorted(c for c in changes if c) == [
            "A\tpages/new.md",
            "D\tpages/old.md",
            "M\tpages/kept.md",
        ]


def test_commit_only_under_given_paths_and_never_outside(tmp_path):
    with MirrorRepo.open(tmp_path / "repo") as repo:
        write(repo.root, "pages/a.md", "a")
        write(repo.root, "notes.txt", "not ours")
        write(repo.root, "pages/*.md", "a page with a glob name")
        repo.commit("pages only", AUTHOR, paths=["pages/a.md"])
        files = git(repo.root, "ls-tree", "-r", "--name-only", "HEAD").split("\n")
        assert "pages/a.md" in files and "notes.txt" not in files and "pages/*.md" not in files
        for bad in ("../elsewhere", "/etc", "pages/../../x", ".git/config"):
            with pytest.raises(GitError, match="repo"):
                repo.commit("escape", AUTHOR, paths=[bad])
        (repo.root / "out").symlink_to(tmp_path, target_is_directory=True)
        with pytest.raises(GitError, match="outside"):
            repo.commit("escape", AUTHOR, paths=["out/home"])


def test_git_variables_of_a_calling_hook_do_not_redirect_the_commit(tmp_path, monkeypatch):
    other = tmp_path / "other"
    subprocess.run(["git", "init", "-q", str(other)], check=True)
    # What git exports to a hook of another repo that happens to run mirror.
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    monkeypatch.setenv("GIT_INDEX_FILE", str(other / ".git" / "index"))
    monkeypatch.setenv("GIT_WORK_TREE", str(other))
    with MirrorRepo.open(tmp_path / "repo") as repo:
        write(repo.root, "a.md", "a")
        sha = repo.commit("first", AUTHOR)
        assert repo.head() == sha
    for var in ("GIT_DIR", "GIT_INDEX_FILE", "GIT_WORK_TREE"):
        monkeypatch.delenv(var)
    assert git(tmp_path / "repo", "rev-parse", "HEAD").strip() == sha
    assert (
        subprocess.run(["git", "rev-parse", "HEAD"], cwd=other, capture_output=True).returncode != 0
    )
    assert not (other / ".git" / "index").exists()


def test_two_thousand_new_files_in_one_commit(tmp_path):
    root = tmp_path / "repo"
    with MirrorRepo.open(root) as repo:
        for i in range(2000):
            write(root, f"pages/ch{i % 4}/2026-01/{i:05d}.md", f"# page {i}\n")
        start = time.perf_counter()
        sha = repo.commit("2000 articles", AUTHOR)
        elapsed = time.perf_counter() - start
        assert sha
        assert commit_count(root) == 1
        files = git(root, "ls-tree", "-r", "--name-only", "HEAD").split()
        assert len(files) == 2001  # and .gitattributes
        # GitPython's index.add needs ~4 s for this on a quiet machine; the CLI well under 1 s.
        assert elapsed < 10, f"staging 2,000 files took {elapsed:.1f} s"
        # The blobs went into one pack, not 2,000 loose object files.
        counts = dict(line.split(": ") for line in git(root, "count-objects", "-v").splitlines())
        assert int(counts["in-pack"]) >= 2000 and int(counts["count"]) < 200
        assert git(root, "fsck", "--connectivity-only", "--no-progress", "--no-dangling") == ""
        assert repo.commit("nothing new", AUTHOR) is None


def test_many_files_still_go_through_gits_filters(tmp_path):
    """Pre-packing is only a cache: line-ending normalisation still applies to what is committed."""
    with MirrorRepo.open(tmp_path / "repo") as repo:
        write(repo.root, ".gitattributes", "*.md text eol=lf\n")
        for i in range(150):
            (repo.root / f"{i}.md").write_bytes(b"line one\r\nline two\r\n")
        repo.commit("crlf pages", AUTHOR)
        assert git(repo.root, "show", "HEAD:7.md") == "line one\nline two\n"
        attributes = git(repo.root, "show", "HEAD:.gitattributes")
        assert attributes.startswith("*.md text eol=lf\n")  # the user's line is kept
        assert "/.mirror/*.jsonl merge=union" in attributes


def test_stale_index_lock_is_recovered_under_the_run_lock(tmp_path):
    with MirrorRepo.open(tmp_path / "repo") as repo:
        write(repo.root, "a.md", "a")
        repo.commit("first", AUTHOR)
        index_lock = repo.root / ".git" / "index.lock"
        index_lock.write_text("")  # what a run killed during `git add` leaves
        ref_lock = repo.root / ".git" / "refs" / "heads" / "main.lock"
        ref_lock.write_text("")  # ...or during `git commit`
        old = time.time() - 3600
        os.utime(index_lock, (old, old))
        os.utime(ref_lock, (old, old))
        write(repo.root, "b.md", "b")
        # Plain git is stuck on it...
        stuck = subprocess.run(
            ["git", "add", "b.md"], cwd=repo.root, capture_output=True, text=True
        )
        assert stuck.returncode != 0 and "index.lock" in stuck.stderr
        # ...the mirror, holding its own lock, knows no writer of ours is alive.
        assert repo.commit("second", AUTHOR)
        assert not index_lock.exists() and not ref_lock.exists()
        assert commit_count(repo.root) == 2


def test_young_ref_lock_of_a_git_killed_an_instant_ago_is_recovered(tmp_path, monkeypatch):
    # A run killed mid-commit, then the next run at once: the lock is seconds old, not stale
    # by age; no git of ours can hold it, so after a bounded wait it goes.
    monkeypatch.setattr("mirror.gitrepo.STALE_INDEX_LOCK_AGE", 1.0)
    with MirrorRepo.open(tmp_path / "repo") as repo:
        write(repo.root, "a.md", "a")
        repo.commit("first", AUTHOR)
        head_lock = repo.root / ".git" / "HEAD.lock"
        head_lock.write_text("")
        write(repo.root, "b.md", "b")
        started = time.monotonic()
        assert repo.commit("second", AUTHOR)
        assert 0.9 <= time.monotonic() - started < 5
        assert not head_lock.exists() and commit_count(repo.root) == 2


def test_open_recovers_a_rebase_left_by_a_killed_run(tmp_path, seeded_remote):
    a = clone(seeded_remote, tmp_path / "a")
    b = clone(seeded_remote, tmp_path / "b")
    for c in (a, b):  # the bare remote's HEAD names "master"; plain git does not pick "main"
        git(c, "checkout", "-q", "main")
    write(a, "pages/news/same.md", "one\n")
    git(a, "add", "-A")
    git(a, "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qm", "a")
    git(a, "push", "-q", "origin", "main")
    write(b, "pages/news/same.md", "two\n")
    git(b, "add", "-A")
    git(b, "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qm", "b")
    before = git(b, "rev-parse", "HEAD").strip()
    git(b, "fetch", "-q", "origin")
    stuck = subprocess.run(["git", "rebase", "origin/main"], cwd=b, capture_output=True)
    assert stuck.returncode != 0 and (b / ".git" / "rebase-merge").exists()
    with MirrorRepo.open(b) as repo:
        assert not (b / ".git" / "rebase-merge").exists()
        assert repo.head() == before
        assert git(b, "symbolic-ref", "HEAD").strip() == "refs/heads/main"
        write(b, "pages/news/other.md", "x")
        assert repo.commit("next run", AUTHOR)


def test_open_existing_repo_and_refuse_missing_one(tmp_path):
    with pytest.raises(GitError, match="not a git repository"):
        MirrorRepo.open(tmp_path / "absent", create=False)
    with MirrorRepo.open(tmp_path / "repo") as repo:
        write(repo.root, "a.md", "a")
        sha = repo.commit("first", AUTHOR)
    with MirrorRepo.open(tmp_path / "repo", create=False) as again:
        assert again.head() == sha
        assert again.root == (tmp_path / "repo").resolve()
    with pytest.raises(GitError, match="branch"):
        MirrorRepo.open(tmp_path / "x", branch="bad..name")


# ----- lock --------------------------------------------------------------------------------

HOLDER = """
import sys, time
from pathlib import Path
from mirror.gitrepo import MirrorRepo
repo = MirrorRepo.open(Path(sys.argv[1]))
with repo.lock():
    print("locked", flush=True)
    time.sleep(120)
"""


def test_lock_blocks_another_process_and_dies_with_it(tmp_path):
    root = tmp_path / "repo"
    MirrorRepo.open(root).close()
    env = dict(os.environ, PYTHONPATH=str(PROJECT))
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(root)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with MirrorRepo.open(root) as repo:
            start = time.monotonic()
            with pytest.raises(LockTimeout, match=rf"pid {holder.pid}\b"), repo.lock(timeout=0.3):
                pass
            assert 0.25 < time.monotonic() - start < 10
            # commit takes the same lock: it cannot slip in while the other run works.
            write(root, "a.md", "a")
            with pytest.raises(LockTimeout):
                repo._acquire(0.1)
            holder.send_signal(signal.SIGKILL)
            holder.wait(timeout=10)
            with repo.lock(timeout=5):
                assert repo.locked
            assert not repo.locked
            assert repo.commit("after the holder died", AUTHOR)
        assert (root / ".git" / "mirror.lock").exists()
        assert not (root / "mirror.lock").exists()
    finally:
        holder.kill()
        holder.wait()


def test_lock_is_reentrant_and_excludes_other_instances(tmp_path):
    root = tmp_path / "repo"
    with MirrorRepo.open(root) as first, MirrorRepo.open(root) as second, first.lock():
        write(root, "a.md", "a")
        assert first.commit("inside the run lock", AUTHOR)  # same instance: reentrant
        with pytest.raises(LockTimeout), second.lock(timeout=0.1):
            pass
    with MirrorRepo.open(root) as third, third.lock(timeout=1):
        pass


# ----- push --------------------------------------------------------------------------------


def test_first_push_to_an_empty_bare_remote(tmp_path, monkeypatch):
    remote = bare(tmp_path / "remote.git")
    monkeypatch.chdir(tmp_path)  # a relative remote path means relative to where mirror runs
    with MirrorRepo.open(tmp_path / "repo") as repo:
        result = repo.push(str(remote))
        assert result.sha is None and not result.pushed  # nothing committed yet
        write(repo.root, "a.md", "a")
        sha = repo.commit("first", AUTHOR)
        result = repo.push("remote.git")
        assert result.pushed and result.sha == sha and result.attempts == 1 and result.rebases == 0
        assert git(repo.root, "remote", "get-url", "mirror").strip() == str(remote)
        assert git(remote, "rev-parse", "refs/heads/main").strip() == sha
        again = repo.push(str(remote))
        assert not again.pushed and again.sha == sha
        # The remote is configured once, and moved when the target changes.
        other = bare(tmp_path / "other.git")
        repo.push(str(other))
        assert git(repo.root, "remote").split() == ["mirror"]
        assert git(repo.root, "remote", "get-url", "mirror").strip() == str(other)
        assert git(other, "rev-parse", "refs/heads/main").strip() == sha


def test_push_to_unreachable_remote_is_a_push_error(tmp_path):
    with MirrorRepo.open(tmp_path / "repo") as repo:
        write(repo.root, "a.md", "a")
        sha = repo.commit("first", AUTHOR)
        start = time.monotonic()
        with pytest.raises(PushError, match="does not appear to be a git repository"):
            repo.push(str(tmp_path / "no" / "such" / "remote.git"))
        assert time.monotonic() - start < 5
        assert repo.head() == sha


def test_push_error_does_not_leak_the_token_in_the_url(tmp_path):
    with MirrorRepo.open(tmp_path / "repo") as repo:
        write(repo.root, "a.md", "a")
        repo.commit("first", AUTHOR)
        with pytest.raises(PushError) as err:
            repo.push("https://bot:s3cr3t-token@127.0.0.1:9/mirror.git", attempts=1)
        assert "s3cr3t" not in str(err.value) and "127.0.0.1" in str(err.value)
        assert "\n" not in str(err.value)


def test_push_refused_by_remote_hook_is_a_push_error(tmp_path):
    remote = bare(tmp_path / "remote.git")
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'protected branch' >&2\nexit 1\n")
    hook.chmod(0o755)
    with MirrorRepo.open(tmp_path / "repo") as repo:
        write(repo.root, "a.md", "a")
        repo.commit("first", AUTHOR)
        with pytest.raises(PushError, match="refused"):
            repo.push(str(remote), attempts=3)


def manifest_line(article_id: str) -> str:
    return json.dumps({"id": article_id, "title": f"Article {article_id}"}, sort_keys=True)


def publish(root: Path, article_id: str) -> None:
    """What a publisher run does: a page, a manifest line in sorted order, derived files."""
    write(root, f"pages/news/{article_id}.md", f"# Article {article_id}\n")
    manifest = root / ".mirror" / "manifest.jsonl"
    lines = manifest.read_text().splitlines() if manifest.exists() else []
    manifest.parent.mkdir(exist_ok=True)
    manifest.write_text("\n".join(sorted({*lines, manifest_line(article_id)})) + "\n")
    regenerate(root)


def regenerate(root: Path) -> None:
    """Derived files from the manifest alone (the manifest itself re-sorted after a union merge)."""
    manifest = root / ".mirror" / "manifest.jsonl"
    lines = sorted(set(manifest.read_text().splitlines()))
    manifest.write_text("\n".join(lines) + "\n")
    ids = [json.loads(line)["id"] for line in lines]
    write(root, "README.md", "# Mirror\n\n" + "".join(f"- {i}\n" for i in ids))
    write(root, "indexes/news.md", "# news\n\n" + "".join(f"- {i}\n" for i in reversed(ids)))


@pytest.fixture
def seeded_remote(tmp_path):
    remote = bare(tmp_path / "remote.git")
    with MirrorRepo.open(tmp_path / "seed") as seed:
        publish(seed.root, "a0")
        publish(seed.root, "z9")
        seed.commit("seed", AUTHOR)
        seed.push(str(remote))
    return remote


def remote_file(remote: Path, rel: str) -> str:
    return git(remote, "show", f"main:{rel}")


def test_rejected_push_rebases_regenerates_and_lands(tmp_path, seeded_remote):
    a = clone(seeded_remote, tmp_path / "a")
    b = clone(seeded_remote, tmp_path / "b")
    calls = []
    with MirrorRepo.open(a) as ra, MirrorRepo.open(b) as rb:
        # A fresh clone has no merge driver in .git/config: open sets it.
        assert git(a, "config", "merge.mirror-ours.driver").strip() == "true"
        publish(a, "m-from-a")
        publish(b, "m-from-b")  # same place in the sorted manifest: a real conflict
        ra.commit("a", AUTHOR)
        rb.commit("b", AUTHOR)
        assert rb.push(str(seeded_remote)).rebases == 0
        result = ra.push(str(seeded_remote), after_rebase=lambda: (calls.append(1), regenerate(a)))
        assert result.pushed and result.rebases == 1 and result.amended and calls == [1]
        assert result.sha == ra.head()
    manifest = remote_file(seeded_remote, ".mirror/manifest.jsonl").splitlines()
    assert manifest == sorted(manifest)
    assert manifest_line("m-from-a") in manifest and manifest_line("m-from-b") in manifest
    assert (
        remote_file(seeded_remote, "README.md")
        == "# Mirror\n\n- a0\n- m-from-a\n- m-from-b\n- z9\n"
    )
    assert "- m-from-b\n- m-from-a\n" in remote_file(seeded_remote, "indexes/news.md")
    log = git(seeded_remote, "log", "--format=%s", "main").split()
    assert log == ["a", "b", "seed"]  # one commit per run, no merge commits
    assert git(a, "status", "--porcelain") == ""


def test_two_clones_pushing_at_once_both_land(tmp_path, seeded_remote):
    clones = [clone(seeded_remote, tmp_path / f"clone{i}") for i in range(2)]
    calls: list[int] = []
    results: dict[int, object] = {}
    barrier = threading.Barrier(2)

    def run(i: int) -> None:
        root = clones[i]
        with MirrorRepo.open(root) as repo:
            publish(root, f"new-{i}")
            repo.commit(f"run {i}", AUTHOR)
            barrier.wait(timeout=30)
            try:
                results[i] = repo.push(
                    str(seeded_remote), after_rebase=lambda: (calls.append(i), regenerate(root))
                )
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert all(not isinstance(r, Exception) for r in results.values()), results
    assert len(results) == 2
    assert calls, "one of the two pushes must have been rejected and rebased"
    tree = git(seeded_remote, "ls-tree", "-r", "--name-only", "main").split()
    assert "pages/news/new-0.md" in tree and "pages/news/new-1.md" in tree
    manifest = remote_file(seeded_remote, ".mirror/manifest.jsonl").splitlines()
    assert manifest_line("new-0") in manifest and manifest_line("new-1") in manifest
    assert "- new-0\n- new-1\n" in remote_file(seeded_remote, "README.md")


def test_rebase_conflict_aborts_and_leaves_the_branch_as_it_was(tmp_path, seeded_remote):
    a = clone(seeded_remote, tmp_path / "a")
    b = clone(seeded_remote, tmp_path / "b")
    with MirrorRepo.open(a) as ra, MirrorRepo.open(b) as rb:
        write(a, "pages/news/same.md", "one version\n")
        write(b, "pages/news/same.md", "another version\n")
        ra.commit("a", AUTHOR)
        before = rb.commit("b", AUTHOR)
        ra.push(str(seeded_remote))
        with pytest.raises(PushError, match=r"conflicts in pages/news/same\.md"):
            rb.push(str(seeded_remote), attempts=3)
        assert rb.head() == before
        assert git(b, "symbolic-ref", "HEAD").strip() == "refs/heads/main"
        assert git(b, "status", "--porcelain") == ""
        assert not (b / ".git" / "rebase-merge").exists()
        assert (b / "pages/news/same.md").read_text() == "another version\n"


def test_push_creates_the_branch_on_a_remote_that_has_others(tmp_path, seeded_remote):
    with MirrorRepo.open(tmp_path / "repo", branch="gh-pages") as repo:
        write(repo.root, "index.md", "hi")
        sha = repo.commit("first", AUTHOR)
        assert repo.push(str(seeded_remote)).sha == sha
    assert git(seeded_remote, "rev-parse", "refs/heads/gh-pages").strip() == sha


def test_shallow_ci_clone_rebases_and_pushes(tmp_path, seeded_remote):
    """A CI checkout is a depth-1 clone without .git/config of ours: the race still resolves."""
    ci = tmp_path / "ci"
    subprocess.run(
        [
            "git",
            "clone",
            "-q",
            "--depth",
            "1",
            "--branch",
            "main",
            f"file://{seeded_remote}",
            str(ci),
        ],
        check=True,
        capture_output=True,
    )
    other = clone(seeded_remote, tmp_path / "other")
    with MirrorRepo.open(ci) as rc, MirrorRepo.open(other) as ro:
        publish(ci, "m-ci")
        rc.commit("ci run", AUTHOR)
        publish(other, "m-other")
        ro.commit("other run", AUTHOR)
        ro.push(str(seeded_remote))
        result = rc.push(f"file://{seeded_remote}", after_rebase=lambda: regenerate(ci))
        assert result.pushed and result.rebases == 1
    readme = remote_file(seeded_remote, "README.md")
    assert readme == "# Mirror\n\n- a0\n- m-ci\n- m-other\n- z9\n"
