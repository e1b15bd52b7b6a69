"""`mirror check`: verify a mirror repo's links, QR codes, manifest and pages (no active content)."""

from __future__ import annotations

import functools
import html
import logging
import operator
import os
import posixpath
import re
import struct
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from segno.consts import ECC, GALIOS_EXP, GALIOS_LOG, GEN_POLY

from mirror.manifest import MANIFEST_PATH, Manifest
from mirror.qr import MASKS, function_modules, qr_png

# Kinds of problem, in the order a report lists them.
KINDS = (
    "active-content",
    "escapes-repo",
    "broken-link",
    "qr",
    "missing-page",
    "orphan",
    "duplicate-path",
    "unindexed",
    "retired-present",
    "manifest",
    "unreadable",
)

PARALLEL_MIN_FILES = 400  # below this a process pool costs more than it saves
CHUNK = 250  # files per task: small enough to balance two workers, large enough to amortise pickling


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str  # one of KINDS
    path: str  # repo-relative file the problem is in (or about)
    message: str


@dataclass(slots=True)
class CheckReport:
    problems: list[Problem] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)  # pages, indexes, readme, links, qr, records
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems


# =========================================================================== Markdown scanning
#
# Parsing 20,000 pages with markdown-it-py takes minutes; this scanner finds the same link
# destinations and raw HTML in a fraction of that. It follows CommonMark's block structure
# (block quotes, list items, fenced and indented code, HTML blocks, reference definitions)
# closely enough that code never counts as links or HTML, and its inline pass handles code
# spans, autolinks, raw HTML, inline links and images, and reference links. The tests hold it
# against markdown-it-py.


@dataclass(frozen=True, slots=True)
class Link:
    dest: str  # backslash escapes and entities decoded, not percent-decoded
    kind: str  # "link" | "image" | "autolink" | "definition" | "html"
    line: int  # 1-based
    span: tuple[int, int] = (0, 0)  # position in its paragraph, to find images inside a link
    block: int = 0  # the paragraph it is in


@dataclass(slots=True)
class Scan:
    links: list[Link] = field(default_factory=list)
    html: list[tuple[int, str]] = field(default_factory=list)  # (line, raw HTML)


_ASCII_PUNCT = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")

_FENCE_OPEN = re.compile(r" {0,3}(`{3,}|~{3,})(.*)$")
_ATX = re.compile(r" {0,3}#{1,6}(?:[ \t]|$)")
_HR = re.compile(r" {0,3}(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})$")
_SETEXT = re.compile(r" {0,3}(?:=+|-+)[ \t]*$")
_DELIMITER_ROW = re.compile(r" {0,3}\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_LIST_START = frozenset("-+*0123456789")
_BLOCK_START = _LIST_START | frozenset(">#`~_<")
_SLOW_START = _BLOCK_START | frozenset("=[|:")
_SPECIAL = re.compile(r"[\\`<!\[\]]")
_LIST_MARK = re.compile(r"([-+*]|[0-9]{1,9}[.)])( *)")
_BLOCK_TAGS = (
    "address|article|aside|base|basefont|blockquote|body|caption|center|col|colgroup|dd|details|"
    "dialog|dir|div|dl|dt|fieldset|figcaption|figure|footer|form|frame|frameset|h1|h2|h3|h4|h5|h6|"
    "head|header|hr|html|iframe|legend|li|link|main|menu|menuitem|nav|noframes|ol|optgroup|option|"
    "p|param|search|section|summary|table|tbody|td|tfoot|th|thead|title|tr|track|ul"
)
_ATTR = r"(?:\s+[A-Za-z_:][A-Za-z0-9_.:-]*(?:\s*=\s*(?:[^\s\"'=<>`]+|'[^']*'|\"[^\"]*\"))?)"
_OPEN_TAG = rf"<[A-Za-z][A-Za-z0-9-]*{_ATTR}*\s*/?>"
_CLOSE_TAG = r"</[A-Za-z][A-Za-z0-9-]*\s*>"
# (start, end) of each kind of HTML block; None = ends at a blank line
_HTML_BLOCKS: tuple[tuple[re.Pattern[str], re.Pattern[str] | None, bool], ...] = (
    (re.compile(r" {0,3}<(?:script|pre|style|textarea)(?:\s|>|$)", re.I),
     re.compile(r"</(?:script|pre|style|textarea)>", re.I), True),
    (re.compile(r" {0,3}<!--"), re.compile(r"-->"), True),
    (re.compile(r" {0,3}<\?"), re.compile(r"\?>"), True),
    (re.compile(r" {0,3}<![A-Za-z]"), re.compile(r">"), True),
    (re.compile(r" {0,3}<!\[CDATA\["), re.compile(r"\]\]>"), True),
    (re.compile(rf" {{0,3}}</?(?:{_BLOCK_TAGS})(?:\s|/?>|$)", re.I), None, True),
    (re.compile(rf" {{0,3}}(?:{_OPEN_TAG}|{_CLOSE_TAG})\s*$"), None, False),  # cannot interrupt a paragraph
)
_INLINE_HTML = re.compile(
    rf"{_OPEN_TAG}|{_CLOSE_TAG}|<!---?>|<!--(?:-?[^>-])(?:-?[^-])*-->|<\?.*?\?>|<![A-Za-z][^>]*>|<!\[CDATA\[.*?\]\]>",
    re.S,
)
_AUTOLINK = re.compile(r"<([A-Za-z][A-Za-z0-9+.-]{1,31}:[^<>\x00-\x20]*)>")
_EMAIL = re.compile(r"<[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*>")
_LABEL = re.compile(r"\[((?:[^\[\]\\]|\\.){0,999})\]")


def _unescape(text: str) -> str:
    """A destination as CommonMark reads it: backslash escapes and entity references decoded."""
    if "\\" in text:
        text = _ESCAPED.sub(r"\1", text)
    if "&" in text:
        text = _ENTITY.sub(lambda m: html.unescape(m.group(0)), text)
    return text


def _cells(row: str) -> int:
    cells = _CELL_SPLIT.split(row.strip())
    return len(cells) - (cells[0] == "") - (len(cells) > 1 and cells[-1] == "")


def _fence(line: str) -> re.Match[str] | None:
    m = _FENCE_OPEN.match(line)
    return None if m is None or (m.group(1)[0] == "`" and "`" in m.group(2)) else m


def _continue(line: str, containers: list[_Item]) -> tuple[int, int]:
    """How far `line` continues the open containers: (column after their markers, how many)."""
    pos = matched = 0
    blank = not line.strip()
    for item in containers:
        rest = line[pos:]
        if item.quote:
            ind = _indent(rest)
            if ind <= 3 and rest[ind:ind + 1] == ">":
                pos += ind + 1
                if line[pos:pos + 1] == " ":
                    pos += 1
            else:
                break
        elif not blank:
            if _indent(rest) < item.width:
                break
            pos += item.width
        matched += 1
    return pos, matched


def _is_header(row: str, following: str, containers: list[_Item]) -> bool:
    following = following.expandtabs(4).rstrip("\r")
    pos, matched = _continue(following, containers)
    if matched < len(containers):
        return False
    following = following[pos:]
    return _indent(following) < 4 and bool(_DELIMITER_ROW.match(following)) and _cells(following) == _cells(row)


def _label_key(label: str) -> str:
    return " ".join(label.split()).lower().upper()


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip(" "))


@dataclass(slots=True)
class _Item:
    quote: bool
    width: int = 0  # list item: columns its content is indented by


def scan_markdown(text: str) -> Scan:
    """The link destinations and raw HTML of a Markdown document, outside code."""
    scan = Scan()
    refs: dict[str, str] = {}
    paragraphs: list[tuple[int, list[str], bool]] = []  # (first line, lines, is a heading)
    containers: list[_Item] = []
    para: list[str] | None = None
    fence: tuple[str, int, int, int] | None = None  # (char, length, depth, indent)
    html_end: re.Pattern[str] | None | bool = False  # False: not in an HTML block
    html_depth = 0
    table = False

    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    for number, raw in enumerate(lines, 1):
        line = raw.expandtabs(4) if "\t" in raw else raw
        if not (containers or fence or html_end is not False or table):
            # The common case, a line of text at the top level, without the machinery below.
            stripped = line.lstrip(" ")
            if not stripped or stripped.isspace():
                para = None
                continue
            if len(line) - len(stripped) < 4 and stripped[0] not in _SLOW_START and "|" not in stripped:
                if para is None:
                    para = []
                    paragraphs.append((number, para, False))
                para.append(line)
                continue
        # 1. the open containers this line continues
        blank = not line.strip()
        pos, matched = _continue(line, containers)
        rest = line[pos:]
        if fence is not None:
            if matched >= fence[2]:
                close = rest.lstrip(" ")
                if (_indent(rest) <= 3 and close.startswith(fence[0] * fence[1])
                        and not close.strip(fence[0]).strip()):
                    fence = None
                continue
            fence = None
        if html_end is not False:
            if matched >= html_depth:
                scan.html.append((number, rest))
                if html_end is None:
                    if blank:
                        html_end = False
                elif html_end.search(rest):
                    html_end = False
                continue
            html_end = False
        if table:
            # A table row is any line that starts no other block (a table has no lazy lines).
            if (matched < len(containers) or blank or _indent(rest) >= 4
                    or _starts_block(rest, True, any_list=True)):
                table = False
            else:
                paragraphs.append((number, [rest], True))
                continue
        if matched < len(containers):
            # A lazy continuation line extends the open paragraph of an unmatched container.
            # A list marker there ends it even where it could not interrupt a paragraph.
            if para is not None and not blank and not _starts_block(rest, True, any_list=True):
                para.append(rest)
                continue
            del containers[matched:]
            para = None
        # 2. new containers
        if "|" in rest and _indent(rest) < 4 and number < len(lines) and _is_header(rest, lines[number], containers):
            # Tables are tried before any other block: this line is a header row, whatever
            # else it looks like.
            para = None
            table = True
            paragraphs.append((number, [rest], True))
            continue
        while True:
            ind = _indent(rest)
            if ind >= 4 or (not rest.strip()):
                break
            body = rest[ind:]
            if body.startswith(">"):
                para = None
                containers.append(_Item(quote=True))
                rest = body[2:] if body[1:2] == " " else body[1:]
                continue
            m = _LIST_MARK.match(body) if body[0] in _LIST_START else None
            if m and not _HR.match(rest):
                after = body[m.end():]
                if m.group(2) or not after:
                    marker = m.group(1)
                    spaces = len(m.group(2))
                    empty = not after.strip()
                    if para is not None and (empty or (marker[0].isdigit() and marker[:-1] != "1")):
                        break  # cannot interrupt a paragraph
                    if spaces > 4 or empty:
                        spaces = 1
                    para = None
                    width = ind + len(marker) + spaces
                    containers.append(_Item(quote=False, width=width))
                    rest = rest[width:] if len(rest) >= width else ""
                    continue
            break
        # 3. the leaf block
        if not rest.strip():
            para = None
            continue
        ind = _indent(rest)
        if ind >= 4:
            if para is not None:
                para.append(rest)
            continue  # indented code
        first = rest[ind]  # most lines are text: try only the blocks this character can open
        m = _fence(rest) if first in "`~" else None
        if m:
            para = None
            fence = (m.group(1)[0], len(m.group(1)), len(containers), ind)
            continue
        if first == "<":
            started = False
            for start, end, interrupts in _HTML_BLOCKS:
                if (interrupts or para is None) and start.match(rest):
                    para = None
                    scan.html.append((number, rest))
                    if end is None or not end.search(rest):
                        html_end, html_depth = end, len(containers)
                    started = True
                    break
            if started:
                continue
        if first == "#" and _ATX.match(rest):
            para = None
            paragraphs.append((number, [rest], True))
            continue
        if (para and first in "|-:" and _DELIMITER_ROW.match(rest) and "|" in para[-1]
                and _cells(rest) == _cells(para[-1])):
            para, table = None, True  # the paragraph's last line was the table's header row
            continue
        if para is not None and first in "=-" and _SETEXT.match(rest):
            para = None
            continue
        if first in "-*_" and _HR.match(rest):
            para = None
            continue
        if para is None:
            d = _definition(rest) if first == "[" else None
            if d and d[2] >= len(rest):
                # A definition is a block of its own: a line after it never continues it.
                refs.setdefault(_label_key(d[0]), d[1])
                scan.links.append(Link(d[1], "definition", number))
                continue
            para = []
            paragraphs.append((number, para, False))
        para.append(rest)

    # Reference definitions open a paragraph and may be used before they are defined.
    texts = []
    for first, lines, heading in paragraphs:
        text = "\n".join(lines)
        while not heading and (d := _definition(text)):
            label, dest, end = d
            refs.setdefault(_label_key(label), dest)
            scan.links.append(Link(dest, "definition", first))
            first += text.count("\n", 0, end)
            text = text[end:]
        texts.append((first, text))
    for block, (first, text) in enumerate(texts):
        if "[" in text or "<" in text:
            _scan_inline(text, first, block, refs, scan)
    return scan


def _starts_block(rest: str, in_para: bool, *, any_list: bool = False) -> bool:
    """Whether a line would start a block other than a paragraph continuation."""
    ind = _indent(rest)
    if ind >= 4:
        return False
    body = rest[ind:]
    first = body[:1]
    if not first or first not in _BLOCK_START:
        return False
    if first == ">" or _ATX.match(rest) or _HR.match(rest) or _fence(rest):
        return True
    m = _LIST_MARK.match(body)
    if m and (m.group(2) or not body[m.end():]):
        if any_list:
            return True
        marker = m.group(1)
        if body[m.end():].strip() and (not marker[0].isdigit() or marker[:-1] == "1"):
            return True
    return any(start.match(rest) for start, _, interrupts in _HTML_BLOCKS if interrupts or not in_para)


def _scan_inline(s: str, first_line: int, block: int, refs: dict[str, str], scan: Scan) -> None:
    n = len(s)
    openers: list[list] = []  # [position, is_image, active]
    i = 0

    def line_of(pos: int) -> int:
        return first_line + s.count("\n", 0, pos)

    while i < n:
        m = _SPECIAL.search(s, i)
        if m is None:
            break
        i = m.start()
        c = s[i]
        if c == "\\":
            i += 2
        elif c == "`":
            j = i
            while j < n and s[j] == "`":
                j += 1
            ticks = s[i:j]
            k = j
            while True:
                k = s.find(ticks, k)
                if k < 0:
                    i = j  # no closer: the backticks are text
                    break
                end = k + len(ticks)
                if (k == 0 or s[k - 1] != "`") and (end >= n or s[end] != "`"):
                    i = end
                    break
                while k < n and s[k] == "`":
                    k += 1
        elif c == "<":
            m = _AUTOLINK.match(s, i)
            if m:
                scan.links.append(Link(_unescape_autolink(m.group(1)), "autolink", line_of(i), (i, m.end()), block))
                i = m.end()
                continue
            m = _EMAIL.match(s, i)
            if m:
                scan.links.append(Link("mailto:" + m.group(0)[1:-1], "autolink", line_of(i), (i, m.end()), block))
                i = m.end()
                continue
            m = _INLINE_HTML.match(s, i)
            if m:
                scan.html.append((line_of(i), m.group(0)))
                i = m.end()
                continue
            i += 1
        elif c == "!" and s.startswith("[", i + 1):
            openers.append([i, True, True])
            i += 2
        elif c == "[":
            openers.append([i, False, True])
            i += 1
        elif c == "]":
            if not openers:
                i += 1
                continue
            start, image, active = openers.pop()
            if not active:
                i += 1
                continue
            dest, end = _inline_dest(s, i + 1)
            if dest is None:
                label_start = start + (2 if image else 1)
                m = _LABEL.match(s, i + 1)
                if m and m.group(1).strip():  # [text][label]
                    key, end = _label_key(m.group(1)), m.end()
                else:  # [text][] or [text]
                    key, end = _label_key(s[label_start:i]), (m.end() if m else i + 1)
                dest = refs.get(key) if key else None
                if dest is None:
                    i += 1
                    continue
            if image:  # a link inside an image's description is only its alt text
                while scan.links and scan.links[-1].block == block and scan.links[-1].span[0] > start:
                    scan.links.pop()
            scan.links.append(Link(dest, "image" if image else "link", line_of(start), (start, end), block))
            if not image:
                for opener in openers:
                    if not opener[1]:
                        opener[2] = False  # no links inside a link
            i = end
        else:
            i += 1


def _unescape_autolink(dest: str) -> str:
    return _ENTITY.sub(lambda m: html.unescape(m.group(0)), dest) if "&" in dest else dest


def _skip_space(s: str, i: int) -> int:
    newline = False
    while i < len(s) and s[i] in " \t\n":
        if s[i] == "\n":
            if newline:
                return -1
            newline = True
        i += 1
    return i


_PLAIN_DEST = re.compile(r"[^ ()\\\x00-\x1f\x7f]*")
_ANGLE_DEST = re.compile(r"<((?:[^<>\n\\]|\\.)*)>")


def _dest(s: str, k: int) -> tuple[str, int] | None:
    """A link destination at `k` as written (`<...>` or balanced-parentheses form), and its end."""
    if s.startswith("<", k):
        m = _ANGLE_DEST.match(s, k)
        return (m.group(1), m.end()) if m else None
    n, start, depth = len(s), k, 0
    end = _PLAIN_DEST.match(s, k).end()  # type: ignore[union-attr]
    if end == n or s[end] not in "(\\":
        return s[start:end], end  # no parentheses or escapes: the common case, without a loop
    while k < n:
        ch = s[k]
        if ch == "\\" and k + 1 < n and s[k + 1] in _ASCII_PUNCT:
            k += 2
            continue
        if ch == "(":
            depth += 1
            if depth > 32:
                return None
        elif ch == ")":
            if depth == 0:
                break
            depth -= 1
        elif ch <= " " or ch == "\x7f":
            break
        k += 1
    return None if depth else (s[start:k], k)


def _title_end(s: str, k: int) -> int:
    """The end of a link title starting at `k`, or -1."""
    close = ")" if s[k] == "(" else s[k]
    j = k + 1
    while j < len(s) and s[j] != close:
        if s[j] == "\\":
            j += 1
        elif close == ")" and s[j] == "(":
            return -1
        j += 1
    return j + 1 if j < len(s) else -1


def _inline_dest(s: str, i: int) -> tuple[str | None, int]:
    """Parse `(dest "title")` at `i`: (decoded destination, end) or (None, i)."""
    n = len(s)
    if i >= n or s[i] != "(":
        return None, i
    k = _skip_space(s, i + 1)
    if k < 0:
        return None, i
    got = _dest(s, k)
    if got is None:
        return None, i
    dest, k = got
    gap = _skip_space(s, k)
    if gap < 0:
        return None, i
    if gap < n and s[gap] in "\"'(" and gap > k:
        gap = _title_end(s, gap)
        if gap < 0:
            return None, i
        gap = _skip_space(s, gap)
        if gap < 0:
            return None, i
    if gap >= n or s[gap] != ")":
        return None, i
    return _unescape(dest), gap + 1


_DEF_LABEL = re.compile(r" {0,3}\[((?:[^\[\]\\]|\\.){1,999})\]:")
_LINE_END = re.compile(r"[ \t]*(?:\n|$)")


def _definition(text: str) -> tuple[str, str, int] | None:
    """A reference definition at the start of `text`: (label, decoded destination, end)."""
    m = _DEF_LABEL.match(text)
    if not m or not m.group(1).strip():
        return None
    k = _skip_space(text, m.end())
    if k < 0 or k >= len(text):
        return None
    got = _dest(text, k)
    if got is None or (not got[0] and not text.startswith("<", k)):
        return None
    dest, k = got
    dest = _unescape(dest)
    t = _skip_space(text, k)
    if t > k and t < len(text) and text[t] in "\"'(":
        te = _title_end(text, t)
        if te > 0 and (e := _LINE_END.match(text, te)):
            return m.group(1), dest, e.end()
    e = _LINE_END.match(text, k)
    return (m.group(1), dest, e.end()) if e else None


# =========================================================================== active content

_ACTIVE_TAGS = re.compile(
    r"<(script|iframe|frame|frameset|object|embed|applet|form|style|base|meta|link|svg|math)(?=[\s/>]|$)",
    re.I,
)
_TAG = re.compile(r"<[A-Za-z](?:[^>\"']|\"[^\"]*\"|'[^']*')*>?")  # a quoted ">" does not end a tag
_EVENT = re.compile(r"[\s/\"']on[a-z]+\s*=", re.I)
_HTML_ATTR = re.compile(r"([^\s\"'>/=]+)\s*=\s*(\"[^\"]*\"?|'[^']*'?|[^\s>]+)")
_INVISIBLE = re.compile(r"[\x00-\x20\x7f-\x9f\u00ad\u200b-\u200f\u2028\u2029\u2060\ufeff]+")
_SAFE_DATA = re.compile(r"data:image/(?:png|gif|jpe?g|webp|avif|bmp)[;,]")


def dangerous_url(url: str) -> str:
    """Why `url` would run code in a browser ("javascript:", ...), or "" if it would not.

    Entities are decoded and whitespace and control characters removed first, as a browser
    does, so `JaVa&#x09;ScRiPt&#58;` is caught."""
    if ":" not in url and "&" not in url:
        return ""  # no scheme, not even an encoded one
    cleaned = url
    for _ in range(3):  # nested entities (&amp;#58;) decode one level per pass in some readers
        decoded = html.unescape(cleaned)
        if decoded == cleaned:
            break
        cleaned = decoded
    cleaned = _INVISIBLE.sub("", cleaned).lower()
    for scheme in ("javascript:", "vbscript:", "livescript:"):
        if cleaned.startswith(scheme):
            return scheme
    if cleaned.startswith("data:") and not _SAFE_DATA.match(cleaned):
        return "data:" + cleaned[5:].split(",", 1)[0].split(";", 1)[0]
    return ""


def active_in_html(fragment: str) -> list[str]:
    """What in a piece of raw HTML would be active on a page: script-like tags, event handler
    attributes, script URLs."""
    found = [f"<{m.group(1).lower()}> element" for m in _ACTIVE_TAGS.finditer(fragment)]
    for tag in _TAG.finditer(fragment):
        text = tag.group(0)
        for m in _EVENT.finditer(text):
            found.append(f"event handler attribute {m.group(0)[1:].strip()}")
        for m in _HTML_ATTR.finditer(text):
            value = m.group(2).strip("\"'")
            why = dangerous_url(value)
            if why:
                found.append(f"{why} URL in {m.group(1).lower()}=")
            elif m.group(1).lower() == "style" and re.search(r"expression\s*\(|url\s*\(", html.unescape(value), re.I):
                found.append("style attribute loading a URL or an expression")
    return found


_HTML_LINK_ATTRS = frozenset({"href", "src"})


def html_links(fragment: str) -> list[str]:
    """The href and src values in a piece of raw HTML, entities decoded."""
    out = []
    for tag in _TAG.finditer(fragment):
        for m in _HTML_ATTR.finditer(tag.group(0)):
            if m.group(1).lower() in _HTML_LINK_ATTRS:
                out.append(html.unescape(m.group(2).strip("\"'")))
    return out


# =========================================================================== the repo

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


@dataclass(frozen=True, slots=True)
class _Context:
    files: frozenset[str]
    dirs: frozenset[str]
    public: tuple[tuple[str, str], ...]  # (prefix, suffix) of URL templates that name repo files


def _target(dest: str, from_dir: str, ctx: _Context) -> tuple[str, str] | None:
    """Where a link goes in the repo: (repo path, "") or ("", why it is wrong); None if it
    leaves the repo legitimately (a URL) or goes nowhere (#fragment)."""
    path = dest.split("#", 1)[0].split("?", 1)[0]
    if not path:
        return None
    if _SCHEME.match(path) or path.startswith("//"):
        for prefix, suffix in ctx.public:
            if path.startswith(prefix) and path.endswith(suffix) and len(path) > len(prefix) + len(suffix):
                repo_path = unquote(path[len(prefix):len(path) - len(suffix)])
                return posixpath.normpath(repo_path).lstrip("/"), ""
        return None
    joined = _join(from_dir, unquote(path) if "%" in path else path)
    if joined == ".." or joined.startswith("../"):
        return "", "escapes-repo"
    return joined, ""


@functools.lru_cache(maxsize=8192)
def _join(from_dir: str, path: str) -> str:
    # Cached: nav bars send every page of a folder to the same few targets.
    if path.startswith("/"):
        return posixpath.normpath(path.lstrip("/") or ".")
    return posixpath.normpath(posixpath.join(from_dir, path))


def _check_file(
    path: str, kind: str, expect: Sequence[str], ctx: _Context, root: str
) -> tuple[list[Problem], Counter[str], set[str]]:
    """One Markdown file: its links and raw HTML, and for a page its QR code.

    Also returns the repo files an index links to (empty for other files)."""
    problems: list[Problem] = []
    counts: Counter[str] = Counter()
    counts[kind] += 1
    linked: set[str] = set()
    try:
        with open(os.path.join(root, path), encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem("unreadable", path, str(exc)))
        return problems, counts, linked
    scan = scan_markdown(text)
    from_dir = posixpath.dirname(path)
    for link in scan.links:
        counts["links"] += 1
        why = dangerous_url(link.dest)
        if why:
            problems.append(Problem("active-content", path,
                                    f"line {link.line}: {why} URL in a {link.kind}: {link.dest[:80]}"))
            continue
        _check_target(path, link.line, link.dest, from_dir, ctx, problems, linked)
    for line, fragment in scan.html:
        for what in active_in_html(fragment):
            problems.append(Problem("active-content", path, f"line {line}: {what}"))
        for dest in html_links(fragment):
            counts["links"] += 1
            if not dangerous_url(dest):
                _check_target(path, line, dest, from_dir, ctx, problems, linked)
    if kind == "pages":
        _check_qr(path, scan, expect, ctx, root, problems, counts)
    return problems, counts, linked if kind == "indexes" else set()


def _check_target(
    path: str, line: int, dest: str, from_dir: str, ctx: _Context, problems: list[Problem],
    linked: set[str],
) -> None:
    target = _target(dest, from_dir, ctx)
    if target is None:
        return
    repo_path, why = target
    if why:
        problems.append(Problem("escapes-repo", path, f"line {line}: {dest[:120]} leads out of the repo"))
    elif repo_path in ctx.files:
        linked.add(repo_path)
    elif repo_path not in ctx.dirs and repo_path != ".":
        problems.append(Problem("broken-link", path, f"line {line}: {dest[:120]} -> {repo_path} does not exist"))


def _check_qr(path: str, scan: Scan, expect: Sequence[str], ctx: _Context, root: str,
              problems: list[Problem], counts: Counter[str]) -> None:
    qr_path = path + ".png"
    from_dir = posixpath.dirname(path)
    images = [ln for ln in scan.links if ln.kind == "image" and _resolves_to(ln.dest, from_dir, ctx, qr_path)]
    if not images:
        problems.append(Problem("qr", path, f"the page shows no QR image {posixpath.basename(qr_path)}"))
        return
    image = images[-1]
    wrapping = [ln for ln in scan.links if ln.kind == "link" and ln.block == image.block
                and ln.span[0] < image.span[0] and image.span[1] <= ln.span[1]]
    wanted = [wrapping[-1].dest] if wrapping else list(expect)
    try:
        with open(os.path.join(root, qr_path), "rb") as f:
            png = f.read()
    except OSError:
        problems.append(Problem("qr", path, f"QR image {qr_path} is missing"))
        return
    counts["qr"] += 1
    if not wanted:
        return  # nothing says what it should encode; that it exists is all there is to check
    why = qr_mismatch(png, wanted)
    if why:
        problems.append(Problem("qr", path, why))


def _resolves_to(dest: str, from_dir: str, ctx: _Context, repo_path: str) -> bool:
    target = _target(dest, from_dir, ctx)
    return target is not None and target[0] == repo_path


def _md_dest_variants(url: str) -> list[str]:
    # The footer writes the URL through md_dest, which percent-encodes spaces, parentheses,
    # angle brackets and backslashes that the QR code holds as they are.
    plain = re.sub(r"%(?:2[089]|3[CcEe]|5[Cc]|[01][0-9A-Fa-f]|7[Ff])", lambda m: unquote(m.group(0)), url)
    return [url] if plain == url else [url, plain]


# =========================================================================== reading QR PNGs
#
# Regenerating a page's QR code to compare bytes costs ~8 ms (segno's encoder), decoding it
# with zxing-cpp about as much: minutes for 20,000 pages. A QR PNG as mirror writes it is a
# clean, axis-aligned, unrotated symbol, so reading it needs no image processing: sample each
# module's centre, unmask, de-interleave, verify every block's Reed-Solomon codewords (so any
# scanner reads the same), and parse the segments. An image this reader does not understand
# falls back to the slow comparison.

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_MAX_SIDE = 4096
_FORMAT_CODES: dict[int, int] = {}
for _data in range(32):
    _rem = _data
    for _ in range(10):
        _rem = (_rem << 1) ^ ((_rem >> 9) * 0x537)
    _FORMAT_CODES[(_data << 10 | _rem) ^ 0x5412] = _data
_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def _png_rows(png: bytes) -> tuple[int, int, int, list[bytes]] | None:
    """(width, height, bit depth, unfiltered scanlines) of a non-interlaced greyscale PNG."""
    if not png.startswith(_PNG_SIGNATURE):
        return None
    pos, idat, header = 8, [], None
    while pos + 8 <= len(png):
        length, kind = struct.unpack_from(">I4s", png, pos)
        body = png[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR" and len(body) == 13:
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if header is None:
        return None
    width, height, depth, colour, _, _, interlace = header
    if colour != 0 or interlace or depth not in (1, 8) or not 0 < width <= _MAX_SIDE or not 0 < height <= _MAX_SIDE:
        return None
    stride = (width * depth + 7) // 8
    try:
        raw = zlib.decompressobj().decompress(b"".join(idat), (stride + 1) * height)
    except zlib.error:
        return None
    if len(raw) < (stride + 1) * height:
        return None
    bpp = max(1, depth // 8)
    step, zero = stride + 1, bytes(stride)
    rows, prev = [], zero
    for start in range(0, step * height, step):
        kind, line = raw[start], raw[start + 1:start + step]
        if kind == 0:
            prev = line
        elif kind == 2 and line == zero:
            pass  # "Up" with nothing added: mirror repeats each module row this way
        elif kind in (1, 2, 3, 4):
            prev = _unfilter(kind, line, prev, bpp)
        else:
            return None
        rows.append(prev)
    return width, height, depth, rows


def _unfilter(kind: int, line: bytes, prev: bytes, bpp: int) -> bytes:
    out = bytearray(line)
    for i in range(len(out)):
        a = out[i - bpp] if i >= bpp else 0
        b = prev[i]
        if kind == 1:
            out[i] = (out[i] + a) & 0xFF
        elif kind == 2:
            out[i] = (out[i] + b) & 0xFF
        elif kind == 3:
            out[i] = (out[i] + ((a + b) >> 1)) & 0xFF
        else:
            c = prev[i - bpp] if i >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            out[i] = (out[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
    return bytes(out)


_DARK_BYTES = bytes(0x31 if v < 128 else 0x30 for v in range(256))


def _dark(row: bytes, depth: int) -> str:
    """A scanline as "1" (dark) / "0" (light) per pixel."""
    if depth == 8:
        return row.translate(_DARK_BYTES).decode("ascii")
    bits = int.from_bytes(row, "big") ^ ((1 << (8 * len(row))) - 1)  # 0 is black in greyscale
    return format(bits, f"0{8 * len(row)}b")


@functools.cache
def _data_order(version: int, mask: int) -> tuple[Callable[[str], tuple[str, ...]], int, int]:
    """A getter of the data modules of a symbol (given as its rows joined) in reading order,
    their number, and the mask over them as an integer."""
    size = 17 + 4 * version
    function = function_modules(version)
    masked = MASKS[mask]
    order, mask_bits = [], []
    right = size - 1
    while right >= 1:
        if right == 6:
            right = 5  # the vertical timing pattern
        upward = ((right + 1) & 2) == 0
        for vert in range(size):
            i = size - 1 - vert if upward else vert
            for j in (right, right - 1):
                if (i, j) not in function:
                    order.append(i * size + j)
                    mask_bits.append("1" if masked(i, j) else "0")
        right -= 2
    return operator.itemgetter(*order), len(order), int("".join(mask_bits), 2)


def _format(matrix: list[str], size: int) -> int | None:
    firsts = [(i, 8) for i in range(6)] + [(7, 8), (8, 8), (8, 7)] + [(8, 14 - i) for i in range(9, 15)]
    seconds = [(8, size - 1 - i) for i in range(8)] + [(size - 15 + i, 8) for i in range(8, 15)]
    for places in (firsts, seconds):
        word = sum(1 << n for n, (i, j) in enumerate(places) if matrix[i][j] == "1")
        if word in _FORMAT_CODES:
            return _FORMAT_CODES[word]
    return None


@functools.cache
def _rs_table(ec_len: int) -> tuple[int, ...]:
    """For each feedback byte, the generator polynomial times it, as one integer."""
    gen = GEN_POLY[ec_len]
    table = [0]
    for coef in range(1, 256):
        lcoef = GALIOS_LOG[coef]
        table.append(int.from_bytes(bytes(GALIOS_EXP[lcoef + g] for g in gen), "big"))
    return tuple(table)


def _rs_ok(data: bytes, ec: bytes) -> bool:
    """Whether `ec` are the Reed-Solomon codewords of `data` (division as a shift register)."""
    table = _rs_table(len(ec))
    shift = 8 * (len(ec) - 1)
    keep = (1 << (8 * len(ec))) - 1
    reg = 0
    for byte in data:
        reg = ((reg << 8) & keep) ^ table[byte ^ (reg >> shift)]
    return reg == int.from_bytes(ec, "big")


def read_qr_png(png: bytes) -> str | None:
    """The text of a QR code PNG as mirror writes it (any scale), or None when the image is
    not a clean symbol this reader understands or its error correction does not check out."""
    try:
        return _read_qr(png)
    except (ValueError, IndexError, KeyError, struct.error):  # a malformed image is not a crash
        return None


def _read_qr(png: bytes) -> str | None:
    got = _png_rows(png)
    if got is None:
        return None
    width, height, depth, rows = got
    white = b"\xff" * len(rows[0])
    y0 = next((y for y, row in enumerate(rows) if row != white and "1" in _dark(row, depth)[:width]), None)
    if y0 is None:
        return None
    top = _dark(rows[y0], depth)[:width]
    x0 = top.index("1")
    run = len(top) - x0 - len(top[x0:].lstrip("1"))
    x1 = top.rindex("1") + 1
    scale, extra = divmod(run, 7)
    if extra or not scale:
        return None
    size, extra = divmod(x1 - x0, scale)
    version, bad = divmod(size - 17, 4)
    if extra or bad or not 1 <= version <= 40 or y0 + size * scale > height:
        return None
    half = scale // 2
    matrix = [_dark(rows[y0 + i * scale + half], depth)[x0 + half:x0 + size * scale:scale] for i in range(size)]
    fmt = _format(matrix, size)
    if fmt is None:
        return None
    ec_level, mask = fmt >> 3, fmt & 7
    groups = ECC[version][ec_level]
    total = sum(g.num_blocks * g.num_total for g in groups)
    modules, count, mask_int = _data_order(version, mask)
    bits = "".join(modules("".join(matrix)))
    stream = (int(bits, 2) ^ mask_int) >> (count - total * 8)
    codewords = stream.to_bytes(total, "big")
    blocks = [(g.num_data, g.num_total - g.num_data) for g in groups for _ in range(g.num_blocks)]
    datas = [bytearray() for _ in blocks]
    pos = 0
    for k in range(max(d for d, _ in blocks)):
        for b, (d, _) in enumerate(blocks):
            if k < d:
                datas[b].append(codewords[pos])
                pos += 1
    ecs = [bytearray() for _ in blocks]
    for _ in range(blocks[0][1]):
        for b in range(len(blocks)):
            ecs[b].append(codewords[pos])
            pos += 1
    if not all(_rs_ok(bytes(d), bytes(e)) for d, e in zip(datas, ecs, strict=True)):
        return None
    return _segments(b"".join(datas), version)


def _segments(data: bytes, version: int) -> str | None:
    bits = format(int.from_bytes(data, "big"), f"0{8 * len(data)}b")
    band = 0 if version < 10 else 1 if version < 27 else 2
    out = bytearray()
    pos = 0

    def take(n: int) -> int:
        nonlocal pos
        if pos + n > len(bits):
            raise ValueError("truncated")
        value = int(bits[pos:pos + n], 2)
        pos += n
        return value

    try:
        while len(bits) - pos >= 4:
            mode = take(4)
            if mode == 0:
                break
            if mode == 0b0100:
                count = take((8, 16, 16)[band])
                if count:
                    out += take(8 * count).to_bytes(count, "big")
            elif mode == 0b0010:
                count = take((9, 11, 13)[band])
                for _ in range(count // 2):
                    a, b = divmod(take(11), 45)
                    out += (_ALNUM[a] + _ALNUM[b]).encode()
                if count % 2:
                    out += _ALNUM[take(6)].encode()
            elif mode == 0b0001:
                count = take((10, 12, 14)[band])
                for _ in range(count // 3):
                    out += f"{take(10):03d}".encode()
                rest = count % 3
                if rest:
                    out += f"{take(7 if rest == 2 else 4):0{rest}d}".encode()
            elif mode == 0b0111:
                if take(1):
                    take(15 if not take(1) else 22)
                else:
                    take(7)
            else:
                return None  # Kanji, structured append...: leave it to a real decoder
    except (ValueError, IndexError):
        return None
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        return out.decode("latin-1")


def qr_mismatch(png: bytes, wanted: Sequence[str]) -> str:
    """"" if the QR PNG encodes one of `wanted`, else what is wrong.

    The image is read with `read_qr_png`; one it cannot read is compared with a fresh PNG of
    the wanted text, and when that differs decoded with zxing-cpp if installed."""
    candidates = [v for url in wanted for v in _md_dest_variants(url)]
    text = read_qr_png(png)
    if text is not None:
        return "" if text in candidates else f"QR decodes to {text} but the page links {wanted[0]}"
    for text in candidates:
        try:
            if qr_png(text) == png:
                return ""
        except ValueError:
            pass
    decoded = _decode(png)
    if decoded is None:
        return f"QR image is not the QR code of {wanted[0]} (install zxing-cpp to decode it)"
    if decoded in candidates:
        return ""
    if decoded == "":
        return "QR image does not decode"
    return f"QR decodes to {decoded} but the page links {wanted[0]}"


def _decode(png: bytes) -> str | None:
    """The text a QR PNG decodes to ("" if none), or None when no decoder is installed."""
    try:
        import io

        import zxingcpp
        from PIL import Image
    except ImportError:
        return None
    try:
        codes = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    except Exception:  # a damaged image is a finding, not a crash
        return ""
    return codes[0].text if codes else ""


def _check_chunk(root: str, ctx: _Context, files: list[tuple[str, str, tuple[str, ...]]]
                 ) -> tuple[list[Problem], Counter[str], set[str]]:
    problems: list[Problem] = []
    counts: Counter[str] = Counter()
    linked: set[str] = set()
    for path, kind, expect in files:
        p, c, n = _check_file(path, kind, expect, ctx, root)
        problems.extend(p)
        counts.update(c)
        linked |= n
    return problems, counts, linked


_worker: tuple[str, _Context] | None = None


def _init_worker(root: str, ctx: _Context) -> None:
    global _worker
    _worker = (root, ctx)


def _run_chunk(files: list[tuple[str, str, tuple[str, ...]]]) -> tuple[list[Problem], Counter[str], set[str]]:
    assert _worker is not None
    return _check_chunk(_worker[0], _worker[1], files)


def _walk(root: Path) -> tuple[set[str], set[str], list[str]]:
    """The repo's files and folders (repo-relative, "/"-separated; .git left out), and its
    symbolic links that lead out of it (not followed, not counted as files)."""
    files: set[str] = set()
    dirs: set[str] = set()
    escaping: list[str] = []
    real_root = os.path.realpath(root)
    stack = [("", str(root))]
    while stack:
        prefix, folder = stack.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                rel = prefix + entry.name
                if entry.is_symlink():
                    target = os.path.realpath(entry.path)
                    if os.path.commonpath([real_root, target]) != real_root:
                        escaping.append(rel)
                        continue
                if entry.is_dir():
                    if rel != ".git":
                        dirs.add(rel)
                        stack.append((rel + "/", entry.path))
                else:
                    files.add(rel)
    return files, dirs, escaping


def _public_prefixes(templates: Iterable[str]) -> tuple[tuple[str, str], ...]:
    out = []
    for template in templates:
        if template and "{path}" in template:
            prefix, suffix = template.split("{path}", 1)
            out.append((prefix, suffix))
    return tuple(out)


class _ManifestWarnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def check_manifest(manifest: Manifest, files: set[str], pages_dir: str = "pages") -> list[Problem]:
    """Manifest and files agree: live pages and QR images exist, retired ones are gone, no page
    is unknown, no path is held twice."""
    problems = []
    live: set[str] = set()
    prefix = pages_dir.strip("/") + "/"
    for record in manifest:
        if not record.path.startswith(prefix) or posixpath.normpath(record.path) != record.path:
            problems.append(Problem("manifest", MANIFEST_PATH, f"record {record.url} has a page path outside "
                                    f"{prefix}: {record.path!r}"))
            continue
        if record.removed:
            for p in (record.path, record.qr_path):
                if p in files:
                    problems.append(Problem("retired-present", p, f"retired record {record.url} still has this file"))
            continue
        live.add(record.path)
        if record.path not in files:  # (a missing QR image is found with its page)
            problems.append(Problem("missing-page", record.path, f"listed in the manifest for {record.url}, but absent"))
        for asset in record.assets:
            if asset not in files:
                problems.append(Problem("broken-link", record.path, f"manifest asset {asset} is missing"))
    for path, urls in manifest.clashes().items():
        problems.append(Problem("duplicate-path", path, f"held by {len(urls)} records: {', '.join(urls)}"))
    for path in sorted(files):
        if not path.startswith(prefix):
            continue
        if path.endswith(".md") and path not in live:
            problems.append(Problem("orphan", path, "page file the manifest does not know"))
        elif path.endswith(".md.png") and path[:-4] not in live and path[:-4] not in files:
            problems.append(Problem("orphan", path, "QR image of no page"))
    return problems


def check_repo(
    root: Path,
    *,
    page_url: str = "",
    asset_url: str = "",
    indexes_dir: str = "indexes",
    pages_dir: str = "pages",
    workers: int | None = None,
) -> CheckReport:
    """Check the mirror repo at `root`, as `mirror check` does:

    - every relative link and image (Markdown or raw HTML) in every page, index and the README
      resolves to a file or folder of the repo, and none leads out of it; links to the repo's
      own public URLs (`page_url`, `asset_url`: templates with {path}) are checked the same way;
    - every page shows its QR image, which exists and encodes the URL the footer links it to;
    - the manifest and the files agree (no missing page, orphan, doubly held path, or files
      of a retired record), and every live page is linked from an index;
    - no page holds active content: script-like elements, event handlers, script URLs.

    Pages are checked in `workers` processes (default: up to 2) when there are many.
    """
    started = time.perf_counter()
    root = Path(root)
    report = CheckReport()
    files, dirs, escaping = _walk(root)
    report.problems.extend(Problem("escapes-repo", p, "symbolic link to outside the repo") for p in escaping)
    ctx = _Context(frozenset(files), frozenset(dirs), _public_prefixes([page_url, asset_url]))

    handler = _ManifestWarnings()
    manifest_log = logging.getLogger("mirror.manifest")
    manifest_log.addHandler(handler)
    try:
        manifest = Manifest.load(root)
    finally:
        manifest_log.removeHandler(handler)
    report.problems.extend(Problem("manifest", MANIFEST_PATH, m) for m in handler.messages)
    if MANIFEST_PATH not in files:
        report.problems.append(Problem("manifest", MANIFEST_PATH, "the repo has no manifest"))
    report.counts["records"] = len(manifest)
    report.problems.extend(check_manifest(manifest, files, pages_dir))

    expect: dict[str, tuple[str, ...]] = {}
    for record in manifest:
        if not record.removed:
            # What the QR encodes when the footer does not link it: see Publisher._publish_entry.
            expect[record.path] = tuple(u for u in (record.short_url, record.original_url, record.url) if u)
    pages_prefix = pages_dir.strip("/") + "/"
    indexes_prefix = indexes_dir.strip("/") + "/"
    todo: list[tuple[str, str, tuple[str, ...]]] = []
    for path in sorted(files):
        if not path.endswith(".md"):
            continue
        if path.startswith(pages_prefix):
            todo.append((path, "pages", expect.get(path, ())))
        elif path.startswith(indexes_prefix) and "/" not in path[len(indexes_prefix):]:
            todo.append((path, "indexes", ()))
        elif path == "README.md":
            todo.append((path, "readme", ()))
    if "README.md" not in files:
        report.problems.append(Problem("broken-link", "README.md", "the repo has no README.md"))

    workers = workers if workers is not None else min(2, os.cpu_count() or 1)
    if workers > 1 and len(todo) >= PARALLEL_MIN_FILES:
        chunks = [todo[i:i + CHUNK] for i in range(0, len(todo), CHUNK)]
        with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(str(root), ctx)) as pool:
            results = list(pool.map(_run_chunk, chunks))
    else:
        results = [_check_chunk(str(root), ctx, todo)]
    indexed: set[str] = set()
    for problems, counts, linked in results:
        report.problems.extend(problems)
        report.counts.update(counts)
        indexed |= linked
    for path in sorted(expect):  # (a missing page is reported as such)
        if path in files and path not in indexed:
            report.problems.append(Problem("unindexed", path, f"no index in {indexes_prefix} links to this page"))
    report.problems.sort(key=lambda p: (KINDS.index(p.kind) if p.kind in KINDS else len(KINDS), p.path))
    report.seconds = time.perf_counter() - started
    return report


def format_report(report: CheckReport, *, per_kind: int = 20) -> str:
    """The report as text: problems grouped by kind (at most `per_kind` lines each), then a
    one-line summary."""
    lines: list[str] = []
    by_kind: dict[str, list[Problem]] = {}
    for p in report.problems:
        by_kind.setdefault(p.kind, []).append(p)
    for kind, problems in by_kind.items():
        lines.append(f"{kind} ({len(problems)}):")
        lines.extend(f"  {p.path}: {p.message}" for p in problems[:per_kind])
        if len(problems) > per_kind:
            lines.append(f"  ... and {len(problems) - per_kind} more")
    c = report.counts
    n = len(report.problems)
    readme = "README" if c["readme"] else "no README"
    lines.append(
        f"checked {c['pages']} pages, {c['indexes']} indexes, {readme}, {c['links']} links, "
        f"{c['qr']} QR codes, {c['records']} manifest records in {report.seconds:.2f} s: "
        f"{n} problem{'s' if n != 1 else ''}"
    )
    return "\n".join(lines)
