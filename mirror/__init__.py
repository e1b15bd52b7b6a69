"""mirror: republish web articles as Markdown pages in a git repository."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mirror")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

from mirror.converter import html_to_markdown  # noqa: E402


def extract_article(html, url=None, rules=None, rewrite=None):  # type: ignore[no-untyped-def]
    """Extract an article from a page; see :func:`mirror.extract.extract_article`."""
    from mirror.extract import extract_article as _extract

    return _extract(html, url=url, rules=rules, rewrite=rewrite)


__all__ = ["__version__", "html_to_markdown", "extract_article"]
