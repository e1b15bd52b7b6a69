"""The record of what the mirror repo has published, committed with it as merge-friendly JSON lines."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import operator
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from mirror.fsutil import safe_join, write_atomic
from mirror.rewrite import normalize_url

log = logging.getLogger(__name__)

MANIFEST_PATH = ".mirror/manifest.jsonl"


def url_key(url: str) -> str:
    """The manifest key of a URL: normalised, or just stripped when it cannot be normalised
    (a lone surrogate from a broken feed makes the normaliser raise)."""
    try:
        return normalize_url(url)
    except ValueError:
        return url.strip()


def content_hash(markdown: str) -> str:
    """The sha256 (hex) of an article's Markdown, to tell whether it changed."""
    return hashlib.sha256(markdown.encode("utf-8", "surrogatepass")).hexdigest()


def iso(value: datetime | None) -> str:
    """An ISO 8601 string for a record: UTC, whole seconds, "Z"; "" for None."""
    if value is None:
        return ""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.replace(microsecond=0, tzinfo=None).isoformat() + "Z"


@dataclass(frozen=True, slots=True)
class Record:
    """One published article. Dates are ISO 8601 strings ("" if unknown); no field is a clock
    reading that changes when the article did not."""

    url: str  # the entry URL, normalised: the manifest's key
    id: str  # the page id (file name without ".md")
    path: str  # repo-relative page path; the QR image is path + ".png"
    channel: str
    source: str = ""  # the source profile's name
    title: str = ""
    published: str = ""  # the article's date
    content_hash: str = ""  # sha256 of the article Markdown
    original_url: str = ""  # the article's canonical or final URL, shown in the footer
    short_url: str = ""  # of the page's public URL; "" if none; cached so each page is shortened once
    first_seen: str = ""  # the run that first published it
    updated: str = ""  # the run that last (re)published it; the newest wins in a merge
    etag: str = ""
    last_modified: str = ""
    assets: tuple[str, ...] = ()  # repo-relative paths of localised images it uses
    removed: bool = False  # retired: its files were deleted, the URL stays known (never new again)
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)  # fields of a newer mirror, kept as is

    @property
    def qr_path(self) -> str:
        return self.path + ".png"


_FIELDS = tuple(f.name for f in dataclasses.fields(Record) if f.name != "extra")
_STR_FIELDS = frozenset(_FIELDS) - {"assets", "removed"}
_ALL_KEYS = frozenset(_FIELDS)
_get_str_fields = operator.itemgetter(*sorted(_STR_FIELDS))


_EXTRA_SLOT = Record.__dict__["extra"].__set__
_SETTERS = tuple((name, Record.__dict__[name].__set__) for name in _FIELDS)
_EMPTY: Mapping[str, Any] = MappingProxyType({})  # shared, so read-only


def _fast_record(values: dict[str, Any]) -> Record:
    # What Record(**values) does for a complete line, at half the cost: a frozen dataclass's
    # __init__ goes through object.__setattr__ once per field, and loading 20,000 records is
    # mostly that. Record has no __post_init__ to skip.
    record = object.__new__(Record)
    for name, set_slot in _SETTERS:
        set_slot(record, values[name])
    _EXTRA_SLOT(record, _EMPTY)
    return record


def _record_to_obj(record: Record) -> dict[str, Any]:
    obj: dict[str, Any] = dict(record.extra) if record.extra else {}
    for name in _FIELDS:
        obj[name] = getattr(record, name)
    obj["assets"] = list(record.assets)
    return obj


def _dumps(record: Record) -> str:
    line = json.dumps(_record_to_obj(record), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from untrusted text: escape it, still valid JSON
        line = json.dumps(_record_to_obj(record), ensure_ascii=True, sort_keys=True, separators=(",", ":"))
    return line


def _record_from_obj(obj: Any) -> tuple[Record | None, bool]:
    """The record a parsed line holds, or None; and whether the line needed no coercion
    (then it can be written back as it was read)."""
    if type(obj) is not dict:
        return None, False
    # Fast path: a line as save() writes it, checked with C-level calls only.
    if (
        obj.keys() == _ALL_KEYS
        and set(map(type, _get_str_fields(obj))) == {str}
        and type(obj["removed"]) is bool
        and type(obj["assets"]) is list
        and all(type(a) is str for a in obj["assets"])
        and obj["url"]
        and obj["path"]
    ):
        obj["assets"] = tuple(obj["assets"])
        return _fast_record(obj), True
    # A line that lacks fields (an older mirror's) is rewritten in full on the next save.
    exact = obj.keys() >= _ALL_KEYS
    extra: dict[str, Any] = {}
    for key, value in obj.items():
        if key in _STR_FIELDS:
            if type(value) is str:
                continue
            exact = False
            if value is None:
                obj[key] = ""
            elif isinstance(value, int | float) and not isinstance(value, bool):
                obj[key] = str(value)
            else:
                return None, False
        elif key == "assets":
            if type(value) is not list or not all(type(a) is str for a in value):
                return None, False
        elif key == "removed":
            if type(value) is not bool:
                return None, False
        else:
            extra[key] = value
    if not (obj.get("url") and obj.get("path")):
        return None, False
    if extra:
        for key in extra:
            del obj[key]
        obj["extra"] = extra
    if "assets" in obj:
        obj["assets"] = tuple(obj["assets"])
    if "id" not in obj:
        obj["id"] = obj["path"].rpartition("/")[2].removesuffix(".md")
    obj.setdefault("channel", "")
    return Record(**obj), exact


# A line exactly as save() writes it (sorted keys, no spaces, every field of this version with
# its type), matched without building anything: the quick look of `SavedKeys.read`. A JSON
# string as the json module reads it, less control characters (its strict mode refuses them).
_JSON_STR = r'"(?:[^"\\\x00-\x1f]++|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*+"'


def _saved_line_pattern() -> re.Pattern[str]:
    def value(name: str) -> str:
        if name == "assets":
            return r"\[(?:" + _JSON_STR + r"(?:," + _JSON_STR + r")*+)?\]"
        if name == "removed":
            return r"(?P<removed>true|false)"
        string = _JSON_STR.replace(")*+", ")++") if name in ("url", "path") else _JSON_STR  # parse() drops
        return f"(?P<{name}>{string})" if name in ("url", "channel") else string  # an empty url or path

    return re.compile("\\{" + ",".join(f'"{name}":{value(name)}' for name in sorted(_ALL_KEYS)) + "\\}")


_SAVED_LINE = _saved_line_pattern()


def _json_str(token: str) -> str:
    # Most keys hold no escape at all: the text between the quotes is the value.
    return token[1:-1] if "\\" not in token else json.loads(token)


@dataclass(frozen=True, slots=True)
class SavedKeys:
    """What a run with nothing new needs of the manifest: its URL keys and live pages per
    channel, read without building 20,000 records."""

    urls: frozenset[str]
    live: Mapping[str, int]  # channel -> records not retired

    @classmethod
    def read(cls, repo_root: str | Path) -> SavedKeys | None:
        """The keys of the repo's manifest; None unless the file is exactly what `save()` would
        write back (every line in this version's form, sorted, no duplicate): any other file is
        rewritten by a full load and save, so only that tells what the run must commit."""
        try:
            data = _manifest_file(repo_root).read_bytes()
        except FileNotFoundError:
            return cls(frozenset(), {})
        except (OSError, ValueError):  # unreadable, or .mirror is a link out of the repo
            return None
        if not data:
            return cls(frozenset(), {})
        if not data.endswith(b"\n"):
            return None
        try:
            text = data[:-1].decode("utf-8")
        except UnicodeDecodeError:
            return None
        urls: list[str] = []
        live: dict[str, int] = {}
        match = _SAVED_LINE.fullmatch
        previous = ""
        for line in text.split("\n"):
            m = match(line)
            if m is None:
                return None
            url = _json_str(m["url"])
            if url <= previous:  # unsorted or duplicated: a union merge's, rewritten by save()
                return None
            previous = url
            urls.append(url)
            if m["removed"] == "false":
                channel = _json_str(m["channel"])
                live[channel] = live.get(channel, 0) + 1
        return cls(frozenset(urls), live)

    def __contains__(self, url: object) -> bool:
        """As `Manifest.__contains__`: any spelling of a URL that normalises to a key."""
        return isinstance(url, str) and url_key(url) in self.urls


def _newest(a: Record, b: Record) -> Record:
    """The record to keep of two for one URL: the newest `updated`, then a fixed order, so that
    the result does not depend on which line came first."""
    if a.updated != b.updated:
        return a if a.updated > b.updated else b
    return a if _dumps(a) >= _dumps(b) else b


def _sort_time(value: str) -> str:
    # ISO strings compare as text once they share one form: UTC, no offset.
    if not value:
        return ""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return ""
    if parsed.tzinfo is not None:
        try:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
        except (OverflowError, ValueError):
            parsed = parsed.replace(tzinfo=None)
    return parsed.isoformat()


class Manifest:
    """All published articles by normalised URL; loads and saves `.mirror/manifest.jsonl`."""

    def __init__(self, records: Iterable[Record] = ()) -> None:
        self._records: dict[str, Record] = {}
        # Kept up to date on every change so that assigning a path never scans all records.
        self._paths: dict[str, int] = {}  # lower-cased page path -> records holding it
        self._folders: dict[str, int] = {}  # lower-cased folder -> live pages in it
        self._raw: dict[str, tuple[Record, str]] = {}  # lines as loaded, for records unchanged since
        for record in records:
            self._put(record)

    # --- reading and writing -----------------------------------------------------------

    @classmethod
    def parse(cls, data: bytes, *, name: str = MANIFEST_PATH) -> Manifest:
        """A manifest from the file's bytes. Tolerates what `merge=union` and killed runs leave:
        duplicated URLs (the newest `updated` wins), unsorted lines, and corrupt lines (skipped
        with a warning)."""
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        try:
            lines: list[str | None] = list(data.decode("utf-8").split("\n"))
        except UnicodeDecodeError:
            lines = []
            for raw in data.split(b"\n"):
                try:
                    lines.append(raw.decode("utf-8"))
                except UnicodeDecodeError:
                    lines.append(None)
        numbered: list[tuple[int, str]] = []
        for number, line in enumerate(lines, 1):
            if line is None:
                log.warning("%s:%d: not UTF-8; line skipped", name, number)
            elif line := line.strip(" \t\r"):
                numbered.append((number, line))
        texts = [line for _, line in numbered]
        objs: list[Any] | None = None
        # One json.loads over all lines is much faster than one per line; it is only trusted
        # when every line is a whole object and the count matches, else each line on its own.
        if all(t[0] == "{" and t[-1] == "}" for t in texts):
            try:
                objs = json.loads("[" + ",".join(texts) + "]")
            except ValueError:
                objs = None
            if objs is not None and len(objs) != len(texts):
                objs = None
        records: dict[str, Record] = {}
        raw: dict[str, tuple[Record, str]] = {}
        position = 0
        for number, line in numbered:
            if objs is not None:
                obj = objs[position]
                position += 1
            else:
                try:
                    obj = json.loads(line)
                except ValueError:
                    obj = None
            record, exact = _record_from_obj(obj)
            if record is None:
                log.warning("%s:%d: not a manifest record; line skipped: %.80s", name, number, line)
                continue
            # Saved URLs are already normalised; normalising 20,000 of them again on every
            # load would cost more than the rest of the load.
            key = record.url
            old = records.get(key)
            if old is not None:
                record = _newest(old, record)
                if record is old:
                    continue
            records[key] = record
            if exact:
                raw[key] = (record, line)
        manifest = cls()
        manifest._records = records
        manifest._raw = raw
        for record in records.values():
            manifest._index(record, 1)
        return manifest

    @classmethod
    def load(cls, repo_root: str | Path) -> Manifest:
        """The manifest of the repo at `repo_root`; empty if it has none yet."""
        path = _manifest_file(repo_root)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return cls()
        return cls.parse(data, name=str(path))

    def dumps(self) -> bytes:
        """The file's bytes: one sorted-key compact JSON object per line, sorted by URL."""
        if not self._records:
            return b""
        raw = self._raw
        lines = []
        for key in sorted(self._records):
            record = self._records[key]
            cached = raw.get(key)
            # A line read from the file is written back as it was while its record is unchanged.
            lines.append(cached[1] if cached is not None and cached[0] is record else _dumps(record))
        lines.append("")
        return "\n".join(lines).encode("utf-8")

    def save(self, repo_root: str | Path) -> bool:
        """Write the manifest atomically; False, and the file untouched, if nothing changed."""
        path = _manifest_file(repo_root)
        data = self.dumps()
        if not data and not path.exists():
            return False
        return write_atomic(path, data)

    # --- queries -----------------------------------------------------------------------

    def get(self, url: str) -> Record | None:
        """The record of `url` (any spelling that normalises to the same URL), retired or not."""
        return self._records.get(url_key(url))

    def __contains__(self, url: object) -> bool:
        return isinstance(url, str) and url_key(url) in self._records

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[Record]:
        """All records, retired ones too, in URL order."""
        return iter([self._records[key] for key in sorted(self._records)])

    def is_new(self, url: str) -> bool:
        """Whether `url` was never published (a retired article is not new)."""
        return url not in self

    def changed(self, url: str, content_hash: str) -> bool:
        """Whether the article at `url` is unknown or its Markdown hash differs from the record's."""
        record = self.get(url)
        return record is None or record.content_hash != content_hash

    def by_channel(self, channel: str, *, retired: bool = False) -> list[Record]:
        """A channel's live records (and retired ones if asked), newest first: by published
        date (the first-seen date for undated ones), then first seen, then URL."""
        records = sorted(
            (r for r in self._records.values() if r.channel == channel and (retired or not r.removed)),
            key=lambda r: r.url,
        )
        records.sort(
            key=lambda r: (_sort_time(r.published) or _sort_time(r.first_seen), _sort_time(r.first_seen)),
            reverse=True,
        )
        return records

    def channels(self) -> set[str]:
        return {r.channel for r in self._records.values()}

    def paths(self) -> set[str]:
        """The page paths of live records (each page's QR image is its path + ".png")."""
        return {r.path for r in self._records.values() if not r.removed}

    def path_taken(self, path: str) -> bool:
        """Whether a record, live or retired, holds `path` (case-insensitively: macOS and
        Windows clones must not see two pages as one file). Retired paths stay taken so that
        an old link never leads to a different article."""
        return self._paths.get(path.lower(), 0) > 0

    def clashes(self) -> dict[str, list[str]]:
        """Paths held by more than one URL: what two runs racing past the lock leave after a
        union merge. Each maps to its URLs, sorted; empty normally."""
        if all(n <= 1 for n in self._paths.values()):
            return {}
        by_path: dict[str, list[str]] = {}
        for key in sorted(self._records):
            path = self._records[key].path
            if self._paths.get(path.lower(), 0) > 1:
                by_path.setdefault(path, []).append(key)
        return by_path

    def folder_entries(self, folder: str) -> int:
        """Files the live pages of `folder` put there: each page and its QR image."""
        return 2 * self._folders.get(folder.lower(), 0)

    def assets(self) -> set[str]:
        """The localised images live pages use; any other file under the assets folder is unused."""
        return {a for r in self._records.values() if not r.removed for a in r.assets}

    def short_urls(self) -> dict[str, str]:
        """Cached short URLs by page path (the page's public URL is a function of its path)."""
        return {r.path: r.short_url for r in self._records.values() if r.short_url}

    # --- changes -----------------------------------------------------------------------

    def _index(self, record: Record, delta: int) -> None:
        path = record.path.lower()
        self._paths[path] = self._paths.get(path, 0) + delta
        if not record.removed:
            folder = path.rpartition("/")[0]
            self._folders[folder] = self._folders.get(folder, 0) + delta

    def _put(self, record: Record) -> None:
        key = url_key(record.url)
        if key != record.url:
            record = dataclasses.replace(record, url=key)
        old = self._records.get(key)
        if old == record:
            return
        if old is not None:
            self._index(old, -1)
        self._records[key] = record
        self._index(record, 1)

    def add(self, record: Record) -> None:
        """Record a published article, or its re-publication. ValueError if the URL is
        recorded with another path: a page never moves."""
        old = self.get(record.url)
        if old is not None and old.path != record.path:
            raise ValueError(f"{record.url}: page path {old.path!r} cannot change to {record.path!r}")
        self._put(record)

    def update(self, record: Record) -> None:
        """Replace the record of a known article (KeyError if unknown); as `add`, the path stays."""
        if self.get(record.url) is None:
            raise KeyError(record.url)
        self.add(record)

    def retire(self, url: str) -> Record | None:
        """Mark an article whose files were purged: it leaves indexes and `paths()` but stays
        known, so a feed that still lists it does not bring it back as new."""
        record = self.get(url)
        if record is None or record.removed:
            return record
        # A tombstone keeps what says "this URL had this page" and drops the rest: tombstones
        # pile up over the years, and the page they described is gone.
        retired = dataclasses.replace(
            record, removed=True, title="", content_hash="", short_url="", original_url="", etag="",
            last_modified="", assets=(),
        )
        self._put(retired)
        return retired

    def remove(self, url: str) -> Record | None:
        """Forget an article entirely (it becomes new again); the removed record, or None."""
        record = self._records.pop(url_key(url), None)
        if record is not None:
            self._index(record, -1)
        return record

    def merge(self, other: Manifest) -> None:
        """Take in another manifest's records (e.g. the remote's after a rebase): a union where,
        for a URL both have, the newest `updated` wins; the same result in either direction."""
        for key, theirs in other._records.items():
            ours = self._records.get(key)
            if ours is None or _newest(ours, theirs) is not ours:
                self._put(theirs)


def _manifest_file(repo_root: str | Path) -> Path:
    # A cloned repo could make .mirror a symlink to anywhere: safe_join refuses that.
    return safe_join(Path(repo_root), MANIFEST_PATH)
