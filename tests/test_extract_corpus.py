"""Extraction accuracy on the real pages of the shared corpus (skipped when the corpus is absent)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import lxml.html
import pytest
from markdown_it import MarkdownIt

from mirror.extract import extract_article

PAGES = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "readability-pages"
pytestmark = pytest.mark.skipif(not PAGES.is_dir(), reason="shared corpus not present")

MD = MarkdownIt("commonmark").enable("table").enable("strikethrough")
TOKEN = re.compile(r"\w+")
BLOCKS = ("p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "pre", "blockquote")


def _text(html: str) -> str:
    if not html.strip():
        return ""
    root = lxml.html.fragment_fromstring(html, create_parent="div")
    for el in root.iter(*BLOCKS):
        el.tail = "\n" + (el.tail or "")
    return root.text_content()


def _shingles(text: str) -> Counter:
    toks = TOKEN.findall(text)
    return Counter(tuple(toks[i:i + 4]) for i in range(max(1, len(toks) - 3)) if toks[i:i + 4])


def _precision_recall(true: str, pred: str) -> tuple[float, float]:
    t, p = _shingles(true), _shingles(pred)
    tp = sum((t & p).values())
    fp = sum((p - t).values())
    fn = sum((t - p).values())
    if fp == fn == 0:
        return 1.0, 1.0
    return (tp / (tp + fp) if tp + fp else 0.0), (tp / (tp + fn) if tp + fn else 0.0)


def test_corpus_f1_above_floor_and_titles():
    precisions, recalls = [], []
    titles = same_title = 0
    for page in sorted(PAGES.iterdir()):
        if not (page / "source.html").exists():
            continue
        source = (page / "source.html").read_text(encoding="utf-8")
        article = extract_article(source)
        rendered = MD.render(article.markdown)
        assert "<script" not in rendered.lower(), page.name
        p, r = _precision_recall(_text((page / "expected.html").read_text(encoding="utf-8")),
                                 _text(rendered))
        precisions.append(p)
        recalls.append(r)
        meta_file = page / "expected-metadata.json"
        expected = json.loads(meta_file.read_text(encoding="utf-8")).get("title") \
            if meta_file.exists() else None
        if expected:
            titles += 1
            # Readability keeps site names that mirror strips: a prefix match is enough.
            same_title += " ".join(article.title.split()).lower() in " ".join(expected.split()).lower()
    precision = sum(precisions) / len(precisions)
    recall = sum(recalls) / len(recalls)
    f1 = 2 * precision * recall / (precision + recall)
    assert len(precisions) >= 100
    # The acceptance figures are 0.97; the floor leaves room for converter changes.
    assert f1 >= 0.96, (f1, precision, recall)
    assert precision >= 0.96 and recall >= 0.95, (precision, recall)
    assert titles and same_title / titles >= 0.85, (same_title, titles)
