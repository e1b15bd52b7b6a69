"""Parsing untrusted HTML into an lxml tree, whatever its size, depth or encoding damage."""

from __future__ import annotations

import contextlib
import re
import threading
from html.parser import HTMLParser as _StdlibParser

from lxml import etree

# Characters libxml2 refuses or that cannot be encoded: NUL, other C0
# controls, lone surrogates (from invalid UTF-8 decoded with surrogateescape).
_UNPARSABLE = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\ud800-\udfff]")
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*>", re.IGNORECASE)

# Deeper than this the fallback builder stops nesting and keeps text only.
FALLBACK_DEPTH = 512
VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                  "param", "source", "track", "wbr", "keygen", "frame", "basefont", "isindex"})

_local = threading.local()


def _parser() -> etree.HTMLParser:
    # Making a parser costs as much as parsing a page; one per thread is safe to reuse.
    parser = getattr(_local, "parser", None)
    if parser is None:
        # huge_tree lifts libxml2's depth limit from 256 to 2048; deeper
        # documents go to the fallback below.
        parser = _local.parser = etree.HTMLParser(encoding="utf-8", huge_tree=True)
    return parser


def parse_html(html: str | bytes):  # type: ignore[no-untyped-def]
    """The root element of `html`, or None when there is nothing to parse."""
    return parse_document(html)[0]


# C0 controls other than tab, newline, form feed and carriage return.  In
# UTF-8 these bytes never occur inside a multi-byte character, so deleting
# them from the encoded bytes is safe (and much faster than a regex).
_CONTROL_BYTES = bytes([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20)])
# UTF-8 lead bytes of the CJK ranges the inline renderer knows: U+3000..U+9FFF
# (symbols, kana, ideographs), U+2E80..U+2FFF (radicals) and U+F000..U+FFFF
# (compatibility ideographs, fullwidth forms such as '，').  A false positive
# only costs the slower line-break handling.
_CJK_LEADS = re.compile(rb"[\xe3-\xe9\xef]|\xe2[\xba-\xbf]")


def parse_document(html: str | bytes):  # type: ignore[no-untyped-def]
    """(root element or None, whether the text may hold CJK characters)."""
    if isinstance(html, bytes):
        html = html.decode("utf-8", errors="replace")
    if html[:200].lstrip()[:5].lower() == "<?xml":
        html = _XML_DECL.sub("", html, count=1)
    try:
        data = html.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        data = _UNPARSABLE.sub("", html).encode("utf-8")
    data = data.translate(None, _CONTROL_BYTES)
    if not data.strip():
        return None, False
    cjk = not data.isascii() and _CJK_LEADS.search(data) is not None
    parser = _parser()
    root = etree.fromstring(data, parser)
    if parser.error_log.filter_from_fatals():
        # libxml2 gave up part-way (nesting too deep): everything after that
        # point would be lost, so build the tree without its limits.
        root = _DepthCappedBuilder().build(data.decode("utf-8"))
    elif root is not None:
        unnest_void_elements(root)
    return root, cjk


# Void in HTML5 but not to libxml2, which nests what follows them inside them.
_UNKNOWN_VOID = ("wbr", "embed", "source", "track", "keygen")


def unnest_void_elements(root) -> None:  # type: ignore[no-untyped-def]
    """Move what libxml2 nested inside void elements (<wbr>, <embed>, <source>...) to after them.

    `<p>a<wbr>b</p>` parses as `<p>a<wbr>b</wbr></p>`: a converter that
    drops <wbr> (or <embed>) would drop the rest of the paragraph with it.
    Modifies `root` in place; order of text and elements is kept.
    """
    for el in list(root.iter(*_UNKNOWN_VOID)):
        text = el.text
        if not text and not len(el):
            continue
        if el.getparent() is None:
            continue  # the root itself: nowhere to move its content
        el.text = None
        tail = el.tail
        children = list(el)
        if not children:
            el.tail = text + (tail or "")
            continue
        el.tail = text
        anchor = el
        for child in children:
            anchor.addnext(child)  # moves the child with its tail
            anchor = child
        if tail:
            anchor.tail = (anchor.tail or "") + tail


class _DepthCappedBuilder(_StdlibParser):
    """A forgiving tree builder with no depth limit: past FALLBACK_DEPTH, tags are dropped, text kept."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = etree.Element("html")
        self.body = etree.SubElement(self.root, "body")
        self.stack = [self.body]
        self.overflow = 0  # open tags past the depth cap

    def build(self, html: str):  # type: ignore[no-untyped-def]
        self.feed(html)
        self.close()
        return self.root

    def _append_text(self, data: str) -> None:
        cur = self.stack[-1]
        if len(cur):
            last = cur[-1]
            last.tail = (last.tail or "") + data
        else:
            cur.text = (cur.text or "") + data

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("html", "body"):
            return
        if len(self.stack) >= FALLBACK_DEPTH:
            if tag not in VOID:
                self.overflow += 1
            if tag == "br":
                self._append_text("\n")
            return
        try:
            el = etree.SubElement(self.stack[-1], tag)
        except ValueError:  # a tag name lxml refuses
            return
        for name, value in attrs:
            with contextlib.suppress(ValueError, TypeError):
                el.set(name, value or "")
        if tag not in VOID:
            self.stack.append(el)

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self.stack[-1].tag == tag and len(self.stack) > 1:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if self.overflow:
            self.overflow -= 1
            return
        # close the nearest open element of that name; look only a little
        # way up, so a stray end tag costs constant time
        for i in range(len(self.stack) - 1, max(0, len(self.stack) - 64), -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self._append_text(data)
