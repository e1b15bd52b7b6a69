"""The config file: load `mirror.toml` once, validate every key, hand out frozen typed settings."""

from __future__ import annotations

import codecs
import dataclasses
import difflib
import os
import re
import string
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from mirror.model import ExtractRules, FetchSettings, SourceProfile
from mirror.shortener import PROVIDERS as SHORTENER_PROVIDERS
from mirror.shortener import ShortenerSettings

DEFAULT_PATH = Path("config/mirror.toml")

LANGUAGES = ("zh-CN", "en")
SOURCE_KINDS = ("feed", "listing", "urls", "files")
LINK_POLICIES = ("keep", "mirror", "text")
IMAGE_POLICIES = ("keep", "localize")
TEMPLATE_FILES = ("page.md.j2", "index.md.j2", "readme.md.j2")

# Public URL of a repo file on each host; {branch} is filled in at load, {path} at render time.
PAGE_URL_PRESETS = {
    "github": ("OWNER/REPO", "https://github.com/{repo}/blob/{branch}/{path}"),
    "gitlab": ("OWNER/REPO", "https://gitlab.com/{repo}/-/blob/{branch}/{path}"),
    "codeberg": ("OWNER/REPO", "https://codeberg.org/{repo}/src/branch/{branch}/{path}"),
    "gitea": ("HOST/OWNER/REPO", "https://{repo}/src/branch/{branch}/{path}"),
}
ASSET_URL_PRESETS = {
    "jsdelivr": ("OWNER/REPO", "https://cdn.jsdelivr.net/gh/{repo}@{branch}/{path}"),
}


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class NavLink:
    """One link of the nav bar; {channel} and {channel_name} stand for the page's own channel."""

    title: str
    href: str  # a repo-root path ("/README.md", "/indexes/{channel}.md") or an absolute http(s) URL


@dataclass(frozen=True)
class Section:
    """A group of channels on the README."""

    name: str
    channels: tuple[str, ...]


@dataclass(frozen=True)
class PublisherSettings:
    """Where and how pages are written and committed."""

    repo: Path  # the mirror repo; created and git-init'ed if missing
    branch: str = "main"
    remote: str = ""  # URL or path; "" = no push
    author: str = "mirror <mirror@localhost>"  # "Name <email>"
    page_url: str = ""  # public URL template of a repo file; contains {path} and no other braces
    asset_url: str = ""  # CDN URL template for QR codes and images, with {path}; "" = relative
    language: str = "zh-CN"  # footer strings
    title: str = "Mirror"  # site title (README heading)
    pages_dir: str = "pages"
    indexes_dir: str = "indexes"
    assets_dir: str = "assets"
    index_page_size: int = 100  # entries per index page
    readme_latest: int = 20  # latest articles listed on the README
    keep_pages: int = 0  # newest pages kept per channel (0 = all)
    folder_limit: int = 1000  # max entries in one pages folder
    templates: Path | None = None  # folder overriding page.md.j2 / index.md.j2 / readme.md.j2
    lock_timeout: float = 600.0
    push_attempts: int = 5


@dataclass(frozen=True)
class Config:
    """The whole validated config; the rest of the code trusts it."""

    path: Path  # the config file, absolute
    publisher: PublisherSettings
    fetch: FetchSettings = FetchSettings()
    local_sites: Mapping[str, Path] = field(default_factory=lambda: MappingProxyType({}))
    shortener: ShortenerSettings = ShortenerSettings()
    nav: tuple[NavLink, ...] = ()
    sections: tuple[Section, ...] = ()
    sources: tuple[SourceProfile, ...] = ()
    warnings: tuple[str, ...] = ()  # things worth telling the user that do not stop a run

    def source(self, name: str) -> SourceProfile:
        """The source called `name`; an UnknownSourceError that lists the names otherwise."""
        for source in self.sources:
            if source.name == name:
                return source
        names = [s.name for s in self.sources]
        listing = ", ".join(repr(n) for n in names) if names else "none"
        close = _closest(name, names)
        hint = f" (did you mean {close!r}?)" if close else ""
        raise UnknownSourceError(self.path, "", f"no source named {name!r}{hint}; the sources are: {listing}")

    @property
    def channels(self) -> Mapping[str, str]:
        """Channel -> channel name, in the order sources first name them."""
        seen: dict[str, str] = {}
        for source in self.sources:
            seen.setdefault(source.channel, source.channel_name)
        return MappingProxyType(seen)


class ConfigError(Exception):
    """A config that cannot be used: every problem names the file, the key and what was expected."""

    def __init__(self, path: Path | str, key: str, message: str, more: Iterable[tuple[str, str]] = ()):
        self.path = Path(path)
        self.key = key
        self.message = message
        self.problems: tuple[tuple[str, str], ...] = ((key, message), *more)
        super().__init__(str(self))

    def __reduce__(self) -> tuple[Any, ...]:  # picklable across processes despite the signature
        return (type(self), (self.path, self.key, self.message, self.problems[1:]))

    def __str__(self) -> str:
        return "\n".join(f"{self.path}: {key}: {msg}" if key else f"{self.path}: {msg}" for key, msg in self.problems)


class UnknownSourceError(ConfigError, KeyError):
    """`Config.source(name)` for a name the config does not have."""

    __str__ = ConfigError.__str__


# --------------------------------------------------------------------------- entry points


def load_config(path: Path | str = DEFAULT_PATH) -> Config:
    """Read, parse and validate the TOML config file at `path`."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(path, "", "no such config file (create one with `mirror init DIR`)") from None
    except OSError as exc:
        raise ConfigError(path, "", f"cannot read the config file: {exc.strerror or exc}") from None
    try:
        # utf-8-sig: editors on Windows like to start files with a BOM, which tomllib rejects.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(path, "", f"not UTF-8 text (a TOML file must be UTF-8): bad byte at line {line}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "", f"TOML syntax error: {exc}") from None
    return parse_config(data, path)


def parse_config(data: Mapping[str, Any], path: Path | str) -> Config:
    """Validate an already parsed config; relative paths are taken from `path`'s folder."""
    path = Path(path)
    report = _Report(base=path.expanduser().resolve().parent)
    root = _Table(data, "", report)

    publisher = root.table("publisher", required=True, parse=_publisher)
    fetch_table = root.table("fetch", parse=lambda t: t)
    fetch = _fetch(fetch_table) if fetch_table is not None else FetchSettings()
    local_sites = _local_sites(fetch_table) if fetch_table is not None else {}
    shortener = root.table("shortener", parse=_shortener) or ShortenerSettings()
    language = publisher.language if publisher else "zh-CN"
    navs = root.array("nav", _nav)
    nav = tuple(n for n in navs if n) if navs is not None else _default_nav(language)
    sources_raw = root.array("source", _source) or []
    sections_raw = root.array("section", _section) or []
    root.finish()

    sources = tuple(s for s in sources_raw if s is not None)
    if not report.problems:
        sources = _check_sources(sources, report)
        _check_sections(tuple(s for s in sections_raw if s is not None), sources, report)
    if report.problems:
        (key, message), *more = report.problems
        raise ConfigError(path, key, message, more=more)
    assert publisher is not None and shortener is not None
    return Config(
        path=path.expanduser().resolve(),
        publisher=publisher,
        fetch=fetch,
        local_sites=MappingProxyType(local_sites),
        shortener=shortener,
        nav=nav,
        sections=tuple(s for s in sections_raw if s is not None),
        sources=sources,
        warnings=tuple(report.warnings),
    )


# --------------------------------------------------------------------------- the reading machinery


class _Invalid(Exception):
    """One value is wrong; `sub` locates it inside the key (e.g. "[2]")."""

    def __init__(self, message: str, sub: str = ""):
        super().__init__(message)
        self.message = message
        self.sub = sub


class _Report:
    def __init__(self, base: Path):
        self.base = base  # the config file's folder: relative paths start here
        self.problems: list[tuple[str, str]] = []
        self.warnings: list[str] = []

    def add(self, key: str, message: str) -> None:
        self.problems.append((key, message))


_REQUIRED = object()


@dataclass(frozen=True)
class _Check:
    """A validator: what it expects (for messages), and the function that checks and converts."""

    expected: str
    fn: Callable[[Any], Any]

    def __call__(self, value: Any) -> Any:
        return self.fn(value)


class _Table:
    """One TOML table being read: remembers which keys were read, to report the unknown ones."""

    def __init__(self, data: Mapping[str, Any], where: str, report: _Report):
        self.data = data
        self.where = where
        self.report = report
        self.known: list[str] = []
        self.missing: dict[str, tuple[str, str]] = {}  # required keys reported missing

    def key(self, name: str) -> str:
        return f"{self.where}.{name}" if self.where else name

    def has(self, name: str) -> bool:
        return name in self.data

    def get(self, name: str, check: _Check, default: Any = None) -> Any:
        """The checked value of `name`; `default` when absent; None after a problem."""
        self.known.append(name)
        if name not in self.data:
            if default is _REQUIRED:
                self.missing[name] = (self.key(name), f"missing: expected {check.expected}")
                self.report.problems.append(self.missing[name])
                return None
            return default
        try:
            return check(self.data[name])
        except _Invalid as exc:
            self.report.add(self.key(name) + exc.sub, exc.message)
            return None

    def table(self, name: str, parse: Callable[[_Table], Any], required: bool = False) -> Any:
        """Parse the sub-table `name` with `parse`; None when it is absent or not a table."""
        self.known.append(name)
        if name not in self.data:
            if required:
                self.report.add(self.key(name), f"missing: expected a [{self.key(name)}] table")
            return None
        value = self.data[name]
        if not isinstance(value, Mapping):
            self.report.add(self.key(name), f"expected a table, got {_got(value, True)}")
            return None
        return parse(_Table(value, self.key(name), self.report))

    def array(self, name: str, parse: Callable[[_Table, int], Any]) -> list[Any] | None:
        """Parse the array of tables `[[name]]`, each with `parse(table, number)`; None when absent."""
        self.known.append(name)
        if name not in self.data:
            return None
        value = self.data[name]
        if isinstance(value, Mapping):
            self.report.add(self.key(name), f"expected an array of tables ([[{name}]]), got a table ([{name}])")
            return []
        if not isinstance(value, list):
            self.report.add(self.key(name), f"expected an array of tables ([[{name}]]), got {_got(value, True)}")
            return []
        out = []
        for number, item in enumerate(value, 1):
            where = f"{self.key(name)}[{number}]"
            if not isinstance(item, Mapping):
                self.report.add(where, f"expected a table, got {_got(item, True)}")
                out.append(None)
                continue
            out.append(parse(_Table(item, where, self.report), number))
        return out

    def finish(self) -> None:
        """Report every key nobody read, with the nearest known key as a suggestion."""
        for name in map(str, self.data):
            if name in self.known:
                continue
            hint = _did_you_mean(name, self.known)
            close = _closest(name, self.known)
            if close in self.missing:  # a misspelt required key: one problem, not two
                self.report.problems.remove(self.missing.pop(close))
            if not hint:
                hint = "; expected one of: " + ", ".join(repr(k) for k in self.known)
            self.report.add(self.where, f"unknown key {name!r}{hint}")


def _closest(name: str, candidates: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return close[0] if close else None


def _did_you_mean(name: str, candidates: Iterable[str]) -> str:
    close = _closest(name, candidates)
    return f"; did you mean {close!r}?" if close else ""


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Mapping):
        return "a table"
    return f"a {type(value).__name__}"  # TOML dates and times


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "a table"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _got(value: Any, type_wrong: bool = False) -> str:
    if type_wrong and not isinstance(value, Mapping):
        return f"{_show(value)} ({_type_name(value)})"
    return _show(value)


def _fail(expected: str, value: Any, why: str = "") -> _Invalid:
    return _Invalid(f"expected {expected}, got {_show(value)}" + (f" ({why})" if why else ""))


# --------------------------------------------------------------------------- checks


def _string(expected: str = "a string", *, empty: bool = True, pattern: str | None = None,
            single_line: bool = True, test: Callable[[str], str | None] | None = None) -> _Check:
    """A string; `test` returns a reason when the string is wrong, or None."""
    rx = re.compile(pattern) if pattern else None

    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise _Invalid(f"expected {expected}, got {_got(value, True)}")
        if not empty and not value.strip():
            raise _fail(expected, value, "empty")
        if single_line and any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise _fail(expected, value, "control characters such as newlines are not allowed")
        if rx and value and not rx.fullmatch(value):
            raise _fail(expected, value)
        if test and value and (why := test(value)):
            raise _fail(expected, value, why)
        return value

    return _Check(expected, check)


def _integer(low: int | None = None, high: int | None = None) -> _Check:
    expected = "an integer" + (f" >= {low}" if low is not None else "") + (f" <= {high}" if high is not None else "")

    def check(value: Any) -> int:
        # bool is an int in Python, but `true` is no count of anything.
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Invalid(f"expected {expected}, got {_got(value, True)}")
        if (low is not None and value < low) or (high is not None and value > high):
            raise _fail(expected, value)
        return value

    return _Check(expected, check)


def _number(gt: float | None = None, ge: float | None = None) -> _Check:
    expected = "a number" + (f" > {gt:g}" if gt is not None else "") + (f" >= {ge:g}" if ge is not None else "")

    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _Invalid(f"expected {expected}, got {_got(value, True)}")
        if value != value or value in (float("inf"), float("-inf")):
            raise _fail(expected, value)
        if (gt is not None and value <= gt) or (ge is not None and value < ge):
            raise _fail(expected, value)
        return float(value)

    return _Check(expected, check)


def _boolean() -> _Check:
    def check(value: Any) -> bool:
        if not isinstance(value, bool):
            raise _Invalid(f"expected true or false, got {_got(value, True)}")
        return value

    return _Check("true or false", check)


def _choice(options: Iterable[str]) -> _Check:
    options = tuple(options)
    expected = "one of " + ", ".join(repr(o) for o in options)

    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise _Invalid(f"expected {expected}, got {_got(value, True)}")
        if value not in options:
            close = _closest(value, options)
            raise _fail(expected, value, f"did you mean {close!r}?" if close else "")
        return value

    return _Check(expected, check)


def _array(item: _Check, *, empty: bool = True, unique: bool = False, expected: str | None = None) -> _Check:
    expected = expected or f"an array of {_plural(item.expected)}"
    if not empty:
        expected = "a non-empty " + expected.removeprefix("an ")

    def check(value: Any) -> tuple[Any, ...]:
        if not isinstance(value, list):
            raise _Invalid(f"expected {expected}, got {_got(value, True)}")
        if not empty and not value:
            raise _fail(expected, value)
        out = []
        for number, element in enumerate(value, 1):
            try:
                converted = item(element)
            except _Invalid as exc:
                raise _Invalid(exc.message, f"[{number}]{exc.sub}") from None
            if unique and converted in out:
                raise _Invalid(f"expected no duplicates, got {_show(element)} twice", f"[{number}]")
            out.append(converted)
        return tuple(out)

    return _Check(expected, check)


def _plural(expected: str) -> str:
    words = expected.removeprefix("an ").removeprefix("a ").split(" ", 1)
    return words[0] + "s" + (" " + words[1] if len(words) > 1 else "")


def _http_url_problem(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        return str(exc)
    if parts.scheme not in ("http", "https"):
        return "not http or https"
    if not parts.hostname:
        return "no host"
    if any(c.isspace() for c in url):
        return "contains whitespace"
    return None


HTTP_URL = _string("an http(s) URL", empty=False, test=_http_url_problem)
_NAME_RX = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
_CHANNEL_RX = r"[a-z0-9][a-z0-9._-]{0,63}"
SOURCE_NAME = _string("a name of letters, digits, '.', '_' or '-' (starting with a letter or digit)", empty=False, pattern=_NAME_RX)
CHANNEL = _string("a channel of lowercase letters, digits, '.', '_' or '-' (starting with a letter or digit)", empty=False, pattern=_CHANNEL_RX)
TEXT = _string("a non-empty single-line string", empty=False)


def _path(report: _Report, *, exists: str | None = None) -> _Check:
    """A path, relative to the config file's folder; `exists` is "dir", "any" or None."""
    expected = {"dir": "a path to an existing folder", "any": "a path to an existing file or folder"}.get(exists or "", "a path")

    def check(value: Any) -> Path:
        if not isinstance(value, str) or not value.strip():
            raise _Invalid(f"expected {expected}, got {_got(value, True)}")
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise _fail(expected, value, "control characters are not allowed")
        path = report.base / Path(value).expanduser()
        path = Path(os.path.normpath(path))
        if exists == "dir" and not path.is_dir():
            raise _fail(expected, value, f"{path} is not a folder" if path.exists() else f"{path} does not exist")
        if exists == "any" and not path.exists():
            raise _fail(expected, value, f"{path} does not exist")
        return path

    return _Check(expected, check)


def _selector_problem(selector: str) -> str | None:
    # The very compiler the extractor uses; imported late because it pulls in the whole extractor.
    from mirror.extract import compile_selector

    try:
        compile_selector(selector)
    except ValueError as exc:
        # It says "invalid selector '...': why", and our message already shows the selector.
        text = str(exc).strip().removeprefix(f"invalid selector {selector!r}:").strip()
        return text.splitlines()[0] if text else "invalid"
    return None


SELECTOR = _string("a CSS selector or an XPath (starting with '/' or '(')", empty=False, test=_selector_problem)


def _regex_problem(pattern: str) -> str | None:
    try:
        re.compile(pattern)
    except re.error as exc:
        return str(exc)
    try:  # the cleaner joins all patterns as (?:a)|(?:b), so each must also work inside a group
        re.compile(f"(?:{pattern})")
    except re.error as exc:
        if "global flags" in str(exc):
            return "a flag like (?i) must apply to a group here: write (?i:...)"
        return str(exc)
    return None


REGEX = _string("a regular expression (Python re syntax)", empty=False, test=_regex_problem)


def _template_problem(template: str, allowed: tuple[str, ...], required: tuple[str, ...]) -> str | None:
    """Why `template` is not a template whose only braces are the `allowed` placeholders."""
    found = set()
    try:
        for literal, name, spec, conversion in string.Formatter().parse(template):
            if "{" in literal or "}" in literal:
                return "'{{' and '}}' are not allowed"
            if name is None:
                continue
            if name not in allowed or spec or conversion:
                return "unknown placeholder {" + name + "}; allowed: " + ", ".join("{" + a + "}" for a in allowed)
            found.add(name)
    except ValueError as exc:
        return f"bad braces: {exc}"
    missing = [r for r in required if r not in found]
    if missing:
        return "{" + missing[0] + "} is missing"
    return None


# --------------------------------------------------------------------------- [publisher]


def _branch_problem(branch: str) -> str | None:
    # A subset of `git check-ref-format` that is also safe inside URLs and templates.
    if not re.fullmatch(r"[A-Za-z0-9._/-]+", branch):
        return "only letters, digits, '.', '_', '-' and '/'"
    parts = branch.split("/")
    if any(not p or p.startswith((".", "-")) or p.endswith(".lock") for p in parts) or branch.endswith(".") or ".." in branch:
        return "not a valid git branch name"
    return None


BRANCH = _string("a git branch name", empty=False, test=_branch_problem)
AUTHOR_RX = re.compile(r"([^<>]*[^<>\s])\s*<([^<>\s@]+@[^<>\s@]+)>")
AUTHOR = _string("'Name <email>'", empty=False, pattern=AUTHOR_RX.pattern)


def _repo_dir_problem(value: str) -> str | None:
    parts = value.strip("/").split("/")
    if value.startswith("/") or "\\" in value:
        return "must be a relative path inside the repo"
    if any(not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", p) for p in parts):
        return "each part: letters, digits, '.', '_' or '-', not starting with '.'"
    return None


REPO_DIR = _string("a folder inside the repo, like 'pages'", empty=False, test=_repo_dir_problem)


def _remote(report: _Report) -> _Check:
    expected = "a git remote URL or a path"

    def check(value: Any) -> str:
        value = _string(expected)(value)
        if not value:
            return ""
        if value.startswith("-"):
            raise _fail(expected, value, "must not start with '-'")
        if "://" in value or re.match(r"[^/:\\]{2,}:", value):  # a URL or scp-like user@host:path
            return value
        # A local path: git would take it relative to the repo, the user means the config folder.
        return str(Path(os.path.normpath(report.base / Path(value).expanduser())))

    return _Check(expected, check)


def _url_setting(presets: Mapping[str, tuple[str, str]]) -> Callable[[str], _Check]:
    """A URL template (with {path}, optionally {branch}) or a `preset:ARGS`; expanded for `branch`."""
    names = ", ".join(f"'{name}:{shape}'" for name, (shape, _) in presets.items())
    expected = f"a preset ({names}) or an http(s) URL template containing {{path}}"

    def for_branch(branch: str) -> _Check:
        def check(value: Any) -> str:
            value = _string(expected)(value).strip()
            if not value:
                return ""
            preset, colon, args = value.partition(":")
            if colon and "//" not in value[: value.find(":") + 3] and preset not in ("http", "https"):
                if preset not in presets:
                    raise _fail(expected, value, f"unknown preset {preset!r}" + _did_you_mean(preset, presets))
                shape, template = presets[preset]
                if not _preset_args_ok(preset, args):
                    raise _fail(expected, value, f"expected {preset}:{shape}")
                value = template.replace("{repo}", args)
            if why := _template_problem(value, ("path", "branch"), ("path",)):
                raise _fail(expected, value, why)
            if why := _http_url_problem(value.replace("{path}", "p").replace("{branch}", "b")):
                raise _fail(expected, value, why)
            if "{" in urlsplit(value).netloc:
                raise _fail(expected, value, "{path} must come after the host")
            return value.replace("{branch}", branch)

        return _Check(expected, check)

    return for_branch


def _preset_args_ok(preset: str, args: str) -> bool:
    parts = args.split("/")
    segment = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")
    if preset == "gitea":
        host, *rest = parts
        return len(rest) == 2 and bool(re.fullmatch(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?", host)) and all(segment.fullmatch(p) for p in rest)
    if preset == "gitlab":  # GitLab has nested groups: group/subgroup/project
        return len(parts) >= 2 and all(segment.fullmatch(p) for p in parts)
    return len(parts) == 2 and all(segment.fullmatch(p) for p in parts)


PAGE_URL = _url_setting(PAGE_URL_PRESETS)
ASSET_URL = _url_setting(ASSET_URL_PRESETS)


def _templates_dir(report: _Report) -> _Check:
    folder = _path(report, exists="dir")
    expected = f"a folder with any of {', '.join(TEMPLATE_FILES)}"

    def check(value: Any) -> Path:
        import jinja2

        path = folder(value)
        present = [name for name in TEMPLATE_FILES if (path / name).is_file()]
        if not present:
            raise _fail(expected, value, f"{path} has none of them")
        env = jinja2.Environment()
        for name in present:
            try:
                env.parse((path / name).read_text(encoding="utf-8"))
            except jinja2.TemplateSyntaxError as exc:
                raise _Invalid(f"{name} line {exc.lineno}: template syntax error: {exc.message}") from None
            except (UnicodeDecodeError, OSError) as exc:
                raise _Invalid(f"{name}: cannot read it as UTF-8 text: {exc}") from None
        return path

    return _Check(expected, check)


def _publisher(t: _Table) -> PublisherSettings | None:
    d = PublisherSettings(repo=Path("."))
    before = len(t.report.problems)
    repo = t.get("repo", _path(t.report), _REQUIRED)
    if repo is not None and repo.exists() and not repo.is_dir():
        t.report.add(t.key("repo"), f"expected a folder (created if missing), got {str(repo)!r} (a file)")
    branch = t.get("branch", BRANCH, d.branch) or d.branch
    values = dict(
        repo=repo,
        branch=branch,
        remote=t.get("remote", _remote(t.report), d.remote),
        author=t.get("author", AUTHOR, d.author),
        page_url=t.get("page_url", PAGE_URL(branch), d.page_url),
        asset_url=t.get("asset_url", ASSET_URL(branch), d.asset_url),
        language=t.get("language", _choice(LANGUAGES), d.language),
        title=t.get("title", TEXT, d.title),
        pages_dir=t.get("pages_dir", REPO_DIR, d.pages_dir),
        indexes_dir=t.get("indexes_dir", REPO_DIR, d.indexes_dir),
        assets_dir=t.get("assets_dir", REPO_DIR, d.assets_dir),
        index_page_size=t.get("index_page_size", _integer(1), d.index_page_size),
        readme_latest=t.get("readme_latest", _integer(0), d.readme_latest),
        keep_pages=t.get("keep_pages", _integer(0), d.keep_pages),
        folder_limit=t.get("folder_limit", _integer(1), d.folder_limit),
        templates=t.get("templates", _templates_dir(t.report), d.templates),
        lock_timeout=t.get("lock_timeout", _number(gt=0), d.lock_timeout),
        push_attempts=t.get("push_attempts", _integer(1), d.push_attempts),
    )
    t.finish()
    dirs = {k: values[k].strip("/") for k in ("pages_dir", "indexes_dir", "assets_dir") if values[k]}
    for a, b in ((a, b) for a in dirs for b in dirs if a < b):
        x, y = dirs[a], dirs[b]
        if x == y or x.startswith(y + "/") or y.startswith(x + "/"):
            t.report.add(t.key(b), f"expected a folder apart from {a} ({x!r}), got {y!r}")
    values.update(dirs)
    if len(t.report.problems) > before:
        return None
    return PublisherSettings(**values)


# --------------------------------------------------------------------------- [fetch]


def _host_problem(host: str) -> str | None:
    if not re.fullmatch(r"[A-Za-z0-9._:-]+|\[[0-9A-Fa-f:.]+\]", host):
        return "a host name or an IP address, without scheme or port"
    return None


HOST = _string("a host name or IP address", empty=False, test=_host_problem)


def _fetch(t: _Table) -> FetchSettings:
    d = FetchSettings()
    checks: dict[str, _Check] = {
        "timeout": _number(gt=0),
        "deadline": _number(gt=0),
        "retries": _integer(0),
        "backoff": _number(ge=0),
        "max_backoff": _number(gt=0),
        "per_host": _integer(1),
        "workers": _integer(1),
        "delay": _number(ge=0),
        "user_agent": _string("a non-empty single-line string", empty=False),
        "max_bytes": _integer(1),
        "allow_private": _boolean(),
        "allow_hosts": _array(HOST, expected="an array of host names or IP addresses"),
    }
    values = {name: t.get(name, check, getattr(d, name)) for name, check in checks.items()}
    t.known.append("local_sites")  # read by _local_sites
    t.finish()
    return FetchSettings(**{k: v for k, v in values.items() if v is not None})


def _local_sites(t: _Table) -> dict[str, Path]:
    folder = _path(t.report, exists="dir")
    expected_prefix = "an http(s) URL prefix ending with '/'"
    sites = t.table("local_sites", parse=lambda s: s) if t.has("local_sites") else None
    out: dict[str, Path] = {}
    if sites is None:
        return out
    for prefix, value in sites.data.items():
        prefix = str(prefix)
        key = f'{sites.where}."{prefix}"'
        why = _http_url_problem(prefix) or (None if prefix.endswith("/") else "does not end with '/'")
        if why:
            sites.report.add(key, f"expected {expected_prefix} as the key, got {prefix!r} ({why})")
            continue
        try:
            out[prefix] = folder(value)
        except _Invalid as exc:
            sites.report.add(key, exc.message)
    return out


# --------------------------------------------------------------------------- [shortener]


ENV_NAME = _string("an environment variable name", empty=False, pattern=r"[A-Za-z_][A-Za-z0-9_]*")


def _hostname_problem(host: str) -> str | None:
    if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?", host):
        return "a host name like 's.example.org'"
    return None


def _by_default(default: Any) -> _Check:
    """A check for a field known only by its default value (fields ShortenerSettings adds later)."""
    if isinstance(default, bool):
        return _boolean()
    if isinstance(default, int):
        return _integer()
    if isinstance(default, float):
        return _number()
    if isinstance(default, str):
        return _string()
    if isinstance(default, tuple):
        return _array(_string())
    return _Check("a value", lambda v: v)


def _secret(t: _Table, name: str, provider: str | None) -> str:
    """A secret given inline as `name`, or (better: the file is committed) as `name_env`."""
    inline = t.get(name, _string("a string"), "") or ""
    env_name = t.get(f"{name}_env", ENV_NAME, "")
    if env_name and t.has(name):
        t.report.add(t.key(f"{name}_env"), f"expected either {name} or {name}_env, got both")
        return ""
    if not env_name:
        return inline
    value = os.environ.get(env_name, "")
    if not value and provider not in (None, "none"):
        # A fork's CI has no secrets: warn, and let the shortener fail softly at run time.
        t.report.warnings.append(
            f"{t.key(f'{name}_env')}: environment variable {env_name} is not set; "
            f"the {provider} shortener will be called without its {name}"
        )
    return value


def _shortener(t: _Table) -> Any:
    d = ShortenerSettings()
    fields = [f.name for f in dataclasses.fields(ShortenerSettings)]
    provider = t.get("provider", _choice(SHORTENER_PROVIDERS), d.provider)
    values: dict[str, Any] = {
        "provider": provider,
        "api_url": t.get("api_url", _string("an http(s) URL", test=_http_url_problem), d.api_url),
        "timeout": t.get("timeout", _number(gt=0), d.timeout),
        "domain": t.get("domain", _string("a host name", test=_hostname_problem), d.domain),
    }
    for name in ("api_key", "password"):
        if name in fields:
            values[name] = _secret(t, name, provider)
    for name in fields:
        if name not in values:
            values[name] = t.get(name, _by_default(getattr(d, name)), getattr(d, name))
    t.finish()
    if provider in ("shlink", "yourls", "kutt") and not t.data.get("api_url"):
        t.report.add(t.key("api_url"), f"missing: expected the http(s) URL of the {provider} server")
    if provider == "yourls" and not (
        t.has("api_key") or t.has("api_key_env") or (values.get("username") and (t.has("password") or t.has("password_env")))
    ):
        t.report.add(t.key("api_key"), "missing: YOURLS needs api_key (its signature token), or username and password")
    return ShortenerSettings(**{k: v for k, v in values.items() if v is not None})


# --------------------------------------------------------------------------- [[nav]] and [[section]]


def _nav_href_problem(href: str) -> str | None:
    if why := _template_problem(href, ("channel", "channel_name"), ()):
        return why
    sample = href.replace("{channel}", "c").replace("{channel_name}", "c")
    if sample.startswith("/") and not sample.startswith("//"):
        if "\\" in sample or any(c.isspace() for c in sample):
            return "no backslashes or whitespace in a repo path"
        if any(part in ("..", ".") for part in sample.split("?")[0].split("#")[0].split("/")):
            return "no '.' or '..' in a repo path"
        return None
    if sample.startswith("//") or "://" in sample:
        return _http_url_problem(sample)
    return "relative paths are not allowed: start a repo path with '/'"


NAV_HREF = _string("a repo path like '/README.md' or an http(s) URL", empty=False, test=_nav_href_problem)
NAV_TITLE = _string(
    "a non-empty single-line title", empty=False,
    test=lambda s: _template_problem(s, ("channel", "channel_name"), ()),
)


def _nav(t: _Table, number: int) -> NavLink | None:
    title = t.get("title", NAV_TITLE, _REQUIRED)
    href = t.get("href", NAV_HREF, _REQUIRED)
    t.finish()
    return NavLink(title, href) if title is not None and href is not None else None


def _default_nav(language: str) -> tuple[NavLink, ...]:
    home = "首页" if language == "zh-CN" else "Home"
    return (NavLink(home, "/README.md"), NavLink("{channel_name}", "/indexes/{channel}.md"))


def _section(t: _Table, number: int) -> Section | None:
    name = t.get("name", TEXT, _REQUIRED)
    if name is not None:
        t.where = f"{t.where} ({name})"
    channels = t.get("channels", _array(CHANNEL, empty=False, unique=True, expected="an array of channels"), _REQUIRED)
    t.finish()
    return Section(name, channels) if name is not None and channels is not None else None


def _check_sections(sections: tuple[Section, ...], sources: tuple[SourceProfile, ...], report: _Report) -> None:
    known = list(dict.fromkeys(s.channel for s in sources))
    listed = {c for section in sections for c in section.channels}
    if sections and (left_out := [c for c in known if c not in listed]):
        report.warnings.append(
            "section: channels in no [[section]] are not listed on the README: "
            + ", ".join(repr(c) for c in left_out)
        )
    names: set[str] = set()
    for number, section in enumerate(sections, 1):
        where = f"section[{number}] ({section.name})"
        if section.name in names:
            report.add(f"{where}.name", f"expected a unique section name, got {section.name!r} twice")
        names.add(section.name)
        for i, channel in enumerate(section.channels, 1):
            if channel not in known:
                listing = ", ".join(repr(c) for c in known) or "none: there are no sources"
                report.add(
                    f"{where}.channels[{i}]",
                    f"expected a channel of a source ({listing}), got {channel!r}{_did_you_mean(channel, known)}",
                )


# --------------------------------------------------------------------------- [[source]]

# Keys that only make sense for some kinds; a feed with `item = ...` is a mistake worth reporting.
_KIND_ONLY = {
    "url": ("feed", "listing"),
    "item": ("listing",),
    "next_page": ("listing",),
    "max_pages": ("listing",),
    "urls": ("urls",),
    "path": ("files",),
}
_IMAGE_TYPE = _string(
    "an image MIME type like 'image/png'", empty=False, pattern=r"image/[a-z0-9][a-z0-9.+-]*",
    test=lambda s: "SVG can carry script" if "svg" in s else None,
)


def _encoding_problem(name: str) -> str | None:
    try:
        codecs.lookup(name)
    except LookupError:
        return "unknown encoding"
    return None


def _extract(t: _Table) -> ExtractRules | None:
    d = ExtractRules()
    values = {
        "title": t.get("title", SELECTOR, d.title),
        "content": t.get("content", SELECTOR, d.content),
        "date": t.get("date", SELECTOR, d.date),
        "author": t.get("author", SELECTOR, d.author),
        "remove": t.get("remove", _array(SELECTOR, expected="an array of CSS selectors or XPaths"), d.remove),
        "remove_text": t.get("remove_text", _array(REGEX, expected="an array of regular expressions"), d.remove_text),
        "strip_title_suffix": t.get("strip_title_suffix", _boolean(), d.strip_title_suffix),
    }
    t.finish()
    return ExtractRules(**{k: v for k, v in values.items() if v is not None})


def _source(t: _Table, number: int) -> SourceProfile | None:
    d = SourceProfile(name="", channel="", channel_name="", kind="feed")
    before = len(t.report.problems)
    name = t.get("name", SOURCE_NAME, _REQUIRED)
    if name is not None:
        t.where = f"{t.where} ({name})"
    kind = t.get("kind", _choice(SOURCE_KINDS), _REQUIRED)
    values: dict[str, Any] = {
        "name": name,
        "channel": t.get("channel", CHANNEL, _REQUIRED),
        "channel_name": t.get("channel_name", TEXT, ""),
        "kind": kind,
    }
    if kind is None:  # which keys belong is unknown; the kind's own problem says enough
        t.known.extend(_KIND_ONLY)
    else:
        for key, kinds in _KIND_ONLY.items():
            if t.has(key) and kind not in kinds:
                t.known.append(key)
                only = " or ".join(repr(k) for k in kinds)
                t.report.add(t.key(key), f"only used by kind {only}, but this source is kind {kind!r}")
        if kind in ("feed", "listing"):
            values["url"] = t.get("url", HTTP_URL, _REQUIRED)
        if kind == "listing":
            values["item"] = t.get("item", SELECTOR, _REQUIRED)
            values["next_page"] = t.get("next_page", SELECTOR, d.next_page)
            values["max_pages"] = t.get("max_pages", _integer(1), d.max_pages)
        if kind == "urls":
            values["urls"] = t.get("urls", _array(HTTP_URL, empty=False, unique=True, expected="an array of http(s) URLs"), _REQUIRED)
        if kind == "files":
            values["path"] = t.get("path", _path(t.report, exists="any"), _REQUIRED)
    values.update(
        limit=t.get("limit", _integer(1), d.limit),
        links=t.get("links", _choice(LINK_POLICIES), d.links),
        images=t.get("images", _choice(IMAGE_POLICIES), d.images),
        link_suffix=t.get("link_suffix", _string("URL characters like '?m'", pattern=r"[A-Za-z0-9._~?&=#/%+!$',;:@*-]*"), d.link_suffix),
        image_max_bytes=t.get("image_max_bytes", _integer(1), d.image_max_bytes),
        image_types=t.get("image_types", _array(_IMAGE_TYPE, unique=True, expected="an array of image MIME types"), d.image_types),
        republish_changed=t.get("republish_changed", _boolean(), d.republish_changed),
        encoding=t.get("encoding", _string("a known text encoding like 'utf-8' or 'gb18030'", empty=False, test=_encoding_problem), d.encoding),
        rules=t.table("extract", parse=_extract) if t.has("extract") else d.rules,
        extra=t.table("extra", parse=lambda x: MappingProxyType(dict(x.data))) if t.has("extra") else MappingProxyType({}),
    )
    t.finish()
    if len(t.report.problems) > before:
        return None
    return SourceProfile(**values)


def _check_sources(sources: tuple[SourceProfile, ...], report: _Report) -> tuple[SourceProfile, ...]:
    """Cross-source rules; fills in channel_name from a sibling source or the channel itself."""
    first: dict[str, int] = {}
    by_url: dict[str, int] = {}
    named: dict[str, tuple[str, int]] = {}  # channel -> (channel_name, source number that set it)
    for number, source in enumerate(sources, 1):
        where = f"source[{number}] ({source.name})"
        if source.name in first:
            report.add(f"{where}.name", f"expected a unique name, got {source.name!r} (already used by source[{first[source.name]}])")
        first.setdefault(source.name, number)
        if source.url and source.url in by_url:
            report.warnings.append(f"{where}.url: the same URL as source[{by_url[source.url]}]: its articles are fetched twice")
        by_url.setdefault(source.url or "", number)
        if source.channel_name:
            if source.channel in named and named[source.channel][0] != source.channel_name:
                other_name, other = named[source.channel]
                report.add(
                    f"{where}.channel_name",
                    f"expected {other_name!r} as in source[{other}] of the same channel {source.channel!r}, got {source.channel_name!r}",
                )
            named.setdefault(source.channel, (source.channel_name, number))
    return tuple(
        s if s.channel_name else dataclasses.replace(s, channel_name=named.get(s.channel, (s.channel, 0))[0])
        for s in sources
    )
