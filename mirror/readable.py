"""Finding an article's main content in a page: readability-style scoring of candidate containers."""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Callable, Iterable

import lxml.html
from lxml import etree
from lxml.html import HtmlElement

# The scoring follows the algorithm of Mozilla's Readability: paragraphs give
# points (length, commas) to their ancestors, link-heavy or negatively named
# containers lose them, and the best container grows to take in siblings that
# look like article text.

def words_pattern(words: Iterable[str]) -> str:
    """A regex finding any of `words` (literals), factored into a trie.

    re tries the branches of an alternation one by one at every position;
    the trie looks at each character once. Only whether there is a match
    counts: a word that starts with another word is left out.
    """
    trie: dict = {}
    for word in sorted(words, key=len):
        node = trie
        for ch in word:
            if "" in node:
                break
            node = node.setdefault(ch, {})
        else:
            node.clear()
            node[""] = {}

    def branch(node: dict) -> str:
        if "" in node:
            return ""
        alts = [re.escape(ch) + branch(sub) for ch, sub in sorted(node.items())]
        if len(alts) == 1:
            return alts[0]
        if all(len(a) == 1 for a in alts):
            return "[" + "".join(alts) + "]"
        return "(?:" + "|".join(alts) + ")"

    return branch(trie)


# Matched against lower-cased class and id.
UNLIKELY = re.compile(words_pattern((
    "-ad-", "ai2html", "banner", "breadcrumbs", "combx", "comment", "community", "cover-wrap",
    "disqus", "extra", "footer", "gdpr", "header", "legends", "menu", "related", "remark",
    "replies", "rss", "shoutbox", "sidebar", "skyscraper", "social", "sponsor", "supplemental",
    "ad-break", "agegate", "pagination", "pager", "popup", "yom-remote",
)))
MAYBE_CANDIDATE = re.compile(words_pattern(
    ("and", "article", "body", "column", "content", "main", "mathjax", "shadow")
))
POSITIVE = re.compile(words_pattern((
    "article", "body", "content", "entry", "hentry", "h-entry", "main", "page", "pagination",
    "post", "text", "blog", "story",
)))
NEGATIVE = re.compile(words_pattern((
    "-ad-", "hidden", "banner", "combx", "comment", "com-", "contact", "footer", "gdpr",
    "masthead", "media", "meta", "outbrain", "promo", "related", "scroll", "share", "shoutbox",
    "sidebar", "skyscraper", "sponsor", "shopping", "tags", "widget",
)) + "|(?:^| )hid(?: |$)")
BYLINE = re.compile(words_pattern(("byline", "author", "dateline", "writtenby", "p-author")))
VIDEOS = re.compile(
    r"//(www\.)?((dailymotion|youtube|youtube-nocookie|player\.vimeo|v\.qq|bilibili|"
    r"live\.bilibili)\.com|(archive|upload\.wikimedia)\.org|player\.twitch\.tv)",
    re.I,
)
SHARE = re.compile(r"(\b|_)(share|sharedaddy)(\b|_)", re.I)
COMMAS = re.compile("[\u002c\u060c\ufe50\ufe10\ufe11\u2e41\u2e34\u2e32\uff0c]")
AD_WORDS = re.compile(
    r"^(ad(vertising|vertisement)?|pub(licité)?|werb(ung)?|广告|Реклама|Anuncio)$", re.I
)
LOADING_WORDS = re.compile(
    r"^((loading|正在加载|Загрузка|chargement|cargando)(…|\.\.\.)?)$", re.I
)
SENTENCE_END = re.compile(r"\.( |$)")
WORDS = re.compile(r"\w+")
SPACES = re.compile(r"\s{2,}")

UNLIKELY_ROLES = frozenset(
    {"menu", "menubar", "complementary", "navigation", "alert", "alertdialog", "dialog"}
)
# The tag of an element the walk removes; libxml2 lower-cases the tags it parses.
_DROPPED = "MIRROR-DROPPED"
# The attributes the walk over the page looks at.
_WALK_ATTRS = frozenset(
    {"style", "hidden", "aria-hidden", "aria-modal", "class", "id", "rel", "itemprop", "role"}
)
TAGS_TO_SCORE = frozenset({"section", "h2", "h3", "h4", "h5", "h6", "p", "td", "pre"})
DIV_TO_P = frozenset({"blockquote", "dl", "div", "img", "ol", "p", "pre", "table", "ul"})
PHRASING = frozenset(
    {
        "abbr", "audio", "b", "bdo", "br", "button", "cite", "code", "data", "datalist", "dfn",
        "em", "embed", "i", "img", "input", "kbd", "label", "mark", "math", "meter", "noscript",
        "object", "output", "progress", "q", "ruby", "samp", "script", "select", "small", "span",
        "strong", "sub", "sup", "textarea", "time", "var", "wbr", "canvas", "iframe", "svg",
        "video", "font", "u", "s", "strike", "tt", "big",
    }
)
EMPTY_REMOVABLE = frozenset({"div", "section", "header", "h1", "h2", "h3", "h4", "h5", "h6"})
HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
TEXTISH = ("span", "li", "td", *DIV_TO_P)
EMBEDS = ("object", "embed", "iframe")
# A top candidate that is a cell or list item is moved out of its table or
# list; it becomes a div there. Other tags keep their meaning (tables stay tables).
RETAG_AS_DIV = frozenset({"td", "th", "tr", "tbody", "thead", "tfoot", "li", "dd", "dt", "caption"})
TAG_SCORES = {
    "div": 5, "pre": 3, "td": 3, "blockquote": 3,
    "address": -3, "ol": -3, "ul": -3, "dl": -3, "dd": -3, "dt": -3, "li": -3, "form": -3,
    "h1": -5, "h2": -5, "h3": -5, "h4": -5, "h5": -5, "h6": -5, "th": -5,
}

STRIP_UNLIKELY = 1
WEIGHT_CLASSES = 2
CLEAN_CONDITIONALLY = 4
ALL_FLAGS = STRIP_UNLIKELY | WEIGHT_CLASSES | CLEAN_CONDITIONALLY
CHAR_THRESHOLD = 500
TOP_CANDIDATES = 5


def raw_text(el: HtmlElement) -> str:
    """el.text_content(), faster.

    An element holding only text needs no call into libxml2; for the others,
    serialising as text gives the same string as text_content()'s XPath
    string(), at half the cost of evaluating an XPath.
    """
    if len(el):
        return etree.tostring(el, method="text", encoding="unicode", with_tail=False)
    return el.text or ""


def inner_text(el: HtmlElement) -> str:
    """The element's text, trimmed, with runs of whitespace collapsed to one space."""
    return " ".join(raw_text(el).split())


# The length of inner_text computed in C, without building the string.
_TEXT_LENGTH = etree.XPath("string-length(normalize-space())")


def text_length(el: HtmlElement) -> int:
    """len(inner_text(el)), faster."""
    if not len(el):
        text = el.text
        return len(" ".join(text.split())) if text else 0
    return int(_TEXT_LENGTH(el))


def link_density(el: HtmlElement, text_len: int | None = None,
                 cache: dict[HtmlElement, float] | None = None) -> float:
    """The share of an element's text that sits inside links (in-page links count less)."""
    total = 0.0
    for a in el.iter("a"):
        if cache is not None:
            weight = cache.get(a)
            if weight is not None:
                total += weight
                continue
        href = a.get("href")
        coefficient = 0.3 if href and len(href) > 1 and href.startswith("#") else 1.0
        weight = text_length(a) * coefficient
        if cache is not None:
            cache[a] = weight
        total += weight
    if not total:
        return 0.0  # without measuring the text, the costly part on a large element
    if text_len is None:
        text_len = text_length(el)
    if not text_len:
        return 0.0
    return total / text_len


def _match_string(el: HtmlElement) -> str:
    # Lower-cased once so that the patterns need no re.IGNORECASE, which is slower.
    return f"{el.get('class') or ''} {el.get('id') or ''}".lower()


# Pages repeat the same few class names on many elements: each pattern is
# tried once per distinct name.
_IS_UNLIKELY = 1
_IS_MAYBE = 2
_IS_BYLINE = 4
_IS_SHARE = 8


@functools.lru_cache(maxsize=8192)
def _name_traits(match: str) -> int:
    return (
        (_IS_UNLIKELY if UNLIKELY.search(match) else 0)
        | (_IS_MAYBE if MAYBE_CANDIDATE.search(match) else 0)
        | (_IS_BYLINE if BYLINE.search(match) else 0)
        # The cheap test first: the pattern is slow, and rarely matches.
        | (_IS_SHARE if ("share" in match or not match.isascii()) and SHARE.search(match) else 0)
    )


@functools.lru_cache(maxsize=8192)
def _name_weight(value: str) -> int:
    value = value.lower()
    return (-25 if NEGATIVE.search(value) else 0) + (25 if POSITIVE.search(value) else 0)


def class_weight(el: HtmlElement, flags: int = ALL_FLAGS) -> int:
    """+25/-25 for a class and an id that say "article" or "sidebar"."""
    if not flags & WEIGHT_CLASSES:
        return 0
    weight = 0
    for value in (el.get("class"), el.get("id")):
        if value:
            weight += _name_weight(value)
    return weight


def _elements(el: HtmlElement) -> list[HtmlElement]:
    return [c for c in el if isinstance(c.tag, str)]


def _is_ws(text: str | None) -> bool:
    return not text or text.isspace()


def _has_ancestor(el: HtmlElement, tag: str, max_depth: int = 3,
                  accept: Callable[[HtmlElement], bool] | None = None) -> bool:
    depth = 0
    parent = el.getparent()
    while parent is not None:
        if 0 < max_depth < depth + 1:
            return False
        if parent.tag == tag and (accept is None or accept(parent)):
            return True
        parent = parent.getparent()
        depth += 1
    return False


def _is_phrasing(el: HtmlElement) -> bool:
    tag = el.tag
    if tag in PHRASING:
        return True
    if tag in ("a", "del", "ins"):
        return all(_is_phrasing(c) for c in _elements(el))
    return False


def _has_child_block(el: HtmlElement) -> bool:
    # Recursion in Python beats lxml's tag-filtered iterator, whose set-up dominates on small divs.
    return any(c.tag in DIV_TO_P or (len(c) and _has_child_block(c)) for c in el)


def _single_child_tag(el: HtmlElement, tag: str) -> bool:
    # The parser drops comments and processing instructions: children are elements.
    if len(el) != 1:
        return False
    child = el[0]
    return child.tag == tag and _is_ws(el.text) and _is_ws(child.tail)


def _without_content(el: HtmlElement) -> bool:
    for c in el:
        if c.tag != "br" and c.tag != "hr":
            return False
    return not raw_text(el).strip()


def _drop(el: HtmlElement) -> None:
    if el.getparent() is not None:
        el.drop_tree()


def text_similarity(a: str, b: str) -> float:
    """How much of b's words also appear in a (0..1)."""
    ta = WORDS.findall(a.lower())
    tb = WORDS.findall(b.lower())
    if not ta or not tb:
        return 0.0
    sa = set(ta)
    uniq_b = [t for t in tb if t not in sa]
    return 1 - len(" ".join(uniq_b)) / len(" ".join(tb))


def _wrap_phrasing(div: HtmlElement) -> list[HtmlElement]:
    """Put runs of inline content of a mixed div into <p>s, as a browser would show them.

    Returns the new paragraphs. Only the inline content moves: moving a block
    costs libxml2 a walk over its whole subtree, and a div often holds the
    whole article.
    """
    if _is_ws(div.text):
        # Most divs hold only blocks separated by whitespace: nothing to wrap.
        for c in div:
            tail = c.tail
            if tail and not tail.isspace():
                break
            tag = c.tag
            # _is_phrasing(c) but br, without a call for the common cases
            if tag != "br" and (tag in PHRASING or (tag in ("a", "del", "ins") and _is_phrasing(c))):
                break
        else:
            return []
    made: list[HtmlElement] = []
    # A run is a list of text pieces and nodes; a piece of text is kept with
    # the node whose tail it is (None for the div's own text).
    run: list[tuple[str | None, HtmlElement | None]] = []

    def close() -> None:
        # Trailing whitespace and <br>s of a paragraph are dropped.
        while run:
            text, node = run[-1]
            if text is not None:
                if not text.isspace():
                    break
                if node is not None:
                    node.tail = None
            elif node.tag == "br":
                div.remove(node)
            else:
                break
            run.pop()
        p = div.makeelement("p", {})
        made.append(p)
        text, node = run[0]
        if text is None:
            node.addprevious(p)
        elif node is None:
            div.text = None
            div.insert(0, p)
            p.text = text
        else:
            node.tail = None
            node.addnext(p)
            p.text = text
        # A node takes its tail along: text needs no moving of its own.
        for text, node in run:
            if text is None:
                p.append(node)
        run.clear()

    if div.text and not div.text.isspace():
        run.append((div.text, None))
    for c in list(div):
        tail = c.tail
        if not isinstance(c.tag, str) or _is_phrasing(c):
            if run or c.tag != "br":
                run.append((None, c))
        elif run:
            close()
        if tail and (run or not tail.isspace()):
            run.append((tail, c))
    if run:
        close()
    return made


def _next_node(node: HtmlElement, skip_children: bool = False) -> HtmlElement | None:
    if not skip_children:
        for c in node:
            if isinstance(c.tag, str):
                return c
    while node is not None:
        sib = node.getnext()
        while sib is not None and not isinstance(sib.tag, str):
            sib = sib.getnext()
        if sib is not None:
            return sib
        node = node.getparent()
    return None


def _remove_and_next(node: HtmlElement) -> HtmlElement | None:
    nxt = _next_node(node, skip_children=True)
    _drop(node)
    return nxt


def _style_hides(style: str) -> bool:
    if "none" in style or "hidden" in style:
        s = style.replace(" ", "").lower()
        return "display:none" in s or "visibility:hidden" in s
    return False


class Readable:
    """One extraction attempt over a parsed page, with the state the scoring needs."""

    def __init__(self, title: str = "", flags: int = ALL_FLAGS) -> None:
        self.title = title
        self.flags = flags
        self.scores: dict[HtmlElement, float] = {}
        # Candidates whose score does not yet take their link density into account.
        self.unscaled: set[HtmlElement] = set()
        self.byline: str | None = None
        self.data_tables: set[HtmlElement] = set()
        self.links: dict[HtmlElement, float] = {}  # weighted text length of each <a>
        self.root: HtmlElement | None = None  # the <body>, or the element the search is kept to

    # -- scoring ------------------------------------------------------------
    def _init_node(self, el: HtmlElement) -> None:
        self.scores[el] = TAG_SCORES.get(el.tag, 0) + class_weight(el, self.flags)

    def _final(self, el: HtmlElement) -> float:
        """The score of a scored element, scaled by its link density when first asked for."""
        if el in self.unscaled:
            self.unscaled.discard(el)
            self.scores[el] *= 1 - link_density(el, cache=self.links)
        return self.scores[el]

    def _take_byline(self, el: HtmlElement) -> bool:
        """Keep the text of an element named as the byline; whether it was one (short enough)."""
        text = raw_text(el).strip()
        if 0 < len(text) < 100:
            self.byline = SPACES.sub(" ", text)
            return True
        return False

    def _walk(self, root: HtmlElement) -> list[HtmlElement]:
        """Remove what cannot be article, normalise divs, and list the elements to score."""
        strip = self.flags & STRIP_UNLIKELY
        to_score: list[HtmlElement] = []
        remove_title = bool(self.title)
        # Pre-order over a list made in C, far faster than stepping node by
        # node in Python. Removing a node skips its subtree, which is the
        # contiguous run of list entries after it.
        order = list(root.iter(etree.Element))
        handled: set[HtmlElement] = set()
        dropped = False
        i = 0
        end = len(order)
        while i < end:
            node = order[i]
            i += 1
            if handled and node in handled:
                continue
            tag = node.tag
            remove = False
            # Most elements have none of the attributes looked at below; one
            # call for the names is far cheaper than a lookup per name.
            keys = node.keys()
            if keys and not _WALK_ATTRS.isdisjoint(keys):
                get = node.get
                style = get("style") if "style" in keys else None
                cls = get("class") if "class" in keys else None
                if (
                    (style and _style_hides(style))
                    or "hidden" in keys
                    or ("aria-hidden" in keys and get("aria-hidden") == "true"
                        and "fallback-image" not in (cls or ""))
                    or ("aria-modal" in keys and get("aria-modal") == "true" and get("role") == "dialog")
                ):
                    remove = True
                elif node is not root and (self.byline is None or (strip and tag != "a")):
                    ident = get("id") if "id" in keys else None
                    match = f"{cls or ''} {ident or ''}".lower() if cls or ident else ""
                    traits = _name_traits(match) if match else 0
                    if self.byline is None and (
                        traits & _IS_BYLINE
                        or ("rel" in keys and get("rel") == "author")
                        or ("itemprop" in keys and "author" in get("itemprop"))
                    ):
                        remove = self._take_byline(node)
                    if not remove and strip and tag != "a":
                        remove = (
                            traits & (_IS_UNLIKELY | _IS_MAYBE) == _IS_UNLIKELY
                            and not _has_ancestor(node, "table")
                            and not _has_ancestor(node, "code")
                        ) or ("role" in keys and get("role") in UNLIKELY_ROLES)
            if not remove and remove_title and (tag == "h1" or tag == "h2") and text_similarity(
                self.title, inner_text(node)
            ) > 0.75:
                remove_title = False
                remove = True
            if not remove and tag in EMPTY_REMOVABLE and _without_content(node):
                remove = True
            if remove:
                i += sum(1 for _ in node.iterdescendants(etree.Element))
                if node is root:
                    _drop(node)
                else:
                    # Marked now, removed in one pass at the end: a removal while the
                    # walk holds a proxy for every element costs lxml a second walk
                    # over the subtree. Nothing visited later reads the text around it.
                    node.tag = _DROPPED
                    dropped = True
                continue
            if tag in TAGS_TO_SCORE:
                to_score.append(node)
            if tag == "div":
                made = _wrap_phrasing(node)
                if _single_child_tag(node, "p") and link_density(node, cache=self.links) < 0.25:
                    child = node[0]
                    child.tail = node.tail
                    node.getparent().replace(node, child)
                    to_score.append(child)
                    # Readability goes on from the child's children: the child
                    # itself is not looked at again.
                    if child not in made:
                        handled.add(child)
                else:
                    to_score.extend(made)
                    if not _has_child_block(node):
                        node.tag = "p"
                        to_score.append(node)
        del order, handled
        if dropped:
            # The tail of a removed element stays in place, as with drop_tree().
            etree.strip_elements(root, _DROPPED, with_tail=False)
        return to_score

    def _ancestors(self, parent: HtmlElement) -> list[HtmlElement]:
        """The elements a paragraph under `parent` gives points to: up to five, none above the root."""
        chain = []
        anc = parent
        while anc is not None and len(chain) < 5:
            up = anc.getparent()
            if up is None:
                break
            chain.append(anc)
            if anc is self.root:
                break
            anc = up
        return chain

    def _score(self, to_score: Iterable[HtmlElement]) -> list[HtmlElement]:
        candidates: list[HtmlElement] = []
        scores = self.scores
        chains: dict[HtmlElement, list[HtmlElement]] = {}
        for el in to_score:
            parent = el.getparent()
            if parent is None:
                continue
            raw = raw_text(el)
            if len(raw) < 25:  # the raw text is never shorter than the normalised one
                continue
            # Only lengths up to 300 count: a long text is normalised as far as its
            # first 1000 characters, a prefix of the whole normalised text.
            head = raw if len(raw) <= 1000 else raw[:1000]
            length = len(" ".join(head.split()))
            if length < 300 and head is not raw:
                length = len(" ".join(raw.split()))
            if length < 25:
                continue
            # White space holds no commas: the raw text has as many as the normalised one.
            commas = raw.count(",") if raw.isascii() else len(COMMAS.findall(raw))
            points = 1 + commas + 1 + min(length // 100, 3)
            # Paragraphs are mostly siblings: their parent's chain of ancestors is found once.
            chain = chains.get(parent)
            if chain is None:
                chain = chains[parent] = self._ancestors(parent)
            for level, anc in enumerate(chain):
                if anc not in scores:
                    self._init_node(anc)
                    candidates.append(anc)
                scores[anc] += points / (1 if level == 0 else 2 if level == 1 else level * 3)
        # Link density costs a walk over the candidate: it is taken for the
        # candidates that can still make the top, best first. Density only
        # lowers a score that is not negative, so once the top holds enough
        # candidates scoring above the next one's unscaled score, the rest
        # cannot get in; grab() scales those it looks at later.
        self.unscaled.update(candidates)
        top: list[float] = []  # the best scaled scores so far, negated, ascending
        for c in sorted(candidates, key=lambda c: -scores[c]):
            raw = scores[c]
            if raw >= 0 and len(top) >= TOP_CANDIDATES and -top[TOP_CANDIDATES - 1] > raw:
                continue
            bisect.insort(top, -self._final(c))
        scaled = [c for c in candidates if c not in self.unscaled]
        return sorted(scaled, key=lambda c: -scores[c])[:TOP_CANDIDATES]

    def grab(self, body: HtmlElement) -> HtmlElement | None:
        """The article content of `body` (a new div), or None when nothing was found."""
        self.root = body
        # Candidates stop below <body>; a search kept to one element may take that element.
        limit = body if body.tag == "body" else body.getparent()
        to_score = self._walk(body)
        top = self._score(to_score)
        scores = self.scores
        article = body.makeelement("div", {})
        if not top or top[0].tag == "body":
            # No container stands out: take the whole body.
            article.text, body.text = body.text, None
            for child in list(body):
                article.append(child)
            self._prep(article)
            return article
        best = top[0]
        best_score = self._final(best)
        alternatives = [
            set(c.iterancestors()) for c in top[1:] if best_score and self._final(c) / best_score >= 0.75
        ]
        if len(alternatives) >= 3:
            parent = best.getparent()
            while parent is not None and parent is not limit:
                if sum(1 for a in alternatives if parent in a) >= 3:
                    best = parent
                    break
                parent = parent.getparent()
        if best not in scores:
            self._init_node(best)
        parent = best.getparent()
        last = self._final(best)
        threshold = last / 3
        while parent is not None and parent is not limit:
            if parent not in scores:
                parent = parent.getparent()
                continue
            if self._final(parent) < threshold:
                break
            if self._final(parent) > last:
                best = parent
                break
            last = self._final(parent)
            parent = parent.getparent()
        parent = best.getparent()
        while parent is not None and parent is not limit and len(_elements(parent)) == 1:
            best = parent
            parent = best.getparent()
        if best not in scores:
            self._init_node(best)
        best_score = self._final(best)
        if parent is None:
            article.append(best)
            self._prep(article)
            return article
        sibling_threshold = max(10.0, best_score * 0.2)
        best_class = best.get("class") or ""
        for sib in _elements(parent):
            append = sib is best
            if not append:
                bonus = best_score * 0.2 if best_class and sib.get("class") == best_class else 0
                if sib in scores and self._final(sib) + bonus >= sibling_threshold:
                    append = True
                elif sib.tag == "p":
                    text = inner_text(sib)
                    density = link_density(sib, len(text), self.links)
                    if len(text) > 80 and density < 0.25 or 0 < len(text) < 80 and density == 0 and SENTENCE_END.search(text):
                        append = True
            if append:
                if sib.tag in RETAG_AS_DIV:
                    sib.tag = "div"
                sib.tail = None
                article.append(sib)
        self._prep(article)
        return article

    # -- cleaning of the chosen content -------------------------------------
    def _mark_data_tables(self, root: HtmlElement) -> None:
        for table in root.iter("table"):
            if table.get("role") == "presentation" or table.get("datatable") == "0":
                continue
            if table.get("summary"):
                self.data_tables.add(table)
                continue
            caption = next(table.iter("caption"), None)
            if caption is not None and (len(caption) or caption.text):
                self.data_tables.add(table)
                continue
            if next(table.iter("col", "colgroup", "tfoot", "thead", "th"), None) is not None:
                self.data_tables.add(table)
                continue
            if any(t is not table for t in table.iter("table")):
                continue
            rows = 0
            columns = 0
            for tr in table.iter("tr"):
                rows += 1
                cols = 0
                for cell in tr:
                    if cell.tag in ("td", "th"):
                        try:
                            cols += int(cell.get("colspan") or 1)
                        except ValueError:
                            cols += 1
                columns = max(columns, cols)
            if rows == 1 or columns == 1:
                continue
            if rows >= 10 or columns > 4 or rows * columns > 10:
                self.data_tables.add(table)

    def _is_video_embed(self, el: HtmlElement) -> bool:
        if any(VIDEOS.search(v) for v in el.values()):
            return True
        return el.tag == "object" and bool(VIDEOS.search(lxml.html.tostring(el, encoding="unicode")))

    def _clean_tags(self, root: HtmlElement, tags: tuple[str, ...]) -> None:
        for el in list(root.iter(*tags)):
            if el is root:
                continue
            if el.tag in EMBEDS and self._is_video_embed(el):
                continue
            _drop(el)

    def _clean_conditionally(self, root: HtmlElement, tag: str) -> None:
        if not self.flags & CLEAN_CONDITIONALLY:
            return
        for node in reversed(list(root.iter(tag))):
            if node is root or node.getparent() is None:
                continue
            if self._should_remove(node, tag):
                _drop(node)

    def _should_remove(self, node: HtmlElement, tag: str) -> bool:
        is_data = self.data_tables.__contains__
        if tag == "table" and node in self.data_tables:
            return False
        if self.data_tables and _has_ancestor(node, "table", -1, is_data):
            return False
        if _has_ancestor(node, "code"):
            return False
        if self.data_tables and any(t in self.data_tables for t in node.iter("table")):
            return False
        weight = class_weight(node, self.flags)
        if weight < 0:
            return True
        raw = raw_text(node)
        # White space holds no commas: the count needs no normalised text,
        # which is costly on the large containers this rule keeps.
        if raw.count(",") >= 10:
            return False
        text = " ".join(raw.split())
        p = img = li = inputs = 0
        embeds = 0
        for d in node.iterdescendants("p", "img", "li", "input", *EMBEDS):
            t = d.tag
            if t == "p":
                p += 1
            elif t == "img":
                img += 1
            elif t == "li":
                li += 1
            elif t == "input":
                inputs += 1
            elif t in EMBEDS:
                if self._is_video_embed(d):
                    return False
                embeds += 1
        li -= 100
        if AD_WORDS.match(text) or LOADING_WORDS.match(text):
            return True
        length = len(text)
        # The measures below are costly on large nodes: each is taken only
        # when the rule using it is reached.
        is_list = tag in ("ul", "ol")
        if not is_list and text:
            list_len = sum(text_length(x) for x in node.iterdescendants("ul", "ol"))
            is_list = list_len / length > 0.9
        in_figure = _has_ancestor(node, "figure")
        if (not in_figure and img > 1 and p / img < 0.5) or (not is_list and li > p) \
                or inputs > p // 3:
            remove = True
        else:
            density = link_density(node, length, self.links)
            remove = (
                (not is_list and not in_figure and length < 25 and (img == 0 or img > 2)
                 and density > 0 and self._heading_density(node, length) < 0.9)
                or (not is_list and weight < 25 and density > 0.2)
                or (weight >= 25 and density > 0.5)
                or (embeds == 1 and length < 75) or embeds > 1
                or (img == 0 and not any(raw_text(d).strip()
                                         for d in node.iterdescendants(*TEXTISH)))
            )
        if is_list and remove:
            children = _elements(node)
            if any(len(_elements(c)) > 1 for c in children):
                return remove
            if img == sum(1 for _ in node.iterdescendants("li")):
                return False
        return remove

    @staticmethod
    def _heading_density(node: HtmlElement, length: int) -> float:
        if not length:
            return 0.0
        return sum(text_length(h) for h in node.iterdescendants(*HEADINGS)) / length

    def _prep(self, article: HtmlElement) -> None:
        self._mark_data_tables(article)
        self._clean_conditionally(article, "form")
        self._clean_conditionally(article, "fieldset")
        self._clean_tags(article, ("object", "embed", "footer", "link", "aside"))
        for child in _elements(article):
            for el in list(child.iter(etree.Element)):
                keys = el.keys()
                if not keys or ("class" not in keys and "id" not in keys):
                    continue
                if (
                    _name_traits(_match_string(el)) & _IS_SHARE
                    and el.getparent() is not None
                    and len(raw_text(el)) < CHAR_THRESHOLD
                ):
                    _drop(el)
        self._clean_tags(article, ("iframe", "input", "textarea", "select", "button"))
        if self.flags & WEIGHT_CLASSES:
            for h in list(article.iter("h1", "h2")):
                if class_weight(h, self.flags) < 0:
                    _drop(h)
        self._clean_conditionally(article, "table")
        self._clean_conditionally(article, "ul")
        self._clean_conditionally(article, "div")
        for h in article.iter("h1"):
            h.tag = "h2"
        for p in list(article.iter("p")):
            if p.getparent() is None:
                continue
            # The text first: it is cheap, and most paragraphs have some.
            if not raw_text(p).strip() \
                    and next(p.iter("img", "embed", "object", "iframe", "video", "audio", "picture"), None) is None:
                _drop(p)
        for br in list(article.iter("br")):
            nxt = br.getnext()
            if nxt is not None and nxt.tag == "p" and _is_ws(br.tail):
                _drop(br)
        for table in list(article.iter("table")):
            if table.getparent() is None:
                continue
            body = table
            if _single_child_tag(table, "tbody"):
                body = _elements(table)[0]
            if _single_child_tag(body, "tr"):
                row = _elements(body)[0]
                if _single_child_tag(row, "td"):
                    cell = _elements(row)[0]
                    cell.tag = "p" if all(_is_phrasing(c) for c in _elements(cell)) else "div"
                    cell.tail = table.tail
                    table.getparent().replace(table, cell)


def replace_brs(root: HtmlElement) -> None:
    """Turn text separated by two or more <br>s into paragraphs."""
    for br in list(root.iter("br")):
        parent = br.getparent()
        if parent is None:
            continue
        replaced = False
        nxt = br.getnext()
        while nxt is not None and nxt.tag == "br" and _is_ws(br.tail):
            replaced = True
            after = nxt.getnext()
            tail = nxt.tail
            parent.remove(nxt)
            br.tail = tail
            nxt = after
        if not replaced:
            continue
        p = br.makeelement("p", {})
        p.text = br.tail
        parent.replace(br, p)
        nxt = p.getnext()
        while nxt is not None:
            if nxt.tag == "br":
                after = nxt.getnext()
                if after is not None and after.tag == "br" and _is_ws(nxt.tail):
                    break
            if isinstance(nxt.tag, str) and not _is_phrasing(nxt):
                break
            after = nxt.getnext()
            p.append(nxt)
            nxt = after
        # trailing whitespace and <br>s of the paragraph go
        while len(p) and p[-1].tag == "br" and _is_ws(p[-1].tail):
            p.remove(p[-1])
        if len(p):
            last = p[-1]
            if last.tail and last.tail.isspace():
                last.tail = None
        elif p.text and p.text.isspace():
            p.text = None
        if parent.tag == "p":
            parent.tag = "div"


def _paragraph_chars(el: HtmlElement) -> int:
    return sum(len(raw_text(p)) for p in el.iter("p"))


def find_scope(body: HtmlElement) -> HtmlElement | None:
    """The page's one <article> or <main>, when it holds most of the page's paragraph text.

    Searching only there is faster and keeps out what sits around it; a page
    with several articles, or whose <article> is a teaser, is searched whole.
    """
    candidates = []
    for tag in ("article", "main"):
        found = list(body.iter(tag))
        if len(found) == 1:
            candidates.append(found[0])
    if not candidates:
        return None
    total = _paragraph_chars(body)
    for el in candidates:
        inside = _paragraph_chars(el)
        if inside >= CHAR_THRESHOLD and inside >= 0.8 * total:
            return el
    return None


def grab_article(body: HtmlElement, title: str, reparse: Callable[[], HtmlElement | None]) -> tuple[HtmlElement | None, str | None]:
    """The article content of a prepared <body> and the byline found on the way.

    When a pass finds too little text, the page is parsed again (`reparse`)
    and searched with fewer heuristics, as Readability does; the longest
    result wins.
    """
    flags = ALL_FLAGS
    attempts: list[tuple[int, HtmlElement, str | None]] = []
    current: HtmlElement | None = body
    scope = find_scope(body)
    if scope is not None:
        readable = Readable(title, flags)
        article = readable.grab(scope)
        if article is not None and text_length(article) >= CHAR_THRESHOLD:
            return article, readable.byline
        current = reparse()
    while current is not None:
        readable = Readable(title, flags)
        article = readable.grab(current)
        if article is None:
            return None, None
        length = text_length(article)
        if length >= CHAR_THRESHOLD:
            return article, readable.byline
        attempts.append((length, article, readable.byline))
        for flag in (STRIP_UNLIKELY, WEIGHT_CLASSES, CLEAN_CONDITIONALLY):
            if flags & flag:
                flags &= ~flag
                break
        else:
            break
        current = reparse()
    length, article, byline = max(attempts, key=lambda a: a[0])
    return (article if length else None), byline
