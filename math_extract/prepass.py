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

import re
from urllib.parse import parse_qs, unquote, urlsplit

from lxml import etree

from .asciimath import asciimath_to_tex
from .detect import FORUM_TEX
from .mathml import _local, mathml_to_latex
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


def _drop(el) -> None:
    """Remove an element but keep its tail text in the document."""
    parent = el.getparent()
    if parent is None:
        return
    if el.tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


def tex_of_math(math_el) -> str:
    """TeX for a MathML ``<math>``: its TeX annotation, else its alttext, else a conversion of the markup."""
    for el in math_el.iter():
        if _local(el.tag) == "annotation" and "tex" in (el.get("encoding") or "").lower():
            text = "".join(el.itertext()).strip()
            if text:
                return text
    alt = (math_el.get("alttext") or "").strip()
    if alt:
        return alt
    return mathml_to_latex(math_el)


def _is_display_math(math_el) -> bool:
    return math_el.get("display") == "block" or math_el.get("mode") == "display"


def _find_math(el):
    for sub in el.iter():
        if _local(sub.tag) == "math":
            return sub
    return None


def _katex(doc) -> int:
    n = 0
    for el in list(doc.iter("span", "div")):
        if "katex" not in classes(el) or el.getparent() is None:
            continue
        math = _find_math(el)
        tex = tex_of_math(math) if math is not None else ""
        if not tex:
            continue
        display = any("katex-display" in classes(a) for a in el.iterancestors())
        n += _replace(el, tex, display)
    return n


def _mathjax_scripts(doc) -> int:
    n = 0
    for el in list(doc.iter("script")):
        kind = (el.get("type") or "").lower()
        if not kind.startswith(("math/tex", "math/asciimath", "math/mml")):
            continue
        src = (el.text or "").strip()
        prev = el.getprevious()
        while prev is not None and (classes(prev) & _MJ2_FRAMES or prev.tag == "mjx-container"):
            nxt = prev.getprevious()
            _drop(prev)
            prev = nxt
        if not src:
            continue
        if kind.startswith("math/asciimath"):
            src = asciimath_to_tex(src)
        elif kind.startswith("math/mml"):
            try:
                src = tex_of_math(etree.fromstring(src.encode()))
            except etree.XMLSyntaxError:
                continue
        n += _replace(el, src, "mode=display" in kind.replace(" ", ""))
    return n


def _rendered_math(doc) -> int:
    """MathJax 3 containers and leftover MathJax 2 frames without source: keep their assistive MathML."""
    n = 0
    for el in list(doc.iter()):
        if el.getparent() is None or not isinstance(el.tag, str):
            continue
        is_mjx3 = el.tag == "mjx-container"
        if not is_mjx3 and not (classes(el) & _MJ2_FRAMES):
            continue
        if "MathJax_Preview" in classes(el):
            _drop(el)
            continue
        math = _find_math(el)
        if math is None:
            continue
        display = (
            el.get("display") == "true"
            or "MathJax_Display" in classes(el)
            or _is_display_math(math)
            or "MathJax_SVG_Display" in classes(el)
        )
        n += _replace(el, tex_of_math(math), display)
    return n


def _mathml(doc) -> int:
    n = 0
    for el in list(doc.iter()):
        if _local(el.tag) != "math" or el.getparent() is None:
            continue
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


def _images(doc) -> int:
    n = 0
    for el in list(doc.iter("img")):
        prev = el.getprevious()
        if "mwe-math-fallback" in (el.get("class") or "") and prev is not None and MATH_CLASS in classes(prev):
            _drop(el)  # the fallback picture of a formula already taken from its MathML
            continue
        tex = tex_from_image(el.get("src") or el.get("data-src") or "", el.get("alt") or "", el.get("class") or "")
        if tex:
            display = "display" in (el.get("class") or "") or (
                el.getparent() is not None and el.getparent().tag in ("dd", "center")
            )
            n += _replace(el, tex, display)
        else:
            _drop(el)
    return n


def _text_nodes(doc, pattern, convert) -> int:
    """Rewrite delimited formulas in text and tails (outside verbatim code), wrapping them as maths spans."""
    n = 0
    for el in list(doc.iter()):
        if not isinstance(el.tag, str):
            continue
        parent_code = any(a.tag in _VERBATIM for a in el.iterancestors())  # one walk serves text and tail
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


def prepass(doc, formats: tuple[str, ...] = ()) -> int:
    """Turn every maths format in ``doc`` (an lxml HTML tree) into TeX text; returns the formulas converted.

    ``formats`` (from ``detect``) lets the text-level rewrites (forum tags, AsciiMath backticks) run only on
    pages that use them, since backticks also mean inline code in Markdown-ish pages.
    """
    has = set(formats)
    n = 0
    # each pass walks the tree, so it runs only on pages whose raw HTML showed its format
    if "katex" in has:
        n += _katex(doc)
    if has & {"mathjax_tex_script", "asciimath", "mathjax2_rendered", "mathjax3"}:
        n += _mathjax_scripts(doc)
    if has & {"mathjax2_rendered", "mathjax3"}:
        n += _rendered_math(doc)
    if "mathml" in has:
        n += _mathml(doc)
    n += _images(doc)
    if "forum_tex" in formats:
        n += _text_nodes(doc, FORUM_TEX, lambda m: f"${m.group(2).strip()}$")
    if "asciimath" in formats:
        n += _text_nodes(doc, _BACKTICK, lambda m: f"${asciimath_to_tex(m.group(1))}$")
    etree.strip_elements(doc, *_REMOVE_ALWAYS, etree.Comment, etree.ProcessingInstruction, with_tail=False)
    for el in _hidden_spans(doc):  # screen-reader and hidden text, unless it holds a converted formula
        if el.getparent() is not None and not el.xpath(f'descendant-or-self::*[@class="{MATH_CLASS}"]'):
            _drop(el)
    etree.strip_tags(doc, *_UNWRAP, "span")
    if has & TEX_TEXT_FORMATS:
        _mark_tex_text(doc)
    return n
