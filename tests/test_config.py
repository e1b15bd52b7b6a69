"""The config file is read once and every mistake in it is reported with the file, the key and what was expected."""

from __future__ import annotations

import dataclasses
import re
import textwrap
from pathlib import Path

import pytest

from mirror.config import (
    Config,
    ConfigError,
    NavLink,
    PublisherSettings,
    Section,
    ShortenerSettings,
    UnknownSourceError,
    load_config,
    parse_config,
)
from mirror.model import ExtractRules, FetchSettings, SourceProfile

ROOT = Path(__file__).resolve().parents[1]

FULL = """\
[publisher]
repo = "../output"
branch = "live"
remote = "../remote.git"
author = "Mirror Bot <bot@example.org>"
page_url = "github:someone/news-mirror"
asset_url = "jsdelivr:someone/news-mirror"
language = "en"
title = "News Mirror"
pages_dir = "p"
indexes_dir = "idx"
assets_dir = "a"
index_page_size = 50
readme_latest = 10
keep_pages = 600
folder_limit = 500
templates = "templates"
lock_timeout = 30.5
push_attempts = 3

[fetch]
timeout = 12
deadline = 40
retries = 0
backoff = 0.25
max_backoff = 8
per_host = 2
workers = 4
delay = 1
user_agent = "mirror-test/1"
max_bytes = 1048576
allow_private = true
allow_hosts = ["127.0.0.1", "localhost"]

[fetch.local_sites]
"https://demo.example/" = "demo"

[shortener]
provider = "shlink"
api_url = "https://s.example.org"
api_key_env = "MIRROR_TEST_SHLINK_KEY"
timeout = 3
domain = "s.example.org"

[[nav]]
title = "Home"
href = "/README.md"

[[nav]]
title = "{channel_name}"
href = "/indexes/{channel}.md"

[[nav]]
title = "Sister site"
href = "https://other.example/"

[[section]]
name = "News"
channels = ["news", "tech"]

[[section]]
name = "Old"
channels = ["archive"]

[[source]]
name = "demo-news"
channel = "news"
channel_name = "News"
kind = "feed"
url = "https://demo.example/feed.xml"
links = "mirror"
images = "localize"
link_suffix = "?m"
limit = 50
republish_changed = true
encoding = "gb18030"
image_max_bytes = 1000
image_types = ["image/png"]

[source.extract]
title = "h1.headline"
content = "article .body"
date = "//time[@datetime]"
author = ".byline"
remove = [".promo", "//aside"]
remove_text = ["^Subscribe now"]
strip_title_suffix = false

[source.extra]
note = "anything"

[[source]]
name = "demo-tech"
channel = "tech"
kind = "listing"
url = "https://demo.example/tech/"
item = "a.story"
next_page = "a[rel=next]"
max_pages = 3

[[source]]
name = "picked"
channel = "news"
kind = "urls"
urls = ["https://demo.example/a.html", "https://demo.example/b.html"]

[[source]]
name = "saved"
channel = "archive"
channel_name = "Archive"
kind = "files"
path = "saved"
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A config folder with the folders FULL refers to; returns the config file's path."""
    folder = tmp_path / "conf"
    for sub in ("demo", "templates", "saved"):
        (folder / sub).mkdir(parents=True)
    (folder / "templates" / "page.md.j2").write_text("### {{ title }}\n", encoding="utf-8")
    path = folder / "mirror.toml"
    path.write_text(FULL, encoding="utf-8")
    return path


def edit(path: Path, old: str, new: str) -> Path:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def error_of(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return info.value


def minimal(extra: str = "") -> dict:
    import tomllib

    return tomllib.loads('[publisher]\nrepo = "out"\n' + textwrap.dedent(extra))


# --------------------------------------------------------------------------- a valid config


def test_full_config_loads_every_key(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIRROR_TEST_SHLINK_KEY", "s3cret")
    config = load_config(site)
    base = site.parent

    assert config.path == site
    assert config.publisher == PublisherSettings(
        repo=base.parent / "output",
        branch="live",
        remote=str(base.parent / "remote.git"),
        author="Mirror Bot <bot@example.org>",
        page_url="https://github.com/someone/news-mirror/blob/live/{path}",
        asset_url="https://cdn.jsdelivr.net/gh/someone/news-mirror@live/{path}",
        language="en",
        title="News Mirror",
        pages_dir="p",
        indexes_dir="idx",
        assets_dir="a",
        index_page_size=50,
        readme_latest=10,
        keep_pages=600,
        folder_limit=500,
        templates=base / "templates",
        lock_timeout=30.5,
        push_attempts=3,
    )
    assert config.fetch == FetchSettings(
        timeout=12.0, deadline=40.0, retries=0, backoff=0.25, max_backoff=8.0, per_host=2, workers=4, delay=1.0,
        user_agent="mirror-test/1", max_bytes=1048576, allow_private=True,
        allow_hosts=("127.0.0.1", "localhost"),
    )
    assert dict(config.local_sites) == {"https://demo.example/": base / "demo"}
    assert config.shortener.provider == "shlink"
    assert config.shortener.api_url == "https://s.example.org"
    assert config.shortener.api_key == "s3cret"
    assert config.shortener.timeout == 3.0
    assert config.shortener.domain == "s.example.org"
    assert config.nav == (
        NavLink("Home", "/README.md"),
        NavLink("{channel_name}", "/indexes/{channel}.md"),
        NavLink("Sister site", "https://other.example/"),
    )
    assert config.sections == (Section("News", ("news", "tech")), Section("Old", ("archive",)))
    assert [s.name for s in config.sources] == ["demo-news", "demo-tech", "picked", "saved"]
    news = config.source("demo-news")
    assert news == SourceProfile(
        name="demo-news", channel="news", channel_name="News", kind="feed",
        url="https://demo.example/feed.xml", links="mirror", images="localize", link_suffix="?m",
        limit=50, republish_changed=True, encoding="gb18030", image_max_bytes=1000,
        image_types=("image/png",),
        rules=ExtractRules(
            title="h1.headline", content="article .body", date="//time[@datetime]", author=".byline",
            remove=(".promo", "//aside"), remove_text=("^Subscribe now",), strip_title_suffix=False,
        ),
        extra={"note": "anything"},
    )
    tech = config.source("demo-tech")
    assert (tech.item, tech.next_page, tech.max_pages) == ("a.story", "a[rel=next]", 3)
    assert tech.channel_name == "tech"  # no channel_name anywhere: the channel itself
    assert config.source("picked").channel_name == "News"  # inherited from the channel's other source
    assert config.source("picked").urls == ("https://demo.example/a.html", "https://demo.example/b.html")
    assert config.source("saved").path == base / "saved"
    assert dict(config.channels) == {"news": "News", "tech": "tech", "archive": "Archive"}
    assert config.warnings == ()


def test_config_is_frozen(site: Path) -> None:
    config = load_config(site)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.publisher.branch = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.local_sites["https://evil.example/"] = Path("/")  # type: ignore[index]


def test_smallest_config_gets_the_documented_defaults(tmp_path: Path) -> None:
    config = parse_config(minimal(), tmp_path / "mirror.toml")
    assert config.publisher == PublisherSettings(repo=tmp_path / "out")
    assert config.fetch == FetchSettings()
    assert config.shortener == ShortenerSettings()
    assert config.sources == () and config.sections == () and dict(config.local_sites) == {}
    assert config.nav == (NavLink("首页", "/README.md"), NavLink("{channel_name}", "/indexes/{channel}.md"))
    english = parse_config(minimal('language = "en"'), tmp_path / "mirror.toml")
    assert english.nav[0] == NavLink("Home", "/README.md")
    assert parse_config(minimal() | {"nav": []}, tmp_path / "m.toml").nav == ()


def test_every_record_field_is_a_toml_key(tmp_path: Path) -> None:
    """The records' field names are the TOML keys: each one, given its default, is accepted."""

    def toml_values(record: object, skip: set[str]) -> dict:
        return {
            f.name: list(v) if isinstance(v, tuple) else v
            for f in dataclasses.fields(record)  # type: ignore[arg-type]
            if f.name not in skip and (v := getattr(record, f.name)) is not None
        }

    source = SourceProfile(name="s", channel="c", channel_name="C", kind="feed", url="https://x.example/")
    data = {
        "publisher": toml_values(PublisherSettings(repo=Path("out")), {"repo"}) | {"repo": "out"},
        "fetch": toml_values(FetchSettings(), set()),
        "shortener": toml_values(ShortenerSettings(), set()),
        "source": [
            toml_values(source, {"rules", "extra", "urls", "path", "max_pages"})
            | {"extract": toml_values(ExtractRules(), set())}
        ],
    }
    config = parse_config(data, tmp_path / "mirror.toml")
    assert config.fetch == FetchSettings()
    assert config.sources[0] == source


def test_relative_paths_are_resolved_against_the_config_folder_not_the_cwd(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere" / "deeper"
    elsewhere.mkdir(parents=True)
    for sub in ("demo", "templates", "saved"):  # decoys: found only if the CWD were used
        (elsewhere / sub).mkdir()
    edit(site, 'repo = "../output"', 'repo = "out"')
    monkeypatch.chdir(elsewhere)
    config = load_config(Path("../../conf/mirror.toml"))
    base = tmp_path / "conf"
    assert config.path == site
    assert config.publisher.repo == base / "out"
    assert config.publisher.remote == str(tmp_path / "remote.git")
    assert config.publisher.templates == base / "templates"
    assert config.local_sites["https://demo.example/"] == base / "demo"
    assert config.source("saved").path == base / "saved"


def test_a_missing_relative_folder_is_reported_with_its_resolved_path(site: Path, tmp_path: Path, monkeypatch) -> None:
    (site.parent / "saved").rmdir()
    (tmp_path / "saved").mkdir()  # present next to the CWD, which must not count
    monkeypatch.chdir(tmp_path)
    err = error_of(Path("conf/mirror.toml"))
    assert str(err).startswith("conf/mirror.toml: source[4] (saved).path: expected a path to an existing file or folder")
    assert str(site.parent / "saved") in str(err)


@pytest.mark.parametrize(
    ("value", "branch", "expected"),
    [
        ("github:me/repo", "main", "https://github.com/me/repo/blob/main/{path}"),
        ("gitlab:group/sub/repo", "dev", "https://gitlab.com/group/sub/repo/-/blob/dev/{path}"),
        ("codeberg:me/repo", "main", "https://codeberg.org/me/repo/src/branch/main/{path}"),
        ("gitea:git.example.org:3000/me/repo", "pages", "https://git.example.org:3000/me/repo/src/branch/pages/{path}"),
        ("https://host.example/{branch}/x/{path}", "b/1", "https://host.example/b/1/x/{path}"),
        ("https://host.example/{path}", "main", "https://host.example/{path}"),
        ("", "main", ""),
    ],
)
def test_page_url_presets_expand_with_the_branch(tmp_path: Path, value: str, branch: str, expected: str) -> None:
    config = parse_config(minimal(f'branch = "{branch}"\npage_url = "{value}"'), tmp_path / "m.toml")
    assert config.publisher.page_url == expected


def test_asset_url_preset_expands_with_the_branch(tmp_path: Path) -> None:
    config = parse_config(minimal('branch = "gh-pages"\nasset_url = "jsdelivr:me/repo"'), tmp_path / "m.toml")
    assert config.publisher.asset_url == "https://cdn.jsdelivr.net/gh/me/repo@gh-pages/{path}"


@pytest.mark.parametrize(
    ("key", "value", "why"),
    [
        ("page_url", "https://host.example/page", "{path} is missing"),
        ("page_url", "ftp://host.example/{path}", "not http or https"),
        ("page_url", "https://host.example/{path}?t={time}", "unknown placeholder {time}"),
        ("page_url", "https://{path}/x", "{path} must come after the host"),
        ("page_url", "bitbucket:me/repo", "unknown preset 'bitbucket'"),
        ("page_url", "github:me/repo/extra", "expected github:OWNER/REPO"),
        ("page_url", "gitea:me/repo", "expected gitea:HOST/OWNER/REPO"),
        ("asset_url", "github:me/repo", "unknown preset 'github'"),
        ("asset_url", "https://cdn.example/{{path}}", "'{{' and '}}' are not allowed"),
    ],
)
def test_bad_url_templates_are_named(tmp_path: Path, key: str, value: str, why: str) -> None:
    path = tmp_path / "conf" / "mirror.toml"
    with pytest.raises(ConfigError) as info:
        parse_config(minimal(f'{key} = "{value}"'), path)
    assert str(info.value).startswith(f"{path}: publisher.{key}: expected a preset (")
    assert "an http(s) URL template containing {path}" in str(info.value)
    assert f"got {value!r}" in str(info.value) and why in str(info.value)


# --------------------------------------------------------------------------- the shortener's key


def test_api_key_is_read_from_the_named_environment_variable(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIRROR_TEST_SHLINK_KEY", "from-env")
    assert load_config(site).shortener.api_key == "from-env"
    assert "from-env" not in site.read_text(encoding="utf-8")


def test_unset_api_key_variable_is_a_warning_not_an_error(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MIRROR_TEST_SHLINK_KEY", raising=False)
    config = load_config(site)  # a fork's CI has no secrets: publishing must still work
    assert config.shortener.api_key == ""
    assert config.warnings == (
        "shortener.api_key_env: environment variable MIRROR_TEST_SHLINK_KEY is not set; "
        "the shlink shortener will be called without its api_key",
    )


def test_api_key_in_the_file_is_accepted_but_not_together_with_api_key_env(site: Path) -> None:
    edit(site, 'api_key_env = "MIRROR_TEST_SHLINK_KEY"', 'api_key = "inline"')
    assert load_config(site).shortener.api_key == "inline"
    edit(site, 'api_key = "inline"', 'api_key = "inline"\napi_key_env = "X"')
    assert str(error_of(site)) == f"{site}: shortener.api_key_env: expected either api_key or api_key_env, got both"


def test_isgd_needs_no_api_url_but_servers_do(tmp_path: Path) -> None:
    config = parse_config(minimal('[shortener]\nprovider = "isgd"'), tmp_path / "m.toml")
    assert (config.shortener.provider, config.shortener.api_url) == ("isgd", "")  # the shortener's default
    with pytest.raises(ConfigError, match=r"m\.toml: shortener\.api_url: missing: expected the http\(s\) URL of the kutt server"):
        parse_config(minimal('[shortener]\nprovider = "kutt"'), tmp_path / "m.toml")


def test_yourls_needs_a_token_or_username_and_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    table = '[shortener]\nprovider = "yourls"\napi_url = "https://y.example/yourls-api.php"\n'
    with pytest.raises(ConfigError) as info:
        parse_config(minimal(table), tmp_path / "m.toml")
    assert str(info.value) == (
        f"{tmp_path / 'm.toml'}: shortener.api_key: missing: YOURLS needs api_key (its signature token), or username and password"
    )
    monkeypatch.setenv("MIRROR_TEST_YOURLS_PASSWORD", "pw")
    config = parse_config(minimal(table + 'username = "me"\npassword_env = "MIRROR_TEST_YOURLS_PASSWORD"'), tmp_path / "m.toml")
    assert (config.shortener.username, config.shortener.password) == ("me", "pw")


# --------------------------------------------------------------------------- one test per class of error

ERRORS = [
    # (what to replace in FULL, its replacement, the key, the message after the key)
    # types: true is no integer, 2.5 is no count, "20" is no number
    ('retries = 0', 'retries = true', "fetch.retries", "expected an integer >= 0, got true (a boolean)"),
    ('workers = 4', 'workers = 2.5', "fetch.workers", "expected an integer >= 1, got 2.5 (a float)"),
    ('timeout = 12', 'timeout = "12"', "fetch.timeout", "expected a number > 0, got '12' (a string)"),
    ('allow_private = true', 'allow_private = 1', "fetch.allow_private", "expected true or false, got 1 (an integer)"),
    ('allow_hosts = ["127.0.0.1", "localhost"]', 'allow_hosts = "localhost"', "fetch.allow_hosts",
     "expected an array of host names or IP addresses, got 'localhost' (a string)"),
    # ranges
    ('timeout = 12', 'timeout = 0', "fetch.timeout", "expected a number > 0, got 0"),
    ('deadline = 40', 'deadline = -3', "fetch.deadline", "expected a number > 0, got -3"),
    ('retries = 0', 'retries = -1', "fetch.retries", "expected an integer >= 0, got -1"),
    ('workers = 4', 'workers = 0', "fetch.workers", "expected an integer >= 1, got 0"),
    ('max_bytes = 1048576', 'max_bytes = 0', "fetch.max_bytes", "expected an integer >= 1, got 0"),
    ('lock_timeout = 30.5', 'lock_timeout = -1', "publisher.lock_timeout", "expected a number > 0, got -1"),
    ('index_page_size = 50', 'index_page_size = 0', "publisher.index_page_size", "expected an integer >= 1, got 0"),
    # enums
    ('kind = "feed"', 'kind = "rss"', "source[1] (demo-news).kind",
     "expected one of 'feed', 'listing', 'urls', 'files', got 'rss'"),
    ('links = "mirror"', 'links = "mirorr"', "source[1] (demo-news).links",
     "expected one of 'keep', 'mirror', 'text', got 'mirorr' (did you mean 'mirror'?)"),
    ('images = "localize"', 'images = "copy"', "source[1] (demo-news).images", "expected one of 'keep', 'localize', got 'copy'"),
    ('language = "en"', 'language = "fr"', "publisher.language", "expected one of 'zh-CN', 'en', got 'fr'"),
    ('provider = "shlink"', 'provider = "bitly"', "shortener.provider",
     "expected one of 'none', 'shlink', 'yourls', 'kutt', 'isgd', got 'bitly'"),
    # URLs
    ('url = "https://demo.example/feed.xml"', 'url = "file:///etc/passwd"', "source[1] (demo-news).url",
     "expected an http(s) URL, got 'file:///etc/passwd' (not http or https)"),
    ('"https://demo.example/" = "demo"', '"https://demo.example" = "demo"', 'fetch.local_sites."https://demo.example"',
     "expected an http(s) URL prefix ending with '/' as the key, got 'https://demo.example' (does not end with '/')"),
    ('"https://demo.example/" = "demo"', '"https://demo.example/" = "nowhere"', 'fetch.local_sites."https://demo.example/"',
     "expected a path to an existing folder, got 'nowhere'"),
    ('urls = ["https://demo.example/a.html", "https://demo.example/b.html"]', 'urls = ["https://demo.example/a.html", "b.html"]',
     "source[3] (picked).urls[2]", "expected an http(s) URL, got 'b.html' (not http or https)"),
    # kind-specific keys
    ('url = "https://demo.example/feed.xml"', '', "source[1] (demo-news).url", "missing: expected an http(s) URL"),
    ('item = "a.story"', '', "source[2] (demo-tech).item", "missing: expected a CSS selector or an XPath"),
    ('urls = ["https://demo.example/a.html", "https://demo.example/b.html"]', 'urls = []', "source[3] (picked).urls",
     "expected a non-empty array of http(s) URLs, got []"),
    ('path = "saved"', '', "source[4] (saved).path", "missing: expected a path to an existing file or folder"),
    ('kind = "urls"', 'kind = "urls"\nitem = "a"', "source[3] (picked).item",
     "only used by kind 'listing', but this source is kind 'urls'"),
    # selectors and regexes compile
    ('content = "article .body"', 'content = "article[[body"', "source[1] (demo-news).extract.content",
     "expected a CSS selector or an XPath (starting with '/' or '('), got 'article[[body' ("),
    ('remove = [".promo", "//aside"]', 'remove = [".promo", "//aside["]', "source[1] (demo-news).extract.remove[2]",
     "expected a CSS selector or an XPath (starting with '/' or '('), got '//aside[' ("),
    ('remove_text = ["^Subscribe now"]', 'remove_text = ["(Subscribe"]', "source[1] (demo-news).extract.remove_text[1]",
     "expected a regular expression (Python re syntax), got '(Subscribe' (missing ), unterminated subpattern"),
    ('remove_text = ["^Subscribe now"]', 'remove_text = ["(?i)^subscribe"]', "source[1] (demo-news).extract.remove_text[1]",
     "(a flag like (?i) must apply to a group here: write (?i:...))"),
    ('remove_text = ["^Subscribe now"]', 'remove_text = ["a)|(b"]', "source[1] (demo-news).extract.remove_text[1]",
     "got 'a)|(b' (unbalanced parenthesis"),
    # names, channels, sections
    ('name = "picked"', 'name = "demo-news"', "source[3] (demo-news).name",
     "expected a unique name, got 'demo-news' (already used by source[1])"),
    ('name = "picked"', 'name = "bad name"', "source[3].name", "expected a name of letters, digits, '.', '_' or '-'"),
    ('channel = "archive"', 'channel = ".."', "source[4] (saved).channel",
     "expected a channel of lowercase letters, digits, '.', '_' or '-' (starting with a letter or digit), got '..'"),
    ('channel = "archive"\nchannel_name = "Archive"', 'channel = "news"\nchannel_name = "Archive"', "source[4] (saved).channel_name",
     "expected 'News' as in source[1] of the same channel 'news', got 'Archive'"),
    ('channels = ["news", "tech"]', 'channels = ["news", "sport"]', "section[1] (News).channels[2]",
     "expected a channel of a source ('news', 'tech', 'archive'), got 'sport'"),
    ('channels = ["news", "tech"]', 'channels = ["news", "news"]', "section[1] (News).channels[2]",
     "expected no duplicates, got 'news' twice"),
    # nav
    ('href = "/README.md"', 'href = "README.md"', "nav[1].href",
     "expected a repo path like '/README.md' or an http(s) URL, got 'README.md' (relative paths are not allowed"),
    ('href = "/README.md"', 'href = "//evil.example/x"', "nav[1].href", "got '//evil.example/x' (not http or https)"),
    ('href = "/README.md"', 'href = "/../../etc/passwd"', "nav[1].href", "(no '.' or '..' in a repo path)"),
    ('href = "/indexes/{channel}.md"', 'href = "/indexes/{chanel}.md"', "nav[2].href", "unknown placeholder {chanel}"),
    # publisher details
    ('author = "Mirror Bot <bot@example.org>"', 'author = "bot@example.org"', "publisher.author",
     "expected 'Name <email>', got 'bot@example.org'"),
    ('branch = "live"', 'branch = "-f"', "publisher.branch", "expected a git branch name, got '-f'"),
    ('remote = "../remote.git"', 'remote = "--upload-pack=evil"', "publisher.remote", "must not start with '-'"),
    ('pages_dir = "p"', 'pages_dir = "../p"', "publisher.pages_dir", "expected a folder inside the repo, like 'pages', got '../p'"),
    ('assets_dir = "a"', 'assets_dir = "p/a"', "publisher.pages_dir", "expected a folder apart from assets_dir ('p/a'), got 'p'"),
    ('repo = "../output"', 'repo = "out\\u0000put"', "publisher.repo",
     "expected a path, got 'out\\x00put' (control characters are not allowed)"),
    ('templates = "templates"', 'templates = "demo"', "publisher.templates",
     "expected a folder with any of page.md.j2, index.md.j2, readme.md.j2, got 'demo'"),
    ('image_types = ["image/png"]', 'image_types = ["image/svg+xml"]', "source[1] (demo-news).image_types[1]",
     "(SVG can carry script)"),
    ('encoding = "gb18030"', 'encoding = "utf9"', "source[1] (demo-news).encoding", "got 'utf9' (unknown encoding)"),
    ('\nlimit = 50', '\nlimit = 0', "source[1] (demo-news).limit", "expected an integer >= 1, got 0"),
    # shapes
    ('max_pages = 3', 'max_pages = 3\nextract = "article"', "source[2] (demo-tech).extract",
     "expected a table, got 'article' (a string)"),
    ('[publisher]\nrepo = "../output"', '[publisher]', "publisher.repo", "missing: expected a path"),
    # unknown keys, with a suggestion when one is close
    ('retries = 0', 'retires = 0', "fetch", "unknown key 'retires'; did you mean 'retries'?"),
    ('channel = "tech"', 'chanel = "tech"', "source[2] (demo-tech)", "unknown key 'chanel'; did you mean 'channel'?"),
    ('content = "article .body"', 'body = "article .body"', "source[1] (demo-news).extract",
     "unknown key 'body'; expected one of: 'title', 'content', 'date', 'author', 'remove', 'remove_text', 'strip_title_suffix'"),
]


@pytest.mark.parametrize(("old", "new", "key", "message"), ERRORS, ids=[e[2] + ":" + e[1][:20] for e in ERRORS])
def test_each_mistake_names_the_file_the_key_and_what_was_expected(site: Path, old, new, key, message) -> None:
    err = error_of(edit(site, old, new))
    first = str(err).splitlines()[0]
    assert first.startswith(f"{site}: {key}: "), str(err)
    assert message in first, str(err)
    assert err.key == key and err.path == site


def test_unknown_top_level_key_suggests_the_right_one(tmp_path: Path) -> None:
    path = tmp_path / "mirror.toml"
    path.write_text('[publisher]\nrepo = "out"\n[[sources]]\nname = "x"\n', encoding="utf-8")
    assert str(error_of(path)) == f"{path}: unknown key 'sources'; did you mean 'source'?"


def test_a_single_table_where_an_array_of_tables_belongs(tmp_path: Path) -> None:
    path = tmp_path / "mirror.toml"
    path.write_text('[publisher]\nrepo = "out"\n[source]\nname = "x"\n', encoding="utf-8")
    assert str(error_of(path)) == f"{path}: source: expected an array of tables ([[source]]), got a table ([source])"


def test_missing_publisher_table(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({}, Path("config/mirror.toml"))
    assert str(info.value) == "config/mirror.toml: publisher: missing: expected a [publisher] table"


def test_all_mistakes_are_reported_at_once(site: Path) -> None:
    edit(site, "retries = 0", "retires = 0")
    edit(site, 'kind = "feed"', 'kind = "rss"')
    edit(site, 'language = "en"', 'language = "fr"')
    err = error_of(site)
    keys = [key for key, _ in err.problems]
    assert keys == ["publisher.language", "fetch", "source[1] (demo-news).kind"]
    assert len(str(err).splitlines()) == 3


def test_template_syntax_errors_are_found_at_load(site: Path) -> None:
    (site.parent / "templates" / "index.md.j2").write_text("# ok\n{% for x in items %}\n{{ x }\n", encoding="utf-8")
    first = str(error_of(site)).splitlines()[0]
    assert first.startswith(f"{site}: publisher.templates: index.md.j2 line 3: template syntax error:")


def test_toml_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "mirror.toml"
    path.write_text('[publisher]\nrepo = "out"\nbranch = main\n', encoding="utf-8")
    message = str(error_of(path))
    assert message.startswith(f"{path}: TOML syntax error: ")
    assert re.search(r"line 3, column 10", message), message


def test_duplicate_key_is_a_toml_error(tmp_path: Path) -> None:
    path = tmp_path / "mirror.toml"
    path.write_text('[publisher]\nrepo = "out"\nrepo = "other"\n', encoding="utf-8")
    assert "line 3" in str(error_of(path))


def test_missing_file_and_non_utf8_file(tmp_path: Path) -> None:
    assert str(error_of(tmp_path / "nope.toml")).startswith(f"{tmp_path / 'nope.toml'}: no such config file")
    path = tmp_path / "mirror.toml"
    path.write_bytes('[publisher]\nrepo = "out"\ntitle = "新闻"\n'.encode("gb18030"))
    assert str(error_of(path)) == f"{path}: not UTF-8 text (a TOML file must be UTF-8): bad byte at line 3"


def test_a_utf8_bom_is_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "mirror.toml"
    path.write_bytes(b"\xef\xbb\xbf" + '[publisher]\nrepo = "out"\ntitle = "新闻"\n'.encode())
    assert load_config(path).publisher.title == "新闻"


def test_unknown_source_name_lists_the_names(site: Path) -> None:
    config = load_config(site)
    with pytest.raises(KeyError) as info:
        config.source("demo-new")
    assert isinstance(info.value, UnknownSourceError) and isinstance(info.value, ConfigError)
    assert str(info.value) == (
        f"{site}: no source named 'demo-new' (did you mean 'demo-news'?); "
        "the sources are: 'demo-news', 'demo-tech', 'picked', 'saved'"
    )


# --------------------------------------------------------------------------- the documentation and the demo


def test_docs_list_every_key_and_their_example_is_valid(tmp_path: Path) -> None:
    docs = (ROOT / "docs" / "CONFIG.md").read_text(encoding="utf-8")
    keys = {
        "publisher": [f.name for f in dataclasses.fields(PublisherSettings)],
        "fetch": [f.name for f in dataclasses.fields(FetchSettings)] + ["local_sites"],
        "shortener": [f.name for f in dataclasses.fields(ShortenerSettings)] + ["api_key_env", "password_env"],
        "source": [f.name for f in dataclasses.fields(SourceProfile) if f.name != "rules"] + ["extract"],
        "extract": [f.name for f in dataclasses.fields(ExtractRules)],
        "nav": ["title", "href"],
        "section": ["name", "channels"],
    }
    missing = [f"{table}.{key}" for table, names in keys.items() for key in names if f"`{key}`" not in docs]
    assert not missing, f"docs/CONFIG.md does not document {missing}"

    example = re.search(r"```toml\n(\[publisher\].*?)```", docs, re.S)
    assert example, "docs/CONFIG.md has no complete example starting with [publisher]"
    folder = tmp_path / "config"
    (folder / "demo").mkdir(parents=True)
    (folder / "mirror.toml").write_text(example.group(1), encoding="utf-8")
    config = load_config(folder / "mirror.toml")
    assert config.sources


def test_the_shipped_config_is_valid() -> None:
    path = ROOT / "config" / "mirror.toml"
    if not path.exists():
        pytest.skip("no config/mirror.toml in this tree yet")
    assert isinstance(load_config(path), Config)


def test_config_error_survives_pickling(site: Path) -> None:
    """Errors cross process boundaries (workers) intact."""
    import pickle

    edit(site, 'language = "en"', 'language = "fr"')
    edit(site, 'content = "article .body"', 'content = "article[[body"')
    err = error_of(site)
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is ConfigError and str(copy) == str(err) and copy.problems == err.problems
    assert "invalid selector" not in str(err)  # the selector is shown once, by the "got"


def test_likely_slips_are_warnings(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIRROR_TEST_SHLINK_KEY", "k")
    edit(site, 'channels = ["news", "tech"]', 'channels = ["news"]')
    edit(site, 'url = "https://demo.example/tech/"', 'url = "https://demo.example/feed.xml"')
    assert load_config(site).warnings == (
        "source[2] (demo-tech).url: the same URL as source[1]: its articles are fetched twice",
        "section: channels in no [[section]] are not listed on the README: 'tech'",
    )


# --------------------------------------------------------------------------- no value can crash the loader

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

TOML_SCALARS = st.one_of(
    st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(), st.text(max_size=30),
    st.sampled_from(["", "..", "/", "\x00", "a\nb", "{path}", "https://x.example/{path}", "a[[", "(", "news", "-x", "github:a/b"]),
)
TOML_VALUES = st.recursive(
    TOML_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def _paths(node: object, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


@pytest.fixture(scope="module")
def full_data(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    import tomllib

    folder = tmp_path_factory.mktemp("fuzz") / "conf"
    for sub in ("demo", "templates", "saved"):
        (folder / sub).mkdir(parents=True)
    (folder / "templates" / "page.md.j2").write_text("x\n", encoding="utf-8")
    return tomllib.loads(FULL), folder / "mirror.toml"


def test_any_value_anywhere_gives_a_config_or_a_config_error(full_data: tuple[dict, Path]) -> None:
    import copy

    data, path = full_data
    paths = _paths(data)

    @settings(max_examples=200, deadline=None)
    @given(where=st.sampled_from(paths), value=TOML_VALUES, extra_key=st.booleans())
    def check(where: tuple, value: object, extra_key: bool) -> None:
        mutated = copy.deepcopy(data)
        node = mutated
        for step in where[:-1]:
            node = node[step]
        if extra_key and isinstance(node, dict):
            node[f"{where[-1]}_x"] = value
        else:
            node[where[-1]] = value
        try:
            parse_config(mutated, path)
        except ConfigError as err:
            assert str(err).startswith(f"{path}: ")
            assert all(message for _, message in err.problems)

    check()
