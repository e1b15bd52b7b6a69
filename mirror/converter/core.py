"""The Converter: walks an lxml tree and writes GitHub-flavoured Markdown, one handler per tag.

A handler is a method `convert_<tag>(el, depth)`; a subclass overrides one
to change how that tag converts.  Inline handlers append tokens (text and
span markers, see `inline`) to the current inline run; block handlers end
the run as a paragraph and append finished blocks.  Blocks are
`(kind, markdown)` pairs so containers (lists, quotes) know how to join
them.
"""

from __future__ import annotations

import re

from lxml import etree

from mirror.converter import rawhtml
from mirror.converter.images import best_image_src
from mirror.converter.inline import (
    BR,
    CELL,
    HEADING,
    PARA,
    Break,
    Close,
    Open,
    Raw,
    backticks_pair,
    bracket_depth,
    escape_text,
    render_inline,
    render_inline_html,
)
from mirror.converter.tables import cell_has_blocks, column_alignment, fits_pipe_table, table_rows
from mirror.converter.urls import resolve_url

# Deeper than this, an element contributes its text only: bounds Python recursion.
MAX_DEPTH = 120

# Block kinds.
P, HEAD, FENCE, QUOTE, HR, TABLE, HTML = "p", "h", "fence", "quote", "hr", "table", "html"
LIST_KINDS = frozenset({"ul-", "ul*", "ol.", "ol)"})
# Blocks that may follow a paragraph line without a blank line in between.
_INTERRUPTS = LIST_KINDS | {FENCE, HEAD, QUOTE}

BLOCK_CONTAINERS = (
    "address", "article", "aside", "body", "center", "dialog", "div", "fieldset", "figcaption",
    "figure", "footer", "form", "header", "hgroup", "html", "legend", "main", "nav", "p",
    "search", "section", "caption", "frameset", "noframes", "dd", "dt", "li",
)
DROPPED = (
    "script", "style", "head", "title", "meta", "link", "base", "template", "svg",
    "canvas", "select", "option", "optgroup", "datalist", "textarea", "input", "map", "area",
    "param", "track", "source", "colgroup", "col", "math-annotation", "frame", "wbr",
)
_LANG_CLASS = re.compile(
    r"(?:^|\s)(?:lang(?:uage)?-|highlight-source-|brush:\s*)(\S+)"
)
_WS = re.compile(r"[ \t\n\r\f]+")
_ASCII_WS = " \t\n\r\f"
_CJK_TEXT = re.compile(r"[\u2e80-\u2fff\u3000-\u30ff\u3100-\u312f\u3190-\u31ff\u3400-\u4dbf"
                       r"\u4e00-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]")
_AUTOLINK_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]{1,31}:[^\x00-\x20<>]*$")
_EMAIL = re.compile(
    r"^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$"
)
_TASK = re.compile(r"^\[[ xX]\](?=[ \t]|$)")
_ENTITY_LIKE = re.compile(r"&(?=#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]{0,31};)")
_DEST_NEEDS_ANGLE = re.compile(r"[ <>\n\t]")
_URL_ESCAPABLE = re.compile(r"\\(?=[!-/:-@\[-`{-~])")


def _autolinkable(url: str) -> bool:
    """Whether `<url>` reads back as exactly `url` in every CommonMark parser.

    Parsers disagree on character references inside autolinks (cmark
    decodes `&copy;`, markdown-it keeps it), and backslashes are literal there.
    """
    return _AUTOLINK_URI.match(url) is not None and "\\" not in url and (
        "&" not in url or _ENTITY_LIKE.search(url) is None)


def _collapse(text: str) -> str:
    return _WS.sub(" ", text)


def link_destination(url: str) -> str:
    """`url` written as a link destination that parses back to exactly `url`."""
    if "\\" in url:
        url = _URL_ESCAPABLE.sub(r"\\\\", url)
    if "&" in url:
        url = _ENTITY_LIKE.sub(r"\\&", url)
    if not url or _DEST_NEEDS_ANGLE.search(url) or not _balanced(url):
        return "<" + url.replace("<", "\\<").replace(">", "\\>").replace("\n", "%0A") + ">"
    return url


def _balanced(url: str) -> bool:
    return ("(" not in url and ")" not in url) or bracket_depth(url, 0, "(", ")") == 0


def link_title(title: str | None) -> str:
    if not title:
        return ""
    t = _collapse(title).strip()
    if not t:
        return ""
    t = t.replace("\\", "\\\\")
    if "&" in t:
        t = _ENTITY_LIKE.sub(r"\\&", t)
    if '"' in t and "'" not in t:
        return f" '{t}'"
    return ' "' + t.replace('"', '\\"') + '"'


_ALT_SPECIAL = re.compile(r"[\\`*_\[\]<&!]")


def escape_label(text: str) -> str:
    """Text inside [...] of an image or a generated link, where only its plain text matters."""
    text = _collapse(text).strip()
    if _ALT_SPECIAL.search(text) is None:
        return text
    brackets = not _balanced_brackets(text)
    # no span inside: a run of '*' or '_' needs a backslash only where it could open
    return escape_text(text, "[", "]", brackets=brackets, backticks="`" in text and backticks_pair(text),
                       cell=False, lone="".join(c for c in "*_~" if text.count(c) == 1),
                       closing="".join(c for c in "*_" if text.count(c) > 1))


def _balanced_brackets(text: str) -> bool:
    return "](" not in text and "][" not in text and bracket_depth(text) == 0


def _html_link(url: str, title: str | None, text: str | None) -> str:
    """An <a> start tag (and, given `text`, the whole link) for raw HTML output."""
    t = _collapse(title).strip() if title else ""
    tag = f'<a href="{rawhtml.attr(url)}"' + (f' title="{rawhtml.attr(t)}"' if t else "") + ">"
    return tag if text is None else f"{tag}{rawhtml.text(text)}</a>"


def _html_img(src: str, alt: str, title: str | None) -> str:
    t = _collapse(title).strip() if title else ""
    return (f'<img src="{rawhtml.attr(src)}" alt="{rawhtml.attr(_collapse(alt).strip())}"'
            + (f' title="{rawhtml.attr(t)}"' if t else "") + ">")


def code_span(text: str) -> str:
    longest = 0
    for m in re.finditer(r"`+", text):
        longest = max(longest, len(m.end() - m.start()) if False else m.end() - m.start())
    fence = "`" * (longest + 1)
    pad = text[0] == "`" or text[-1] == "`" or (text[0] == " " and text[-1] == " " and text.strip(" "))
    return f"{fence} {text} {fence}" if pad else f"{fence}{text}{fence}"


def _pre_text(el) -> str:  # type: ignore[no-untyped-def]
    """The text of a <pre>, with <br> as a newline; iterative, so depth does not matter."""
    parts: list[str] = []
    for event, node in etree.iterwalk(el, events=("start", "end")):
        tag = node.tag
        if event == "start":
            if tag == "br":
                parts.append("\n")
            elif node.text and tag.__class__ is str and tag not in ("script", "style"):
                parts.append(node.text)
        elif node is not el and node.tail:
            parts.append(node.tail)
    return "".join(parts).replace("\r\n", "\n").replace("\r", "\n")


def code_language(pre) -> str:  # type: ignore[no-untyped-def]
    for node in (pre, *pre.iterchildren("code")):
        lang = node.get("data-lang") or node.get("data-language")
        if lang:
            return lang.strip().split()[0] if lang.strip() else ""
        m = _LANG_CLASS.search(node.get("class") or "")
        if m:
            return m.group(1)
    return ""


def fenced_code(code: str, lang: str) -> str:
    if code.endswith("\n"):
        code = code[:-1]
    longest = max((len(m) for m in re.findall(r"`+", code)), default=0)
    char = "`"
    if "`" in lang:
        char = "~"
        longest = max((len(m) for m in re.findall(r"~+", code)), default=0)
    fence = char * max(3, longest + 1)
    if not code:
        return f"{fence}{lang}\n{fence}"
    return f"{fence}{lang}\n{code}\n{fence}"


def prefix_lines(text: str, first: str, rest: str) -> str:
    lines = text.split("\n")
    out = [first + lines[0] if lines[0] else first.rstrip()]
    for line in lines[1:]:
        out.append(rest + line if line else rest.rstrip())
    return "\n".join(out)


def join_blocks(blocks: list[tuple[str, str]]) -> str:
    return "\n\n".join(b[1] for b in blocks)


class Converter:
    """HTML (an lxml tree) to GitHub-flavoured Markdown."""

    # tag -> handler method name, for tags that share a handler
    ALIASES: dict[str, str] = {
        **{t: "convert_block" for t in BLOCK_CONTAINERS},
        **{t: "convert_drop" for t in DROPPED},
        **{f"h{i}": "convert_heading" for i in range(1, 7)},
        "b": "convert_strong", "em": "convert_em", "i": "convert_em", "cite": "convert_em",
        "dfn": "convert_em", "var": "convert_em", "strike": "convert_s", "del": "convert_html_span",
        "u": "convert_html_span", "mark": "convert_html_span", "sup": "convert_html_span",
        "sub": "convert_html_span", "ins": "convert_html_span", "kbd": "convert_html_span",
        "tt": "convert_code", "samp": "convert_code", "menu": "convert_ul", "dir": "convert_ul",
        "video": "convert_media", "audio": "convert_media", "iframe": "convert_media",
        "embed": "convert_media", "object": "convert_media",
        # transparent inline tags go straight to the walker
        **{t: "walk" for t in ("span", "font", "small", "big", "abbr", "time", "nobr", "bdi",
                                "bdo", "data", "label", "acronym")},
    }
    GENERIC_HANDLERS = frozenset({
        "convert_block", "convert_drop", "convert_heading", "convert_html_span", "convert_media",
        "convert_unknown",
    })
    # Tags that make blocks: inside a heading or a pipe-table cell they only separate text.
    BLOCK_TAGS = frozenset(BLOCK_CONTAINERS) | {
        "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "menu", "dir", "pre", "blockquote",
        "hr", "table", "thead", "tbody", "tfoot", "tr", "td", "th", "dl", "details", "summary",
    }

    def __init__(self, base_url: str | None = None) -> None:
        self.base_url = base_url
        self.handlers, self.inline_handlers = self._handler_tables()
        self._h = self.handlers
        self._blocks: list[tuple[str, str]] = []
        self._inl: list = []
        self._stack: list[Open] = []
        self._in_link = False
        self._cjk = True  # whether the document has CJK text (decided in convert)
        self._images: set[str] = set()  # image URLs already written
        # unknown tags pass their content: straight to the walker unless overridden
        self._unknown = (self.walk if type(self).convert_unknown is Converter.convert_unknown
                         else self.convert_unknown)

    _tables: dict[type, tuple[dict, dict]] = {}

    @classmethod
    def _handler_tables(cls) -> tuple[dict, dict]:
        """tag -> handler function (called with self), for block and for one-line contexts.

        Built once per class: `convert_<tag>` methods, then ALIASES.
        """
        tables = Converter._tables.get(cls)
        if tables is not None:
            return tables
        handlers: dict = {}
        for name in dir(cls):
            if name.startswith("convert_") and name not in cls.GENERIC_HANDLERS:
                handlers[name[len("convert_"):]] = getattr(cls, name)
        for tag, name in cls.ALIASES.items():
            if f"convert_{tag}" not in vars(cls):  # a subclass's own convert_<tag> wins
                handlers[tag] = getattr(cls, name)
        inline_only = dict(handlers)
        for tag in cls.BLOCK_TAGS:
            if tag in inline_only:
                inline_only[tag] = cls._inline_block
        Converter._tables[cls] = (handlers, inline_only)
        return handlers, inline_only

    # ------------------------------------------------------------ driving
    def convert(self, root, *, cjk: bool | None = None) -> str:  # type: ignore[no-untyped-def]
        """Markdown for the element `root` (its tail excluded).

        `cjk` says whether the document holds CJK text; None finds out.
        """
        self._blocks, self._inl, self._stack = [], [], []
        if cjk is None:
            # the text serialised in C: much cheaper than joining itertext() in Python
            text = etree.tostring(root, method="text", encoding="unicode", with_tail=False)
            cjk = not text.isascii() and _CJK_TEXT.search(text) is not None
        self._cjk = cjk
        self._dispatch(root, 0)
        self._flush()
        out = join_blocks(self._blocks)
        return out + "\n" if out else ""

    def _dispatch(self, el, depth: int) -> None:  # type: ignore[no-untyped-def]
        tag = el.tag
        if tag.__class__ is str:
            fn = self._h.get(tag)
            if fn is None:
                self.convert_unknown(el, depth)
            else:
                fn(self, el, depth)

    def walk(self, el, depth: int) -> None:  # type: ignore[no-untyped-def]
        """Convert the content of `el` (its text and children) into the current run."""
        if depth > MAX_DEPTH:
            self._inl.append(" ".join(el.itertext()))
            return
        inl = self._inl
        # Handlers leave the span stack as they found it, so its size holds
        # for the whole loop: an inline run no longer than it is still empty.
        nstack = len(self._stack)
        text = el.text
        if text and (text[0] not in _ASCII_WS or len(inl) > nstack or text.strip(_ASCII_WS)):
            inl.append(text)
        h = self._h
        depth += 1
        for child in el:
            tag = child.tag
            if tag.__class__ is str:
                fn = h.get(tag)
                if fn is None:
                    self._unknown(child, depth)
                else:
                    fn(self, child, depth)
                inl = self._inl  # a block handler may have started a new run
            tail = child.tail
            if tail and (tail[0] not in _ASCII_WS or len(inl) > nstack or tail.strip(_ASCII_WS)):
                inl.append(tail)

    def _flush(self) -> None:
        """End the current inline run as a paragraph."""
        inl = self._inl
        if len(inl) == len(self._stack):
            return  # only the reopened spans of the enclosing inline elements
        s = render_inline(inl, PARA, self._cjk)
        if s and not s.isspace():
            self._blocks.append((P, s))
        self._inl = list(self._stack)

    def render_blocks(self, el, depth: int, *, content_only: bool = True) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
        """The blocks that `el`'s content (or `el` itself) converts to, in a fresh container."""
        saved = self._blocks, self._inl, self._h
        self._blocks, self._inl, self._h = [], list(self._stack), self.handlers
        try:
            if content_only:
                self.walk(el, depth)
            else:
                self._dispatch(el, depth)
            self._flush()
            return self._blocks
        finally:
            self._blocks, self._inl, self._h = saved

    def _render_nodes(self, nodes: list, depth: int) -> list[tuple[str, str]]:
        """Blocks for a run of loose text and elements (with their tails) in a fresh container."""
        saved = self._blocks, self._inl, self._h
        self._blocks, self._inl, self._h = [], list(self._stack), self.handlers
        try:
            for node in nodes:
                if node.__class__ is str:
                    self._inl.append(node)
                    continue
                self._dispatch(node, depth)
                if node.tail:
                    self._inl.append(node.tail)
            self._flush()
            return self._blocks
        finally:
            self._blocks, self._inl, self._h = saved

    def render_inline_content(self, el, depth: int, mode: int) -> str:  # type: ignore[no-untyped-def]
        """`el`'s content as one line of inline Markdown (headings, pipe-table cells)."""
        saved = self._inl, self._h
        self._inl, self._h = list(self._stack), self.inline_handlers
        try:
            self.walk(el, depth)
            return render_inline(self._inl, mode, self._cjk)
        finally:
            self._inl, self._h = saved

    def add_block(self, kind: str, text: str) -> None:
        self._flush()
        self._blocks.append((kind, text))

    def _span(self, el, depth: int, opener: Open) -> None:  # type: ignore[no-untyped-def]
        if len(el) == 0:  # text only, the common case: no walk needed
            inl = self._inl
            inl.append(opener)
            if el.text:
                inl.append(el.text)
            inl.append(Close(opener))
            return
        self._inl.append(opener)
        self._stack.append(opener)
        try:
            self.walk(el, depth)
        finally:
            self._stack.pop()
        self._inl.append(Close(opener))

    # ------------------------------------------------------------ generic
    def convert_unknown(self, el, depth: int) -> None:  # type: ignore[no-untyped-def]
        """Unknown tags pass their content through."""
        self.walk(el, depth)

    def convert_block(self, el, depth: int) -> None:  # type: ignore[no-untyped-def]
        self._flush()
        self.walk(el, depth)
        self._flush()

    def convert_drop(self, el, depth: int) -> None:  # type: ignore[no-untyped-def]
        pass

    def _inline_block(self, el, depth: int) -> None:  # type: ignore[no-untyped-def]
        """A block inside a one-line context: its content, set apart by line breaks."""
        self._break_once()
        if el.tag not in ("hr",):
            self.walk(el, depth)
        self._break_once()

    def _break_once(self) -> None:
        """A line break, unless the run already ends with one (white space aside)."""
        inl = self._inl
        i = len(inl) - 1
        while i >= 0 and inl[i].__class__ is str and not inl[i].strip(_ASCII_WS):
            i -= 1
        if i >= 0 and inl[i].__class__ is not Break:
            inl.append(BR)

    # ------------------------------------------------------------ inline
    def convert_br(self, el, depth: int) -> None:  # type: ignore[no-untyped-def]
        self._inl.append(BR)

    def convert_em(self, el, depth: int) -> None:  # type: ignore[no-untyped-def]
        self._span(el, depth, Open("em"))

    def convert_strong(self, el, depth: int) -> None:  # type: ignore[no-untyped-def]
        self._span(el, depth, Open("strong"))

    def convert_s(self, el, depth: int) -> None:  # type: ignore[no-untyped-def]
        self._span(el, depth, Open("del"))

    def convert_html_span(self, el, depth: int) -> None:  # type: ignore[no-untyped-def]
        tag = el.tag
        self._span(el, depth, Open("html", (rawhtml.start_tag(tag), rawhtml.end_tag(tag))))

    def convert_code(self, el, depth: int) -> None:  # type: ignore[no-untyped-def]
        text = _collapse("".join(el.itertext()))
        if text:
            self._inl.append(Raw(code_span(text), lambda: f"<code>{rawhtml.text(text)}</code>"))

    def convert_a(self, el, depth: int) -> None:  # type: ignore[no-untyped-def]
        href = el.get("href")
        if href is None or self._in_link:
            self.walk(el, depth)
            return
        url = resolve_url(href, self.base_url)
        if url is None:  # javascript: and friends: the link becomes its text
            self.walk(el, depth)
            return
        title = el.get("title")
        if len(el) == 0 and not title:
            text = (el.text or "").strip()
            if text and text == url and _autolinkable(url):
                self._inl.append(Raw(f"<{url}>", lambda: _html_link(url, None, text)))
                return
            if text and url == "mailto:" + text and _EMAIL.match(text) and "&" not in text:
                self._inl.append(Raw(f"<{text}>", lambda: _html_link(url, None, text)))
                return
        opener = Open("link", f"]({link_destination(url)}{link_title(title)})",
                      lambda: (_html_link(url, title, None), "</a>"))
        if len(el) == 0:
            self._span(el, depth, opener)
            return
        self._in_link = True
        try:
            self._span(el, depth, opener)
        finally:
            self._in_link = False

    def convert_img(self, el, depth: int) -> None:  # type: ignore[no-untyped-def]
        src = best_image_src(el, self.base_url)
        if not src:
            return
        alt = escape_label(el.get("alt") or "")
        title = el.get("title")
        self._images.add(src)
        self._inl.append(Raw(f"![{alt}]({link_destination(src)}{link_title(title)})",
                             lambda: _html_img(src, el.get("alt") or "", title)))

    def convert_noscript(self, el, depth: int) -> None:  # type: ignore[no-untyped-def]
        """Only the images of a <noscript> that the page does not already show (lazy-load fallbacks)."""
        for img in el.iter("img"):
            src = best_image_src(img, self.base_url)
            if src and src not in self._images:
                self.convert_img(img, depth + 1)

    def convert_media(self, el, depth: int) -> None:  # type: ignore[no-untyped-def]
        """<iframe>, <video>, <audio>, <embed>, <object>: a link to their source."""
        tag = el.tag
        src = el.get("data") if tag == "object" else el.get("src") or el.get("data-src")
        if not src and tag in ("video", "audio"):
            for source in el.iter("source"):
                src = source.get("src")
                if src:
                    break
        url = resolve_url(src, self.base_url)
        if not url:
            return
        label = (el.get("title") or el.get("aria-label") or "").strip()
        if not label and _autolinkable(url):
            # the address itself is the most useful label
            self._inl.append(Raw(f"<{url}>", lambda: _html_link(url, None, url)))
        else:
            self._inl.append(Raw(f"[{escape_label(label or url)}]({link_destination(url)})",
                                 lambda: _html_link(url, None, label or url)))

    # ------------------------------------------------------------ blocks
    def convert_heading(self, el, depth: int) -> None:  # type: ignore[no-untyped-def]
        self._flush()
        text = self.render_inline_content(el, depth, HEADING).strip()
        marks = "#" * int(el.tag[1])
        self._blocks.append((HEAD, f"{marks} {text}" if text else marks))

    def convert_hr(self, el, depth: int) -> None:  # type: ignore[no-untyped-def]
        self.add_block(HR, "---")

    def convert_pre(self, el, depth: int) -> None:  # type: ignore[no-untyped-def]
        if any(a.get("href") for a in el.iter("a")):
            # a fence cannot hold links: keep them in a raw <pre> GitHub renders
            self.add_block(HTML, self._pre_html(el))
        else:
            self.add_block(FENCE, fenced_code(_pre_text(el), code_language(el)))

    def _pre_html(self, el) -> str:  # type: ignore[no-untyped-def]
        parts: list[str] = []
        for event, node in etree.iterwalk(el, events=("start", "end")):
            tag = node.tag
            if tag.__class__ is not str:
                if event == "end" and node.tail:
                    parts.append(rawhtml.text(node.tail))
                continue
            if event == "start":
                if tag == "br":
                    parts.append("\n")
                elif tag in ("script", "style"):
                    pass
                else:
                    if tag == "a" and node is not el:
                        url = resolve_url(node.get("href"), self.base_url)
                        if url is not None:
                            start = rawhtml.start_tag("a", {"title": node.get("title") or ""})
                            parts.append(start[:2] + f' href="{rawhtml.attr(url)}"' + start[2:])
                    elif tag in ("b", "strong", "i", "em"):
                        parts.append(f"<{tag}>")
                    if node.text:
                        parts.append(rawhtml.text(node.text))
            else:
                if node is el:
                    break
                if tag == "a" and resolve_url(node.get("href"), self.base_url) is not None:
                    parts.append("</a>")
                elif tag in ("b", "strong", "i", "em"):
                    parts.append(f"</{tag}>")
                if node.tail:
                    parts.append(rawhtml.text(node.tail))
        body = "".join(parts).replace("\r\n", "\n").replace("\r", "\n")
        return f"<pre>{body.rstrip(chr(10))}</pre>"

    def convert_blockquote(self, el, depth: int) -> None:  # type: ignore[no-untyped-def]
        self._flush()
        body = join_blocks(self.render_blocks(el, depth))
        self._blocks.append((QUOTE, prefix_lines(body, "> ", "> ") if body else ">"))

    def convert_ul(self, el, depth: int) -> None:  # type: ignore[no-untyped-def]
        self._list(el, depth, ordered=False)

    def convert_ol(self, el, depth: int) -> None:  # type: ignore[no-untyped-def]
        self._list(el, depth, ordered=True)

    def _list(self, el, depth: int, ordered: bool) -> None:  # type: ignore[no-untyped-def]
        self._flush()
        if not any(c.tag == "li" for c in el):
            self.convert_block(el, depth)  # a <ul> used for indentation only
            return
        items: list[list[tuple[str, str]]] = []
        loose = False
        stray: list = []  # text and non-<li> children between items

        def flush_stray() -> None:
            blocks = self._render_nodes(stray, depth + 1)
            stray.clear()
            if not blocks:
                return
            if items:
                items[-1].extend(blocks)  # e.g. an invalid <ul> directly in <ul>
            else:
                items.append(blocks)

        if el.text and el.text.strip(_ASCII_WS):
            stray.append(el.text)
        for child in el:
            if child.tag == "li":
                if stray:
                    flush_stray()
                if len(child) == 0 and not self._stack:  # a text-only item
                    para = render_inline([child.text], PARA, self._cjk) if child.text else ""
                    items.append([(P, para)] if para and not para.isspace() else [])
                else:
                    items.append(self.render_blocks(child, depth + 1))
                if not loose:
                    loose = any(c.tag == "p" for c in child)
                if child.tail and child.tail.strip(_ASCII_WS):
                    stray.append(child.tail)
            else:
                stray.append(child)
        if stray:
            flush_stray()
        if not loose:
            loose = any(not _tight_joinable(blocks) for blocks in items)
        prev_kind = self._blocks[-1][0] if self._blocks else ""
        if ordered:
            kind = "ol)" if prev_kind == "ol." else "ol."
            delim = kind[2]
            start = (el.get("start") or "1").strip()
            n = int(start) if start.isdigit() and len(start) < 10 else 1
        else:
            kind = "ul*" if prev_kind == "ul-" else "ul-"
            delim = kind[2]
            n = 0
        out = []
        for blocks in items:
            marker = f"{n}{delim} " if ordered else f"{delim} "
            n += 1
            if blocks and blocks[0][0] == HR:
                blocks[0] = (HR, "***")  # "- ---" would be one thematic break
            body = _join_item(blocks, loose)
            if body and _TASK.match(body):
                body = "\\" + body
            out.append(prefix_lines(body, marker, " " * len(marker)) if body else marker.rstrip())
        self._blocks.append((kind, ("\n\n" if loose else "\n").join(out)))

    def convert_dl(self, el, depth: int) -> None:  # type: ignore[no-untyped-def]
        self._flush()
        parts = [rawhtml.start_tag("dl")]
        stray: list = []  # text and elements other than dt/dd, rendered as Markdown

        def flush_stray() -> None:
            # Set apart by blank lines, so it is Markdown again and not part
            # of the HTML block, where backslash escapes mean nothing.
            body = join_blocks(self._render_nodes(stray, depth + 1))
            stray.clear()
            if body:
                parts.append(f"\n{body}\n")

        def add(container, level: int) -> None:  # type: ignore[no-untyped-def]
            if container.text and container.text.strip(_ASCII_WS):
                stray.append(container.text)
            for child in container:
                tag = child.tag
                if tag == "dt" or tag == "dd":
                    if stray:
                        flush_stray()
                    if tag == "dt":
                        text = _collapse(" ".join(child.itertext())).strip()
                        parts.append(f"<dt>{rawhtml.text(text)}</dt>")
                    else:
                        body = join_blocks(self.render_blocks(child, depth + 1))
                        parts.append(f"<dd>\n\n{body}\n\n</dd>" if body else "<dd></dd>")
                elif tag.__class__ is str and level < 4 and any(
                        c.tag in ("dt", "dd") for c in child.iterchildren()):
                    add(child, level + 1)  # a <div> grouping a term with its definitions
                elif tag.__class__ is str:
                    stray.append(child)
                    continue  # its tail goes with it
                if child.tail and child.tail.strip(_ASCII_WS):
                    stray.append(child.tail)

        add(el, 0)
        if stray:
            flush_stray()
        if len(parts) == 1:
            return  # nothing in it
        parts.append(rawhtml.end_tag("dl"))
        self._blocks.append((HTML, "\n".join(p for p in parts if p)))

    def convert_details(self, el, depth: int) -> None:  # type: ignore[no-untyped-def]
        self._flush()
        summary = next(el.iterchildren("summary"), None)
        head = rawhtml.start_tag("details", {"open": el.get("open")} if el.get("open") is not None else None)
        if summary is not None:
            text = _collapse(" ".join(summary.itertext())).strip()
            head += f"\n<summary>{rawhtml.text(text)}</summary>"
        body = join_blocks(self.render_blocks(el, depth))
        self._blocks.append((HTML, f"{head}\n\n{body}\n\n</details>" if body else f"{head}\n</details>"))

    def convert_summary(self, el, depth: int) -> None:  # type: ignore[no-untyped-def]
        parent = el.getparent()
        if parent is None or parent.tag != "details":
            self.convert_block(el, depth)

    # ------------------------------------------------------------ tables
    def convert_table(self, el, depth: int) -> None:  # type: ignore[no-untyped-def]
        self._flush()
        rows, captions = table_rows(el)
        cells = [c for r in rows for c in r.cells]
        saved_stack, saved_link = self._stack, self._in_link
        self._stack, self._inl = [], []
        try:
            for cap in captions:
                self.convert_block(cap, depth + 1)
            if not cells:
                self.convert_block(el, depth)  # no real rows: keep whatever text it has
            elif len(cells) == 1:
                self.convert_block(cells[0], depth + 2)  # a layout table around one cell
            elif fits_pipe_table(rows):
                self._blocks.append((TABLE, self._pipe_table(rows, depth)))
            else:
                self._blocks.append((HTML, self._html_table(rows, depth)))
        finally:
            self._stack, self._in_link = saved_stack, saved_link
            self._inl = list(self._stack)

    def _pipe_table(self, rows, depth: int) -> str:  # type: ignore[no-untyped-def]
        lines = []
        for i, row in enumerate(rows):
            cells = [(render_inline([c.text], CELL, self._cjk) if c.text else "")
                     if len(c) == 0 else self.render_inline_content(c, depth + 3, CELL).strip()
                     for c in row.cells]
            lines.append("| " + " | ".join(cells) + " |")
            if i == 0:
                lines.append("| " + " | ".join(column_alignment(c) for c in row.cells) + " |")
        return "\n".join(lines)

    def _cell_html(self, cell, depth: int) -> str:  # type: ignore[no-untyped-def]
        """A cell without block content, as inline HTML (Markdown is not parsed there)."""
        saved = self._inl, self._h
        self._inl, self._h = [], self.inline_handlers
        try:
            self.walk(cell, depth)
            return render_inline_html(self._inl, self._cjk)
        finally:
            self._inl, self._h = saved

    def _html_table(self, rows, depth: int) -> str:  # type: ignore[no-untyped-def]
        lines = [rawhtml.start_tag("table")]
        section = None
        for row in rows:
            if row.section != section:
                if section:
                    lines.append(rawhtml.end_tag(section))
                section = row.section
                if section:
                    lines.append(rawhtml.start_tag(section))
            lines.append("<tr>")
            for cell in row.cells:
                tag = cell.tag
                start = rawhtml.start_tag(tag, dict(cell.attrib))
                if not cell_has_blocks(cell):
                    lines.append(f"{start}{self._cell_html(cell, depth + 3)}</{tag}>")
                else:
                    body = join_blocks(self.render_blocks(cell, depth + 3))
                    lines.append(f"{start}\n\n{body}\n\n</{tag}>" if body else f"{start}</{tag}>")
            lines.append("</tr>")
        if section:
            lines.append(rawhtml.end_tag(section))
        lines.append(rawhtml.end_tag("table"))
        return "\n".join(lines)


def _tight_joinable(blocks: list[tuple[str, str]]) -> bool:
    return all(_tight_sep_ok(p, n) for p, n in zip(blocks, blocks[1:], strict=False))


def _tight_sep_ok(prev: tuple[str, str], nxt: tuple[str, str]) -> bool:
    """Whether `nxt` may start on the line right after `prev` and still parse as its own block."""
    pk, nk = prev[0], nxt[0]
    if pk in (FENCE, HEAD, HR):
        return nk not in (TABLE, HTML)
    if pk in (P, QUOTE) or pk in LIST_KINDS:
        # a paragraph line here would be a lazy continuation of the one before
        if nk in (FENCE, HEAD, QUOTE) or nk[:2] == "ul":
            return True
        return nk[:2] == "ol" and nxt[1][:2] in ("1.", "1)")
    return False


def _join_item(blocks: list[tuple[str, str]], loose: bool) -> str:
    if not blocks:
        return ""
    if loose:
        return join_blocks(blocks)
    return "\n".join(b[1] for b in blocks)
