"""Main-content selection: remove navigation, headers, footers, sidebars, widgets and link lists before rendering.

Works on the pre-passed tree (maths already TeX text in ``mx-math`` nodes, which count as content).  Three
steps, all linear in the page size:

1. Drop elements that are boilerplate by tag (``nav``, ``footer``, ``aside``, ``figcaption``) or by a
   class/id/role that names a widget (cookie, share, related, breadcrumb, ...), unless they hold a large
   share of the page's prose (some sites wrap the article in ``class="with-sidebar"``), hold maths (a comment
   or a figure caption with a formula), or are posts of a thread: a group holding nearly all the prose, of one
   shape (an opening post not named a comment included) or a run of siblings outside a comment list
   (``_repeated_prose``).  Hidden elements go unless they hold much prose or maths; hidden overlays (consent
   notices) always go.  Class names that only lay a box out (``overflow-hidden``) or hide it below a screen
   breakpoint (``hidden-xs``, ``hidden md:block``: the desktop copy) do not make it a widget
   (``_shown_on_desktop``); a ``<header>`` introducing a ``<section>`` is content, not the page's banner.
2. Score text blocks the way readability does (long, comma-rich, link-poor paragraphs vote for their parent
   and, less, their grandparent) and take the best-scoring container, with its qualifying siblings; climb
   to an ancestor when the container holds less than two thirds of the page's prose (documentation pages whose
   sections are siblings, forum threads whose posts are separate blocks), and on maths pages to the ancestor
   that also holds the formulas beside it (a blog post's comments); when the container is one of a run of
   same-shaped posts, take the run (``_thread_of``).  A page with little of its text in paragraphs (service
   pages of cards) is measured by all its unlinked text instead of its prose.
3. Inside the container, drop link-heavy blocks (unless they are nearly all of it: a listing), nested teaser
   articles and short boilerplate lines.

Text and link lengths, maths presence and "prose" (long link-poor paragraphs, or lines of text and ``<br>``
written straight into a ``div``, as forum posts are) are computed for every element
in one bottom-up pass (``_Stats``) so that no step re-walks subtrees; that keeps big pages linear.  The later
steps read those rows directly rather than through per-field calls, and walk only the elements that can matter
(``iter`` filtered by tag in C, the inside of a dropped or covered list skipped): on small documentation pages
the cost is per element in Python, so it is kept to a few operations each.
"""

from __future__ import annotations

import re
from itertools import islice

from lxml import etree

from .budget import UNBOUNDED, Deadline
from .prepass import MATH_CLASS, MATH_TAG, TEX_MARK, Dropper

_DROP_TAGS = {
    "nav",
    "footer",
    "aside",
    "form",
    "button",
    "select",
    "input",
    "textarea",
    "label",
    "dialog",
    "menu",
    "header",
    "figcaption",
}
# Overlays that are never content however much prose they hold (cookie policies are long).
_NEVER_CONTENT = re.compile(
    r"cookie|consent|gdpr|cli-privacy|cli-modal|popup|modal|newsletter|paywall|"
    r"subscribe|signup|overlay",
    re.I,
)
_POSITIVE = re.compile(
    r"article|body|content|entry|main|post|text|story|blog|thread|message|question|"
    r"answer|document|section|math|theorem|proof",
    re.I,
)
_PARA = {"p", "pre", "td", "blockquote", "dd"}
_CONTAINERS = {
    "div",
    "article",
    "section",
    "main",
    "td",
    "body",
    "blockquote",
    "li",
    "dd",
    "span",
    "center",
    "font",
    "tbody",
    "table",
    "tr",
}
_BOILER_LINE = re.compile(
    r"^(share|tweet|email|print|advert|advertisement|related|related stories|read more|"
    r"subscribe|sign up|follow us|comments?|log ?in|register|copyright|©|all rights reserved|"
    r"don't miss|breaking news|tell us what you think|key points|more from|recommended|"
    r"this slideshow requires javascript|you might also like|you may also like|related posts|"
    r"related articles|anzeige|werbung|weiterlesen|mehr lesen|ähnliche beiträge|"
    r"auch interessant|kommentare?|lire aussi|à lire aussi|publicité|leer más|publicidad)\b",
    re.I,
)


_INLINE = {
    "mx-math",
    "mx-inline",
    "a",
    "b",
    "i",
    "em",
    "strong",
    "span",
    "font",
    "sup",
    "sub",
    "small",
    "u",
    "code",
    "abbr",
    "cite",
    "q",
    "mark",
    "time",
    "br",
    "tt",
    "big",
    "s",
    "strike",
    "var",
    "kbd",
    "dfn",
    "bdi",
    "bdo",
    "ins",
    "del",
}


_NAMING = ("class", "id", "role", "itemprop")


def _attrs(el, keys=None) -> str:
    """The attributes that name what an element is for, as one string ("" for most elements: no join).

    ``keys`` (``el.keys()``, when the caller has it) avoids looking up attributes the element does not have."""
    if keys is None:
        keys = el.keys()
    if len(keys) == 1:  # the common case, without building a list
        key = keys[0]
        return (el.get(key) or "") if key in _NAMING else ""
    parts = [v for v in (el.get(k) for k in _NAMING if k in keys) if v]
    return parts[0] if len(parts) == 1 else " ".join(parts)


_PROSE = frozenset(("p", "pre", "blockquote", "dd"))
_INTRODUCERS = frozenset(("dt", "h2", "h3", "h4", "h5", "h6"))
_LEAF_BLOCKS = frozenset(("p", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "code", "math"))


_SUMMED = (0, 1, 3, 5)  # the row fields that are sums over the subtree (text, link, prose, commas)
# maths by an element's own markup: a converted formula's class, or (when the pre-pass marked any) TeX in its text
_MATHY = etree.XPath(f'descendant-or-self::*[contains(@class, "{MATH_CLASS}")]')
_MATHY_OR_MARKED = etree.XPath(f'descendant-or-self::*[contains(@class, "{MATH_CLASS}") or @{TEX_MARK}]')


def _column(i: int):
    """An accessor ``stats.<field>(el)`` for field ``i`` of an element's row (zeros for unknown elements)."""

    def get(self, el):
        return self.rows.get(el, self._EMPTY)[i]

    return get


class _Stats:
    """Per-element text length, link-text length, maths presence, prose length, block-ness and commas, in one
    bottom-up pass.  ``tex_marks=False`` says the pre-pass flagged no TeX text, so the maths query looks at classes
    alone; ``maths=False``, that no element is maths by its markup (nothing converted, no maths class in the page),
    so the query is not run at all (it is an XPath over every element: a fifth of this pass on pages without maths).
    """

    _EMPTY = (0, 0, False, 0, True, 0)

    def __init__(self, root, tex_marks: bool = True, maths: bool = True) -> None:
        rows: dict = {}
        self.rows = rows
        # the elements holding prose with their prose, in the order of ``rows`` (before any removal): what
        # ``_repeated_prose`` groups, gathered here rather than by a second pass over every row
        holders: list = []
        self.prose_holders = holders
        breaks: dict = {}  # element -> its <br> children
        # the elements that are maths by their own markup, found by one query in C rather than by reading one or
        # two attributes of every element in Python
        mathy = set((_MATHY_OR_MARKED if tex_marks else _MATHY)(root)) if maths or tex_marks else set()
        for el in reversed(list(root.iter(etree.Element))):  # descendants come before their ancestors
            tag = el.tag
            if tag == "br":  # empty and inline: its row is known (and line-broken pages have many)
                parent = el.getparent()
                breaks[parent] = breaks.get(parent, 0) + 1
                rows[el] = [0, 0, False, 0, False, 0]
                continue
            own_math = tag == MATH_TAG or (el in mathy if mathy else False)
            own = el.text
            if own:
                text, commas = len(own.strip()), own.count(",")
            else:
                text = commas = 0
            link = prose = 0
            math = own_math
            block = tag not in _INLINE
            if len(el):  # most elements are leaves: no iterator for them
                for child in el:
                    tail = child.tail
                    if tail:
                        text += len(tail.strip())
                        commas += tail.count(",")
                    row = rows.get(child)
                    if row is not None:
                        c_text, c_link, c_math, c_prose, c_block, c_commas = row
                        text += c_text
                        link += c_link
                        prose += c_prose
                        commas += c_commas
                        if c_math:
                            math = True
                        if c_block:
                            block = True
            if tag == "a":
                link = text
            if tag in _PROSE and text >= 80 and link < 0.3 * text:
                prose = text
            elif tag == "div" and not prose and text >= 80 and breaks.get(el, 0) >= 2:
                prose = self._lines(el, text, link)
            elif own_math:
                prose += 40
            rows[el] = [text, link, math, prose, block, commas]
            if prose:
                holders.append((el, prose))

    # per-element reads for the later, less hot steps (the hot ones read ``rows`` directly)
    text, link, math, prose = (_column(i) for i in range(4))

    def _lines(self, el, text: int, link: int) -> int:
        """The prose of a ``div`` holding no paragraph but lines (``<br>``; ``text`` and ``link`` are its
        totals): its text outside block children when that is long and link-poor, as forum posts and old pages
        are written, else 0.  A layout ``div`` of link lists or cards is not prose.  Read from the children's
        rows, so no subtree is walked twice."""
        rows = self.rows
        for child in el:
            row = rows.get(child)
            if row is not None and row[4]:
                text -= row[0]
                link -= row[1]
        return text if text >= 80 and link < 0.3 * text else 0

    def density(self, el) -> float:
        row = self.rows.get(el, self._EMPTY)
        return row[1] / max(row[0], 1)

    def forget(self, removed: list) -> None:
        """Account for the ``removed`` elements (still in the tree, none inside another) being removed: their
        ancestors lose their text, links, prose and commas.

        The losses are summed up the union of the ancestor chains, deepest element first, so that N removals at
        depth D cost N plus the elements on the chains rather than N times D (quadratic on a deep page of widgets).
        """
        rows = self.rows
        loss: dict = {}  # element -> what it loses, summed over the removals below it
        depth: dict = {}
        for el in removed:
            row = rows.get(el)
            parent = el.getparent()
            if row is None or parent is None:
                continue
            sums = loss.setdefault(parent, [0] * len(_SUMMED))
            for k, i in enumerate(_SUMMED):
                sums[k] += row[i]
            chain = []
            node = parent
            while node is not None and node not in depth:  # each element is climbed through once
                chain.append(node)
                node = node.getparent()
            d = depth[node] if node is not None else -1
            for node in reversed(chain):
                d += 1
                depth[node] = d
        for node in sorted(depth, key=depth.__getitem__, reverse=True):  # a parent after all its children
            sums = loss.get(node)
            if sums is None:
                continue
            up = rows.get(node)
            if up is not None:
                for k, i in enumerate(_SUMMED):
                    up[i] -= sums[k]
            parent = node.getparent()
            if parent is not None:
                above = loss.setdefault(parent, [0] * len(_SUMMED))
                for k in range(len(_SUMMED)):
                    above[k] += sums[k]


def _own_text(el, stats: _Stats) -> str:
    """Text of ``el`` outside its block children (its direct text, inline children and their tails)."""
    if not len(el):  # a leaf, as most table cells are: its text
        text = el.text
        return " ".join(text.split()) if text else ""
    parts = [el.text or ""]
    rows, empty = stats.rows, stats._EMPTY
    for child in el:
        if child.tag.__class__ is str and not rows.get(child, empty)[4]:
            parts.append("".join(child.itertext()))
        parts.append(child.tail or "")
    return " ".join(" ".join(parts).split())


_WIDGET_WORDS = frozenset(
    """nav navbar navigation menu footer foot sidebar sidebox cookie consent gdpr share sharing
social related recommend breadcrumb breadcrumbs masthead banner advert ad ads adsense sponsor promo newsletter
subscribe subscription signup popup modal overlay widget toolbar tag tags tagcloud pagination pager skip print
comment comments disqus byline meta dateline timestamp caption credit hidden outbrain taboola trending login
account search side-bar ad-slot comment-form author-info author-bio most-popular more-stories read-more
also-read""".split()
)
_STRONG_WORDS = frozenset(
    """comment comments commentlist share sharing social related cookie consent newsletter
breadcrumb breadcrumbs sidebar footer navbar nav menu advert ads outbrain taboola recommended most-popular
comment-body""".split()
)
# Whole names (a class, id, role or itemprop value) that mark a widget even beside a content word: the author
# card of a post (schema.org ``itemprop="author"`` beside ``class="message-user"``).  Only whole: a blog entry
# classed ``entry_author_Name`` is content.
_STRONG_NAMES = frozenset(("author",))
_SPLIT = re.compile(r"[-_\s]+")
_KIND_CACHE: dict = {}


# Class names that say how a box is laid out, not that it is hidden: clipping (``overflow-hidden``) and, for
# responsive pages, "hidden below a breakpoint" (``hidden-xs``, ``hidden-lt-md``, ``hidden md:block``): shown
# on a desktop screen, which is the page a reader of the text sees.  "Hidden above a breakpoint" (``md:hidden``,
# ``hidden-gt-md``, ``hidden-lg``) is the mobile copy of something shown elsewhere, and stays hidden.
_CLIPPING = re.compile(r"^\S*overflow-(?:[xy]-)?(?:hidden|clip|auto|scroll|visible)\S*$", re.I)
_HIDDEN_BELOW = re.compile(r"hidden[-_](?:lt[-_]\w+|xs|sm|mobile|phone)(?:[-_]down)?(?![a-z])", re.I)
_HIDDEN_ABOVE = re.compile(
    r"hidden[-_](?:gt[-_]\w+|md|lg|xl|desktop)(?![a-z])|(?:^|\s)(?:sm|md|lg|xl|2xl):hidden", re.I
)
_BREAKPOINT = re.compile(r"^(?:sm|md|lg|xl|2xl):(?=hidden$)")
_SHOWN_FROM = re.compile(r"^(?:sm|md|lg|xl|2xl):(?:block|flex|grid|inline|inline-block|inline-flex|table)$")
_HIDDEN_WORD = re.compile(r"(?:^|[-_])hidden(?:$|[-_])", re.I)


def _shown_on_desktop(attrs: str) -> str:
    """``attrs`` less the class names that do not hide the element on a desktop screen (see above), and less the
    plain ``hidden`` class that such a responsive name qualifies.  Most names have none: one substring test."""
    if "hidden" not in attrs.lower():
        return attrs
    tokens = attrs.split()
    keep = [t for t in tokens if not _CLIPPING.match(t)]
    if any(_HIDDEN_ABOVE.search(t) for t in keep):  # a phone copy: ``md:hidden`` read as the word ``hidden``
        return " ".join(_BREAKPOINT.sub("", t) for t in keep)
    if any(_HIDDEN_BELOW.search(t) for t in keep) or any(_SHOWN_FROM.match(t) for t in keep):
        keep = [t for t in keep if not _HIDDEN_WORD.search(t)]
    return " ".join(keep)


def _widget_kind(attrs: str) -> str:
    """'never' (overlays), 'negative' (widgets) or '' for a class/id/role string; cached per distinct string.

    Class names are split into words (and adjacent word pairs) and looked up in word sets, which is far
    cheaper than running alternation regexes over every element of a large page.
    """
    kind = _KIND_CACHE.get(attrs)
    if kind is None:
        words = [w for w in _SPLIT.split(_shown_on_desktop(attrs).lower()) if w]
        keys = set(words) | {a + "-" + b for a, b in zip(words, words[1:])}
        if not words:
            kind = ""
        elif _NEVER_CONTENT.search(attrs):
            kind = "never"
        elif (
            keys & _STRONG_WORDS
            or (keys & _WIDGET_WORDS and not _POSITIVE.search(attrs))
            or not _STRONG_NAMES.isdisjoint(attrs.lower().split())
        ):
            kind = "negative"
        else:
            kind = ""
        if len(_KIND_CACHE) > 100_000:
            _KIND_CACHE.clear()
        _KIND_CACHE[attrs] = kind
    return kind


OUTSIDE_SHARE = 0.15  # at most this share of the prose outside the posts: a thread, not an article with comments
GROUP_SHARE = 0.4  # the share of the page's prose that makes a repeated widget-named shape content
_DIGITS = re.compile(r"\d")


def _shape(el) -> tuple:
    """An element's shape: its tag and class words, less the words with digits (per-post ids such as
    ``comment-724096``), so that the posts of a thread, however numbered, share one shape."""
    words = _SPLIT.split(el.get("class") or "")
    return (el.tag, " ".join(sorted({w for w in words if w and not _DIGITS.search(w)})))


def _run(el) -> tuple:
    """The key of the run of same-tag siblings that ``el`` belongs to: posts whose classes differ
    (``pt-4 owner-post``, ``pt-4``) are still one run."""
    return (el.getparent(), el.tag)


def _repeated_prose(body, stats: _Stats) -> dict:
    """Prose held by each repeated group of the page that has a widget-named member (one-element groups left out).

    A thread is a run of posts, and forums name them ``comment``, ``reply`` or ``message``: as a group they hold
    most of the page's prose although no single post does.  Two groupings: by shape (``_shape``), which takes in
    an opening post of the replies' shape that is not named a comment; and by run (``_run``: siblings of one
    tag), which takes in posts whose classes differ (``pt-4 owner``), unless their container is itself named a
    widget (a blog's comment list beside the article).  An article cut into sections that carry a widget-like
    class (``Section--Ads``) is the same case.  Summed over the whole page, before any removal, in two passes
    over the elements that hold prose (the groups named, then their prose), so that every member of a group gets
    the same decision.
    """
    holders = stats.prose_holders  # only elements holding prose matter (the page before any removal)
    named = set()  # the shapes and runs with a widget-named member
    for el, _ in holders:
        keys = el.keys()
        if keys and _widget_kind(_attrs(el, keys)) == "negative":
            if el.get("class"):
                named.add(_shape(el))
            parent = el.getparent()
            if parent is not None and not _widget_kind(_attrs(parent)):
                named.add(_run(el))
    if not named:
        return {}
    shaped = {key[0] for key in named if isinstance(key[0], str)}  # the tags of the named shapes
    prose: dict = {}
    count: dict = {}
    for el, p in holders:
        run = _run(el)
        for key in (run, _shape(el) if el.tag in shaped and el.get("class") else None):
            if key in named:
                prose[key] = prose.get(key, 0) + p
                count[key] = count.get(key, 0) + 1
    total = stats.prose(body)
    return {k: prose[k] for k in named if count[k] >= 2 and total - prose[k] <= OUTSIDE_SHARE * total}


def _is_hidden(el, keys) -> bool:
    """Whether the element is not displayed: ``hidden``, ``aria-hidden``, an inline ``display:none`` or
    ``visibility:hidden``, or a ``<dialog>`` that is not open."""
    if "hidden" in keys or el.get("aria-hidden") == "true" or (el.tag == "dialog" and "open" not in keys):
        return True
    style = el.get("style")
    if not style:
        return False
    style = style.replace(" ", "").lower()
    return "display:none" in style or "visibility:hidden" in style


_SECTIONING = frozenset(("article", "section", "aside", "nav", "body"))


def _introduces_section(el, row) -> bool:
    """Whether the ``<header>`` ``el`` (``row``: its statistics) introduces a section of the page, its heading and
    lead or a card's title and blurb: its nearest sectioning element is a ``<section>`` and its text is mostly
    not links.  Outside any section it is the page's banner; in an ``<article>`` it holds the byline, date and
    share links more than the text; a linked header is a teaser's title."""
    if row[1] >= 0.5 * row[0]:
        return False
    for a in el.iterancestors():
        if a.tag in _SECTIONING:
            return a.tag == "section"
        if a.tag == "a":
            return False
    return False


# The attributes that can name an element a widget (``_attrs``) or hide it (``_is_hidden``; a ``<dialog>`` is dropped
# by its tag): an element with a content tag and none of them (a link, a table cell) is kept without reading them.
_DECIDING = frozenset((*_NAMING, "hidden", "aria-hidden", "style"))


def _strip_boilerplate(body, stats: _Stats) -> None:
    """Drop widgets by tag, class/id/role and hidden-ness; never an element that holds much of the prose.

    Most elements have no attributes and a content tag; they are only descended into."""
    rows, empty = stats.rows, stats._EMPTY
    prose_total, text_total = stats.prose(body), stats.text(body)
    groups = _repeated_prose(body, stats) if prose_total else {}
    # Removals wait for the end of the walk: no decision reads the stats of an element below a removed one (the
    # walk does not go inside it, and its ancestors were decided before it), so the stats are updated once.
    removed = []
    stack = [c for c in reversed(body) if isinstance(c.tag, str)]
    while stack:
        el = stack.pop()
        tag = el.tag
        keys = el.keys()
        drop = False
        by_tag = tag in _DROP_TAGS and not (tag == "header" and _introduces_section(el, rows.get(el, empty)))
        if by_tag or (keys and not _DECIDING.isdisjoint(keys)):
            text, _, math, prose = rows.get(el, empty)[:4]
            holds_prose = prose >= 0.4 * prose_total if prose_total else text >= 0.5 * text_total
            kind = _widget_kind(_attrs(el, keys)) if keys else ""
            if keys and _is_hidden(el, keys):
                # hidden text is shown by a click at most; an overlay (a consent notice) never, however long
                drop = (kind == "never" or not holds_prose) and not math
            elif kind == "never" and prose < 0.8 * prose_total:
                drop = True
            elif by_tag or kind:
                if by_tag and kind:  # tag and class agree: only a clear majority of the prose saves it
                    holds_prose = prose >= 0.8 * prose_total if prose_total else holds_prose
                drop = tag not in ("article", "main") and not holds_prose
                if drop and math and (tag == "figcaption" or tag not in _DROP_TAGS):
                    drop = False  # a caption or a comment holding a formula: maths is what this extractor keeps
                elif drop and kind and tag not in _DROP_TAGS and prose:
                    share = max(groups.get(_shape(el), 0), groups.get(_run(el), 0))
                    drop = share < GROUP_SHARE * prose_total  # a post of a thread
        if drop:
            removed.append(el)
        elif tag not in _LEAF_BLOCKS:
            # widgets are blocks: inline elements and paragraphs are not searched inside
            stack.extend([c for c in reversed(el) if c.tag.__class__ is str and (c.tag not in _INLINE or len(c))])
    stats.forget(removed)
    with Dropper() as dropper:
        for el in removed:
            dropper.drop(el)


def _score_candidates(body, stats: _Stats) -> dict:
    """Readability-style votes: long, comma-rich, link-poor paragraphs score their parent and grandparent."""
    scores: dict = {}
    rows, empty = stats.rows, stats._EMPTY
    for el in body.iter(*_PARA, "div", "article", "section", "main", "font", "center"):
        tag = el.tag
        row = rows.get(el, empty)
        para = tag in _PARA
        if para and tag != "td":
            length = row[0]
            commas = row[5] if length >= 25 else 0
        elif row[0] + 2 * len(el) < 25 and not (para and row[2]) and not any(len(c) for c in el):
            # too short to score (most table cells), known without joining its own text: that text is at most
            # its characters (``row[0]``) and a space between each of its pieces (text, children's texts and
            # tails), when no child has children of its own
            continue
        else:
            text = _own_text(el, stats)  # prose written straight into a layout element, beside its child blocks
            length, commas = len(text), text.count(",")
        math = row[2] and (para or length >= 25)
        if length < 25 and not math:
            continue
        if para and row[1] > 0.5 * length and not math:
            continue
        score = 1 + commas + min(length // 100, 3) + (3 if math else 0) + (2 if tag == "pre" else 0)
        parent = el.getparent()
        for level, anc in enumerate((parent, parent.getparent() if parent is not None else None)):
            if anc is None or anc.tag not in _CONTAINERS:
                continue
            if anc not in scores:
                attrs = _attrs(anc)
                bonus = ((25 if _POSITIVE.search(attrs) else 0) - (25 if _widget_kind(attrs) else 0)) if attrs else 0
                scores[anc] = bonus + (5 if anc.tag in ("article", "main") else 0)
            scores[anc] += score / (1 + level)
    return scores


_LIST_TAGS = ("ul", "ol", "dl", "div", "table", "section", "p", "h2", "h3", "h4", "h5", "h6")
LISTING_SHARE = 0.9  # link lists holding this share of the content's text are the content


_LIST_BLOCKS = frozenset(("ul", "ol", "dl", "div", "table", "section"))


def _is_link_list(tag: str, row) -> bool:
    """Mostly link text (``row``: the element's statistics): a list block, or a short paragraph or heading (a
    "Read more" line)."""
    return row[1] / max(row[0], 1) > 0.6 and (tag in _LIST_BLOCKS or row[0] < 80)


def _link_list_text(root, stats: _Stats) -> int:
    """The text that dropping the link lists inside ``root`` would remove: the lists that no other list holds.
    One walk over the list elements; those inside a list found are passed over."""
    rows, empty = stats.rows, stats._EMPTY
    inside: set = set()
    removed = 0
    for el in root.iter(*_LIST_TAGS):
        if el is root or el in inside:
            continue
        row = rows.get(el, empty)
        if row[1] and not row[2] and _is_link_list(el.tag, row):  # most blocks have no link: no call
            removed += row[0]
            inside.update(el.iter(*_LIST_TAGS))
    return removed


def _clean_inside(root, stats: _Stats) -> None:
    """Inside the chosen content, drop link lists, one-line widgets ("Share", "Read more") and teasers.

    Not link lists when they hold nearly all the content (``LISTING_SHARE``): a listing, a front page or a link
    directory is made of them.
    An ``<article>`` nested in an article is, in HTML5 terms, a comment or a related story: dropped when it
    holds a minor part of the prose.
    """
    rows, empty = stats.rows, stats._EMPTY
    in_article = root.tag == "article" or any(a.tag == "article" for a in root.iterancestors())
    link_lists_are_boilerplate = _link_list_text(root, stats) < LISTING_SHARE * stats.text(root)
    with Dropper() as dropper:  # elements are dropped in document order; no text read is that of a dropped tail
        for el in list(root.iter("article")) if in_article else ():
            if (
                el is not root
                and el.getparent() is not None
                and stats.prose(el) < 0.4 * stats.prose(root)
                and not stats.math(el)
            ):
                dropper.drop(el)
        dropped: set = set()  # the list elements inside a dropped one: gone with it, not looked at
        for el in list(root.iter(*_LIST_TAGS)):
            if el is root or el in dropped:
                continue
            row = rows.get(el, empty)
            if row[2]:
                continue
            length = row[0]
            tag = el.tag
            if length == 0:
                if tag in ("p", "div", "span") and not len(el):
                    dropper.drop(el)
                continue
            if link_lists_are_boilerplate and row[1] and _is_link_list(tag, row):
                dropper.drop(el)
                dropped.update(el.iter(*_LIST_TAGS))
            elif length < 60 and (not len(el) or _few_elements(el)):
                words = _all_text(el).split()
                if len(words) <= 6 and _BOILER_LINE.match(" ".join(words)):
                    dropper.drop(el)
                    dropped.update(el.iter(*_LIST_TAGS))


def _all_text(el) -> str:
    """``"".join(el.itertext())``, read directly from a leaf (no iterator): most short blocks are leaves."""
    return (el.text or "") if not len(el) else "".join(el.itertext())


def _few_elements(el, most: int = 100) -> bool:
    """Whether ``el`` holds at most ``most`` elements. A one-line widget ("Share", "Read more") is small; an
    element with little text but many elements is not one, and reading the text of each of a deep chain of
    such elements would cost the depth times their size."""
    return sum(1 for _ in islice(el.iter(), most + 1)) <= most


def _common_ancestor(best, alternatives: list, body):
    """Readability's rule: when near-best candidates share an ancestor with the best, the content is that
    ancestor (articles split into chunks); never the whole body."""
    if len(alternatives) < 2:
        return best
    node = best.getparent()
    while node is not None and node is not body:
        inside = sum(1 for alt in alternatives if any(a is node for a in alt.iterancestors()))
        if inside >= min(3, len(alternatives)):
            return node
        node = node.getparent()
    return best


POST_TEXT = 100  # the link-free text that makes a block a post rather than a teaser or a byline
MIN_POSTS = 3


def _thread_of(best, body, stats: _Stats):
    """The list of posts that ``best`` is one of, or ``best``.

    A thread is several content blocks of one shape (tag and class words, ids aside: ``_shape``) under one
    parent, each with text of its own: the question, the answers, the comments.  The best-scoring block is
    usually one post; the content is every post, in order.  The lowest ancestor of ``best`` with at least
    ``MIN_POSTS`` - 1 same-shaped siblings holding ``POST_TEXT`` characters of unlinked text is a post; its
    parent is the thread.  One look at the children of each ancestor: linear.
    """
    node = best
    parent = node.getparent()
    while parent is not None and parent is not body:
        shape = _shape(node)
        if shape[1]:
            posts = sum(
                1
                for s in parent
                if isinstance(s.tag, str) and stats.text(s) - stats.link(s) >= POST_TEXT and _shape(s) == shape
            )
            if posts >= MIN_POSTS:
                return parent
        node, parent = parent, parent.getparent()
    return best


def _climb_to_maths(best, body, stats: _Stats):
    """The ancestor of ``best`` (below ``body``) that also holds the formulas outside it.

    A blog post's comments and a thread's other posts sit beside the post's container, not in it, and on a
    maths page they carry formulas as often as the post does; formulas are what this extractor is for, and the
    widgets that could hold one were removed before.  Formulas in a child of ``body`` beside the result are
    kept by the sibling step.  One look at the children of each ancestor: linear.
    """
    node = target = best
    parent = node.getparent()
    while parent is not None and parent is not body:
        if any(stats.math(s) for s in parent if s is not node):
            target = parent
        node, parent = parent, parent.getparent()
    return target


PROSE_PAGE = 0.2  # a page with less of its unlinked text in paragraphs is measured by all its unlinked text


def select_main_content(doc, tex_marks: bool = True, deadline: Deadline = UNBOUNDED, maths: bool = True) -> None:
    """Reduce ``doc``'s body, in place, to its main content (or leave it whole if no candidate is found).

    ``tex_marks=False``: the pre-pass marked no TeX text (``prepass.TEX_TEXT_FORMATS`` absent), a shortcut;
    ``maths=False``: nor did it convert any formula, and no element's class names one (``prepass.MATH_CLASS``),
    another. ``deadline`` is checked between the steps (raising ``budget.PageTimeout``)."""
    body = doc.find("body") if doc.tag != "body" else doc
    if body is None:
        return
    stats = _Stats(body, tex_marks, maths)
    deadline.check("main_content")
    _strip_boilerplate(body, stats)
    deadline.check("main_content")
    scores = _score_candidates(body, stats)
    deadline.check("main_content")
    if not scores:
        _clean_inside(body, stats)
        return
    ranked = {el: score * (1 - min(stats.density(el), 0.9)) for el, score in scores.items()}
    order = sorted(ranked, key=lambda el: ranked[el], reverse=True)
    best = order[0]
    alternatives = [el for el in order[1:6] if ranked[el] >= 0.75 * ranked[best]]
    best = _common_ancestor(best, alternatives, body)
    while (
        best.getparent() is not None
        and best is not body
        and len([c for c in best.getparent() if isinstance(c.tag, str)]) == 1
    ):
        best = best.getparent()  # an only child: its parent holds the same content plus the title around it
    unlinked = lambda el: stats.text(el) - stats.link(el)  # noqa: E731
    if stats.prose(body) >= PROSE_PAGE * unlinked(body):
        covered = lambda el: stats.prose(el) or stats.text(el)  # noqa: E731
    else:  # little of the text is in paragraphs (service and product pages, cards): count all unlinked text
        covered = unlinked
    total = covered(body)
    while best is not body and best.getparent() is not None and covered(best) < 0.65 * total:
        best = best.getparent()  # the best block holds too little of the page's prose: docs, threads
    if best is not body:
        best = _thread_of(best, body, stats)
    if stats.math(body) and best is not body:
        best = _climb_to_maths(best, body, stats)
    parent = best.getparent()
    if best is body or parent is None:
        _clean_inside(body, stats)
        return
    threshold = max(10.0, 0.2 * ranked.get(best, 0))
    keep = []
    for sib in parent:
        if not isinstance(sib.tag, str):
            continue
        if sib is best or ranked.get(sib, 0) >= threshold or stats.math(sib):
            keep.append(sib)
            continue
        length = stats.text(sib)
        density = stats.density(sib)
        if sib.tag in ("p", "pre", "blockquote", "ul", "ol", "dl", "table", "h2", "h3", "h4", "div", "section") and (
            (length > 80 and density < 0.25)
            or (0 < length <= 80 and density == 0 and "".join(sib.itertext()).strip().endswith((".", ":", "?", "!")))
        ):
            keep.append(sib)
    kept = set(keep)
    siblings = [c for c in parent if isinstance(c.tag, str)]
    for sib, nxt in zip(siblings, siblings[1:]):
        if sib not in kept and nxt in kept and sib.tag in _INTRODUCERS:
            kept.add(sib)  # a heading or definition term that introduces kept content (an API signature)
    keep = [c for c in siblings if c in kept]
    for el in keep:
        _clean_inside(el, stats)
    body.clear()
    for el in keep:
        body.append(el)
