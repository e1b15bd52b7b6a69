"""Concurrent runs: two `mirror publish` processes on one repo, and two clones pushing to one remote.

Every run is a real process (`python -m mirror publish`, or a fork of a pre-imported mirror for
the repeated rounds) against a loopback site, into real repos with a bare remote.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

from support.crash_runner import Runner
from support.crash_site import (
    Site,
    add_remote,
    fsck_problems,
    git,
    init_bare,
    mirror_problems,
    serve,
    start_publish,
    title,
    write_config,
)

SUMMARY = re.compile(r"(\d+) published, (\d+) failed, (\d+) unchanged")


def summary(out: str) -> tuple[int, int, int]:
    m = SUMMARY.search(out)
    assert m, f"no summary line in:\n{out}"
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


def wait_for_lock(site: Site, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    """Until `proc` holds the run lock: a run reads its sources only under the lock."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if site.requests(r"/news\.xml"):
            return
        time.sleep(0.01)
    raise AssertionError(f"the first run never held the lock (exit {proc.poll()})")


def opens_lock(pid: int, repo: Path) -> bool:
    """Whether process `pid` has the repo's lock file open (it is holding or waiting for it)."""
    lock = str((repo / ".git" / "mirror.lock").resolve())
    try:
        return any(os.readlink(fd) == lock for fd in Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False


def test_two_publishes_on_one_repo_take_turns(tmp_path):
    """Started together on one repo: one waits for the other's lock; each article is fetched,
    published and committed once."""
    with serve(Site(feeds={"news": list(range(1, 31))})) as site:
        repo = tmp_path / "repo"
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")  # a first run on a folder with no repo yet: C3 below
        configs = [write_config(tmp_path / f"{name}.toml", repo=repo, base=site.base) for name in "ab"]
        site.gate.clear()  # whichever run gets the lock first stalls on its first article...
        procs = [start_publish(c) for c in configs]
        deadline = time.monotonic() + 60

        def both_at_the_lock() -> bool:
            return bool(site.requests(r"/news\.xml")) and all(opens_lock(p.pid, repo) for p in procs)

        while not both_at_the_lock() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert both_at_the_lock(), "the runs never both reached the lock"
        time.sleep(0.5)
        assert len(site.requests(r"/news\.xml")) == 1  # ...so the other one is waiting for the lock
        site.gate.set()
        outs = [p.communicate(timeout=300) for p in procs]
    for proc, (out, err) in zip(procs, outs, strict=True):
        assert proc.returncode == 0, out + err
    assert sorted(summary(out + err)[:2] for out, err in outs) == [(0, 0), (30, 0)]
    # The second run read the feed only once the first had finished fetching: it held the lock.
    feeds = [t for t, _ in site.requests(r"/news\.xml")]
    articles = [t for t, _ in site.requests(r"/news/\d+\.html")]
    assert len(feeds) == 2 and len(articles) == 30
    assert max(feeds) > max(articles)
    expected = {site.url(n): title(n) for n in range(1, 31)}
    assert mirror_problems(repo, expected) == []
    assert git(repo, "rev-list", "--count", "HEAD").strip() == "1"


def test_first_runs_at_once_on_a_new_repo_folder_both_succeed(tmp_path):
    """Two first runs on a folder that is not a repo yet. Which of them sees the other's `git init`
    half done is a race; it is made certain here by starting both while `.git` is still empty,
    which is also what a run killed in its first `git init` leaves."""
    with serve(Site(feeds={"news": list(range(1, 6))})) as site:
        repo = tmp_path / "repo"
        (repo / ".git").mkdir(parents=True)
        procs = [start_publish(write_config(tmp_path / f"{name}.toml", repo=repo, base=site.base)) for name in "ab"]
        outs = [p.communicate(timeout=300) for p in procs]
    for proc, (out, err) in zip(procs, outs, strict=True):
        assert proc.returncode == 0, out + err
    assert sorted(summary(out + err)[0] for out, err in outs) == [0, 5]
    assert mirror_problems(repo, {site.url(n): title(n) for n in range(1, 6)}) == []


def test_second_publish_gives_up_on_the_lock_with_a_clear_message(tmp_path):
    """With a short `lock_timeout`, the second run stops at once, says why (one line, its own exit
    status), and touches nothing; the first one finishes as if alone."""
    with serve(Site(feeds={"news": list(range(1, 31))})) as site:
        repo = tmp_path / "repo"
        site.gate.clear()  # the first run holds the lock until the second has given up
        first = start_publish(write_config(tmp_path / "a.toml", repo=repo, base=site.base))
        wait_for_lock(site, first)
        started = time.monotonic()
        second = start_publish(write_config(tmp_path / "b.toml", repo=repo, base=site.base, lock_timeout=0.5))
        out2, err2 = second.communicate(timeout=120)
        waited = time.monotonic() - started
        feeds_meanwhile = len(site.requests(r"/news\.xml"))
        site.gate.set()
        out1, err1 = first.communicate(timeout=300)
    assert first.returncode == 0 and summary(out1 + err1) == (30, 0, 0), out1 + err1
    assert feeds_meanwhile == 1  # the second run fetched nothing
    assert waited < 30
    assert second.returncode not in (0, 1), "exit 1 means 'some articles failed'; this is another cause"
    assert "another mirror run" in err2 and "mirror.lock" in err2
    assert "Traceback" not in err2 + out2, err2
    assert mirror_problems(repo, {site.url(n): title(n) for n in range(1, 31)}) == []


def test_run_killed_while_another_waits_for_its_lock_is_finished_by_the_waiting_one(tmp_path):
    """A run SIGKILLed at a random point while a second run waits for the repo's lock: the lock
    dies with it, and the second run alone leaves the repo complete, committed and pushed."""
    rng = random.Random()
    with serve(Site(feeds={"news": list(range(1, 31))})) as site, Runner() as first, Runner() as second:
        expected = {site.url(n): title(n) for n in range(1, 31)}
        for r in range(4):
            folder = tmp_path / f"r{r}"
            repo = folder / "repo"
            repo.mkdir(parents=True)
            git(repo, "init", "-q", "-b", "main")
            remote = init_bare(folder / "remote.git")
            add_remote(repo, remote)
            config = write_config(folder / "mirror.toml", repo=repo, base=site.base, remote=remote)
            args = ["publish", "-c", str(config)]
            a = first.start(args, folder, folder / "a.out")
            deadline = time.monotonic() + 60
            while not opens_lock(a, repo) and time.monotonic() < deadline:
                time.sleep(0.005)
            b = second.start(args, folder, folder / "b.out")
            while not opens_lock(b, repo) and time.monotonic() < deadline:
                time.sleep(0.005)
            delay = rng.uniform(0.0, 1.5)
            time.sleep(delay)
            mode = rng.choice(["process", "group"])
            if mode == "process":
                os.kill(a, signal.SIGKILL)  # its git children run on, orphaned
            else:
                os.killpg(a, signal.SIGKILL)
            first.wait(a)
            status = second.wait(b)
            out = (folder / "b.out").read_text()
            assert status == 0, f"round {r} ({mode} kill after {delay:.2f} s):\n{out}"
            problems = mirror_problems(repo, expected, remote=remote)
            assert problems == [], f"round {r} ({mode} kill after {delay:.2f} s):\n" + "\n".join(problems)


ROUNDS = 3
PER_CLONE = 5


def test_two_clones_publishing_different_articles_at_once_all_land(tmp_path):
    """Two clones of one (at first empty) remote, each publishing its own source's new articles
    at the same moment, round after round: the later push is rejected, rebased onto the other's
    commit (the manifest union-merged, indexes and README regenerated) and lands."""
    remote = init_bare(tmp_path / "remote.git", push_delay=0.1)
    with serve(Site(feeds={"a": [], "b": []})) as site, Runner() as runner:
        clones = {}
        for name in "ab":
            repo = tmp_path / name
            subprocess.run(["git", "clone", "-q", str(remote), str(repo)], check=True, capture_output=True)
            clones[name] = write_config(tmp_path / f"{name}.toml", repo=repo, base=site.base, feeds=("a", "b"),
                                        remote=remote)
        expected: dict[str, str] = {}
        for r in range(ROUNDS):
            for k, name in enumerate("ab"):
                new = [100 * (k + 1) + PER_CLONE * r + i for i in range(1, PER_CLONE + 1)]
                site.feeds[name] = site.feeds[name] + new
                expected |= {site.url(n): title(n) for n in new}
            pids = {name: runner.start(["publish", "-c", str(cfg), "--source", name], tmp_path,
                                       tmp_path / f"{name}{r}.out")
                    for name, cfg in clones.items()}
            for name, pid in pids.items():
                status = runner.wait(pid)
                out = (tmp_path / f"{name}{r}.out").read_text()
                assert status == 0, f"round {r}, clone {name} (exit {status}):\n{out}"
                assert summary(out)[:2] == (PER_CLONE, 0), out
            final = tmp_path / f"final{r}"
            subprocess.run(["git", "clone", "-q", str(remote), str(final)], check=True, capture_output=True)
            problems = mirror_problems(final, expected, remote=remote)
            assert problems == [], f"round {r}:\n" + "\n".join(problems)
            # One commit per run, a straight line: the later push was rebased, never merged.
            assert git(remote, "rev-list", "--count", "main").strip() == str(2 * (r + 1))
            assert git(remote, "rev-list", "--merges", "main").strip() == ""
            for name in "ab":
                assert fsck_problems(tmp_path / name) == []
                assert git(tmp_path / name, "status", "--porcelain") == ""
            shutil.rmtree(final)


def test_push_given_up_after_its_attempts_is_landed_by_the_next_run(tmp_path):
    """A clone whose push is rejected (the remote moved on) with `push_attempts = 1` keeps its
    commit and says so; its next run rebases and pushes it, with nothing lost or doubled."""
    remote = init_bare(tmp_path / "remote.git")
    with serve(Site(feeds={"a": [1, 2], "b": [3, 4]})) as site, Runner() as runner:
        repos = {}
        for name in "ab":
            repos[name] = tmp_path / name
            subprocess.run(["git", "clone", "-q", str(remote), str(repos[name])], check=True, capture_output=True)
        cfg_a = write_config(tmp_path / "a.toml", repo=repos["a"], base=site.base, feeds=("a", "b"), remote=remote)
        cfg_b = write_config(tmp_path / "b.toml", repo=repos["b"], base=site.base, feeds=("a", "b"), remote=remote,
                             push_attempts=1)
        assert runner.run(["publish", "-c", str(cfg_a), "--source", "a"], tmp_path, tmp_path / "a.out")[0] == 0
        status, _ = runner.run(["publish", "-c", str(cfg_b), "--source", "b"], tmp_path, tmp_path / "b.out")
        out = (tmp_path / "b.out").read_text()
        assert status != 0, out
        assert "rejected" in out or "refused" in out, out
        assert git(repos["b"], "rev-list", "--count", "HEAD").strip() == "1"  # the commit is kept
        cfg_b = write_config(tmp_path / "b.toml", repo=repos["b"], base=site.base, feeds=("a", "b"), remote=remote)
        status, _ = runner.run(["publish", "-c", str(cfg_b), "--source", "b"], tmp_path, tmp_path / "b2.out")
        assert status == 0, (tmp_path / "b2.out").read_text()
        assert summary((tmp_path / "b2.out").read_text()) == (0, 0, 2)
        expected = {site.url(n): title(n) for n in (1, 2, 3, 4)}
    assert mirror_problems(repos["b"], expected, remote=remote) == []
