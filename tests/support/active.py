"""Find active content in produced Markdown: render it as GitHub would (raw HTML on) and walk the HTML."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import lxml.html
from lxml import etree
from markdown_it import MarkdownIt

MD = MarkdownIt("commonmark", {"html": True}).enable("table").enable("strikethrough")
# markdown-it refuses javascript: link destinations itself; other renderers may not, so the check
# also renders with every destination let through, to see what the Markdown really says.
TRUSTING = MarkdownIt("commonmark", {"html": True}).enable("table").enable("strikethrough")
TRUSTING.validateLink = lambda url: True

# Elements that run code, load other documents, submit data or restyle the page.
ACTIVE_TAGS = frozenset({
    "script", "iframe", "frame", "frameset", "object", "embed", "applet", "form", "input", "button",
    "textarea", "select", "style", "link", "meta", "base", "svg", "math", "noscript", "template",
    "portal", "xmp", "plaintext", "noembed", "noframes",
})
URL_ATTRS = frozenset({
    "href", "src", "action", "formaction", "poster", "background", "cite", "data", "codebase",
    "xlink:href", "srcset", "dynsrc", "lowsrc", "longdesc", "ping", "manifest", "icon", "srcdoc",
})
_NOISE = re.compile(r"[\x00-\x20\x7f]+")
_BAD_SCHEME = re.compile(r"^(javascript|vbscript|data|livescript|mocha):", re.IGNORECASE)


def dangerous_url(value: str) -> bool:
    """Whether a browser would read `value` (already entity-decoded) as a script or inline-data URL."""
    # Browsers drop tabs and newlines anywhere and trim C0 controls and spaces at the ends.
    value = html.unescape(value)
    return bool(_BAD_SCHEME.match(_NOISE.sub("", value)))


def _attr_problems(tag: str, attrs: list[tuple[str, str | None]]) -> list[str]:
    found = []
    for name, value in attrs:
        name = (name or "").lower()
        value = value or ""
        if name.startswith("on"):
            found.append(f"<{tag} {name}=...>: event handler")
        elif name == "style":
            found.append(f"<{tag} style=...>: inline style")
        elif name in URL_ATTRS and any(dangerous_url(part) for part in re.split(r",\s*|\s+", value) + [value]):
            found.append(f"<{tag} {name}={value!r}>: script or data URL")
    return found


class _Tokens(HTMLParser):
    """The HTML5-ish tokenizer view: catches what lxml's libxml2 tree might repair away."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ACTIVE_TAGS:
            self.problems.append(f"<{tag}> element")
        self.problems.extend(_attr_problems(tag, attrs))

    handle_startendtag = handle_starttag


def html_problems(rendered: str) -> list[str]:
    """Active content in an HTML fragment, seen by two parsers (a tree and a tokenizer)."""
    problems: list[str] = []
    if rendered.strip():
        try:
            root = lxml.html.fragment_fromstring(rendered, create_parent="div")
        except (etree.ParserError, ValueError):
            root = None
        if root is not None:
            for el in root.iter():
                if not isinstance(el.tag, str):
                    continue
                tag = el.tag.lower()
                if tag in ACTIVE_TAGS:
                    problems.append(f"<{tag}> element")
                problems.extend(_attr_problems(tag, list(el.attrib.items())))
    tokens = _Tokens()
    tokens.feed(rendered)
    tokens.close()
    problems.extend(tokens.problems)
    return sorted(set(problems))


def markdown_problems(markdown: str) -> list[str]:
    """Active content in `markdown` once rendered with raw HTML allowed."""
    return sorted(set(html_problems(MD.render(markdown)) + html_problems(TRUSTING.render(markdown))))


def links_and_images(markdown: str) -> list[str]:
    """Every href and src of the rendered Markdown."""
    root = lxml.html.fragment_fromstring(MD.render(markdown) or "<p></p>", create_parent="div")
    return [el.get("href") for el in root.iter("a") if el.get("href") is not None] + [
        el.get("src") for el in root.iter("img") if el.get("src") is not None
    ]
