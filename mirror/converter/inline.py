"""Inline content: tokens collected by the walker, serialised to Markdown by CommonMark's rules.

The walker appends plain strings (page text, unescaped) and a few marker
objects to a list.  `render_inline` then decides, knowing the neighbours
of every piece, how whitespace collapses, which characters need a
backslash and which emphasis delimiter (`*`, `_` or an HTML tag) will
actually render.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata


class Open:
    """Start of an inline span: em, strong, del, link (data = closing text) or html (data = tags).

    `html` gives the span's (start tag, end tag) where Markdown cannot be
    used, or a function that makes them (only asked for inside raw HTML).
    """

    __slots__ = ("kind", "data", "html")

    def __init__(self, kind: str, data: object = None, html: object = None) -> None:
        self.kind = kind
        self.data = data
        self.html = html

    def tags(self) -> tuple[str, str]:
        h = self.html
        if h is None:
            return _HTML_TAGS.get(self.kind) or (self.data if self.kind == "html" else ("", ""))
        return h() if callable(h) else h


class Close:
    """End of the span started by `opener`."""

    __slots__ = ("opener",)

    def __init__(self, opener: Open) -> None:
        self.opener = opener


class Raw:
    """Finished Markdown (code span, image, autolink) emitted as is.

    `html` is its HTML form, or a function that makes it.
    """

    __slots__ = ("text", "html")

    def __init__(self, text: str, html: object = "") -> None:
        self.text = text
        self.html = html


class Break:
    """A hard line break (<br>)."""

    __slots__ = ()


BR = Break()

_HTML_TAGS = {"em": ("<em>", "</em>"), "strong": ("<strong>", "</strong>"),
              "del": ("<del>", "</del>")}

# Output modes of an inline run.
PARA = 0  # a paragraph: lines may start blocks, so line starts are escaped
HEADING = 1  # an ATX heading: one line, trailing '#' escaped
CELL = 2  # a pipe-table cell: one line, '|' escaped, breaks as <br>

_DELIMS = {
    "em": (("*", "*"), ("_", "_"), ("<em>", "</em>")),
    "strong": (("**", "**"), ("__", "__"), ("<strong>", "</strong>")),
    "del": (("~~", "~~"), ("<del>", "</del>")),
}

# ------------------------------------------------------------------ characters
# Han, kana, CJK symbols and fullwidth forms: scripts written without spaces,
# where a source line break is not a space.  Hangul uses spaces, so it is out.
_CJK = re.compile(r"[\u2e80-\u2fff\u3000-\u30ff\u3100-\u312f\u3190-\u31ff\u3400-\u4dbf"
                  r"\u4e00-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]")
_ASCII_PUNCT = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")

WS, PUNCT, SYMBOL, OTHER = 0, 1, 2, 3
_class_cache: dict[str, int] = {}


def char_class(ch: str) -> int:
    """CommonMark's view of a character; SYMBOL (Unicode S*) is punctuation to some parsers only."""
    c = _class_cache.get(ch)
    if c is None:
        if ch in " \t\n\r\f\v":
            c = WS
        elif ch in _ASCII_PUNCT:
            c = PUNCT
        else:
            cat = unicodedata.category(ch)
            c = WS if cat == "Zs" else PUNCT if cat[0] == "P" else SYMBOL if cat[0] == "S" else OTHER
        if len(_class_cache) < 20000:
            _class_cache[ch] = c
    return c


def _flanking(prev: str, nxt: str, sym_is_punct: bool) -> tuple[bool, bool, bool, bool]:
    """(left-flanking, right-flanking, prev is punct, next is punct) of a delimiter run."""
    pc, nc = char_class(prev), char_class(nxt)
    pp = pc == PUNCT or (sym_is_punct and pc == SYMBOL)
    np = nc == PUNCT or (sym_is_punct and nc == SYMBOL)
    left = nc != WS and (not np or pc == WS or pp)
    right = pc != WS and (not pp or nc == WS or np)
    return left, right, pp, np


@functools.lru_cache(maxsize=4096)
def _can_open(d: str, prev: str, nxt: str) -> bool:
    for sym in (False, True):
        left, right, pp, _ = _flanking(prev, nxt, sym)
        if not left or (d == "_" and right and not pp):
            return False
    return True


@functools.lru_cache(maxsize=4096)
def _can_close(d: str, prev: str, nxt: str) -> bool:
    for sym in (False, True):
        left, right, _, np = _flanking(prev, nxt, sym)
        if not right or (d == "_" and left and not np):
            return False
    return True


@functools.lru_cache(maxsize=4096)
def _opener_may_close(d: str, prev: str, nxt: str) -> bool:
    """Whether an opening run here could instead close an earlier run (intraword '*')."""
    for sym in (False, True):
        left, right, _, np = _flanking(prev, nxt, sym)
        if right and (d != "_" or not left or np):
            return True
    return False


@functools.lru_cache(maxsize=4096)
def _closer_may_open(d: str, prev: str, nxt: str) -> bool:
    for sym in (False, True):
        left, right, pp, _ = _flanking(prev, nxt, sym)
        if left and (d != "_" or not right or pp):
            return True
    return False


def _inert_run(d: str, prev: str, nxt: str) -> bool:
    """True when a run of `d` here can neither open nor close emphasis under any reading."""
    for sym in (False, True):
        left, right, pp, np = _flanking(prev, nxt, sym)
        if d == "_":
            if (left and (not right or pp)) or (right and (not left or np)):
                return False
        elif left or right:
            return False
    return True


# ------------------------------------------------------------------ escaping
def _has_special(t: str) -> bool:
    """Whether `t` holds a character that may need a backslash (fast str scans, no regex)."""
    return ("\\" in t or "`" in t or "*" in t or "_" in t or "[" in t or "]" in t or "<" in t
            or "&" in t or "!" in t or "~" in t or "|" in t)


_ENTITY_LIKE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{0,31});")
_DELIM_RUN = re.compile(r"\*+|_+|~+")
# Raw HTML and URI autolinks start with a letter, '/', '!' or '?'; an
# email autolink with any character of an address's local part.
_HTML_START = re.compile(r"<(?=[A-Za-z/!?]|[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@)")
_BACKSLASH = re.compile(r"\\")


def escape_text(text: str, prev: str, nxt: str, *, brackets: bool, backticks: bool,
                cell: bool, lone: str = "", closing: str = "") -> str:
    """Backslash the characters of `text` that would otherwise become Markdown syntax.

    `prev`/`nxt` are the characters around `text` in the output ("\\n" at a
    line boundary); `brackets` says whether '[' and ']' must be escaped;
    `lone` lists delimiter characters ('*', '_', '~') that occur once in the
    whole run and so have nothing to pair with; `closing` lists those whose
    runs are escaped only where they could open (no span here uses them,
    so a run that can only close finds nothing open).
    """
    if not _has_special(text):
        return text
    if "*" not in text and "_" not in text and "~" not in text:
        return _escape_plain(text, text, 0, len(text), nxt, brackets, backticks, cell)
    out: list[str] = []
    n = len(text)
    i = 0
    for m in _DELIM_RUN.finditer(text):
        s, e = m.span()
        if s > i:
            out.append(_escape_plain(text[i:s], text, i, s, nxt, brackets, backticks, cell))
        run = m.group()
        before = text[s - 1] if s else prev
        after = text[e] if e < n else nxt
        d = run[0]
        if d in lone or _inert_run(d, before, after) or (d in closing and not _closer_may_open(d, before, after)):
            out.append(run)
        else:
            out.append("\\" + "\\".join(run))
        i = e
    if i < n:
        out.append(_escape_plain(text[i:], text, i, n, nxt, brackets, backticks, cell))
    return "".join(out)


def _escape_plain(piece: str, text: str, start: int, end: int, nxt: str, brackets: bool,
                  backticks: bool, cell: bool) -> str:
    if not _has_special(piece):
        return piece
    if "\\" in piece:
        # A backslash is literal unless ASCII punctuation or a line end follows it.
        def bs(m: re.Match[str]) -> str:
            j = m.start() + 1
            after = piece[j] if j < len(piece) else (text[end] if end < len(text) else nxt)
            return "\\\\" if after in _ASCII_PUNCT or after == "\n" else "\\"
        piece = _BACKSLASH.sub(bs, piece)
    if backticks and "`" in piece:
        piece = piece.replace("`", "\\`")
    if brackets:
        piece = piece.replace("[", "\\[").replace("]", "\\]")
    if "<" in piece:
        piece = _HTML_START.sub(r"\\<", piece)
    if "&" in piece:
        piece = _ENTITY_LIKE.sub(lambda m: "\\" + m.group(), piece)
    if cell and "|" in piece:
        piece = piece.replace("|", "\\|")
    if "!" in piece:
        # "!" right before a link's "[" would turn the link into an image
        if "![" in piece:
            piece = piece.replace("![", "\\![")
        if piece[-1] == "!" and end == len(text) and nxt == "[":
            piece = piece[:-1] + "\\!"
    return piece


_LINE_START = re.compile(
    r"(?P<atx>#{1,6}(?=[ \t\xa0]|$))"
    r"|(?P<quote>>)"
    r"|(?P<bullet>[-+*](?=[ \t]|$))"
    r"|(?P<ordered>\d{1,9})(?P<odelim>[.)])(?=[ \t]|$)"
    r"|(?P<fence>```|~~~)"
)
_WHOLE_LINE = re.compile(
    r"(?:[-*_][ \t]*){3,}$"  # thematic break
    r"|(?:=+|-+)[ \t]*$"  # setext underline
    r"|\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$"  # table delimiter row
)


def escape_line_start(line: str, whole_line: bool, continuation: bool = False) -> str:
    """Escape a line start that would open a block (heading, list, quote, fence, rule).

    On a `continuation` line of a paragraph (after a hard break) an ordered
    list interrupts only if it starts with 1 and is not empty.
    """
    if not line:
        return line
    c = line[0]
    if c in "#>-+*`~=|:_" or c.isdigit():
        if whole_line and _WHOLE_LINE.match(line) and "\\" not in line[:1]:
            return "\\" + line
        m = _LINE_START.match(line)
        if m:
            if m.group("ordered"):
                k = m.end("ordered")
                if continuation and (int(m.group("ordered")) != 1 or not line[k + 1:].strip(" \t")):
                    return line
                return line[:k] + "\\" + line[k:]
            if m.group("fence"):
                # the whole run: a shorter run left behind could pair with a later one
                run = len(line) - len(line.lstrip(c))
                return ("\\" + c) * run + line[run:]
            return "\\" + line
    return line


_TICKS = re.compile(r"`+")


def backticks_pair(text: str) -> bool:
    """Whether a backtick run of plain `text` has a later run of its length to pair with."""
    return _backticks_pair([(_T, text)], text)


def _backticks_pair(segs: list, flat: str) -> bool:
    """Whether a backtick run of the page's text could take part in a code span.

    CommonMark pairs runs of equal length, so a run needs escaping when a
    later run has its length (page text, code span, autolink or link
    destination written here), or when it touches a backtick of such
    markup and would merge with it.
    """
    parts: list[str] = []  # the output, roughly: page text as "t" marks, markup backticks as "r"
    for s in segs:
        k = s[0]
        if k == _T:
            parts.append("".join("t" if c == "`" else " " for c in s[1]) if "`" in s[1] else " ")
        elif k == _R:
            parts.append("".join("r" if c == "`" else " " for c in s[1]) if "`" in s[1] else " ")
        elif k == _C and s[1].kind == "link" and "`" in s[1].data:
            parts.append(" " + "".join("r" if c == "`" else " " for c in s[1].data) + " ")
        else:
            parts.append(" ")
    later: set[int] = set()
    for run in reversed(re.findall(r"[tr]+", "".join(parts))):
        if "t" in run and ("r" in run or len(run) in later):
            return True
        later.add(len(run))
    return False


# ------------------------------------------------------------------ rendering
_LINK_BRACKET = re.compile(r"\][(\[:]")


def render_inline(tokens: list, mode: int = PARA, cjk: bool = True) -> str:
    """Markdown for one run of inline tokens (a paragraph, heading or table cell).

    `cjk=False` promises the text holds no CJK characters, which skips the
    line-break handling those scripts need.
    """
    for t in tokens:
        if t.__class__ is not str:
            break
    else:
        return _render_text("".join(tokens), mode, cjk)
    segs = _layout(tokens, mode, cjk)
    if not segs:
        return ""
    return _serialize(segs, mode)


def _render_text(text: str, mode: int, cjk: bool = True) -> str:
    """The common case of a run that is only page text: no spans, no breaks."""
    if cjk and "\n" in text and _CJK.search(text):
        text = _CJK_BREAK.sub("", text)
    text = _collapse_ws(text).strip(" ")
    if not text:
        return ""
    return _serialize([(_T, text)], mode)


# Segment kinds after layout.
_T, _R, _O, _C, _B = 0, 1, 2, 3, 4
_BREAK_SEG = (4, None)
_TIGHT_BREAK_SEG = (4, "tight")


def _layout(tokens: list, mode: int, cjk: bool = True) -> list:
    """Collapse whitespace, move spaces out of spans, drop empty spans and edge breaks.

    Returns segments [kind, value]: text, raw, open, close, break.  Spaces
    and span openings wait until visible content follows them, so a space
    at the edge of a span moves outside it and empty spans vanish.
    """
    segs: list = []
    text: list[str] = []  # pieces of the text segment being built
    pending_space = False  # a collapsed space waiting for visible content
    space_nl = False  # ...that held a source line break (dropped between CJK)
    pending_opens: list = []
    pending_breaks: list = []
    # A run of <br> with the page's text right against both sides (no white
    # space) becomes inline `<br>`: the rendered text then joins the words as
    # the page's own text does, where a `\` break would add a newline.
    touching = False  # the page's last text ended in a visible character
    tight_before = False  # ...when the run of breaks began
    ws_since_break = False  # white space in the page since the run began
    seen = False  # anything visible on the current line
    last_char = ""
    opened: set = set()

    for tok in tokens:
        cls = tok.__class__
        if cls is str:
            if not tok:
                continue
            if cjk and "\n" in tok and _CJK.search(tok):
                tok = _CJK_BREAK.sub("", tok)
                if not tok:
                    continue
            if pending_breaks and tok[0] in _WS_CHARS:
                ws_since_break = True
            touching = tok[-1] not in _WS_CHARS
            body = _collapse_ws(tok)
            lead = body[0] == " "
            if lead:
                if seen and not pending_space:
                    pending_space = True
                    space_nl = cjk and "\n" in tok[: len(tok) - len(tok.lstrip(" \t\n\r\f"))]
                elif pending_space and tok[0] == "\n":
                    space_nl = cjk
                body = body[1:]
                if not body:
                    continue
            trail = body[-1] == " "
            if trail:
                body = body[:-1]
            # visible text
            if pending_breaks:
                if text:
                    segs.append((_T, "".join(text)))
                    text = []
                segs.extend(_breaks(pending_breaks, tight_before and not ws_since_break))
                pending_breaks = []
                pending_space = seen = False
            if pending_space:
                pending_space = False
                if not (space_nl and _CJK.match(last_char) and _CJK.match(body[0])):
                    text.append(" ")
            if pending_opens:
                if text:
                    segs.append((_T, "".join(text)))
                    text = []
                for o in pending_opens:
                    segs.append((_O, o))
                    opened.add(o)
                pending_opens.clear()
            text.append(body)
            seen = True
            last_char = body[-1]
            if trail:
                pending_space = True
                space_nl = cjk and "\n" in tok[len(tok.rstrip(" \t\n\r\f")):]
            continue
        if cls is Open:
            pending_opens.append(tok)
        elif cls is Close:
            o = tok.opener
            if o in pending_opens:
                if o.kind != "link":
                    pending_opens.remove(o)  # nothing inside: drop the span
                    continue
                # an empty link still links somewhere: emit it like content
                tok = Raw("")
            elif o in opened:
                if text:
                    segs.append((_T, "".join(text)))
                    text = []
                segs.append((_C, o))
                continue
            else:
                continue
        if cls is Raw or tok.__class__ is Raw:
            if pending_breaks:
                if text:
                    segs.append((_T, "".join(text)))
                    text = []
                segs.extend(_breaks(pending_breaks, tight_before and not ws_since_break))
                pending_breaks = []
                pending_space = seen = False
            if pending_space:
                pending_space = False
                text.append(" ")
            if text:
                segs.append((_T, "".join(text)))
                text = []
            if pending_opens:
                for o in pending_opens:
                    segs.append((_O, o))
                    opened.add(o)
                if tok.text == "":  # the empty link
                    o = pending_opens[-1]
                    pending_opens.clear()
                    segs.append((_C, o))
                    seen = True  # breaks and spaces after it are not at the edge
                    continue
                pending_opens.clear()
            if tok.text:
                segs.append((_R, tok.text, tok.html))
                seen = True
                last_char = tok.text[-1]
                touching = True
        elif cls is Break and (seen or pending_breaks):
            if not pending_breaks:
                tight_before, ws_since_break = touching, False
            pending_breaks.append(_BREAK_SEG)
            pending_space = False
    if text:
        segs.append((_T, "".join(text)))
        text = []
    # spans opened here but closed in a later paragraph end here
    open_stack: list = []
    for s in segs:
        k = s[0]
        if k == _O:
            open_stack.append(s[1])
        elif k == _C and s[1] in open_stack:
            open_stack.remove(s[1])
    for o in reversed(open_stack):
        segs.append((_C, o))
    return segs


_WS_CHARS = frozenset(" \t\n\r\f")


def _breaks(run: list, tight: bool) -> list:
    """The segments of a run of breaks: inline `<br>` when the page's words touch it on both sides."""
    return [_TIGHT_BREAK_SEG] * len(run) if tight else run


def _collapse_ws(text: str) -> str:
    """Runs of ASCII whitespace as one space (str methods: much faster than a regex here)."""
    # (str.replace is fast on any string; str.translate is slow once the
    # text is not ASCII)
    if "\n" in text:
        text = text.replace("\n", " ")
    if "\t" in text:
        text = text.replace("\t", " ")
    if "\r" in text:
        text = text.replace("\r", " ")
    if "\f" in text:
        text = text.replace("\f", " ")
    while "  " in text:
        text = text.replace("  ", " ")
    return text
_CJK_CHARS = (r"\u2e80-\u2fff\u3000-\u30ff\u3100-\u312f\u3190-\u31ff\u3400-\u4dbf"
              r"\u4e00-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef")
# A source line break between two CJK characters is no space at all.
_CJK_BREAK = re.compile(rf"(?<=[{_CJK_CHARS}])[ \t\r\f]*\n[ \t\n\r\f]*(?=[{_CJK_CHARS}])")


def _serialize(segs: list, mode: int) -> str:
    n = len(segs)
    # Whole-run facts that decide escaping.
    flat = (segs[0][1] if segs[0][0] == _T else "") if n == 1 else (
        "".join([s[1] for s in segs if s[0] == _T]))
    # most runs hold no character that could need a backslash at all
    specials = _has_special(flat)
    cell = mode == CELL
    brackets_anywhere = backticks = False
    lone = closing = ""
    if specials:
        brackets_anywhere = "]" in flat and _LINK_BRACKET.search(flat) is not None
        if "`" in flat:
            backticks = _backticks_pair(segs, flat)
        # A delimiter character that occurs once in the text cannot pair with
        # another; it stays unescaped and the spans here do not use it.
        # Otherwise, when the spans here do not use it, only its runs that
        # could open need a backslash: the others find nothing open.
        # ('*' only when no span here wants it, so emphasis keeps its usual form)
        if "*" in flat and not any(s[0] == _O and s[1].kind in ("em", "strong") for s in segs):
            if flat.count("*") == 1:
                lone += "*"
            else:
                closing += "*"
        if "_" in flat:
            if flat.count("_") == 1:
                lone += "_"
            else:
                closing += "_"
        if "~" in flat and flat.count("~") == 1:
            lone += "~"

    # Finals: the output string of each segment.  Emphasis delimiters are
    # decided last, so they can look at their real neighbours; until then
    # they count as punctuation.
    final: list = [None] * n
    in_link = 0  # open links whose text needs its brackets escaped
    link_depth = 0
    line_start = True
    continuation = False  # a line after a hard break: paragraph continuation text
    last = "\n"
    emphasis: list[int] = []
    close_of: dict[int, int] = {}
    for i in range(n):
        k, v = segs[i][:2]
        if k == _T:
            if not specials or (n > 1 and not _has_special(v)):
                out = v
            else:
                out = escape_text(v, last, _next_char(segs, i),
                                  brackets=brackets_anywhere or in_link > 0,
                                  backticks=backticks, cell=cell, lone=lone, closing=closing)
            if line_start and mode == PARA:
                out = escape_line_start(out, i + 1 >= n or (
                    segs[i + 1][0] == _B and segs[i + 1][1] != "tight"), continuation)
            final[i] = out
            line_start = False
            if out:
                last = out[-1]
        elif k == _R:
            if v[0] == "`" and last == "`":
                v = _code_as_html(v)  # two touching code spans would merge their fences
                final[i] = v
            else:
                final[i] = v.replace("|", "\\|") if cell else v
            line_start = False
            last = v[-1]
        elif k == _B:
            if v != "tight":
                line_start = continuation = True
                last = "\n"
            else:
                last = ">"
        elif k == _O:
            line_start = False  # the line starts with the span's mark, not the text
            kind = v.kind
            if kind == "link":
                # brackets balanced inside the link text need no escaping
                in_link += 0 if _balanced_link_text(segs, i) else 1
                link_depth += 1
                final[i] = last = "["
            elif kind == "html":
                final[i] = v.data[0]
                last = ">"
            else:
                emphasis.append(i)
                last = "*"
        else:  # close
            close_of[id(v)] = i
            kind = v.kind
            if kind == "link":
                link_depth -= 1
                if in_link > link_depth:
                    in_link -= 1
                final[i] = v.data.replace("|", "\\|") if cell else v.data
                last = final[i][-1]
            elif kind == "html":
                final[i] = v.data[1]
                last = ">"
            else:
                last = "*"
    # Emphasis: outer spans first, so inner ones see their neighbours' choices.
    enclosing: list[tuple[int, str]] = []  # (closer index, delimiter char) of open spans
    for i in emphasis:
        o = segs[i][1]
        j = close_of.get(id(o))
        if j is None:
            final[i] = ""
            continue
        while enclosing and enclosing[-1][0] < i:
            enclosing.pop()
        op_prev = _prev_char(segs, final, i)
        op_next = _next_char_final(segs, final, i)
        cl_prev = _prev_char(segs, final, j)
        cl_next = _next_char_final(segs, final, j)
        chosen = "<"
        for o_txt, c_txt in _DELIMS[o.kind]:
            d = o_txt[0]
            if d == "<":
                final[i], final[j] = o_txt, c_txt
                break
            if d in (op_prev, op_next, cl_prev, cl_next) or (d in lone and d != "~") or d in closing:
                continue  # would merge with a neighbouring run, or pair with page text
            if not (_can_open(d, op_prev, op_next) and _can_close(d, cl_prev, cl_next)):
                continue
            if any(c == d for _, c in enclosing) and (
                    _opener_may_close(d, op_prev, op_next) or _closer_may_open(d, cl_prev, cl_next)):
                continue  # it would close the enclosing span instead
            final[i], final[j] = o_txt, c_txt
            chosen = d
            break
        enclosing.append((j, chosen))
    if n == 1:
        result = final[0] or ""
    else:
        if mode == HEADING:
            brk = tight = " "
        else:  # (in a cell, the page's white space at a break stays in the text)
            brk, tight = ("<br> " if cell else "\\\n"), "<br>"
        result = "".join([final[i] if segs[i][0] != _B else brk if segs[i][1] is None else tight
                          for i in range(n)])
    if mode == HEADING and result.endswith("#"):
        result = _escape_closing_hashes(result)
    if result and (result[0] in _EDGE_SPACES or result[-1] in _EDGE_SPACES):
        # Parsers strip Unicode spaces (nbsp, ideographic space) at the
        # edges of a paragraph; as character references they stay.
        head = len(result) - len(result.lstrip(_EDGE_SPACES))
        tail = len(result.rstrip(_EDGE_SPACES))
        if tail <= head:
            return ""
        result = ("".join(f"&#x{ord(c):X};" for c in result[:head]) + result[head:tail]
                  + "".join(f"&#x{ord(c):X};" for c in result[tail:]))
    return result


_EDGE_SPACES = "\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"


_CLOSING_HASHES = re.compile(r"(^|[ \t])(#+)[ \t]*$")


def _escape_closing_hashes(s: str) -> str:
    return _CLOSING_HASHES.sub(lambda m: m.group(1) + "\\" + m.group(2), s)


def bracket_depth(text: str, depth: int = 0, opening: str = "[", closing: str = "]") -> int:
    """`depth` after the brackets of `text`; -1 once a closing one has no opening one before it."""
    for c in text:
        if c == opening:
            depth += 1
        elif c == closing:
            depth -= 1
            if depth < 0:
                return -1
    return depth


def _balanced_link_text(segs: list, i: int) -> bool:
    opener = segs[i][1]
    depth = 0
    for j in range(i + 1, len(segs)):
        k, v = segs[j][:2]
        if k == _C and v is opener:
            return depth == 0
        if k == _T and ("[" in v or "]" in v):
            if "](" in v or "][" in v or "]:" in v:
                return False
            depth = bracket_depth(v, depth)
            if depth < 0:
                return False
    return depth == 0


def render_inline_html(tokens: list, cjk: bool = True) -> str:
    """One inline run as HTML, for content inside a raw HTML block (a table cell)."""
    out: list[str] = []
    for seg in _layout(tokens, CELL, cjk):
        k, v = seg[0], seg[1]
        if k == _T:
            out.append(html.escape(v, quote=False))
        elif k == _R:
            h = seg[2]
            out.append((h() if callable(h) else h) or html.escape(v, quote=False))
        elif k == _B:
            # a line of its own (no blank line, so the HTML block goes on),
            # unless the page's text goes straight on after it
            out.append("<br>" if v == "tight" else "<br>\n")
        elif k == _O:
            out.append(v.tags()[0])
        else:
            out.append(v.tags()[1])
    return "".join(out).strip()


def _code_as_html(span: str) -> str:
    fence = len(span) - len(span.lstrip("`"))
    inner = span[fence:-fence]
    if len(inner) > 2 and inner[0] == " " and inner[-1] == " " and inner.strip(" "):
        inner = inner[1:-1]
    # inside inline HTML the text is still Markdown: escape it for both
    inner = re.sub(r"([\\`*_\[\]~|!])", r"\\\1", html.escape(inner, quote=False))
    return "<code>" + inner + "</code>"


def _prev_char(segs: list, final: list, i: int) -> str:
    """Character before segment i in the output; unknown delimiters count as punctuation."""
    j = i - 1
    while j >= 0:
        k = segs[j][0]
        if k == _B:
            return ">" if segs[j][1] == "tight" else "\n"
        f = final[j]
        if f is None:
            return "*" if k in (_O, _C) else (segs[j][1][-1:] or "\n")
        if f:
            return f[-1]
        j -= 1
    return "\n"


def _next_char(segs: list, i: int) -> str:
    """Character after segment i in the output; a break is written `\\`+newline or `<br>`: punctuation."""
    j = i + 1
    if j >= len(segs):
        return "\n"
    k = segs[j][0]
    if k == _B:
        return "<" if segs[j][1] == "tight" else "\\"
    if k in (_T, _R):
        return segs[j][1][:1] or "\n"
    if k == _O:
        return "[" if segs[j][1].kind == "link" else "*"
    return "*"


def _next_char_final(segs: list, final: list, i: int) -> str:
    j = i + 1
    while j < len(segs):
        k = segs[j][0]
        if k == _B:
            return "<" if segs[j][1] == "tight" else "\\"
        f = final[j]
        if f is None:
            return "*"
        if f:
            return f[0]
        j += 1
    return "\n"
