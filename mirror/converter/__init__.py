"""HTML to GitHub-flavoured Markdown: `html_to_markdown` for a page or fragment, `best_image_src` for an <img>."""

from __future__ import annotations

import re
from urllib.parse import urljoin

from mirror.converter.core import Converter
from mirror.converter.images import best_image_src
from mirror.converter.inline import render_inline
from mirror.converter.parsing import parse_document

_TAG = re.compile(r"<[^>]*>")


def _base_of(root, base_url: str | None) -> str | None:  # type: ignore[no-untyped-def]
    """`base_url`, overridden by the document's <base href> (itself resolved against it)."""
    try:
        base = next(root.iter("base"), None)
    except Exception:
        return base_url
    href = base.get("href") if base is not None else None
    if not href or not href.strip():
        return base_url
    try:
        return urljoin(base_url, href.strip()) if base_url else href.strip()
    except ValueError:
        return base_url


def html_to_markdown(html, base_url: str | None = None) -> str:  # type: ignore[no-untyped-def]
    """GitHub-flavoured Markdown for an HTML page or fragment, or an lxml element.

    Never raises: broken or hostile input gives the best Markdown it can,
    "" when there is nothing.  A given element is not modified.
    """
    try:
        cjk = None
        if isinstance(html, (str, bytes)):
            root, cjk = parse_document(html)
            if root is None:
                return ""
        else:
            root = html
        return Converter(_base_of(root, base_url)).convert(root, cjk=cjk)
    except Exception:  # the converter's last line of defence: plain, escaped text
        try:
            text = html if isinstance(html, str) else "".join(html.itertext())
            out = render_inline([_TAG.sub(" ", text)])
            return out + "\n" if out.strip() else ""
        except Exception:
            return ""


__all__ = ["Converter", "best_image_src", "html_to_markdown"]
