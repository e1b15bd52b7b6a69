"""The mirror repo: a run lock, one commit per run, and a push that rebases when it is rejected."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import random
import re
import stat
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from mirror.fsutil import write_atomic

__all__ = [
    "GitError",
    "LockTimeout",
    "PushError",
    "Identity",
    "PushResult",
    "MirrorRepo",
    "REMOTE_NAME",
    "ATTRIBUTES",
]

REMOTE_NAME = "mirror"
MERGE_DRIVER = "mirror-ours"
MERGE_DRIVER_NAME = "keep the upstream side, mirror regenerates the file"
LOCK_NAME = "mirror.lock"
# An index.lock older than this, found while we hold the run lock, was left by a killed run.
# Younger ones get this long to vanish: an orphaned `git add` of a killed run may still finish.
STALE_INDEX_LOCK_AGE = 5.0
# From this many new or modified files on, their blobs are packed before `git add`.
PREPACK_MIN = 100
PREPACK_MAX_BYTES = 32 * 1024 * 1024
GIT_TIMEOUT = 600.0  # seconds for any one git command; a hung fetch must not hang CI forever
OPEN_ATTEMPTS = 8  # looks at a .git that other first runs may be creating (about 1 s in all)
# git's words when another git process holds a file it must rewrite (config, HEAD, refs).
_LOCKED_BY_OTHER = re.compile(r"could not lock config file|Unable to create '[^']*\.lock': File exists")

ATTRIBUTES_HEADER = "# Written by mirror: how concurrent runs merge. Keep these lines."
# Merge rules that let two runs publishing at once rebase onto each other without conflicts:
# the manifest is sorted JSON lines, so keeping both sides' lines loses nothing; derived files
# keep the upstream side and are regenerated from the merged manifest by `after_rebase`.
ATTRIBUTES = (
    "/.mirror/*.jsonl merge=union text eol=lf",
    "/README.md merge=mirror-ours",
    "/indexes/*.md merge=mirror-ours",
    "/.gitattributes merge=union",
)

# Variables that would point git at another repo, index or ref namespace than ours (set inside
# git hooks, or by a parent tool): `git rev-parse --local-env-vars`, less GIT_CONFIG_COUNT and
# GIT_CONFIG_PARAMETERS, which CI jobs use to pass credentials.
_REPO_ENV = (
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_CONFIG",
    "GIT_OBJECT_DIRECTORY",
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_IMPLICIT_WORK_TREE",
    "GIT_GRAFT_FILE",
    "GIT_INDEX_FILE",
    "GIT_NO_REPLACE_OBJECTS",
    "GIT_REPLACE_REF_BASE",
    "GIT_PREFIX",
    "GIT_INTERNAL_SUPER_PREFIX",
    "GIT_SHALLOW_FILE",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
)

_AUTHOR_RE = re.compile(r"^\s*([^<>\n\r]*?)\s*<([^<>\s]+)>\s*$")
# Rejections another push explains: the remote moved on (or was moving) while we worked.
_RETRY_REJECT = (
    "fetch first",
    "non-fast-forward",
    "stale info",
    "cannot lock ref",
    "failed to update ref",
    "incorrect old value",
    "failed to lock",
)
# Failures of the transport that another attempt may not see.
_TRANSIENT = (
    "could not resolve host",
    "connection reset",
    "connection timed out",
    "operation timed out",
    "timed out",
    "early eof",
    "rpc failed",
    "the remote end hung up unexpectedly",
    "502",
    "503",
    "504",
    "temporary failure",
)


class GitError(Exception):
    """A git operation on the mirror repo failed; the message says what to do about it."""


class LockTimeout(GitError):
    """Another run holds the mirror repo's lock."""


class PushError(GitError):
    """The push did not land; the local branch is left as it was before the attempt."""


@dataclass(frozen=True, slots=True)
class Identity:
    """Who commits: used as both author and committer, never read from global git config."""

    name: str
    email: str

    @classmethod
    def parse(cls, author: str) -> Identity:
        """Parse "Name <email>"."""
        m = _AUTHOR_RE.match(author or "")
        if not m or not m.group(1):
            raise GitError(f"author {author!r} must look like 'Name <email@example.org>'")
        return cls(m.group(1), m.group(2))

    def env(self) -> dict[str, str]:
        return {
            "GIT_AUTHOR_NAME": self.name,
            "GIT_AUTHOR_EMAIL": self.email,
            "GIT_COMMITTER_NAME": self.name,
            "GIT_COMMITTER_EMAIL": self.email,
        }

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


@dataclass(frozen=True, slots=True)
class PushResult:
    """What a push did."""

    sha: str | None  # the commit the remote branch now points at (None: nothing to push)
    pushed: bool  # False when the remote already had it
    attempts: int  # push attempts made
    rebases: int  # times the local commits were rebased onto the remote
    amended: bool  # after_rebase changed derived files and the commit was amended
    remote: str  # the URL or path pushed to
    branch: str


def _clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _REPO_ENV}
    env["GIT_TERMINAL_PROMPT"] = "0"  # a CI job must fail, not wait for a password
    env["LC_ALL"] = "C"  # messages we match on are the English ones
    env["LANGUAGE"] = "C"
    env["GIT_EDITOR"] = "true"  # never open an editor (rebase, amend)
    if extra:
        env.update(extra)
    return env


def _last_line(text: str) -> str:
    """The line of git's output that says what went wrong: its first fatal, else its last error."""
    lines = [ln.strip() for ln in _redact(text).strip().splitlines() if ln.strip()]
    fatal = [ln for ln in lines if ln.startswith("fatal:")]
    if fatal:
        return fatal[0]
    errors = [ln for ln in lines if ln.startswith("error:")]
    return (errors or lines or ["(no output)"])[-1]


def _hint(message: str) -> str:
    low = message.lower()
    if "dubious ownership" in low:
        return " (the repo belongs to another user: run `git config --global --add safe.directory <repo>`)"
    if "please tell me who you are" in low:
        return " (set `author` in the config)"
    if any(
        needle in low
        for needle in (
            "authentication failed",
            "could not read username",
            "permission denied",
            "error: 403",
            "403 forbidden",
        )
    ):
        return " (check the remote's credentials: a token for HTTPS, or an SSH key for this user)"
    return ""


_CREDENTIALS_RE = re.compile(r"(?P<scheme>[a-zA-Z][\w+.-]*://)[^/@\s]+@")


def _redact(text: str) -> str:
    """`text` with the user:token part of any URL in it blanked: messages end up in CI logs."""
    return _CREDENTIALS_RE.sub(r"\g<scheme>***@", text)


def _remote_url(remote: str) -> str:
    """A URL as is; a local path made absolute, since git runs from the repo folder."""
    if "://" in remote or re.match(r"^[\w.-]+@[\w.-]+:", remote):
        return remote
    if re.match(r"^[\w.-]+:[^/\\]", remote) and not Path(remote).exists():
        return remote  # scp-like "host:path"
    return str(Path(remote).expanduser().absolute())


class MirrorRepo:
    """A git work tree the publisher writes into, commits and pushes.

    One instance belongs to one thread; two instances (in any processes) on one repo are
    kept apart by `lock()`.
    """

    def __init__(self, root: Path, git_dir: Path, branch: str) -> None:
        self._root = root.resolve()
        self._git_dir = git_dir.resolve()
        self._branch = branch
        self._lock_fd: int | None = None
        self._lock_depth = 0
        self._identity: Identity | None = None
        self._paths: tuple[str, ...] = (".",)
        self._message = "mirror: update"

    # ----- opening -----------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, branch: str = "main", create: bool = True) -> MirrorRepo:
        """Open the repo whose work tree is `path` (creating it with `git init` if allowed)."""
        path = Path(path).expanduser().absolute()
        _check_branch_name(branch)
        if not (path / ".git").exists():
            if not create:
                raise GitError(f"{path}: not a git repository (clone the mirror repo there first)")
            path.mkdir(parents=True, exist_ok=True)
        why = ""
        for attempt in range(OPEN_ATTEMPTS):
            found = _locate(path) if (path / ".git").exists() else "no .git yet"
            if not isinstance(found, str):
                break
            if not create or attempt == OPEN_ATTEMPTS - 1:
                raise GitError(f"{path}: not a git repository ({found}){why}")
            time.sleep(0.05 * attempt)
            # `git init` is idempotent and completes an incomplete .git: another first run's
            # init still under way, or one that was killed. Two at once can trip over each
            # other's files ("File exists"): the one that does looks again.
            init = _run(path, "init", "-q", f"--initial-branch={branch}", check=False)
            why = f"; git init: {_last_line(init.stderr)}{_hint(init.stderr)}" if init.returncode else ""
        self = cls(found[1], found[0], branch)
        # Changing the repo (config, branch) is done under the run lock, and only when
        # needed: a live run of ours may be mid-rebase on a detached HEAD.
        if self._setup_needed():
            try:
                with self.lock():
                    for attempt in range(OPEN_ATTEMPTS):
                        try:
                            self._recover()
                            self._configure()
                            self._switch_branch()
                            break
                        except GitError as exc:
                            # Another first run's `git init` (before any lock can exist) may be
                            # rewriting .git/config or HEAD this instant: the steps are
                            # idempotent, so look again.
                            if attempt == OPEN_ATTEMPTS - 1 or not _LOCKED_BY_OTHER.search(str(exc)):
                                raise
                            time.sleep(0.05 * (attempt + 1))
            except BaseException:
                self.close()
                raise
        return self

    def _setup_needed(self) -> bool:
        head = self._git("symbolic-ref", "-q", "HEAD", check=False).stdout.strip()
        return (
            head != f"refs/heads/{self._branch}"
            or self._rebase_in_progress()
            or not self._driver_configured()
            or _with_attributes(self._info_attributes()) is not None
        )

    def _driver_configured(self) -> bool:
        out = self._git(
            "config", "--local", "--get-regexp", rf"^merge\.{MERGE_DRIVER}\.", check=False
        ).stdout
        settings = dict(line.partition(" ")[::2] for line in out.splitlines())
        return settings.get(f"merge.{MERGE_DRIVER}.driver") == "true" and (
            f"merge.{MERGE_DRIVER}.name" in settings
        )

    def _info_attributes(self) -> str:
        try:
            return (self._git_dir / "info" / "attributes").read_text("utf-8")
        except FileNotFoundError:
            return ""

    def _configure(self) -> None:
        # Checked on every open: a fresh CI clone carries .gitattributes but not .git/config.
        if not self._driver_configured():
            self._git("config", "--local", f"merge.{MERGE_DRIVER}.name", MERGE_DRIVER_NAME)
            self._git("config", "--local", f"merge.{MERGE_DRIVER}.driver", "true")
        # The same rules in info/attributes apply even before .gitattributes reaches a branch,
        # e.g. when a local first commit is rebased onto a remote that never had one.
        if updated := _with_attributes(self._info_attributes()):
            write_atomic(self._git_dir / "info" / "attributes", updated)

    def _rebase_in_progress(self) -> bool:
        return (self._git_dir / "rebase-merge").exists() or (
            self._git_dir / "rebase-apply"
        ).exists()

    def _switch_branch(self) -> None:
        ref = f"refs/heads/{self._branch}"
        head = self._git("symbolic-ref", "-q", "HEAD", check=False).stdout.strip()
        if head == ref:
            return
        if self._git("rev-parse", "-q", "--verify", ref, check=False).returncode == 0:
            self._git("checkout", "-q", self._branch)
            return
        # A clone of a remote whose HEAD names another (or no) branch: take the remote's.
        tracking = self._git(
            "for-each-ref", "--format=%(refname:short)", f"refs/remotes/*/{self._branch}"
        ).stdout.split()
        if tracking:
            self._git("checkout", "-q", "-b", self._branch, "--track", tracking[0])
        elif self._git("rev-parse", "-q", "--verify", "HEAD", check=False).returncode != 0:
            self._git("symbolic-ref", "HEAD", ref)  # nothing committed yet
        else:
            self._git("checkout", "-q", "-b", self._branch)

    # ----- basics ------------------------------------------------------------------------

    @property
    def root(self) -> Path:
        """The work tree."""
        return self._root

    @property
    def branch(self) -> str:
        return self._branch

    def close(self) -> None:
        """Release the lock if held."""
        while self._lock_depth:
            self._release()

    def __enter__(self) -> MirrorRepo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def head(self) -> str | None:
        """The sha of the branch's last commit, or None before the first commit."""
        proc = self._git("rev-parse", "-q", "--verify", "HEAD^{commit}", check=False)
        return proc.stdout.strip() if proc.returncode == 0 else None  # else an unborn branch

    def changed_files(self, paths: Sequence[str] = (".",)) -> list[str]:
        """Files under `paths` that differ from the last commit: new, modified or deleted."""
        return sorted({path for _, path in self._status(self._pathspecs(paths))})

    def changes(self, *, ignored: bool = False) -> list[tuple[str, str]]:
        """What a commit now would find: (XY, path) of `git status --porcelain` for every file
        that differs from the last commit, untracked ones included, and ignored ones as "!!"
        if asked. Empty: the work tree is exactly the last commit. Recovers what a killed git
        left first, as `commit` does."""
        with self.lock():
            self._recover()
            return self._status(self._pathspecs(()), ignored=ignored)

    def _status(self, spec: Sequence[str], *, ignored: bool = False) -> list[tuple[str, str]]:
        out = self._git(
            "status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames",
            *(["--ignored"] if ignored else []), "--", *spec
        ).stdout
        return [(item[:2], item[3:]) for item in out.split("\0") if len(item) > 3]

    def ensure_identity(self, author: str | None = None) -> Identity:
        """The identity commits are made with: `author` if given, else the last one used,
        else the committer of the last commit, else a neutral default. Git config is not needed."""
        if author:
            self._identity = Identity.parse(author)
        if self._identity is None:
            out = self._git("log", "-1", "--format=%cn%x00%ce", check=False).stdout.strip()
            name, _, email = out.partition("\0")
            self._identity = (
                Identity(name, email) if name and email else Identity("mirror", "mirror@localhost")
            )
        return self._identity

    # ----- the lock ----------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, timeout: float = 60) -> Iterator[MirrorRepo]:
        """Hold the repo's run lock: no other run (in any process) works on this repo meanwhile.

        Reentrant within this instance. The lock is an flock on `.git/mirror.lock`, so a killed
        holder releases it with its last breath.
        """
        self._acquire(timeout)
        try:
            yield self
        finally:
            self._release()

    @property
    def git_dir(self) -> Path:
        """The repo's .git folder: a place for run state that is never committed."""
        return self._git_dir

    @property
    def locked(self) -> bool:
        return self._lock_depth > 0

    def _acquire(self, timeout: float) -> None:
        if self._lock_depth:
            self._lock_depth += 1
            return
        path = self._git_dir / LOCK_NAME
        # Python opens it non-inheritable: the git processes we start cannot keep it locked.
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + max(0.0, timeout)
        delay = 0.02
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    os.close(fd)
                    raise GitError(f"cannot lock {path}: {exc.strerror}") from exc
            if time.monotonic() >= deadline:
                holder = _read_pid(fd)
                os.close(fd)
                who = f"pid {holder}" if holder else "another process (pid not yet recorded)"
                raise LockTimeout(
                    f"{self._root}: another mirror run ({who}) holds {path}; "
                    f"gave up after {timeout:g} s (wait for it to finish, or stop it)"
                )
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 1.5, 0.25)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd
        self._lock_depth = 1

    def _release(self) -> None:
        if not self._lock_depth:
            return
        self._lock_depth -= 1
        if self._lock_depth or self._lock_fd is None:
            return
        fd, self._lock_fd = self._lock_fd, None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def _recover(self) -> None:
        """Undo what a killed run left behind. Called only while holding the run lock."""
        assert self._lock_depth, "recovery without the run lock could break a live git process"
        # git's lock files live only while a git process writes: under our run lock, one that
        # stays until it is STALE_INDEX_LOCK_AGE old (or that long has passed) is a killed
        # git's. A git a user runs by hand meanwhile gets that long to finish.
        deadline = time.monotonic() + STALE_INDEX_LOCK_AGE
        for name in (
            "index.lock",
            "HEAD.lock",
            "packed-refs.lock",
            "config.lock",
            f"refs/heads/{self._branch}.lock",
        ):
            lock = self._git_dir / name
            while True:
                try:
                    age = time.time() - lock.stat().st_mtime
                except FileNotFoundError:
                    break
                if age >= STALE_INDEX_LOCK_AGE or time.monotonic() >= deadline:
                    with contextlib.suppress(FileNotFoundError):
                        lock.unlink()
                    break
                time.sleep(0.1)
        if self._rebase_in_progress():
            if self._git("rebase", "--abort", check=False).returncode != 0:
                # A rebase killed while writing files leaves untracked copies in the way of
                # `--abort`. The branch ref never moves before a rebase finishes, so dropping the
                # rebase state and forcing the tree back to the branch loses nothing committed.
                self._git("rebase", "--quit", check=False)
                if self._git("rev-parse", "-q", "--verify", f"refs/heads/{self._branch}",
                             check=False).returncode == 0:
                    self._git("checkout", "-q", "-f", self._branch)
                    self._git("reset", "-q", "--hard", self._branch)
            self._switch_branch()

    # ----- commit ------------------------------------------------------------------------

    def commit(self, message: str, author: str, paths: Sequence[str] = (".",)) -> str | None:
        """Stage every change under `paths` and make one commit; None when nothing changed."""
        if not message or not message.strip():
            raise GitError("empty commit message")
        identity = self.ensure_identity(author)
        spec = self._pathspecs(paths)
        with self.lock():
            self._recover()
            changes = self._status(spec)
            if not changes:
                return None  # the common case of a run with nothing new: one `git status`
            self._stage(spec, changes)
            if not self._has_staged():
                return None
            self._paths = tuple(paths)
            self._message = message
            if self._write_attributes():
                self._stage([":(literal).gitattributes"])
            self._commit_new(message, identity)
            return self._rev("HEAD")

    def _stage(self, spec: Sequence[str], changes: Sequence[tuple[str, str]] | None = None) -> None:
        # The CLI, not GitPython's index.add (~10 s for 5,000 new files). Many new files are
        # first packed in one go: one pack file instead of one loose object file per blob,
        # which costs 5x less system time; `git add` then finds their blobs stored and only
        # hashes and indexes them.
        if changes is None:
            changes = self._status(spec)
        changed = [path for xy, path in changes if xy[1] in "?M"]
        if len(changed) >= PREPACK_MIN:
            self._prepack(changed)
        self._git(
            "add",
            "-A",
            "--pathspec-from-file=-",
            "--pathspec-file-nul",
            input="\0".join(spec),
        )

    def _prepack(self, relpaths: Sequence[str]) -> None:
        """Store the files' blobs as one pack (`git fast-import`) rather than one loose object each.

        Only a speed-up: `git add` still decides what is staged (and applies clean filters; a
        filtered file hashes differently and is simply stored again), so any failure here is
        ignored.
        """
        try:
            proc = subprocess.Popen(
                ["git", "fast-import", "--quiet", "--done"],
                cwd=self._root,
                env=_clean_env(),
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                bufsize=1 << 20,  # few large pipe writes: 3x faster than the 8 KiB default
            )
        except OSError:
            return
        assert proc.stdin is not None
        try:
            for rel in relpaths:
                path = self._root / rel
                try:
                    st = path.lstat()
                    if not stat.S_ISREG(st.st_mode) or st.st_size > PREPACK_MAX_BYTES:
                        continue
                    data = path.read_bytes()
                except OSError:
                    continue
                proc.stdin.write(b"blob\ndata %d\n" % len(data))
                proc.stdin.write(data)
                proc.stdin.write(b"\n")
            proc.stdin.write(b"done\n")
            proc.stdin.close()
            proc.wait(timeout=GIT_TIMEOUT)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()

    def _has_staged(self) -> bool:
        # On an unborn branch `diff --cached` compares with the empty tree.
        return (
            self._git("diff", "--cached", "--quiet", "--no-ext-diff", check=False).returncode != 0
        )

    def _write_attributes(self) -> bool:
        path = self._root / ".gitattributes"
        if path.is_symlink():
            raise GitError(f"{path} is a symlink; mirror will not write through it")
        try:
            existing = path.read_text("utf-8")
        except FileNotFoundError:
            existing = ""
        updated = _with_attributes(existing)
        return bool(updated) and write_atomic(path, updated)

    def _pathspecs(self, paths: Sequence[str]) -> list[str]:
        if isinstance(paths, str):
            paths = (paths,)
        spec = []
        for p in paths:
            if not isinstance(p, str) or not p or "\0" in p:
                raise GitError(f"bad path to commit: {p!r}")
            if os.path.isabs(p):
                raise GitError(f"path to commit must be relative to the repo: {p!r}")
            parts = p.replace("\\", "/").split("/")
            if ".." in parts or ".git" in (s.lower() for s in parts):
                raise GitError(f"path to commit must stay inside the repo: {p!r}")
            real = (self._root / p).resolve()
            if real != self._root and not real.is_relative_to(self._root):
                raise GitError(f"path to commit resolves outside the repo: {p!r}")
            # Literal: a page named "*.md" must not be a glob that stages other files.
            spec.append(f":(literal){p}")
        return spec or [":(literal)."]

    # ----- push --------------------------------------------------------------------------

    def push(
        self,
        remote: str,
        attempts: int = 5,
        after_rebase: Callable[[], None] | None = None,
    ) -> PushResult:
        """Push the branch to `remote` (URL or path), rebasing onto it when it moved on.

        After a rebase, `after_rebase()` may regenerate derived files; their changes are
        staged and folded into the local commit before the next attempt.
        """
        if attempts < 1:
            raise GitError("push attempts must be at least 1")
        url = _remote_url(remote)
        remote = _redact(remote)  # from here on only used in messages
        branch = self._branch
        ref = f"refs/heads/{branch}"
        tracking = f"refs/remotes/{REMOTE_NAME}/{branch}"
        rebases = 0
        amended = False
        with self.lock():
            self._recover()
            self._set_remote(url)
            if self.head() is None:
                return PushResult(None, False, 0, 0, False, remote, branch)
            identity = self.ensure_identity()
            for attempt in range(1, attempts + 1):
                proc = self._git(
                    "push",
                    "--porcelain",
                    "--no-verify",
                    REMOTE_NAME,
                    f"{ref}:{ref}",
                    check=False,
                    timeout=GIT_TIMEOUT,
                )
                if proc.returncode == 0:
                    up_to_date = any(ln.startswith("=\t") for ln in proc.stdout.splitlines())
                    return PushResult(
                        self._rev(ref), not up_to_date, attempt, rebases, amended, remote, branch
                    )
                output = proc.stdout + "\n" + proc.stderr
                reason = _rejection(proc.stdout)
                if reason is None:
                    low = output.lower()
                    if not any(t in low for t in _TRANSIENT) or attempt == attempts:
                        raise PushError(
                            f"push to {remote} failed: {_last_line(proc.stderr or proc.stdout)}"
                            f"{_hint(output)}"
                        )
                elif not any(r in reason for r in _RETRY_REJECT):
                    raise PushError(f"push to {remote} ({branch}) was refused: {reason}")
                elif attempt < attempts and self._fetch(remote, branch, tracking):
                    self._rebase(remote, tracking, identity)
                    rebases += 1
                    if after_rebase is not None:
                        after_rebase()
                        amended = self._fold_regenerated(tracking, identity) or amended
                if attempt < attempts:
                    time.sleep(random.uniform(0.05, 0.2) * min(2 ** (attempt - 1), 8))
            raise PushError(
                f"push to {remote} ({branch}) still rejected after {attempts} attempts: "
                "other runs keep pushing; run again later"
            )

    def _set_remote(self, url: str) -> None:
        if REMOTE_NAME not in self._git("remote").stdout.split():
            self._git("remote", "add", REMOTE_NAME, url)
            return
        current = self._git("remote", "get-url", REMOTE_NAME, check=False).stdout.strip()
        if current != url:
            self._git("remote", "set-url", REMOTE_NAME, url)

    def _fetch(self, remote: str, branch: str, tracking: str) -> bool:
        """Fetch the remote branch; False if it does not exist (yet)."""
        proc = self._git(
            "fetch",
            "-q",
            "--no-tags",
            REMOTE_NAME,
            f"+refs/heads/{branch}:{tracking}",
            check=False,
            timeout=GIT_TIMEOUT,
        )
        if proc.returncode == 0:
            return True
        if "couldn't find remote ref" in proc.stderr.lower():
            return False
        raise PushError(
            f"fetch from {remote} failed: {_last_line(proc.stderr)}{_hint(proc.stderr)}"
        )

    def _rebase(self, remote: str, tracking: str, identity: Identity) -> None:
        before = self._rev("HEAD")
        proc = self._git(
            "-c",
            "rebase.autoStash=false",
            "-c",
            "rebase.updateRefs=false",
            "rebase",
            "-q",
            "--no-verify",
            "--no-autosquash",
            tracking,
            check=False,
            env=identity.env(),
            timeout=GIT_TIMEOUT,
        )
        if proc.returncode == 0:
            return
        conflicts = self._git(
            "diff", "--name-only", "--diff-filter=U", "-z", check=False
        ).stdout.split("\0")
        conflicts = [c for c in conflicts if c]
        self._git("rebase", "--abort", check=False)
        self._switch_branch()
        if self._rev("HEAD") != before:
            self._git("reset", "-q", "--keep", before, check=False)
        what = (
            f"conflicts in {', '.join(conflicts[:5])}{' ...' if len(conflicts) > 5 else ''}"
            if conflicts
            else _last_line(proc.stderr or proc.stdout)
        )
        raise PushError(
            f"could not rebase {self._branch} onto {remote}: {what}; "
            f"local branch left at {before[:12]}, resolve by hand and push"
        )

    def _fold_regenerated(self, tracking: str, identity: Identity) -> bool:
        """Stage what after_rebase changed; amend our commit, or add one if none is left."""
        self._stage(self._pathspecs(self._paths))
        if not self._has_staged():
            return False
        ahead = self._git("rev-list", "--count", f"{tracking}..HEAD").stdout.strip()
        if ahead != "0":
            self._git("commit", "-q", "--no-verify", "--amend", "--no-edit", env=identity.env())
        else:
            # Our commit turned out empty after the rebase: never amend the remote's commit.
            self._commit_new(self._message, identity)
        return True

    def _commit_new(self, message: str, identity: Identity) -> None:
        """Commit what is staged, as `identity`, with `message` (hooks skipped, as a bot's run)."""
        self._git("commit", "-q", "--no-verify", "--cleanup=whitespace", "-F", "-",
                  input=message, env=identity.env())

    # ----- git CLI -----------------------------------------------------------------------

    def _rev(self, rev: str) -> str:
        return self._git("rev-parse", "--verify", f"{rev}^{{commit}}").stdout.strip()

    def _git(
        self,
        *args: str,
        input: str | None = None,
        env: dict[str, str] | None = None,
        check: bool = True,
        timeout: float | None = GIT_TIMEOUT,
    ) -> subprocess.CompletedProcess[str]:
        return _run(self._root, *args, input=input, env=env, check=check, timeout=timeout)


def _run(
    cwd: Path,
    *args: str,
    input: str | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
    timeout: float | None = GIT_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    cmd = ["git", "-c", "core.quotePath=false", *args]
    try:
        proc = subprocess.run(
            cmd,
            cwd=cwd,
            input=input if input is not None else "",
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=_clean_env(env),
            timeout=timeout,
        )
    except FileNotFoundError as exc:
        raise GitError("git is not installed (or not on PATH)") from exc
    except subprocess.TimeoutExpired as exc:
        raise GitError(f"git {args[0]} in {cwd} timed out after {timeout:g} s") from exc
    if check and proc.returncode != 0:
        out = proc.stderr + proc.stdout
        raise GitError(f"git {_verb(args)} failed in {cwd}: {_last_line(out)}{_hint(out)}")
    return proc


def _verb(args: Sequence[str]) -> str:
    it = iter(args)
    for a in it:
        if a == "-c":
            next(it, None)
        elif not a.startswith("-"):
            return a
    return "command"


def _rejection(porcelain: str) -> str | None:
    """The reason git push --porcelain gives for a rejected ref, or None if none was."""
    for line in porcelain.splitlines():
        if line.startswith("!\t"):
            parts = line.split("\t")
            return parts[2] if len(parts) > 2 else line
    return None


def _with_attributes(existing: str) -> str | None:
    """`existing` attributes text plus our missing rules, or None if none is missing."""
    lines = existing.splitlines()
    missing = [ln for ln in ATTRIBUTES if ln not in lines]
    if not missing:
        return None
    if ATTRIBUTES_HEADER not in lines:
        missing.insert(0, ATTRIBUTES_HEADER)
    sep = "" if not existing or existing.endswith("\n") else "\n"
    return existing + sep + "\n".join(missing) + "\n"


def _read_pid(fd: int) -> int | None:
    try:
        raw = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        return int(raw) if raw else None
    except (OSError, ValueError):
        return None


def _locate(path: Path) -> tuple[Path, Path] | str:
    """(git folder, work tree) of the repo whose `.git` is in `path`, or why there is none.

    Asked with `--git-dir`: git must not look in the folders above, where another repo (the
    project holding the mirror's folder) would answer.
    """
    proc = _run(path, "--git-dir=.git", "rev-parse", "--is-bare-repository", "--absolute-git-dir",
                "--show-toplevel", check=False)
    lines = proc.stdout.splitlines()
    if lines[:1] == ["true"]:
        raise GitError(f"{path}: a bare repository; mirror needs a clone with a work tree")
    if proc.returncode != 0 or len(lines) != 3:
        message = _last_line(proc.stderr or proc.stdout)
        if "not a git repository" not in message and "gitfile" not in message:
            raise GitError(f"{path}: {message}{_hint(proc.stderr)}")
        return message
    return Path(lines[1]), Path(lines[2])


def _check_branch_name(branch: str) -> None:
    proc = subprocess.run(
        ["git", "check-ref-format", "--branch", branch],
        capture_output=True,
        text=True,
        env=_clean_env(),
        cwd="/",
    )
    if proc.returncode != 0 or branch.startswith("-"):
        raise GitError(f"{branch!r} is not a valid branch name")
