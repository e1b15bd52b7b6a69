"""HTML to GitHub-flavoured Markdown."""

from __future__ import annotations

import lxml.html

from mirror.converter.images import best_image_src


def html_to_markdown(html, base_url: str | None = None) -> str:  # type: ignore[no-untyped-def]
    """Placeholder: the text of the HTML, one paragraph per block (replaced by the real converter)."""
    if not isinstance(html, str):
        root = html
    else:
        if not html.strip():
            return ""
        root = lxml.html.fromstring(html)
    return " ".join(root.text_content().split()) + "\n"


__all__ = ["best_image_src", "html_to_markdown"]
