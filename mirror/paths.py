"""Where pages live in the mirror repo: safe page ids, stable page paths and relative links."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import logging
import posixpath
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

from mirror.fsutil import UnsafePath, safe_join
from mirror.manifest import Record, url_key

log = logging.getLogger(__name__)

MAX_ID_BYTES = 100
DEFAULT_FOLDER_LIMIT = 1000
PAGES_ROOT = "pages"

_ASCII_ALLOWED = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
_ASCII_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
# Windows refuses these as a file's stem whatever the extension ("con.md" too).
_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"]
    + [f"COM{i}" for i in range(10)]
    + [f"LPT{i}" for i in range(10)]
)
_CJK_RANGES = (
    (0x1100, 0x11FF),  # Hangul Jamo
    (0x3005, 0x3007),  # 々 〆 〇
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x3100, 0x312F),  # Bopomofo
    (0x3130, 0x318F),  # Hangul compatibility Jamo
    (0x31A0, 0x31BF),  # Bopomofo extended
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xA960, 0xA97F),  # Hangul Jamo extended A
    (0xAC00, 0xD7FF),  # Hangul syllables, Jamo extended B
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0x20000, 0x323AF),  # CJK extensions B..H
)
# Extensions of scripts that take the article's id in the query string.
_SCRIPT_EXTENSIONS = frozenset(
    ["php", "php3", "php4", "php5", "phtml", "asp", "aspx", "jsp", "jspx", "cgi", "pl", "cfm", "do",
     "action"]
)
# Extensions that say "a page", not "what the page is": dropped from ids.
_PAGE_EXTENSIONS = _SCRIPT_EXTENSIONS | {"html", "htm", "shtml", "shtm", "xhtml"}
# Path stems that name a folder's default document, not an article.
_INDEX_STEMS = frozenset(["index", "default", "home", "main"])
# Stems of article-viewing scripts: "article.php?id=1" -> "article-1".
_VIEWER_STEMS = _INDEX_STEMS | {
    "article", "articles", "story", "news", "show", "view", "detail", "details", "content", "read",
    "post", "page", "item", "viewarticle", "shownews", "newsdetail", "newsview", "print",
}
_ID_KEYS = (
    "id", "aid", "articleid", "article_id", "artid", "newsid", "news_id", "nid", "docid",
    "doc_id", "storyid", "story_id", "story", "postid", "post_id", "p", "pid", "contentid",
    "content_id", "itemid", "item_id", "cid", "tid", "vid",
)
_TRACKING_KEYS = frozenset(["fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "spm", "from"])
_DASHES = re.compile(r"-{2,}")
_YEAR_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def _short_hash(text: str, length: int = 8) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:length]


def _url_hash(url: str, length: int = 8) -> str:
    # Hash the normalised URL so that tracking parameters do not change an id.
    return _short_hash(url_key(url), length)


def _is_cjk_letter(ch: str) -> bool:
    cp = ord(ch)
    if cp < 0x1100:
        return False
    for lo, hi in _CJK_RANGES:
        if lo <= cp <= hi:
            return unicodedata.category(ch) in ("Lo", "Lm", "Nl")
    return False


def _clean(text: str) -> str:
    """Map text to the portable id alphabet: a-z 0-9 . _ - and CJK letters."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", text):
        if ch in _ASCII_ALLOWED or _is_cjk_letter(ch):
            out.append(ch)
            continue
        # Fullwidth letters, ligatures and accented Latin have a portable spelling; keep it
        # rather than losing the letter ("Über" -> "uber", "ＡＢＣ" -> "abc").
        compat = unicodedata.normalize("NFKC", ch)
        if compat != ch and all(c in _ASCII_ALLOWED or _is_cjk_letter(c) for c in compat):
            out.append(compat)
            continue
        folded = "".join(c for c in unicodedata.normalize("NFKD", ch) if c in _ASCII_ALNUM)
        out.append(folded or "-")
    cleaned = _DASHES.sub("-", "".join(out).lower())
    # Leading dots hide files, leading "_" hides them from Jekyll (GitHub Pages), a leading
    # dash reads as an option; Windows drops trailing dots.
    return cleaned.lstrip("._-").rstrip(".-")


def _split_extension(segment: str) -> tuple[str, str]:
    stem, dot, ext = segment.rpartition(".")
    if dot and stem and ext.lower() in _PAGE_EXTENSIONS:
        return stem, ext.lower()
    return segment, ""


def _query_params(query: str) -> list[tuple[str, str]]:
    params = parse_qsl(query, keep_blank_values=False)
    return [
        (k, v) for k, v in params
        if not k.lower().startswith("utm_") and k.lower() not in _TRACKING_KEYS
    ]


def _query_id(params: list[tuple[str, str]]) -> str:
    """The article id a query string names, if it uses a usual key ("?id=123" -> "123")."""
    lowered: dict[str, str] = {}
    for k, v in params:
        lowered.setdefault(k.lower(), v)
    for key in _ID_KEYS:
        if key in lowered and (cleaned := _clean(lowered[key])):
            return cleaned
    return ""


def _query_words(params: list[tuple[str, str]]) -> str:
    return _clean("-".join(f"{k}-{v}" for k, v in params))


def _truncate(text: str, limit: int) -> str:
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")


def _base_id(url: str) -> str:
    try:
        parts = urlsplit(url.strip())
        path, query = parts.path, parts.query
    except ValueError:  # e.g. an unbalanced "[" in the host
        path, query = url, ""
    segments = [seg.split(";", 1)[0] for seg in path.split("/")]
    params = _query_params(query)
    # The last two segments that are not empty, "." or ".." once cleaned: an index
    # document ("/slug/index.html") gives way to the folder that holds it.
    names: list[tuple[str, str]] = []
    for raw in reversed(segments):
        stem, ext = _split_extension(unquote(raw, errors="replace"))
        name = _clean(stem)
        if name:
            names.append((name, ext))
            if len(names) == 2:
                break
    if not names:
        return _query_id(params) or _query_words(params)
    name, ext = names[0]
    # A script or a one-letter path ("article.php?id=1", "/s?__biz=..&mid=..") is named by
    # its query: the id if it has a usual key, else all of it.
    short = len(name) <= 2 and not name.isdigit()
    if params and (name in _VIEWER_STEMS or ext in _SCRIPT_EXTENSIONS or short):
        tail = _query_id(params) or _query_words(params)
        return tail if name in _INDEX_STEMS else _clean(f"{name}-{tail}")
    if name in _INDEX_STEMS and len(names) == 2:
        return names[1][0]
    return name


def _unreserve(name: str) -> str:
    stem, dot, rest = name.partition(".")
    if stem.upper() in _RESERVED:
        return f"{stem}_{dot}{rest}"
    return name


def page_id(url: str) -> str:
    """A stable, portable file-name id for an article URL.

    `/news/2021/06/17/975278.html` -> `975278`; `/world/some-slug/` -> `some-slug`;
    `?id=123` -> `123`; `article.php?id=123` -> `article-123`. The id uses only
    a-z 0-9 . _ - and CJK letters, is at most ~100 bytes of UTF-8, never empty and
    never a Windows-reserved name.
    """
    name = _base_id(url)
    if len(name.encode("utf-8")) > MAX_ID_BYTES:
        suffix = "-" + _url_hash(url)
        name = _truncate(name, MAX_ID_BYTES - len(suffix)).rstrip(".-") + suffix
    if not name:
        return _url_hash(url, 10)
    return _unreserve(name)


_page_id = page_id  # assign() has a parameter of the same name


def is_safe_name(name: str) -> bool:
    """Whether `name` can be one segment of a page path on every OS and host (channel, id)."""
    return (
        bool(name)
        and len(name.encode("utf-8", "surrogatepass")) <= 200
        and all(ch in _ASCII_ALLOWED or _is_cjk_letter(ch) for ch in name)
        and name[0] not in "._-"
        and name[-1] not in ".-"
        and name.partition(".")[0].upper() not in _RESERVED
        and unicodedata.is_normalized("NFC", name)
    )


# --- relative links -------------------------------------------------------------------------

# Characters that end, split or change a Markdown link destination, or change what the
# URL means (query, fragment, escapes), or a GFM table cell: percent-encode them.
_ENCODE = {c: f"%{ord(c):02X}" for c in " ()<>%#?&\\`|\"'[]*"}


def _encode_char(ch: str) -> str:
    if ch in _ENCODE:
        return _ENCODE[ch]
    # Whitespace, controls and invisible format characters (bidi overrides, zero width).
    if ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
        return "".join(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))
    return ch


def _repo_segments(path: str) -> list[str]:
    out: list[str] = []
    for seg in path.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if not out:
                raise UnsafePath(f"{path!r} leaves the repo root")
            out.pop()
        else:
            out.append(seg)
    return out


def relative_path(from_dir: str, to_path: str) -> str:
    """A Markdown-safe relative link from the folder `from_dir` to `to_path`, both repo-root paths.

    `relative_path("pages/news/2026-11", "indexes/news.md") == "../../../indexes/news.md"`.
    Both are file paths as on disk, not URL paths: a `%` is a percent sign (unquote a path
    taken from a URL first). Characters that would break a link destination are
    percent-encoded; non-ASCII letters stay as they are (GitHub, GitLab and Gitea serve
    UTF-8 paths). UnsafePath if either path climbs above the repo root.
    """
    src = _repo_segments(from_dir)
    dst = _repo_segments(to_path)
    common = 0
    while common < min(len(src), len(dst)) and src[common] == dst[common]:
        common += 1
    parts = [".."] * (len(src) - common) + dst[common:]
    if not parts:
        return "./"
    link = "/".join("".join(_encode_char(c) for c in part) for part in parts)
    if to_path.endswith("/"):
        link += "/"
    # "c:x.md" or "javascript:x" would read as a URL scheme, not a relative path.
    if ":" in parts[0]:
        link = "./" + link
    return link


# --- page paths -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PagePaths:
    """The files of one page: `PagePaths(path).qr` is its QR image."""

    page: str  # pages/<channel>/<YYYY-MM>/<id>.md, repo-relative POSIX

    @property
    def qr(self) -> str:
        return self.page + ".png"

    @property
    def folder(self) -> str:
        return posixpath.dirname(self.page)

    @property
    def id(self) -> str:
        return posixpath.basename(self.page).removesuffix(".md")


class _ManifestLike(Protocol):
    def get(self, url: str) -> Record | None: ...

    def path_taken(self, path: str) -> bool: ...

    def folder_entries(self, folder: str) -> int: ...


# A root that does not exist: safe_join then judges a path by its text alone.
_NOWHERE = Path("/nonexistent/mirror-lexical-check")


def check_repo_path(path: str, repo_root: str | Path | None = None) -> str:
    """Return `path` if `mirror.fsutil.safe_join` accepts it (inside the repo, portable);
    raise UnsafePath if not. Without `repo_root` only the text is checked, no symlinks."""
    safe_join(Path(repo_root) if repo_root is not None else _NOWHERE, path)
    return path


def month_of(published: datetime | date | str | None, run_date: datetime | date | str | None) -> str:
    """The month folder name, "YYYY-MM", of the article's date in UTC, else of the run's date."""
    got = _month(published) or _month(run_date)
    if got is None:
        raise ValueError("an article without a date needs the run's date")
    return f"{got[0]:04d}-{got[1]:02d}"


def _month(value: datetime | date | str | None) -> tuple[int, int] | None:
    if isinstance(value, str):
        value = value.strip()
        if _YEAR_MONTH.fullmatch(value):
            return int(value[:4]), int(value[5:7])
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            # Year 1 or 9999 can be pushed out of range; then the local month will do.
            with contextlib.suppress(OverflowError, ValueError):
                value = value.astimezone(UTC)
        return value.year, value.month
    if isinstance(value, date):
        return value.year, value.month
    return None


class PageLayout:
    """Hands out page paths: stable for known articles, collision-free, folders kept small.

    One layout can serve a whole run: it remembers the paths it handed out that are not in
    the manifest yet, so two new articles never get the same path even before either is
    recorded.
    """

    def __init__(
        self,
        manifest: _ManifestLike,
        *,
        pages_dir: str = PAGES_ROOT,
        folder_limit: int = DEFAULT_FOLDER_LIMIT,
        repo_root: str | Path | None = None,
    ) -> None:
        self.manifest = manifest
        self.pages_dir = check_repo_path(pages_dir.strip("/"))
        # Each page brings its QR image; a limit below 2 still allows one page per folder.
        self.pages_per_folder = max(1, folder_limit // 2)
        self.repo_root = repo_root
        self._handed: dict[str, str] = {}  # normalised URL -> page path handed out this run
        self._handed_paths: set[str] = set()  # the same paths, lower-cased
        # Lower-cased folder -> handed-out paths the manifest does not hold yet.
        self._pending: dict[str, set[str]] = {}
        self._first_open: dict[str, int] = {}  # month base folder -> first suffix not yet full

    def _taken(self, path: str) -> bool:
        return path.lower() in self._handed_paths or self.manifest.path_taken(path)

    def _pages_in(self, folder: str) -> int:
        # Handed-out paths count until the manifest records them, and then only there.
        folder = folder.lower()
        recorded = self.manifest.folder_entries(folder) // 2
        pending = self._pending.get(folder)
        if pending and recorded + len(pending) >= self.pages_per_folder:
            # Recorded paths stop counting as pending; pruned only when the folder looks full.
            pending.difference_update([p for p in pending if self.manifest.path_taken(p)])
        return recorded + (len(pending) if pending else 0)

    def assign(
        self,
        *,
        url: str,
        channel: str,
        published: datetime | date | str | None = None,
        run_date: datetime | date | str | None = None,
        month: str | None = None,
        page_id: str | None = None,
    ) -> str:
        """The page path of the article at `url`: its recorded path if it has one, else a new
        free one in `<pages_dir>/<channel>/<month>[-n]/`.

        `month` ("YYYY-MM") is the article's month, or else taken from `published` (in UTC)
        or `run_date`. `page_id` names the file (default: `page_id(url)`; pass the id of the
        final or canonical URL to name it after that).
        """
        key = url_key(url)
        known = self.manifest.get(url)
        if known is not None and known.path:
            try:
                return check_repo_path(known.path, self.repo_root)
            except UnsafePath:
                log.warning("manifest path %r of %s is unsafe; assigning a new one", known.path, url)
        if key in self._handed:
            return self._handed[key]
        if not is_safe_name(channel):
            raise ValueError(f"channel {channel!r} is not a portable folder name")
        if month is None:
            month = month_of(published, run_date)
        elif not _YEAR_MONTH.fullmatch(month):
            raise ValueError(f"month {month!r} is not YYYY-MM")
        name = page_id if page_id is not None else _page_id(url)
        if not is_safe_name(name):
            raise ValueError(f"page id {name!r} is not a portable file name")
        base = f"{self.pages_dir}/{channel}/{month}"
        # Folders only fill up during a run: the search starts at the last one found open.
        for n in itertools.count(self._first_open.get(base, 1)):
            folder = base if n == 1 else f"{base}-{n}"
            if self._pages_in(folder) < self.pages_per_folder:
                break
        self._first_open[base] = n
        # On a clash, a hash of the URL rather than "-2": two runs racing for a name then still
        # pick different paths, and the union-merged manifest stays consistent.
        hashed = f"{name}-{_url_hash(url)}"
        candidates = itertools.chain([name, hashed], (f"{hashed}-{k}" for k in itertools.count(2)))
        path = next(p for p in (f"{folder}/{c}.md" for c in candidates) if not self._taken(p))
        check_repo_path(path, self.repo_root)
        self._handed[key] = path
        self._handed_paths.add(path.lower())
        self._pending.setdefault(folder.lower(), set()).add(path)
        return path


def assign_path(
    manifest: _ManifestLike,
    *,
    url: str,
    channel: str,
    published: datetime | date | str | None = None,
    run_date: datetime | date | str | None = None,
    month: str | None = None,
    page_id: str | None = None,
    pages_dir: str = PAGES_ROOT,
    folder_limit: int = DEFAULT_FOLDER_LIMIT,
    repo_root: str | Path | None = None,
) -> str:
    """The page path of one article (see PageLayout.assign). Record it in the manifest before
    assigning the next one, or use one PageLayout for several."""
    layout = PageLayout(manifest, pages_dir=pages_dir, folder_limit=folder_limit, repo_root=repo_root)
    return layout.assign(
        url=url, channel=channel, published=published, run_date=run_date, month=month, page_id=page_id
    )
