"""Render pages, channel indexes and the README from Jinja2 templates a user can override."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

import jinja2

from mirror.paths import relative_path

if TYPE_CHECKING:
    from mirror.config import Config

# Footer and index strings per language; the zh-CN ones are the legacy pages' wording.
STRINGS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "home": "首页",
        "share": "手机上长按并复制下列链接或二维码分享本文章：",
        "short": "短链接：",
        "qr_alt": "二维码",
        "original": "原文地址（需翻墙访问）：",
        "published": "发布时间：",
        "author": "作者：",
        "latest": "最新文章",
        "channels": "频道",
        "older": "更早的文章",
        "newer": "较新的文章",
        "page": "第 {n} / {total} 页",
        "articles": "{n} 篇",
    },
    "en": {
        "home": "Home",
        "share": "Share this article: copy the link below or scan the QR code.",
        "short": "Short link: ",
        "qr_alt": "QR code",
        "original": "Original article: ",
        "published": "Published: ",
        "author": "By ",
        "latest": "Latest articles",
        "channels": "Channels",
        "older": "Older articles",
        "newer": "Newer articles",
        "page": "Page {n} of {total}",
        "articles": "{n} articles",
    },
}

# Any ASCII punctuation may be backslash-escaped in CommonMark; these are the ones that can
# start Markdown or HTML syntax inside a line of inline text (titles, link texts, cells).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>!#|~&])")
_WS = re.compile(r"\s+")
_DEST_UNSAFE = re.compile(r"[\x00-\x20()<>\\\x7f]")


def md_text(text: str) -> str:
    """Untrusted one-line text as inline Markdown that renders as exactly that text."""
    return _MD_SPECIAL.sub(r"\\\1", _WS.sub(" ", text or "").strip())


def md_dest(url: str) -> str:
    """A link destination that survives Markdown parsing (spaces, parentheses, brackets encoded)."""
    return _DEST_UNSAFE.sub(lambda m: quote(m.group(0), safe=""), url)


def md_link(text: str, url: str) -> str:
    """`[text](url)` with the text escaped and the destination made safe."""
    return f"[{md_text(text)}]({md_dest(url)})"


@dataclass(frozen=True, slots=True)
class NavItem:
    title: str
    href: str  # already relative to the page that shows it, or absolute


def resolve_href(href: str, from_dir: str, page_url: str) -> str:
    """A nav target as a link from `from_dir`: repo-root paths and URLs into this repo become relative.

    `page_url` is the public URL template of a file in the repo (with `{path}`); an absolute
    URL under its prefix points into this very repo, so it is rewritten to keep working in forks.
    """
    if href.startswith("/") and not href.startswith("//"):
        target, _, rest = _split_suffix(href[1:])
        return relative_path(from_dir, unquote(target)) + rest
    if page_url and "{path}" in page_url:
        prefix = page_url.split("{path}", 1)[0]
        if prefix and href.startswith(prefix):
            target, _, rest = _split_suffix(href[len(prefix):])
            # URL paths carry %-escapes; relative_path takes file paths and escapes them itself.
            return relative_path(from_dir, unquote(target)) + rest
    return href


def _split_suffix(path: str) -> tuple[str, str, str]:
    """Split `a/b.md?x#y` into ('a/b.md', '', '?x#y')."""
    cut = min((i for i in (path.find("?"), path.find("#")) if i >= 0), default=len(path))
    return path[:cut], "", path[cut:]


def _dir_of(path: str) -> str:
    parent = str(PurePosixPath(path).parent)
    return "" if parent == "." else parent


class Renderer:
    """Renders the mirror's Markdown files; deterministic: same input, same bytes."""

    def __init__(
        self,
        *,
        language: str = "zh-CN",
        page_url: str = "",
        nav: Sequence[tuple[str, str]] = (),
        templates: Path | None = None,
    ) -> None:
        self.strings = STRINGS.get(language, STRINGS["en"])
        self.page_url = page_url
        self.nav = tuple(nav)
        loaders: list[jinja2.BaseLoader] = []
        if templates is not None:
            loaders.append(jinja2.FileSystemLoader(str(templates)))
        loaders.append(jinja2.PackageLoader("mirror", "templates"))
        self.env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=False,  # Markdown, not HTML: values are escaped by md_text/md_link
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=jinja2.StrictUndefined,
        )
        self.env.filters.update(md_text=md_text, md_dest=md_dest)
        self.env.globals.update(md_link=md_link, s=self.strings)

    @classmethod
    def for_config(cls, config: Config) -> Renderer:
        """The renderer a config describes: its language, page URL, nav bar and templates."""
        settings = config.publisher
        return cls(language=settings.language, page_url=settings.page_url,
                   nav=[(n.title, n.href) for n in config.nav], templates=settings.templates)

    # ------------------------------------------------------------------ helpers
    def nav_items(self, from_dir: str, channel: str = "", channel_name: str = "") -> list[NavItem]:
        items = []
        for title, href in self.nav:
            if not channel and "{channel" in title + href:
                continue  # a "this channel" link has no meaning on the README
            title = title.replace("{channel}", channel).replace("{channel_name}", channel_name)
            href = href.replace("{channel}", channel).replace("{channel_name}", channel_name)
            items.append(NavItem(title, resolve_href(href, from_dir, self.page_url)))
        return items

    def _nav_bar(self, from_dir: str, channel: str = "", channel_name: str = "") -> str:
        items = self.nav_items(from_dir, channel, channel_name)
        return " &nbsp;|&nbsp; ".join(md_link(i.title, i.href) for i in items)

    def url_of(self, path: str) -> str:
        """The public URL of a repo file, or "" when no page_url is configured."""
        return self.page_url.replace("{path}", quote(path)) if self.page_url else ""

    def _render(self, name: str, **context: object) -> str:
        # The body may hold code blocks and hard breaks: only the ends are normalised.
        return self.env.get_template(name).render(**context).strip("\n") + "\n"

    # ------------------------------------------------------------------ files
    def page(
        self,
        *,
        path: str,
        title: str,
        body: str,
        channel: str,
        channel_name: str,
        original_url: str,
        page_url: str,
        short_url: str,
        qr_src: str,
        published: str = "",
        author: str = "",
    ) -> str:
        from_dir = _dir_of(path)
        return self._render(
            "page.md.j2",
            title=md_text(title),
            body=body.strip("\n"),
            nav=self._nav_bar(from_dir, channel, channel_name),
            channel=channel,
            channel_name=channel_name,
            original_url=original_url,
            page_url=page_url,
            short_url=short_url if short_url and short_url != page_url else "",
            share_url=short_url or page_url,
            qr_src=qr_src,
            published=published,
            author=md_text(author),
        )

    def index(
        self,
        *,
        path: str,
        channel: str,
        channel_name: str,
        entries: Iterable[tuple[str, str, str]],  # (date, title, repo path of the page)
        number: int,
        total: int,
        newer: str = "",
        older: str = "",
    ) -> str:
        from_dir = _dir_of(path)
        rows = [(date, md_link(title, relative_path(from_dir, p))) for date, title, p in entries]
        return self._render(
            "index.md.j2",
            channel=channel,
            channel_name=md_text(channel_name),
            nav=self._nav_bar(from_dir, channel, channel_name),
            rows=rows,
            number=number,
            total=total,
            newer=relative_path(from_dir, newer) if newer else "",
            older=relative_path(from_dir, older) if older else "",
        )

    def readme(
        self,
        *,
        title: str,
        sections: Sequence[tuple[str, Sequence[tuple[str, str, int]]]],  # (name, [(channel_name, index path, count)])
        latest: Iterable[tuple[str, str, str, str]],  # (date, channel_name, title, repo path)
    ) -> str:
        return self._render(
            "readme.md.j2",
            title=md_text(title),
            nav=self._nav_bar(""),
            sections=[
                (md_text(name), [(md_link(cname, p), n) for cname, p, n in chans]) for name, chans in sections
            ],
            latest=[(d, md_text(c), md_link(t, p)) for d, c, t, p in latest],
        )

