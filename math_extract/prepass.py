"""DOM pre-pass: every maths format becomes TeX text in place, before boilerplate removal and rendering.

lynx renders text, not MathJax, KaTeX or MathML, and drops ``<script>``; so each formula is replaced by a
plain ``<mx-math>$TeX$</mx-math>`` (or ``<div>$$TeX$$</div>`` for display maths) carrying the class
``MATH_CLASS``, which the main-content step treats as content and lynx prints verbatim.  Rendered duplicates
(MathJax previews and CHTML/SVG output, KaTeX's HTML, Wikipedia's fallback images) are removed so each
formula appears once.  TeX already present in the text (``$..$``, ``\\(..\\)``, ``\\begin{..}``) is left
untouched; the elements holding it are flagged (``TEX_MARK``) so that main-content selection keeps them.
Spans (syntax highlighting in code included) and formatting tags are then unwrapped in C: the text stays
exactly as displayed, indentation included, and far fewer elements are left for the Python passes after.
"""

from __future__ import annotations

import functools
import html.entities
import re
from collections import Counter, deque
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

from lxml import etree

from .asciimath import asciimath_to_tex
from .budget import UNBOUNDED, Deadline
from .detect import FORUM_TEX
from .mathml import _local, mathml_to_latex, tex_annotation
from .tex import count_formulas

MATH_CLASS = "mx-math"
MATH_TAG = "mx-math"  # inline formulas get their own tag (lynx renders unknown tags as inline text) so that
# every <span> can be unwrapped in C after the maths is converted
_MJ2_FRAMES = {
    "MathJax_Preview",
    "MathJax",
    "MathJax_Display",
    "MathJax_CHTML",
    "MathJax_SVG",
    "MathJax_SVG_Display",
    "MathJax_MathML",
    "MathJax_PHTML",
    "MJXc-display",
    "MathJax_MathContainer",
    "mjx-chtml",
}
_BACKTICK = re.compile(r"`([^`\n]{1,300})`")
_VERBATIM = {"pre", "code", "kbd", "samp", "tt", "textarea", "script", "style"}
_TEX_URL_PARAMS = ("latex", "chl", "tex", "eq", "formula", "math")
_CODECOGS_PREFIX = re.compile(
    r"^(?:\s*\\(?:dpi\{\d+\}|bg_\w+|bg\{\w+\}|inline|large|Large|small|fn_\w+|"
    r"fg\{\w+\}|pagecolor\{\w+\}|color\{\w+\}))+\s*"
)
_REMOVE_ALWAYS = (
    "script",
    "style",
    "noscript",
    "template",
    "iframe",
    "object",
    "embed",
    "svg",
    "canvas",
    "video",
    "audio",
    "map",
    "link",
    "meta",
    "button",
    "input",
    "select",
    "option",
    "textarea",
    "label",
    "head",
)
# Formatting that lynx -dump does not show; unwrapping it (in C) leaves far fewer elements to walk.
_UNWRAP = (
    "b",
    "i",
    "em",
    "strong",
    "font",
    "small",
    "u",
    "abbr",
    "tt",
    "big",
    "s",
    "strike",
    "mark",
    "cite",
    "q",
    "dfn",
    "var",
    "time",
    "bdi",
    "bdo",
    "ins",
    "del",
    "wbr",
    "nobr",
    "blink",
)


def classes(el) -> set[str]:
    return set((el.get("class") or "").split())


def _math_node(tex: str, display: bool, tail: str | None):
    tex = " ".join(tex.split()) if "\n" not in tex.strip() else tex.strip()
    el = etree.Element("div" if display else MATH_TAG, {"class": MATH_CLASS})
    el.text = f"$${tex}$$" if display else f"${tex}$"
    el.tail = tail
    return el


def _replace(old, tex: str, display: bool) -> bool:
    parent = old.getparent()
    if parent is None:
        return False
    parent.replace(old, _math_node(tex, display, old.tail))
    return True


class Dropper:
    """Removes elements but keeps the text that follows each (its tail) in the document, in linear time.

    A dropped element's tail joins the text before it: the tail of the element before it, or its parent's
    text. Done one element at a time, a run of dropped elements with words between them copies that growing
    text again at each one (quadratic: 8 s for a 1 MB page of hidden spans). Here the tails wait in a queue per
    element that receives them, and are joined once when the ``with`` block ends. Until then the tree lacks
    them: within the block, drop in document order (or in reverse, as a run of preceding siblings) and read no
    text that a dropped element's tail belongs to.
    """

    def __init__(self) -> None:
        self._queues: dict[tuple[Any, str], deque[str]] = {}  # (element, "tail" or "text") -> text to append

    def __enter__(self) -> Dropper:
        return self

    def __exit__(self, *exc: object) -> None:
        for (el, slot), queue in self._queues.items():
            if slot == "tail":
                el.tail = (el.tail or "") + "".join(queue)
            else:
                el.text = (el.text or "") + "".join(queue)
        self._queues.clear()

    def drop(self, el) -> None:
        parent = el.getparent()
        if parent is None:
            return
        queue = self._queues.pop((el, "tail"), None) or deque()  # what was waiting to follow it moves too
        if el.tail:
            queue.appendleft(el.tail)
        if queue:
            prev = el.getprevious()
            key = (prev, "tail") if prev is not None else (parent, "text")
            held = self._queues.get(key)
            if held is None:
                self._queues[key] = queue
            else:
                held.extend(queue)
        parent.remove(el)


def _drop(el) -> None:
    """Remove one element but keep its tail text in the document (for many, use a :class:`Dropper`)."""
    with Dropper() as dropper:
        dropper.drop(el)


def tex_of_math(math_el) -> str:
    """TeX for a MathML ``<math>``: its TeX annotation, else its alttext, else a conversion of the markup.

    Only the formula's own annotation counts (a child of its top ``semantics``): LaTeXML gives the pieces of
    maths inside a formula's text (``\\text{ the number of $X_i$ }``) nested ``semantics`` with TeX of their
    own, which the conversion uses, but which are not the whole formula."""
    tex = tex_annotation(math_el)
    if tex:
        return tex
    alt = (math_el.get("alttext") or "").strip()
    if alt:
        return alt
    return mathml_to_latex(math_el)


_ENTITY = re.compile(r"&([A-Za-z][A-Za-z0-9]{1,31});")
_XML_ENTITIES = {"lt", "gt", "amp", "quot", "apos"}
_MML_PARSER = etree.XMLParser(recover=True, resolve_entities=False, no_network=True)


def _entity(m: re.Match) -> str:
    name = m.group(1)
    if name in _XML_ENTITIES:
        return m.group(0)
    char = html.entities.html5.get(name + ";")
    return m.group(0) if char is None else escape(char)


def parse_mathml(src: str):
    """The ``<math>`` element of MathML source (MathJax's ``<script type="math/mml">``), or None.

    The source is XML in which MathML's named entities (``&InvisibleTimes;``, ``&PlusMinus;``) are common
    but undeclared, so they are resolved first; a parser that recovers from errors keeps a formula with a
    stray ``&`` or an unclosed tag instead of losing it."""
    text = _ENTITY.sub(_entity, src.strip())
    try:
        root = etree.fromstring(text.encode(), _MML_PARSER)
    except etree.XMLSyntaxError:
        return None
    if root is None:
        return None
    math = root if _local(root.tag) == "math" else _find_math(root)
    return root if math is None else math


def _is_display_math(math_el) -> bool:
    return math_el.get("display") == "block" or math_el.get("mode") == "display"


def _find_math(el):
    for sub in el.iter():
        if _local(sub.tag) == "math":
            return sub
    return None


def _walk(root, stop=None, inherit=None) -> Iterator[tuple[Any, bool]]:
    """``(element, inherited)`` for ``root`` and every element below it, in document order; ``inherited`` says
    whether an ancestor satisfies ``inherit``. The descendants of an element that satisfies ``stop`` are not
    visited, so the caller may replace or remove it when it gets it.

    Why: the passes below act on the outermost element of a kind (a KaTeX span, a MathML ``<math>``) or need
    to know whether an ancestor is code. Asking each element's ancestors, or searching each match's subtree,
    costs the depth of the page for every element: quadratic on a page nested 250 deep. One walk that carries
    what it needs down the tree is linear, and no slower on ordinary pages.
    """
    stack = [(root, False)]
    while stack:
        el, inherited = stack.pop()
        if not isinstance(el.tag, str):
            continue
        yield el, inherited
        if stop is not None and stop(el):
            continue
        if inherit is not None and not inherited and inherit(el):
            inherited = True
        stack.extend((child, inherited) for child in reversed(el))


def _is_katex(el) -> bool:
    return el.tag in ("span", "div") and "katex" in classes(el)


def _katex(doc, deadline: Deadline) -> int:
    """KaTeX output to the TeX of its MathML: the outermost ``katex`` element of each formula, which is left as
    it is (with what it holds) when its MathML has no TeX."""
    n = 0
    for el, display in _walk(doc, _is_katex, lambda el: "katex-display" in classes(el)):
        if not _is_katex(el):
            continue
        deadline.check("prepass")
        math = _find_math(el)
        tex = tex_of_math(math) if math is not None else ""
        if tex:
            n += _replace(el, tex, display)
    return n


def _mathjax_scripts(doc, deadline: Deadline) -> int:
    n = 0
    for el in list(doc.iter("script")):
        kind = (el.get("type") or "").lower()
        if not kind.startswith(("math/tex", "math/asciimath", "math/mml")):
            continue
        deadline.check("prepass")
        src = (el.text or "").strip()
        prev = el.getprevious()
        with Dropper() as dropper:
            while prev is not None and (classes(prev) & _MJ2_FRAMES or prev.tag == "mjx-container"):
                nxt = prev.getprevious()
                dropper.drop(prev)
                prev = nxt
        if not src:
            continue
        display = "mode=display" in kind.replace(" ", "")
        if kind.startswith("math/asciimath"):
            src = asciimath_to_tex(src)
        elif kind.startswith("math/mml"):
            math = parse_mathml(src)
            if math is None:
                continue
            src, display = tex_of_math(math), display or _is_display_math(math)
        n += _replace(el, src, display)
    return n


def _is_mathjax_frame(el) -> bool:
    return el.tag == "mjx-container" or bool(classes(el) & _MJ2_FRAMES)


def _rendered_math(doc, deadline: Deadline) -> int:
    """MathJax 3 containers and leftover MathJax 2 frames without source: keep their assistive MathML.

    Only the outermost frame of a formula is converted; a frame without MathML inside loses its previews."""
    n = 0
    with Dropper() as dropper:
        for el, _ in _walk(doc, _is_mathjax_frame):
            if el.getparent() is None or not _is_mathjax_frame(el):
                continue
            deadline.check("prepass")
            if "MathJax_Preview" in classes(el):
                dropper.drop(el)
                continue
            math = _find_math(el)
            if math is None:
                for preview in [p for p in el.iter() if isinstance(p.tag, str) and "MathJax_Preview" in classes(p)]:
                    dropper.drop(preview)
                continue
            display = (
                el.get("display") == "true"
                or "MathJax_Display" in classes(el)
                or _is_display_math(math)
                or "MathJax_SVG_Display" in classes(el)
            )
            n += _replace(el, tex_of_math(math), display)
    return n


def _is_mathml(el) -> bool:
    return _local(el.tag) == "math"


def _mathml(doc, deadline: Deadline) -> int:
    """Each outermost MathML ``<math>`` (with Wikipedia's wrapper) to its TeX."""
    n = 0
    for el, _ in _walk(doc, _is_mathml):
        if not _is_mathml(el) or el.getparent() is None:
            continue
        deadline.check("prepass")
        holder = el
        for depth, anc in enumerate(el.iterancestors()):  # Wikipedia: MathML and fallback image share a wrapper
            if "mwe-math-element" in classes(anc):
                holder = anc
                break
            if depth >= 2:
                break
        n += _replace(holder, tex_of_math(el), _is_display_math(el))
    return n


def tex_from_image(src: str, alt: str, cls: str) -> str | None:
    """TeX carried by a formula image: its alt text if that is TeX, else the TeX in the URL."""
    alt = alt.strip()
    url = src.strip()
    low = url.lower()
    from_url = None
    if "codecogs.com" in low or "mimetex" in low or "mathtex" in low:
        query = url.split("?", 1)[1] if "?" in url else ""
        query = query.replace("&space;", " ").replace("&plus;", "+")  # codecogs' own URL escapes
        from_url = _CODECOGS_PREFIX.sub("", unquote(query))
    elif "?" in url and ("latex.php" in low or "chart.googleapis.com" in low or "/latex" in low):
        params = parse_qs(urlsplit(url).query, keep_blank_values=True)
        for key in _TEX_URL_PARAMS:
            if params.get(key):
                from_url = params[key][0]
                break
    is_math_img = (
        from_url is not None
        or "/media/math/render/" in low
        or "mwe-math-fallback" in cls
        or bool({"tex", "latex", "math", "equation"} & set(cls.lower().split()))
    )
    if not is_math_img:
        return None
    if alt and (re.search(r"[\\^_{}=]", alt) or from_url is None):
        return alt.strip("$").strip() if alt.startswith("$") and alt.endswith("$") else alt
    return from_url.strip() if from_url else None


def _images(doc, deadline: Deadline) -> int:
    """Formula pictures to their TeX; other pictures are dropped (lynx would print a placeholder)."""
    n = 0
    with Dropper() as dropper:
        for el in list(doc.iter("img")):
            deadline.check("prepass")
            prev = el.getprevious()
            if "mwe-math-fallback" in (el.get("class") or "") and prev is not None and MATH_CLASS in classes(prev):
                dropper.drop(el)  # the fallback picture of a formula already taken from its MathML
                continue
            src, alt, cls = el.get("src") or el.get("data-src") or "", el.get("alt") or "", el.get("class") or ""
            tex = tex_from_image(src, alt, cls)
            if tex:
                display = "display" in cls or (el.getparent() is not None and el.getparent().tag in ("dd", "center"))
                n += _replace(el, tex, display)
            else:
                dropper.drop(el)
    return n


def _text_nodes(doc, pattern, convert) -> int:
    """Rewrite delimited formulas in text and tails (outside verbatim code), wrapping them as maths spans."""
    n = 0
    for el, parent_code in _walk(doc, inherit=lambda el: el.tag in _VERBATIM):
        if not (parent_code or el.tag in _VERBATIM) and el.text and pattern.search(el.text):
            el.text, k = pattern.subn(convert, el.text)
            n += k
        if not parent_code and el.tail and pattern.search(el.tail):
            el.tail, k = pattern.subn(convert, el.tail)
            n += k
    return n


TEX_MARK = "data-mx-tex"
TEX_TEXT_FORMATS = frozenset(("tex", "forum_tex", "asciimath"))  # formats whose formulas stay TeX in the text
_DELIMS = ("\\(", "\\[", "$", "\\begin{")


def _mark_tex_text(doc) -> int:
    """Flag elements whose own text holds TeX (``\\(..\\)``, ``$..$``...) so main-content selection keeps them."""
    n = 0
    for el in doc.iter():
        tag = el.tag
        if not isinstance(tag, str):
            continue
        text = el.text
        if text and tag not in _VERBATIM and any(d in text for d in _DELIMS):
            k = count_formulas(text)
            if k:
                el.set(TEX_MARK, "1")
                n += k
        tail = el.tail
        if tail and any(d in tail for d in _DELIMS):
            owner = el.getparent()
            k = count_formulas(tail) if owner is not None and owner.tag not in _VERBATIM else 0
            if k:
                owner.set(TEX_MARK, "1")
                n += k
    return n


#: ``<noscript>`` holding at least this share of a page's words (and :data:`NOSCRIPT_MIN_WORDS`) is its content
NOSCRIPT_SHARE = 0.5
NOSCRIPT_MIN_WORDS = 50
_NOT_TEXT = {"script", "style", "template"}


#: a form control holding more than this many characters of text holds the page, not a label
CONTROL_TEXT_LIMIT = 500
_CONTROLS = ("button", "label", "select", "option")


def _unwrap_containers_left_open(doc) -> None:
    """Unwrap form controls that hold the page. A ``<button>`` or ``<label>`` left unclosed makes the HTML
    parser nest everything after it inside; removing controls as boilerplate would then remove the article.
    A control's own text is a short label, so one holding hundreds of characters is such a parse artefact."""
    for el in list(doc.iter(*_CONTROLS)):
        if el.getparent() is not None and len(el) and _text_length(el, CONTROL_TEXT_LIMIT) > CONTROL_TEXT_LIMIT:
            el.tag = "div"


def _text_length(el, limit: int) -> int:
    """Characters of text inside ``el``, counted up to just past ``limit``; at most ``4 * limit`` pieces of text
    are read, so that nested controls cost linear time however much (or little) text they hold."""
    n = 0
    for i, piece in enumerate(el.itertext()):
        n += len(piece.strip())
        if n > limit or i > 4 * limit:
            break
    return n


def _noscript_is_the_page(doc) -> bool:
    """Whether ``<noscript>`` holds most of the page's words. Usually it holds a notice to enable JavaScript,
    removed as boilerplate; but pages rendered by JavaScript (forum software, single-page apps) often put the
    whole readable page there for crawlers, and removing it would leave nothing.

    The words inside are counted first (a walk over the ``<noscript>`` subtrees only): most pages have fewer
    than :data:`NOSCRIPT_MIN_WORDS` there, and then the page's total, a walk in Python over every element (a
    second on a syntax-highlighted source page of a million spans), is not needed."""
    inside, seen = 0, set()
    for top in doc.iter("noscript"):
        if top not in seen:  # not inside one counted already: each subtree is walked once, however they nest
            seen.update(top.iter("noscript"))
            inside += _words(top, top)
    return inside >= NOSCRIPT_MIN_WORDS and inside >= NOSCRIPT_SHARE * _words(doc, None)


def _words(root, top) -> int:
    """Words of text under ``root`` as displayed (not those of scripts and styles), with the tails of its
    descendants and its own tail unless it is ``top`` (a ``<noscript>``'s tail lies outside it)."""
    words = 0
    for el in root.iter():
        tag = el.tag
        if not isinstance(tag, str):
            continue
        if el.text and tag not in _NOT_TEXT:
            words += len(el.text.split())
        if el.tail and el is not top:
            parent = el.getparent()
            if parent is None or parent.tag not in _NOT_TEXT:
                words += len(el.tail.split())
    return words


def _hidden_spans(doc) -> list:
    """Spans that are not displayed (``hidden``, ``aria-hidden``, ``display:none``) or only read to screen
    readers.  A Python loop: libxml2's XPath with these predicates costs twice as much on span-heavy pages."""
    found = []
    for el in doc.iter("span"):
        if el.get("aria-hidden") == "true" or el.get("hidden") is not None:
            found.append(el)
            continue
        style = el.get("style")
        if style and "display:none" in style.replace(" ", ""):
            found.append(el)
            continue
        cls = el.get("class")
        if cls and ("sr-only" in cls or "visually-hidden" in cls or "screen-reader" in cls):
            found.append(el)
    return found


#: An element left with more separate pieces of text than this is spared them (see :func:`_spare_crowded_text`).
MOST_TEXT_PIECES = 10_000


def _spare_crowded_text(doc, tags: tuple[str, ...], spare: Callable[[Any], None]) -> None:
    """Call ``spare(parent)`` on every element that has more than :data:`MOST_TEXT_PIECES` children with one of
    ``tags``, before they are unwrapped or removed in C.

    Why: unwrapping or removing an element leaves its text and tail as separate text nodes beside those of its
    neighbours, and lxml reads an element's text by joining its text nodes one at a time, quadratic in their
    number: a paragraph of 250 000 unwrapped ``<b>`` took a second to read, and it is read several times. Called
    only on pages with that many elements (:func:`_crowded`), so ordinary pages pay nothing.
    """
    crowd = Counter(el.getparent() for el in doc.iter(*tags))
    for parent, n in crowd.items():  # in document order: an element before the crowded ones inside it
        if n > MOST_TEXT_PIECES and parent is not None and _attached(parent, doc):
            spare(parent)


_COUNT_ELEMENTS = etree.XPath("count(//*)")


def _crowded(doc) -> bool:
    """Whether ``doc`` has more elements than :data:`MOST_TEXT_PIECES` (one count in C): only then can an element
    have that many children."""
    return _COUNT_ELEMENTS(doc) > MOST_TEXT_PIECES


def _attached(el, doc) -> bool:
    """Whether ``el`` is still in ``doc``: a crowded element inside one spared before was taken out with it, and
    sparing it again would walk its subtree once more for every crowded element around it (quadratic when
    crowded spans nest). Climbs at most libxml2's 256 levels."""
    ancestors = list(el.iterancestors())
    return (ancestors[-1] if ancestors else el) is doc


def _drop_removed(parent) -> None:
    """Remove ``parent``'s children with one of the tags of :data:`_REMOVE_ALWAYS`, keeping their tails, joined
    once (:class:`Dropper`), not as separate text nodes."""
    removed = set(_REMOVE_ALWAYS)
    with Dropper() as dropper:
        for el in [child for child in parent if child.tag in removed]:
            dropper.drop(el)


_UNWRAPPED = frozenset((*_UNWRAP, "span"))  # what the pre-pass unwraps once the maths is converted
# ... and on a page without TeX in its text, where code is only text to lynx and to main-content selection
_UNWRAPPED_NO_TEX = _UNWRAPPED | {"code", "kbd", "samp"}


def _unwrap_joined(parent, unwrapped: frozenset = _UNWRAPPED) -> None:
    """What ``etree.strip_tags(parent, *unwrapped)`` does to ``parent``'s children with those tags (and the ones
    met inside them), with each run of text between the elements that stay joined in Python,
    in linear time, into one text node: the text is the same, and reading it later costs no more than on any
    other page.

    Syntax-highlighted code is the usual case (rustdoc's source pages: one ``<span>`` per token, a million in
    one ``<code>``). Keeping such spans as elements would also be correct, but every later pass (main-content
    statistics, serialising, lynx) would then walk every one of them, at about ten times the cost per MB of
    other pages."""
    if all(el.tag in unwrapped for el in parent.iterdescendants()):  # the usual case: nothing stays, one join in C
        text = "".join(parent.itertext())
        parent[:] = []
        parent.text = text or None
        return
    head: list[str] = [parent.text or ""]
    kept: list[tuple[Any, list[str]]] = []  # the elements that stay, each with the pieces of its new tail
    pieces = head
    stack: list[tuple[Iterator, Any]] = [(iter(parent), None)]  # children to visit, element whose tail follows
    while stack:
        children, closing = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            if closing is not None:
                pieces.append(closing.tail or "")
            continue
        if child.tag in unwrapped:
            pieces.append(child.text or "")
            stack.append((iter(child), child))
        else:
            pieces = [child.tail or ""]
            kept.append((child, pieces))
    parent[:] = [el for el, _ in kept]
    parent.text = "".join(head) or None
    for el, tail in kept:
        el.tail = "".join(tail) or None


_MATH_NODES = etree.XPath(f'//*[@class="{MATH_CLASS}"]')


def _holding_math(doc) -> set:
    """The elements that hold a converted formula (the formula's node and its ancestors), in one pass: each
    chain of ancestors is climbed only up to the first element already known, so nested hidden spans do not
    each search their subtree."""
    holding: set = set()
    for node in _MATH_NODES(doc):
        while node is not None and node not in holding:
            holding.add(node)
            node = node.getparent()
    return holding


def prepass(doc, formats: tuple[str, ...] = (), deadline: Deadline = UNBOUNDED) -> int:
    """Turn every maths format in ``doc`` (an lxml HTML tree) into TeX text; returns the formulas converted.

    ``formats`` (from ``detect``) lets the text-level rewrites (forum tags, AsciiMath backticks) run only on
    pages that use them, since backticks also mean inline code in Markdown-ish pages. ``deadline`` is checked
    between the passes and before each formula is converted (raising ``budget.PageTimeout``).
    """
    has = set(formats)
    n = 0
    # each pass walks the tree, so it runs only on pages whose raw HTML showed its format
    if "katex" in has:
        n += _katex(doc, deadline)
    if has & {"mathjax_tex_script", "mathjax_mml_script", "asciimath", "mathjax2_rendered", "mathjax3"}:
        n += _mathjax_scripts(doc, deadline)
    if has & {"mathjax2_rendered", "mathjax3"}:
        n += _rendered_math(doc, deadline)
    if "mathml" in has:
        n += _mathml(doc, deadline)
    n += _images(doc, deadline)
    if "forum_tex" in formats:
        n += _text_nodes(doc, FORUM_TEX, lambda m: f"${m.group(2).strip()}$")
    if "asciimath" in formats:
        deadline.check("prepass")
        n += _text_nodes(doc, _BACKTICK, lambda m: f"${asciimath_to_tex(m.group(1))}$")
    deadline.check("prepass")
    if _noscript_is_the_page(doc):
        etree.strip_tags(doc, "noscript")  # kept as content; removed below with the rest otherwise
    _unwrap_containers_left_open(doc)
    crowded = _crowded(doc)  # counted once: the steps below only remove and unwrap elements
    if crowded:
        _spare_crowded_text(doc, _REMOVE_ALWAYS, _drop_removed)
    etree.strip_elements(doc, *_REMOVE_ALWAYS, etree.Comment, etree.ProcessingInstruction, with_tail=False)
    hidden = _hidden_spans(doc)
    holding = _holding_math(doc) if hidden else set()
    with Dropper() as dropper:
        for el in hidden:  # screen-reader and hidden text, unless it holds a converted formula
            if el.getparent() is not None and el not in holding:
                dropper.drop(el)
    deadline.check("prepass")
    # verbatim code is kept apart where TeX may be written in the text (it is not TeX there), else unwrapped too
    unwrapped = _UNWRAPPED if has & TEX_TEXT_FORMATS else _UNWRAPPED_NO_TEX
    if crowded:
        _spare_crowded_text(doc, tuple(unwrapped), functools.partial(_unwrap_joined, unwrapped=unwrapped))
    etree.strip_tags(doc, *unwrapped)
    if has & TEX_TEXT_FORMATS:
        _mark_tex_text(doc)
    return n
