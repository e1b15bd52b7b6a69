"""`mirror convert`: one article to one Markdown page, with the publish stages but no repo or git."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from mirror.config import Config
from mirror.converter import html_to_markdown
from mirror.encoding import decode_html
from mirror.extract import extract_article
from mirror.fetch import Fetcher, FetchError
from mirror.model import FetchSettings, SourceProfile
from mirror.paths import page_id
from mirror.qr import qr_png
from mirror.render import Renderer
from mirror.rewrite import rewrite_links


def convert_one(
    source: str,
    *,
    config: Config | None = None,
    source_name: str | None = None,
    body_only: bool = False,
    base_url: str | None = None,
    now: datetime | None = None,
) -> tuple[str, bytes | None]:
    """Return (Markdown, QR PNG or None) for a local HTML file or an http(s) URL.

    With `body_only`, the whole input is converted as it is (no extraction, no page template).
    Raises ValueError (or OSError for a file) with a message for the user.
    """
    profile = config.source(source_name) if (config and source_name) else (
        config.sources[0] if config and config.sources else
        SourceProfile(name="convert", channel="articles", channel_name="Articles", kind="urls"))
    path = Path(source)
    if path.is_file():
        text, _ = decode_html(path.read_bytes(), forced=profile.encoding)
        url = base_url
    elif source.startswith(("http://", "https://")):
        settings = config.fetch if config else FetchSettings()
        try:
            with Fetcher(settings, config.local_sites if config else None) as fetcher:
                got = fetcher.get(source, encoding=profile.encoding)
        except FetchError as exc:
            raise ValueError(str(exc)) from None
        text, url = got.text, got.final_url
    else:
        raise ValueError(f"{source}: not a file, nor an http(s) URL")
    if body_only:
        return html_to_markdown(text, base_url=url), None

    article = extract_article(text, url=url, rules=profile.rules,
                              rewrite=lambda root: rewrite_links(root, "text" if profile.links == "text" else "keep"))
    settings = config.publisher if config else None
    renderer = Renderer.for_config(config) if config else Renderer(language="en")
    when = article.published or now or datetime.now(UTC)
    page_path = (f"{settings.pages_dir if settings else 'pages'}/{profile.channel}/"
                 f"{when.astimezone(UTC):%Y-%m}/{page_id(url or path.name)}.md")
    page_url = renderer.url_of(page_path)
    original = article.canonical_url or url or ""
    qr_path = page_path + ".png"
    asset_url = settings.asset_url if settings else ""
    page = renderer.page(
        path=page_path, title=article.title or path.stem, body=article.markdown, channel=profile.channel,
        channel_name=profile.channel_name, original_url=original, page_url=page_url, short_url="",
        qr_src=asset_url.replace("{path}", qr_path) if asset_url else PurePosixPath(qr_path).name,
        published=f"{article.published.astimezone(UTC):%Y-%m-%d}" if article.published else "",
        author=article.author or "",
    )
    data = page_url or original
    return page, (qr_png(data) if data else None)
