"""Time staging and committing many new pages: MirrorRepo.commit (git CLI) beside GitPython's index.add."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import git

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mirror.gitrepo import MirrorRepo  # noqa: E402

AUTHOR = "Bench <bench@example.org>"


def make_pages(root: Path, count: int) -> list[str]:
    """Small pages laid out like the mirror's: pages/<channel>/<month>/<id>.md plus a QR stub."""
    paths = []
    for i in range(count):
        rel = f"pages/ch{i % 20:02d}/2026-{1 + i % 12:02d}/{i:06d}.md"
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"### Article {i}\n\n---\n\nBody of article {i}.\n" * 3)
        paths.append(rel)
    return paths


def time_mirror(workdir: Path, count: int) -> float:
    root = workdir / "mirror-cli"
    with MirrorRepo.open(root) as repo:
        make_pages(root, count)
        start = time.perf_counter()
        sha = repo.commit(f"{count} articles", AUTHOR)
        elapsed = time.perf_counter() - start
        assert sha, "nothing committed"
        files = subprocess.run(
            ["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.split()
        assert len(files) == count + 1, len(files)  # plus .gitattributes
        again = time.perf_counter()
        assert repo.commit("nothing new", AUTHOR) is None
        noop = time.perf_counter() - again
    print(f"  MirrorRepo.commit, nothing new afterwards: {noop:.3f} s (no commit made)")
    return elapsed


def time_gitpython(workdir: Path, count: int) -> float:
    root = workdir / "gitpython"
    repo = git.Repo.init(root)
    try:
        paths = make_pages(root, count)
        actor = git.Actor("Bench", "bench@example.org")
        start = time.perf_counter()
        repo.index.add(paths)
        repo.index.commit(f"{count} articles", author=actor, committer=actor)
        return time.perf_counter() - start
    finally:
        repo.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=5000, help="new files to stage (default 5000)")
    parser.add_argument("--runs", type=int, default=3, help="runs of MirrorRepo.commit (default 3)")
    parser.add_argument("--skip-gitpython", action="store_true", help="skip the slow comparison")
    args = parser.parse_args()

    # No global config may help or hinder: like a fresh CI machine.
    os.environ["GIT_CONFIG_NOSYSTEM"] = "1"
    os.environ["GIT_CONFIG_GLOBAL"] = os.devnull
    print(f"git {git.Git().version_info}, GitPython {git.__version__}, {os.cpu_count()} CPUs")
    print(f"staging + committing {args.files} new small files in a fresh repo:")
    times = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="mirror-bench-") as tmp:
            times.append(time_mirror(Path(tmp), args.files))
    print(
        f"  MirrorRepo.commit (git add -A + commit): median {statistics.median(times):.3f} s, "
        f"best {min(times):.3f} s of {args.runs} runs  (target <= 1.5 s)"
    )
    if not args.skip_gitpython:
        with tempfile.TemporaryDirectory(prefix="mirror-bench-") as tmp:
            gp = time_gitpython(Path(tmp), args.files)
        print(f"  GitPython index.add + index.commit:      {gp:.3f} s  "
              f"({gp / statistics.median(times):.0f}x slower)")


if __name__ == "__main__":
    main()
