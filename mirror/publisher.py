"""The publish run: sources -> new entries -> pages, QR codes, indexes, README -> one commit (and push)."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import posixpath
import re
import subprocess
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Container, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from mirror.config import Config
from mirror.encoding import decode_html, garbled_share, sniff_binary
from mirror.fetch import GARBLED_SHARE, Fetcher, FetchError, NotHTML
from mirror.fsutil import safe_join, write_atomic
from mirror.gitrepo import MirrorRepo, PushError
from mirror.manifest import Manifest, Record, SavedKeys, iso
from mirror.model import Article, Entry, Fetched, SourceProfile
from mirror.rewrite import normalize_url, rewrite_links
from mirror.shortener import CachedShortener, ShortenError, make_shortener, short_url_problem
from mirror.sources import SourceError, entries

if TYPE_CHECKING:
    from mirror.images import ImageStore
    from mirror.paths import PageLayout
    from mirror.render import Renderer

log = logging.getLogger(__name__)

STALE_INDEXES = "mirror-indexes-stale"  # in .git/: a push was under way; rebuild indexes next run
EXIT_NOT_PUSHED = 3  # also for a busy repo (lock timeout): nothing lost, run again later
BATCH = 64  # entries fetched ahead of processing: bounds memory, keeps output order deterministic


@dataclass(slots=True)
class Published:
    channel: str
    title: str
    path: str
    url: str
    updated: bool = False  # re-published because its content changed


@dataclass(slots=True)
class RunReport:
    """What a run did, for the summary table, the commit message and the exit code."""

    published: list[Published] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (url or source, reason)
    warnings: list[str] = field(default_factory=list)
    unchanged: int = 0  # entries already published
    removed: int = 0  # pages dropped by retention
    commit: str | None = None
    pushed: bool = False
    push_error: str = ""  # the commit is kept locally and pushed by a later run
    dry_run: bool = False
    timings: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    @property
    def exit_code(self) -> int:
        if self.push_error:
            return EXIT_NOT_PUSHED
        return 1 if self.failed else 0

    def commit_message(self) -> str:
        if not self.published and not self.removed:
            return "Update indexes"
        per = Counter(p.channel for p in self.published)
        head = f"Publish {len(self.published)} article{'s' if len(self.published) != 1 else ''}"
        if per:
            head += " (" + ", ".join(f"{c}: {n}" for c, n in sorted(per.items())) + ")"
        if self.removed:
            head += f"; retire {self.removed} old page{'s' if self.removed != 1 else ''}"
        body = [f"- {p.channel}: {p.title}" + (" (updated)" if p.updated else "") for p in self.published]
        return head + ("\n\n" + "\n".join(body) if body else "") + "\n"


Progress = Callable[[str, int, int | None], None]  # (what, advance, total)


class Publisher:
    """Runs the pipeline for a config: the library function behind `mirror publish`."""

    def __init__(self, config: Config, *, now: datetime | None = None, progress: Progress | None = None):
        self.config = config
        self.settings = config.publisher
        self.now = now or datetime.now(UTC)
        self.progress = progress or (lambda what, advance, total: None)

    @functools.cached_property
    def renderer(self) -> Renderer:
        # Built on first use: a run with nothing new never loads the templates (nor Jinja2).
        from mirror.render import Renderer

        return Renderer.for_config(self.config)

    # ------------------------------------------------------------------ entry points
    def publish(
        self,
        *,
        sources: Sequence[str] = (),
        urls: Sequence[str] = (),
        push: bool | None = None,
        dry_run: bool = False,
        limit: int | None = None,
    ) -> RunReport:
        report = RunReport(dry_run=dry_run)
        profiles = self._profiles(sources, urls)
        with contextlib.ExitStack() as stack:
            fetcher = stack.enter_context(Fetcher(self.config.fetch, self.config.local_sites))
            repo: MirrorRepo | None = None
            if dry_run and not (self.settings.repo / ".git").exists():
                root, manifest = self.settings.repo, Manifest()  # a dry run creates nothing
                listed = self._listed(profiles, urls, fetcher, report)
            else:
                repo = stack.enter_context(MirrorRepo.open(self.settings.repo, self.settings.branch))
                stack.enter_context(repo.lock(self.settings.lock_timeout))
                root = repo.root
                if dry_run or urls:
                    listed = self._listed(profiles, urls, fetcher, report)
                else:
                    listed, done = self._quick_look(repo, profiles, fetcher, report)
                    if done:
                        self.progress("publish", 0, 0)
                        self._push(repo, push, report)
                        return report
                if not dry_run:
                    _remove_stale_temp_files(root)
                manifest = Manifest.load(root)
            todo, report.unchanged = self._select(listed, manifest, urls, limit)
            self._publish_all(todo, profiles, fetcher, root, manifest, report)
            if dry_run or repo is None:
                return report
            t = time.perf_counter()
            report.removed = self._retire(root, manifest)
            # A push killed between its rebase and regenerating the derived files leaves indexes
            # that miss articles (they took the remote's side): the marker says "rebuild them".
            stale = repo.git_dir / STALE_INDEXES
            if report.published or report.removed or stale.exists() or not (root / "README.md").exists():
                self.write_indexes(root, manifest)
            manifest.save(root)
            self._drop_unrecorded(root, manifest)
            report.timings["write"] += time.perf_counter() - t
            t = time.perf_counter()
            # Also commits what a killed run wrote for articles it did publish: nothing is lost.
            report.commit = repo.commit(report.commit_message(), self.settings.author)
            stale.unlink(missing_ok=True)
            report.timings["git"] += time.perf_counter() - t
            self._push(repo, push, report)
        return report

    def _quick_look(
        self, repo: MirrorRepo, profiles: list[SourceProfile], fetcher: Fetcher, report: RunReport
    ) -> tuple[list[tuple[Entry, SourceProfile]], bool]:
        """The sources' entries, and whether the run can end with them: nothing new, and nothing
        a full run would repair, retire or commit. Told without loading every record."""
        with ThreadPoolExecutor(1) as pool:
            # git's part (an lstat of every file) is most of what such a run costs besides the
            # feeds: asked while they are read. Leaving this block waits for it, so that git is
            # done before a full run goes on.
            settled = pool.submit(self._settled, repo)
            keys = SavedKeys.read(repo.root)
            listed = self._listed(profiles, (), fetcher, report)
            if keys is None or self._to_retire(keys):
                return listed, False
            todo, unchanged = self._select(listed, keys, (), None)
            if todo or not settled.result():
                return listed, False
        report.unchanged = unchanged
        return listed, True

    def _settled(self, repo: MirrorRepo) -> bool:
        """Whether a run that finds nothing new would change nothing in `repo` either: no marker
        of an interrupted push, a README, and a work tree exactly at its last commit (no file a
        killed run left, written, half-written or unrecorded).

        Asked under the run lock, so the answer holds for the whole run. Whether the manifest is
        in save()'s form, and whether pages are due to retire, `SavedKeys` tells.
        """
        if (repo.git_dir / STALE_INDEXES).exists() or not (repo.root / "README.md").exists():
            return False
        for xy, path in repo.changes(ignored=True):
            # An ignored file stays out of commits; only a killed write's temp file is removed.
            if xy != "!!" or _TEMP_FILE.fullmatch(posixpath.basename(path.rstrip("/"))):
                return False
        return True

    def _to_retire(self, keys: SavedKeys) -> bool:
        """Whether `_retire` would retire pages (with nothing new: `keep_pages` was lowered)."""
        keep = self.settings.keep_pages
        return keep > 0 and any(keys.live.get(channel, 0) > keep for channel in self.config.channels)

    def _push(self, repo: MirrorRepo, push: bool | None, report: RunReport) -> None:
        if not (push if push is not None else bool(self.settings.remote)):
            return
        t = time.perf_counter()
        stale = repo.git_dir / STALE_INDEXES
        root = repo.root
        # Pushed even with no new commit: an earlier run's push may have failed.
        try:
            stale.touch()
            result = repo.push(self.settings.remote or _origin_url(root),
                               attempts=self.settings.push_attempts,
                               after_rebase=lambda: self._after_rebase(root))
            report.pushed = result.pushed
        except (PushError, ValueError) as exc:
            # The commit stays; the next run pushes it (push is tried even with nothing new).
            report.push_error = str(exc)
        finally:
            stale.unlink(missing_ok=True)
        report.timings["git"] += time.perf_counter() - t

    def _publish_all(
        self,
        todo: list[tuple[Entry, SourceProfile]],
        profiles: list[SourceProfile],
        fetcher: Fetcher,
        root: Path,
        manifest: Manifest,
        report: RunReport,
    ) -> None:
        self.progress("publish", 0, len(todo))
        if not todo:
            return  # nor load the image, layout and shortener code
        from mirror.images import ImageStore
        from mirror.paths import PageLayout

        shortener = None if report.dry_run else self._shortener(manifest)
        images = {} if report.dry_run else {
            p.name: ImageStore(root, functools.partial(fetcher.get, max_bytes=p.image_max_bytes),
                               assets_dir=self.settings.assets_dir, max_bytes=p.image_max_bytes,
                               types=p.image_types)
            for p in profiles if p.images == "localize"
        }
        layout = PageLayout(manifest, pages_dir=self.settings.pages_dir,
                            folder_limit=self.settings.folder_limit, repo_root=root)
        ahead = Ahead({normalize_url(e.url): e.url for e, _ in todo})
        for entry, profile, got in self._fetched(todo, fetcher, report):
            self.progress("publish", 1, None)
            if isinstance(got, FetchError):
                report.failed.append((entry.url, str(got)))
                continue
            try:
                self._publish_entry(entry, profile, got, root, manifest, layout, shortener,
                                    images.get(profile.name), report, ahead)
            except Exception as exc:  # one bad article is reported and skipped
                log.debug("publishing %s failed", entry.url, exc_info=True)
                report.failed.append((entry.url, f"{type(exc).__name__}: {exc}"))
        if not report.dry_run:
            ahead.resolve(root, manifest)

    def reindex(self) -> RunReport:
        """Rewrite indexes and README from the manifest (`mirror index`), and commit if they changed."""
        report = RunReport()
        with MirrorRepo.open(self.settings.repo, self.settings.branch) as repo, repo.lock(self.settings.lock_timeout):
            manifest = Manifest.load(repo.root)
            self.write_indexes(repo.root, manifest)
            manifest.save(repo.root)
            report.commit = repo.commit("Rebuild indexes\n", self.settings.author)
        return report

    # ------------------------------------------------------------------ stages
    def _profiles(self, names: Sequence[str], urls: Sequence[str]) -> list[SourceProfile]:
        if names:
            return [self.config.source(n) for n in names]
        return list(self.config.sources)

    def _shortener(self, manifest: Manifest) -> CachedShortener | None:
        settings = self.config.shortener
        if settings.provider == "none":
            return None
        cache = {self.renderer.url_of(path): short for path, short in manifest.short_urls().items()}
        return CachedShortener(make_shortener(settings), cache)

    def _listed(
        self, profiles: list[SourceProfile], urls: Sequence[str], fetcher: Fetcher, report: RunReport
    ) -> list[tuple[Entry, SourceProfile]]:
        """What the sources list (or the URLs asked for), oldest first; failures go to `report`."""
        t = time.perf_counter()
        if urls:
            return [(Entry(url=u, source=profiles[0].name), profiles[0]) for u in urls]
        listed = []
        for profile in profiles:
            try:
                # Sources list newest first; publishing oldest first lets a newer article's
                # links to older ones point at their mirrored pages.
                found = entries(profile, fetcher, report.warnings)
                listed.extend((e, profile) for e in reversed(found))
            except (SourceError, FetchError) as exc:
                report.failed.append((f"source {profile.name}", str(exc)))
            except Exception as exc:  # a reader bug on hostile input must not stop the other sources
                log.debug("source %s failed", profile.name, exc_info=True)
                report.failed.append((f"source {profile.name}", f"{type(exc).__name__}: {exc}"))
        report.timings["sources"] += time.perf_counter() - t
        return listed

    @staticmethod
    def _select(
        listed: list[tuple[Entry, SourceProfile]],
        known: Container[str],
        urls: Sequence[str],
        limit: int | None,
    ) -> tuple[list[tuple[Entry, SourceProfile]], int]:
        """The entries to publish, once each, and how many are left out as already published."""
        todo, seen, unchanged = [], set(), 0
        for entry, profile in listed:
            key = normalize_url(entry.url)
            if key in seen:
                continue
            seen.add(key)
            if key in known and not profile.republish_changed and not urls:
                unchanged += 1
                continue
            todo.append((entry, profile))
        if limit is not None:
            todo = todo[-limit:] if not urls else todo[:limit]  # the newest ones
        return todo, unchanged

    def _fetched(
        self, todo: list[tuple[Entry, SourceProfile]], fetcher: Fetcher, report: RunReport
    ) -> Iterator[tuple[Entry, SourceProfile, Fetched | FetchError]]:
        """Fetch in batches, one batch ahead of processing, yielding in entry order."""

        def fetch_batch(batch: list[tuple[Entry, SourceProfile]]) -> dict[int, Fetched | FetchError]:
            out: dict[int, Fetched | FetchError] = {}
            remote = [(i, e.url, {"encoding": p.encoding}) for i, (e, p) in enumerate(batch) if e.path is None]
            for i, (e, p) in enumerate(batch):
                if e.path is not None:
                    out[i] = _read_file(e, p, self.config.fetch.max_bytes)
            for i, got in fetcher.get_many(remote, expect="html"):
                out[i] = got
            return out

        batches = [todo[i:i + BATCH] for i in range(0, len(todo), BATCH)]
        with ThreadPoolExecutor(1) as pool:
            ahead: Future | None = pool.submit(fetch_batch, batches[0]) if batches else None
            for n, batch in enumerate(batches):
                t = time.perf_counter()
                results = ahead.result()  # type: ignore[union-attr]
                report.timings["fetch"] += time.perf_counter() - t
                ahead = pool.submit(fetch_batch, batches[n + 1]) if n + 1 < len(batches) else None
                for i, (entry, profile) in enumerate(batch):
                    yield entry, profile, results[i]

    def _publish_entry(
        self,
        entry: Entry,
        profile: SourceProfile,
        got: Fetched,
        root: Path,
        manifest: Manifest,
        layout: PageLayout,
        shortener: CachedShortener | None,
        images: ImageStore | None,
        report: RunReport,
        ahead: Ahead | None = None,
    ) -> None:
        import lxml.html

        from mirror.extract import extract_article
        from mirror.paths import page_id, relative_path
        from mirror.qr import qr_png

        timings = report.timings
        key = normalize_url(entry.url)
        old = manifest.get(key)
        # The folder comes from what is known before the page is read (feed date, else the run's
        # date), so that relative links can be written while the body is converted.
        path = layout.assign(url=key, channel=profile.channel, published=entry.published,
                             run_date=self.now, page_id=page_id(got.final_url or entry.url))
        page_dir = str(PurePosixPath(path).parent)
        assets: list[str] = []
        source_hash = ""

        def rewrite(root_el) -> None:  # type: ignore[no-untyped-def]
            nonlocal source_hash
            # "Changed" means the source changed: hash the cleaned article before links are
            # rewritten, since those depend on what else is mirrored by now.
            source_hash = hashlib.sha256(lxml.html.tostring(root_el, encoding="utf-8")).hexdigest()
            def mirrored(url: str) -> str | None:
                rec = manifest.get(normalize_url(url))
                if rec is None:
                    # An article this run publishes after this one: a placeholder, resolved when
                    # the run's pages are written (a new page only: see Ahead).
                    if ahead is not None and old is None and not report.dry_run:
                        return ahead.placeholder(path, normalize_url(url), key)
                    return None
                if rec.removed:
                    return None
                return relative_path(page_dir, rec.path)

            rewrite_links(root_el, profile.links, mirrored, profile.link_suffix, page_url=got.final_url)
            if images is not None:
                rep = images.localize(root_el, page_dir, self.settings.asset_url or None)
                assets.extend(p for _, p in rep.localized)
                for url, reason in rep.failed:
                    report.warnings.append(f"image {url}: {reason}")

        t = time.perf_counter()
        article: Article = extract_article(got.text, url=got.final_url or entry.url, rules=profile.rules,
                                           rewrite=rewrite)
        timings["extract"] += time.perf_counter() - t
        if not article.markdown.strip():
            raise ValueError("no article content found")
        content_hash = source_hash
        if old is not None and old.content_hash == content_hash:
            report.unchanged += 1
            return
        title = article.title or entry.title or page_id(entry.url)
        published = article.published or entry.published
        page_url = self.renderer.url_of(path)
        # A cached short URL comes from a file anyone can edit: checked again before use.
        short_url = old.short_url if old and not short_url_problem(old.short_url) else ""
        if shortener is not None and page_url and not short_url and shortener.available:
            try:
                short_url = shortener.shorten(page_url)
            except ShortenError as exc:
                report.warnings.append(str(exc))
                if not shortener.available:
                    report.warnings.append(f"{shortener.provider} shortener: given up for this run after "
                                           f"{shortener.max_failures} failures in a row; pages show their own URL")
        original = article.canonical_url or got.final_url or entry.url
        if original.startswith("file:"):
            original = ""
        t = time.perf_counter()
        qr_path = path + ".png"
        png = qr_png(short_url or page_url or original or entry.url)
        timings["qr"] += time.perf_counter() - t
        t = time.perf_counter()
        qr_src = (self.settings.asset_url.replace("{path}", qr_path) if self.settings.asset_url
                  else PurePosixPath(qr_path).name)
        text = self.renderer.page(
            path=path, title=title, body=article.markdown, channel=profile.channel,
            channel_name=profile.channel_name, original_url=original, page_url=page_url,
            short_url=short_url, qr_src=qr_src,
            published=published.astimezone(UTC).strftime("%Y-%m-%d") if published else "",
            author=article.author or "",
        )
        if not report.dry_run:
            write_atomic(safe_join(root, qr_path), png, durable=False)
            write_atomic(safe_join(root, path), text, durable=False)
        manifest.add(Record(
            url=key, id=PurePosixPath(path).stem, path=path, channel=profile.channel, source=profile.name,
            title=title, published=iso(published), content_hash=content_hash, short_url=short_url,
            original_url=original, first_seen=old.first_seen if old else iso(self.now),
            updated=iso(self.now), assets=tuple(dict.fromkeys(assets)),
        ))
        timings["write"] += time.perf_counter() - t
        report.published.append(Published(profile.channel, title, path, entry.url, updated=old is not None))

    # ------------------------------------------------------------------ indexes
    def _retire(self, root: Path, manifest: Manifest) -> int:
        """Delete pages beyond `keep_pages` per channel (they stay in the manifest, never new again).

        Links to them from the pages that remain are turned back into their original URLs, and
        images no remaining page uses are deleted, so the tree never holds a broken link.
        """
        keep = self.settings.keep_pages
        if keep <= 0:
            return 0
        retired: dict[str, Record] = {}
        for channel in self.config.channels:
            for rec in manifest.by_channel(channel)[keep:]:
                retired[rec.path] = rec
        if not retired:
            return 0
        for rec in retired.values():
            for p in (rec.path, rec.qr_path):
                safe_join(root, p).unlink(missing_ok=True)
            manifest.retire(rec.url)
        live = [r for r in manifest if not r.removed]
        for rec in live:
            page = safe_join(root, rec.path)
            if page.exists():
                text = page.read_text("utf-8")
                fixed = _unlink_pages(text, PurePosixPath(rec.path).parent, retired)
                if fixed != text:
                    write_atomic(page, fixed, durable=False)
        used = {a for r in live for a in r.assets}
        for rec in retired.values():
            for asset in set(rec.assets) - used:
                safe_join(root, asset).unlink(missing_ok=True)
        return len(retired)

    def write_indexes(self, root: Path, manifest: Manifest) -> None:
        size = self.settings.index_page_size
        idx_dir = self.settings.indexes_dir
        counts: dict[str, int] = {}
        for channel, channel_name in self.config.channels.items():
            records = [r for r in manifest.by_channel(channel) if not r.removed]
            counts[channel] = len(records)
            pages = [records[i:i + size] for i in range(0, len(records), size)] or [[]]
            names = [f"{idx_dir}/{channel}.md"] + [f"{idx_dir}/{channel}-{n}.md" for n in range(2, len(pages) + 1)]
            for n, chunk in enumerate(pages):
                text = self.renderer.index(
                    path=names[n], channel=channel, channel_name=channel_name,
                    entries=[(_date(r), r.title, r.path) for r in chunk],
                    number=n + 1, total=len(pages),
                    newer=names[n - 1] if n else "", older=names[n + 1] if n + 1 < len(pages) else "",
                )
                write_atomic(safe_join(root, names[n]), text, durable=False)
            # Pages of an index that shrank (retention) must not linger.
            n = len(pages) + 1
            while (stale := root / idx_dir / f"{channel}-{n}.md").exists():
                stale.unlink()
                n += 1
        write_atomic(safe_join(root, "README.md"), self._readme(manifest, counts), durable=False)

    def _readme(self, manifest: Manifest, counts: dict[str, int]) -> str:
        names = dict(self.config.channels)
        idx = self.settings.indexes_dir
        sections = [(s.name, list(s.channels)) for s in self.config.sections] or [
            (self.renderer.strings["channels"], list(names))
        ]
        latest = [r for r in manifest if not r.removed]  # in URL order: the tie-breaker
        latest.sort(key=lambda r: (r.published or r.first_seen, r.first_seen), reverse=True)
        latest = latest[: self.settings.readme_latest]
        return self.renderer.readme(
            title=self.settings.title,
            sections=[(name, [(names[c], f"{idx}/{c}.md", counts.get(c, 0)) for c in chans if c in names])
                      for name, chans in sections],
            latest=[(_date(r), names.get(r.channel, r.channel), r.title, r.path) for r in latest],
        )

    def _drop_unrecorded(self, root: Path, manifest: Manifest) -> None:
        """Delete untracked pages, QR codes and images that no live record holds.

        A killed run may have written the page of an article it never recorded; if that article
        is not published again (it fails now, or left the feed), the file must not be committed.
        """
        live = {r.path for r in manifest if not r.removed}
        live |= {p + ".png" for p in live}
        live |= {a for r in manifest if not r.removed for a in r.assets}
        out = subprocess.run(
            ["git", "-C", str(root), "ls-files", "--others", "--exclude-standard", "-z", "--",
             self.settings.pages_dir, self.settings.assets_dir],
            capture_output=True, check=False)
        for name in out.stdout.decode("utf-8", "surrogateescape").split("\0"):
            if name and name not in live:
                with contextlib.suppress(ValueError, OSError):
                    safe_join(root, name).unlink()

    def _after_rebase(self, root: Path) -> None:
        # The union merge may leave duplicate or unsorted manifest lines: load, then save normalised.
        manifest = Manifest.load(root)
        self.write_indexes(root, manifest)
        manifest.save(root)


_AHEAD = re.compile(r"\.mirror-ahead/([0-9a-f]{16})\.md([?&][^\s#)\"'<>\]]*)?")


class Ahead:
    """Links from a page to articles the same run publishes after it.

    Pages are published oldest first, so a link to a newer article of the run cannot be
    pointed at its page yet: it gets a placeholder path, and `resolve` replaces it once all
    pages are written, with the relative path of the published page, or the article's own
    URL when it failed. Only new pages get placeholders: a killed run leaves them unrecorded,
    so they are dropped, never committed (an updated page would be a tracked file).
    """

    def __init__(self, urls: dict[str, str]) -> None:
        self.urls = urls  # key -> the entry's URL, for everything this run publishes
        self.pages: set[str] = set()  # pages holding placeholders
        self.tokens: dict[str, str] = {}  # placeholder token -> key

    def placeholder(self, page: str, key: str, own_key: str) -> str | None:
        if key not in self.urls or key == own_key:
            return None
        token = hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:16]
        self.tokens[token] = key
        self.pages.add(page)
        return f".mirror-ahead/{token}.md"

    def resolve(self, root: Path, manifest: Manifest) -> None:
        for page in sorted(self.pages):
            target = safe_join(root, page)
            try:
                text = target.read_text("utf-8")
            except OSError:
                continue  # the page itself failed after its links were rewritten
            page_dir = str(PurePosixPath(page).parent)
            fixed = _AHEAD.sub(lambda m, d=page_dir: self._link(m, d, manifest), text)
            if fixed != text:
                write_atomic(target, fixed, durable=False)

    def _link(self, m: re.Match[str], page_dir: str, manifest: Manifest) -> str:
        from mirror.paths import relative_path
        from mirror.render import md_dest

        key = self.tokens.get(m.group(1), "")
        rec = manifest.get(key)
        if rec is None or rec.removed:  # it failed: its own URL, as any other link
            # (also safe inside a raw HTML attribute, where a placeholder may stand)
            return md_dest(self.urls.get(key, "#")).replace('"', "%22").replace("'", "%27")
        return relative_path(page_dir, rec.path) + (m.group(2) or "")


def _date(r: Record) -> str:
    return (r.published or r.first_seen)[:10]


def _read_file(entry: Entry, profile: SourceProfile, max_bytes: int) -> Fetched | FetchError:
    """A local HTML file, held to what a fetched page is: a size limit, and text, not binary data."""
    path = Path(entry.path)  # type: ignore[arg-type]
    try:
        with path.open("rb") as stream:
            data = stream.read(max_bytes + 1)
    except OSError as exc:
        return FetchError(str(path), exc.strerror or str(exc))
    if len(data) > max_bytes:
        return FetchError(str(path), f"larger than the {max_bytes}-byte limit ([fetch] max_bytes)")
    if sniffed := sniff_binary(data):
        return NotHTML(str(path), sniffed, f"not an HTML file (looks like {sniffed})")
    text, encoding = decode_html(data, forced=profile.encoding)
    if garbled_share(text) > GARBLED_SHARE:
        return NotHTML(str(path), "binary data", f"not an HTML file (it decodes, as {encoding}, "
                                                  "mostly to control or replacement characters)")
    return Fetched(url=entry.url, final_url=entry.url, status=200, content=data, text=text, encoding=encoding)


_MD_LINK = re.compile(r"\]\(([^()\s<>]+)\)")


def _unlink_pages(text: str, page_dir: PurePosixPath, retired: dict[str, Record]) -> str:
    """Point links to retired pages (written relative to `page_dir`) at their original URLs."""

    from mirror.render import md_dest

    def fix(m: re.Match[str]) -> str:
        target = m.group(1)
        if ":" in target.split("/", 1)[0]:
            return m.group(0)  # an absolute URL
        path = posixpath.normpath(posixpath.join(str(page_dir), target.split("#", 1)[0].split("?", 1)[0]))
        rec = retired.get(path)
        if rec is None or not rec.original_url:
            return m.group(0)
        return f"]({md_dest(rec.original_url)})"

    return _MD_LINK.sub(fix, text)


# Temp files of an atomic write (fsutil, qr, images) that a killed run left behind.
_TEMP_FILE = re.compile(r"\..+\.tmp|\.tmp-.+\.part")


def _remove_stale_temp_files(root: Path) -> None:
    """Delete what a killed run's atomic writes left, so it is never committed (we hold the lock)."""
    out = subprocess.run(["git", "-C", str(root), "ls-files", "--others", "-z"],
                         capture_output=True, check=False)
    for name in out.stdout.decode("utf-8", "surrogateescape").split("\0"):
        if name and _TEMP_FILE.fullmatch(posixpath.basename(name)):
            with contextlib.suppress(ValueError, OSError):
                safe_join(root, name).unlink()


def _origin_url(root: Path) -> str:
    """The URL of the clone's own `origin` (a CI checkout), for `--push` with no remote configured."""
    out = subprocess.run(["git", "-C", str(root), "remote", "get-url", "origin"],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0 or not out.stdout.strip():
        raise ValueError("--push needs [publisher] remote in the config, or an `origin` remote in the repo")
    return out.stdout.strip()
