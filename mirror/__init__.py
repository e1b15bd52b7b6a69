"""mirror: republish web articles as Markdown pages in a git repository."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lxml.html import HtmlElement

    from mirror.model import Article, ExtractRules

# The one place the version is written; pyproject.toml reads it from here (no metadata lookup at
# start-up, which costs a CI run's nothing-new pass more than its work).
__version__ = "0.1.0"


def html_to_markdown(html: str | bytes | HtmlElement, base_url: str | None = None) -> str:
    """Convert HTML to GitHub-flavoured Markdown; see :func:`mirror.converter.html_to_markdown`.

    Imported on first use: a run with nothing new never loads the converter.
    """
    from mirror.converter import html_to_markdown as _convert

    return _convert(html, base_url)


def extract_article(
    html: str | bytes,
    url: str | None = None,
    rules: ExtractRules | None = None,
    rewrite: Callable[[HtmlElement], None] | None = None,
) -> Article:
    """Extract an article from a page; see :func:`mirror.extract.extract_article`."""
    from mirror.extract import extract_article as _extract

    return _extract(html, url=url, rules=rules, rewrite=rewrite)


__all__ = ["__version__", "html_to_markdown", "extract_article"]
