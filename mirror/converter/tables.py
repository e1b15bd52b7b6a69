"""Table structure: rows and cells of a <table>, and whether a GFM pipe table can express it."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Content a pipe-table cell (one line of inline Markdown) cannot hold.
COMPLEX_CELL_TAGS = (
    "table", "ul", "ol", "dl", "pre", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "details", "li", "menu",
)

_TEXT_ALIGN = re.compile(r"text-align\s*:\s*(left|center|right)", re.IGNORECASE)


@dataclass(slots=True)
class Row:
    section: str  # "thead", "tbody", "tfoot" or "" for a <tr> directly in <table>
    cells: list  # the <td>/<th> elements


def table_rows(table) -> tuple[list[Row], list]:  # type: ignore[no-untyped-def]
    """The rows of `table` (not of tables nested in it) and its <caption> elements."""
    rows: list[Row] = []
    captions = []
    for child in table:
        tag = child.tag
        if tag == "tr":
            rows.append(Row("", [c for c in child if c.tag in ("td", "th")]))
        elif tag in ("thead", "tbody", "tfoot"):
            for tr in child:
                if tr.tag == "tr":
                    rows.append(Row(tag, [c for c in tr if c.tag in ("td", "th")]))
        elif tag == "caption":
            captions.append(child)
    return rows, captions


def _span(cell, attr: str) -> int:  # type: ignore[no-untyped-def]
    v = (cell.get(attr) or "1").strip()
    return int(v) if v.isdigit() and len(v) < 5 else 1


def fits_pipe_table(rows: list[Row]) -> bool:
    """True when every row has the same cells, none spans, and none holds block content."""
    width = len(rows[0].cells)
    if width == 0:
        return False
    for row in rows:
        if len(row.cells) != width:
            return False
        for cell in row.cells:
            if _span(cell, "colspan") > 1 or _span(cell, "rowspan") > 1:
                return False
            if cell_has_blocks(cell):
                return False
    return True


def cell_has_blocks(cell) -> bool:  # type: ignore[no-untyped-def]
    """Whether a cell holds content that one line of inline Markdown or HTML cannot hold."""
    for _ in cell.iter(*COMPLEX_CELL_TAGS):
        return True
    return False


def column_alignment(cell) -> str:  # type: ignore[no-untyped-def]
    """The delimiter-row cell for a header cell's alignment."""
    align = (cell.get("align") or "").strip().lower()
    if not align:
        m = _TEXT_ALIGN.search(cell.get("style") or "")
        align = m.group(1).lower() if m else ""
    return {"left": ":---", "center": ":---:", "right": "---:"}.get(align, "---")
