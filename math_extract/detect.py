"""Cheap maths detection on raw HTML, before any parsing.

A page is worth the maths pre-pass only if it carries maths in some format; regexes over the raw markup
find every format we convert (they are a few milliseconds even on large pages) and give a formula count
that the filter stage can use as a maths score without re-reading the page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .tex import count_formulas

# Markup patterns run on the UTF-8 bytes of the page: lower-casing and scanning bytes is several times
# cheaper than doing the same on a str holding non-ASCII text.
# Tags are found by patterns that always match once they see the tag's name (``<img[^>]*``: the tag up to its
# ``>``, or to the end of an unclosed one), and their attributes are then searched inside that tag only. A pattern
# that must find the attribute before the ``>`` (``<img[^>]+codecogs``) fails at an unclosed tag, and the regex
# engine then retries it at every later ``<img``, each scanning to the end of the page: quadratic, 39 s for
# 100 KB of ``<img ``. A match that always succeeds resumes after the tag, so each byte is read once.
_SCRIPT_TAG = re.compile(rb"<script[^>]*", re.I)
_TYPE_TEX = re.compile(rb"type\s*=\s*[\"']?math/tex", re.I)
_TYPE_MML = re.compile(rb"type\s*=\s*[\"']?math/mml", re.I)
_TYPE_ASCII = re.compile(rb"type\s*=\s*[\"']?math/asciimath", re.I)
_MJX3 = re.compile(rb"<mjx-container\b", re.I)
_MJX2 = re.compile(rb"MathJax(?:_(?:Preview|CHTML|SVG|Display|MathML)|-Element-\d+-Frame)")
_KATEX = re.compile(rb"class\s*=\s*[\"'][^\"']*\bkatex\b", re.I)
_KATEX_MATHML = re.compile(rb"class\s*=\s*[\"'][^\"']*\bkatex-mathml\b", re.I)
_KATEX_LIB = re.compile(rb"katex(?:\.min)?\.(?:js|css)|renderMathInElement", re.I)
_MATHML = re.compile(rb"<(?:m:)?math\b", re.I)
_IMG_TAG = re.compile(rb"<img[^>]*", re.I)
_TEX_IMG_ATTR = re.compile(
    rb"codecogs\.com|latex\.php\?|mimetex|mathtex\.cgi|/media/math/render/"
    rb"|class\s*=\s*[\"'][^\"']*\b(?:tex|latex|mwe-math-fallback-image\w*)\b",
    re.I,
)
_FORUM_HINTS = (b"[/tex]", b"[/math]", b"[/latex]", b"[/itex]")
# Text patterns (str), run on the page with its tags stripped. A forum formula may not contain another forum
# opening tag: each ``[tex]`` without its closing tag then stops at the next opening tag instead of scanning
# to the end of the page (which made a page of ``[math]`` quadratic); forum tags do not nest anyway.
FORUM_TEX = re.compile(r"\[(tex|math|latex|itex)\]((?:(?!\[(?:tex|math|latex|itex)\]).)+?)\[/\1\]", re.I | re.S)
_BACKTICKS = re.compile(r"`[^`\n]{1,200}`")
_SCRIPTS = re.compile(r"<script\b.*?</script\s*>", re.I | re.S)
_SCRIPT_END = re.compile(r"</script\s*>", re.I)
_STYLES = re.compile(r"<style\b.*?</style\s*>", re.I | re.S)
_STYLE_END = re.compile(r"</style\s*>", re.I)
_TAGS = re.compile(r"<[^>]*>")


def _sub_before_last(pattern: re.Pattern[str], end: str | re.Pattern[str], text: str) -> str:
    """``pattern.sub(" ", text)`` for a pattern whose every match ends with a match of ``end``, in linear time.

    Such a pattern fails at an opener with no ``end`` after it, and the regex engine retries it at every later
    opener, each scanning to the end of the text (quadratic on a page of ``<`` or ``<script``). No match can
    lie past the last ``end``, so only the text up to it is searched; in there every opener finds its end.
    """
    last = 0
    if isinstance(end, str):
        last = text.rfind(end) + len(end) if end in text else 0
    else:
        for m in end.finditer(text):
            last = m.end()
    if not last:
        return text
    return pattern.sub(" ", text[:last]) + text[last:]


def _tex_images(raw: bytes, mathml: bool) -> int:
    """Formula images: ``<img>`` tags whose URL or class names a TeX renderer (less Wikipedia's fallback
    pictures when the page has MathML, since they duplicate it)."""
    n = wiki = 0
    for tag in _IMG_TAG.findall(raw):
        low = tag.lower()
        # Google Chart's TeX pictures put cht=tx anywhere in the query: two substring tests, where a pattern
        # from "chart?" to "cht=tx" would rescan the rest of the tag from every "chart?" in it
        if _TEX_IMG_ATTR.search(tag, 4) or (b"chart.googleapis.com/chart?" in low and b"cht=tx" in low):
            n += 1
        if mathml and b"mwe-math-fallback" in low:
            wiki += 1
    return max(n - wiki, 0)


def _count_tags(raw: bytes, tag: re.Pattern[bytes], attr: re.Pattern[bytes]) -> int:
    """How many ``tag`` tags carry ``attr`` (see the note on tag patterns above)."""
    return sum(1 for t in tag.findall(raw) if attr.search(t))


@dataclass(frozen=True)
class MathInfo:
    """What maths a page carries: whether any, which formats, and roughly how many formulas."""

    has_math: bool
    formats: tuple[str, ...]
    n_formulas: int


def detect(html: str | bytes, count_text: bool = True) -> MathInfo:
    """Detect maths formats in raw HTML with regexes only (no parsing); ``html`` may be str or UTF-8 bytes.

    Each regex runs only when a cheap substring test on the lower-cased page says its format may be there.
    With ``count_text=False`` TeX written in the text is not counted, only flagged as the format "tex" when
    its delimiters occur (the extractor counts it later, on the main content only).
    """
    raw = html if isinstance(html, bytes) else html.encode("utf-8", "replace")
    low = raw.lower()
    # Each substring test scans the whole page, so the rare words gate the tests below them: most formats'
    # markers contain "math" (math/tex, <math, mathjax, asciimath, mwe-math) and a page without "math" or
    # "katex" skips them all.
    has_math_word = b"math" in low
    has_katex = b"katex" in low
    has_mathjax = has_math_word and b"mathjax" in low
    formats: list[str] = []
    n_script = _count_tags(raw, _SCRIPT_TAG, _TYPE_TEX) if has_math_word and b"math/tex" in low else 0
    n_mml = _count_tags(raw, _SCRIPT_TAG, _TYPE_MML) if has_math_word and b"math/mml" in low else 0
    n_mathml = len(_MATHML.findall(raw)) if has_math_word and (b"<math" in low or b":math" in low) else 0
    n_katex = len(_KATEX_MATHML.findall(raw)) if has_katex and b"katex-mathml" in low else 0
    n_mjx3 = len(_MJX3.findall(raw)) if b"<mjx-container" in low else 0
    if n_script:
        formats.append("mathjax_tex_script")
    if n_mml:
        formats.append("mathjax_mml_script")
    if n_mjx3:
        formats.append("mathjax3")
    elif has_mathjax and (b"mathjax_" in low or b"mathjax-element" in low) and _MJX2.search(raw):
        formats.append("mathjax2_rendered")
    if has_katex and (_KATEX.search(raw) or (n_katex and _KATEX_LIB.search(raw))):
        formats.append("katex")
    if n_mathml:
        formats.append("mathml")
    n_img = 0
    if b"<img" in low:  # the regex only looks inside <img> tags, so it is cheap once the tag occurs
        n_img = _tex_images(raw, n_mathml > 0)
    if n_img:
        formats.append("tex_image")
    # AsciiMath: its scripts, asciimath2jax / input/asciimath, ASCIIMathML.js, or MathJax 2's AM_* configs
    has_ascii = has_math_word and (b"asciimath" in low or b"config=am_" in low)
    n_ascii = _count_tags(raw, _SCRIPT_TAG, _TYPE_ASCII) if has_ascii and b"math/asciimath" in low else 0
    # "$$" is looked for only where "$" is: a one-byte search, where a two-byte one is ten times slower
    tex_hint = (b"\\" in raw and (b"\\(" in raw or b"\\[" in raw or b"\\begin{" in raw)) or (
        b"$" in raw and (has_mathjax or has_katex or b"$$" in raw)
    )
    forum_hint = b"[/" in raw and any(h in low for h in _FORUM_HINTS)
    needs_text = has_ascii or forum_hint or (count_text and (tex_hint or b"$" in raw))
    text = ""
    if needs_text and len(raw) < 5_000_000:
        page = html if isinstance(html, str) else raw.decode("utf-8", "replace")
        text = _sub_before_last(_SCRIPTS, _SCRIPT_END, page)
        text = _sub_before_last(_TAGS, ">", _sub_before_last(_STYLES, _STYLE_END, text))
    if has_ascii:
        n_ascii += len(_BACKTICKS.findall(text))
    if n_ascii:
        formats.append("asciimath")
    n_forum = len(FORUM_TEX.findall(text)) if forum_hint else 0
    if n_forum:
        formats.append("forum_tex")
    n_delim = count_formulas(text) if text and count_text else 0
    if n_delim or (not count_text and tex_hint):
        formats.append("tex")
    elif not formats and has_mathjax:
        formats.append("mathjax_lib")
    n = max(n_script + n_mml, n_mathml, n_katex, n_mjx3) + n_img + n_ascii + n_forum + n_delim
    return MathInfo(has_math=n > 0, formats=tuple(formats), n_formulas=n)
