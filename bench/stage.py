"""Time staging and committing many new pages: MirrorRepo.commit beside plain `git add` and GitPython."""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import git

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mirror import gitrepo  # noqa: E402
from mirror.gitrepo import MirrorRepo  # noqa: E402

AUTHOR = "Bench <bench@example.org>"


def make_pages(root: Path, count: int) -> list[str]:
    """Small pages laid out like the mirror's: pages/<channel>/<month>/<id>.md."""
    paths = []
    for i in range(count):
        rel = f"pages/ch{i % 20:02d}/2026-{1 + i % 12:02d}/{i:06d}.md"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"### Article {i}\n\n---\n\nBody of article {i}.\n" * 3)
        paths.append(rel)
    return paths


def cpu_seconds() -> float:
    """User + system time of this process and its finished children (git)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def measure(action: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), cpu_seconds()
    action()
    return time.perf_counter() - wall, cpu_seconds() - cpu


def run_mirror(workdir: Path, count: int) -> tuple[float, float]:
    root = workdir / "repo"
    with MirrorRepo.open(root) as repo:
        make_pages(root, count)
        shas: list[str | None] = []
        result = measure(lambda: shas.append(repo.commit(f"{count} articles", AUTHOR)))
        assert shas[0], "nothing committed"
        files = subprocess.run(
            ["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.split()
        assert len(files) == count + 1, len(files)  # plus .gitattributes
        assert repo.commit("nothing new", AUTHOR) is None
    return result


def run_plain_cli(workdir: Path, count: int) -> tuple[float, float]:
    """MirrorRepo.commit with the fast-import pre-pack switched off: what `git add -A` costs alone."""
    saved = gitrepo.PREPACK_MIN
    gitrepo.PREPACK_MIN = sys.maxsize
    try:
        return run_mirror(workdir, count)
    finally:
        gitrepo.PREPACK_MIN = saved


def run_gitpython(workdir: Path, count: int) -> tuple[float, float]:
    root = workdir / "repo"
    repo = git.Repo.init(root)
    try:
        paths = make_pages(root, count)
        actor = git.Actor("Bench", "bench@example.org")

        def stage_and_commit() -> None:
            repo.index.add(paths)
            repo.index.commit(f"{count} articles", author=actor, committer=actor)

        return measure(stage_and_commit)
    finally:
        repo.close()


def bench(
    name: str, runner: Callable[[Path, int], tuple[float, float]], files: int, runs: int
) -> float:
    walls, cpus = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="mirror-bench-") as tmp:
            wall, cpu = runner(Path(tmp), files)
        walls.append(wall)
        cpus.append(cpu)
    print(
        f"  {name:<44} wall median {statistics.median(walls):6.3f} s (best {min(walls):6.3f}), "
        f"cpu median {statistics.median(cpus):6.3f} s  [{runs} run{'s' if runs > 1 else ''}]"
    )
    return statistics.median(walls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=5000, help="new files to stage (default 5000)")
    parser.add_argument("--runs", type=int, default=5, help="runs of each fast variant (default 5)")
    parser.add_argument("--skip-gitpython", action="store_true", help="skip the slow GitPython run")
    args = parser.parse_args()

    # No global config may help or hinder: like a fresh CI machine.
    os.environ["GIT_CONFIG_NOSYSTEM"] = "1"
    os.environ["GIT_CONFIG_GLOBAL"] = os.devnull
    version = ".".join(map(str, git.Git().version_info))
    load = os.getloadavg()[0]
    print(f"git {version}, GitPython {git.__version__}, {os.cpu_count()} CPUs, load {load:.1f}")
    print(f"stage + commit {args.files} new small files in a fresh repo (target: <= 1.5 s):")
    ours = bench("MirrorRepo.commit (pre-pack + git add -A)", run_mirror, args.files, args.runs)
    bench("plain git add -A + git commit", run_plain_cli, args.files, max(1, args.runs // 2))
    if not args.skip_gitpython:
        slow = bench("GitPython index.add + index.commit", run_gitpython, args.files, 1)
        print(f"  GitPython is {slow / ours:.0f}x slower than MirrorRepo.commit")
    with tempfile.TemporaryDirectory(prefix="mirror-bench-") as tmp:
        root = Path(tmp) / "repo"
        with MirrorRepo.open(root) as repo:
            make_pages(root, args.files)
            repo.commit("all", AUTHOR)
            wall, cpu = measure(lambda: repo.commit("nothing new", AUTHOR))
    print(
        f"  {'MirrorRepo.commit with nothing new':<44} wall {wall:6.3f} s, cpu {cpu:6.3f} s (no commit)"
    )


if __name__ == "__main__":
    main()
