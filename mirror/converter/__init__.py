"""HTML to GitHub-flavoured Markdown: `html_to_markdown` for a page or fragment, `best_image_src` for an <img>."""

from __future__ import annotations

import re
import threading
from urllib.parse import urljoin

from lxml import etree

from mirror.converter.core import Converter
from mirror.converter.images import best_image_src
from mirror.converter.inline import render_inline

# Characters libxml2 refuses or that cannot be encoded: NUL, other C0
# controls, lone surrogates (from invalid UTF-8 decoded with surrogateescape).
_UNPARSABLE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\ud800-\udfff]")
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")


def _parse(html: str | bytes):  # type: ignore[no-untyped-def]
    if isinstance(html, bytes):
        html = html.decode("utf-8", errors="replace")
    if _UNPARSABLE.search(html):
        html = _UNPARSABLE.sub("", html)
    if html[:200].lstrip()[:5].lower() == "<?xml":
        html = _XML_DECL.sub("", html, count=1)
    if not html.strip():
        return None
    return etree.fromstring(html.encode("utf-8"), _parser())


_local = threading.local()


def _parser() -> etree.HTMLParser:
    # Making a parser costs as much as parsing a page; one per thread is safe to reuse.
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = etree.HTMLParser(encoding="utf-8")
    return parser


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
        if isinstance(html, (str, bytes)):
            root = _parse(html)
            if root is None:
                return ""
        else:
            root = html
        return Converter(_base_of(root, base_url)).convert(root)
    except Exception:  # the converter's last line of defence: plain, escaped text
        try:
            text = html if isinstance(html, str) else "".join(html.itertext())
            out = render_inline([_TAG.sub(" ", text)])
            return out + "\n" if out.strip() else ""
        except Exception:
            return ""


__all__ = ["Converter", "best_image_src", "html_to_markdown"]
