"""The raw HTML the converter may emit: an allowlist of tags and attributes GitHub keeps."""

from __future__ import annotations

import re
from html import escape

# tag -> attributes kept, each with a validator of its value
_NUMBER = re.compile(r"^[1-9][0-9]{0,3}$")
_ALIGN = frozenset({"left", "center", "right", "justify"})
_VALIGN = frozenset({"top", "middle", "bottom", "baseline"})
_SCOPE = frozenset({"row", "col", "rowgroup", "colgroup"})


def _number(v: str) -> str | None:
    v = v.strip()
    return v if _NUMBER.match(v) else None


def _one_of(allowed: frozenset[str]):  # type: ignore[no-untyped-def]
    def check(v: str) -> str | None:
        v = v.strip().lower()
        return v if v in allowed else None
    return check


_CELL_ATTRS = {
    "colspan": _number,
    "rowspan": _number,
    "align": _one_of(_ALIGN),
    "valign": _one_of(_VALIGN),
    "scope": _one_of(_SCOPE),
}

ALLOWED: dict[str, dict] = {
    "table": {},
    "caption": {},
    "thead": {},
    "tbody": {},
    "tfoot": {},
    "tr": {"align": _one_of(_ALIGN), "valign": _one_of(_VALIGN)},
    "td": _CELL_ATTRS,
    "th": _CELL_ATTRS,
    "dl": {},
    "dt": {},
    "dd": {},
    "details": {"open": lambda v: "open"},
    "summary": {},
    "u": {},
    "mark": {},
    "sup": {},
    "sub": {},
    "ins": {},
    "kbd": {},
    "em": {},
    "strong": {},
    "del": {},
    "br": {},
    "pre": {},
    "b": {},
    "i": {},
    "a": {"title": lambda v: v.strip() or None},  # href is set by the caller after the URL check
}


def start_tag(tag: str, attrs: dict[str, str] | None = None) -> str:
    """An allowlisted start tag with only the allowlisted, validated attributes of `attrs`."""
    allowed = ALLOWED[tag]  # KeyError: a tag outside the allowlist is a programming error
    if not attrs or not allowed:
        return f"<{tag}>"
    parts = [tag]
    for name, check in allowed.items():
        v = attrs.get(name)
        if v is None:
            continue
        v = check(v)
        if v is not None:
            parts.append(f'{name}="{escape(v, quote=True)}"')
    return "<" + " ".join(parts) + ">"


def end_tag(tag: str) -> str:
    if tag not in ALLOWED:
        raise KeyError(tag)
    return f"</{tag}>"


def text(s: str) -> str:
    """Page text inside raw HTML: every '<' and '&' escaped, so it stays text."""
    return escape(s, quote=False)


def attr(s: str) -> str:
    """An attribute value, quoted for a double-quoted attribute."""
    return escape(s, quote=True)
